# -*- test-case-name: tests.switch.test_announce -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch's side of jumbo frames: C{--mtu}, the announcement a running
switch keeps beside its control socket (L{vdetwist.vde.announce}), and
the warning when an endpoint that may not be vdetwist's joins a switch
announcing more than 1500.
"""

import os
import stat

from twisted.internet import defer, reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.util import shortTempDir
from vdetwist.switch import tap
from vdetwist.switch.server import ControlServer
from vdetwist.switch.switch import Switch
from vdetwist.testing import FakeSystem
from vdetwist.vde import local
from vdetwist.vde.announce import ANNOUNCEMENT, readAnnouncedMTU, switchMTU
from vdetwist.vde.plug import connectPlug


class _Sink:
    """
    A frame receiver that drops everything.
    """

    def frameReceived(self, frame: bytes) -> None:
        """
        Drop it.
        """


class AnnouncementTests(TestCase):
    """
    A control server on the real reactor, with real sockets.
    """

    timeout = 20

    def start(self, mtu: int) -> ControlServer:
        """
        Start a server for a switch with C{mtu}.
        """
        self.switch = Switch(numports=8, mtu=mtu)
        server = ControlServer(reactor, self.switch, os.path.join(shortTempDir(self), "sw"))
        server.startService()
        self.addCleanup(lambda: server.running and server.stopService())
        return server

    @defer.inlineCallbacks
    def test_announced(self):
        """
        A switch at 9000 announces it beside C{ctl}, readable by the
        socket's owner only (C{-m 0600}); stopping removes the file and
        the directory.
        """
        server = self.start(9000)
        path = os.path.join(server.directory, ANNOUNCEMENT)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o400)
        self.assertEqual(readAnnouncedMTU(server.directory), 9000)
        self.assertEqual(switchMTU(server.directory), 9000)
        yield server.stopService()
        self.assertFalse(os.path.exists(server.directory))

    def test_defaultNotAnnounced(self) -> None:
        """
        A switch at 1500 writes nothing: its directory holds only C{ctl},
        as Debian's does.
        """
        server = self.start(1500)
        self.assertEqual(os.listdir(server.directory), ["ctl"])
        self.assertIsNone(readAnnouncedMTU(server.directory))

    def test_staleRemoved(self) -> None:
        """
        A file left by a killed switch goes when a switch at 1500 takes the
        directory.
        """
        directory = os.path.join(shortTempDir(self), "sw")
        os.mkdir(directory)
        with open(os.path.join(directory, ANNOUNCEMENT), "wb") as f:
            f.write(b"vdetwist-switch mtu=9000 ctl=1:2\n")
        server = ControlServer(reactor, Switch(numports=8), directory)
        server.startService()
        self.addCleanup(server.stopService)
        self.assertEqual(os.listdir(directory), ["ctl"])

    @defer.inlineCallbacks
    def test_foreignEndpointWarned(self):
        """
        An endpoint whose description is not vdetwist's, joining a switch
        announcing 9000, gets a warning naming it and the MTU; ours get
        none.
        """
        server = self.start(9000)
        local.unregister(server.directory)  # attach over a plug, as another process
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        ours = yield connectPlug(reactor, server.directory, _Sink(), "vdetwist-cat:")
        self.addCleanup(ours.loseConnection)
        theirs = yield connectPlug(reactor, server.directory, _Sink(), "vde_plug2tap:")
        self.addCleanup(theirs.loseConnection)
        warnings = [formatEvent(e) for e in events if "may not be vdetwist" in formatEvent(e)]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("vde_plug2tap:", warnings[0])
        self.assertIn("MTU 9000", warnings[0])

    def test_unwritable(self) -> None:
        """
        When the file cannot be written, the switch still serves (its
        clients stay at 1500) and says why.
        """
        system = FakeSystem()

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        system.open = refuse  # type: ignore[method-assign]
        server = ControlServer(MemoryReactorClock(), Switch(numports=8, mtu=9000),
                               "/fake/sw", system=system)
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        server._announce()
        self.assertTrue([e for e in events if "cannot announce" in formatEvent(e)])
        self.assertFalse(server._announced)


class OptionTests(SynchronousTestCase):
    """
    C{--mtu} of C{twistd vdeswitch} and C{vdetwist switch}.
    """

    def parse(self, *argv: str) -> tap.Options:
        options = tap.Options()
        options.parseOptions(["-s", os.path.join(shortTempDir(self), "sw"), *argv])
        return options

    def test_default(self) -> None:
        """
        Without C{--mtu} the switch announces nothing (1500).
        """
        top = tap.makeService(self.parse(), MemoryReactorClock())
        self.assertEqual(top.switch.mtu, 1500)

    def test_mtu(self) -> None:
        """
        C{--mtu 9000} reaches the switch.
        """
        top = tap.makeService(self.parse("--mtu", "9000"), MemoryReactorClock())
        self.assertEqual(top.switch.mtu, 9000)

    def test_bad(self) -> None:
        """
        MTUs outside 576..9216 are usage errors.
        """
        for value in ("575", "9217", "x"):
            self.assertRaises(usage.UsageError, self.parse, "--mtu", value)

    def test_vdetwistSwitch(self) -> None:
        """
        C{vdetwist switch} takes it too.
        """
        from vdetwist.scripts.switch import Options
        options = Options()
        options.parseOptions(["-s", os.path.join(shortTempDir(self), "sw"), "--mtu", "9000"])
        self.assertEqual(options["mtu"], 9000)
