# -*- test-case-name: tests.links.test_cable_ssh -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for SSH cables (L{vdetwist.links.cable.sshClientEndpoint}): a cable
dialled through Conch to an SSH server (a small Conch server made here, on
loopback) that runs Debian's C{vde_plug} into a second switch.
"""

import os
import shutil
import tempfile
from typing import Any

from twisted.cred.portal import Portal
from twisted.internet import defer, reactor, task
from twisted.trial.unittest import SkipTest, TestCase

from tests.switch.test_switch import BROADCAST, MAC1, MAC2, Recorder, frame
from vdetwist.extras import hasExtra, missingExtra
from vdetwist.links.cable import CableError, CableManager, clientEndpoint
from vdetwist.switch.server import ControlServer
from vdetwist.switch.switch import Switch

#: Why these tests are skipped: the ssh extra (Conch, cryptography) is
#: missing, as it may be on PyPy.
skip = None
if hasExtra("ssh"):
    from twisted.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
    from twisted.conch.ssh.factory import SSHFactory

    from tests.links.sshserver import Realm, newKey
else:
    skip = str(missingExtra("ssh"))


class SSHCableTests(TestCase):
    """
    An SSH cable to a loopback Conch server running C{vde_plug}.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        if shutil.which("vde_plug") is None:
            raise SkipTest("vde_plug is not installed (apt-get install vdeplug)")
        self.directory = tempfile.mkdtemp(prefix="vtssh", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.directory, True)
        hostKey, self.userKey = newKey(), newKey()
        self.identity = os.path.join(self.directory, "id")
        with open(self.identity, "wb") as f:
            f.write(self.userKey.toString("OPENSSH"))
        factory = SSHFactory()
        factory.publicKeys = {b"ssh-ed25519": hostKey.public()}
        factory.privateKeys = {b"ssh-ed25519": hostKey}
        factory.portal = Portal(Realm(), [SSHPublicKeyChecker(
            InMemorySSHKeyDB({b"cable": [self.userKey.public()]}))])
        self.server = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.server.stopListening)
        self.port = self.server.getHost().port
        self.knownHosts = os.path.join(self.directory, "known_hosts")
        with open(self.knownHosts, "wb") as f:
            f.write(b"127.0.0.1 " + hostKey.public().toString("OPENSSH") + b"\n")
        # The far switch, with its control socket for vde_plug.
        self.far = Switch()
        self.farHost = Recorder()
        self.far.attach(self.farHost, "far")
        self.control = ControlServer(reactor, self.far, os.path.join(self.directory, "sw"))
        self.control.startService()
        self.addCleanup(self.control.stopService)
        self.near = Switch()
        self.nearHost = Recorder()
        self.near.attach(self.nearHost, "near")
        self.manager = CableManager(reactor, self.near, loopGuard=False)
        self.manager.startService()
        self.addCleanup(self.manager.stopService)

    def description(self, knownHosts: str = "") -> str:
        """
        The cable's endpoint description.
        """
        return ("ssh:cable@127.0.0.1:%d:identity=%s:knownHosts=%s:command=vde_plug %s"
                % (self.port, self.identity, knownHosts or self.knownHosts,
                   self.control.directory))

    @defer.inlineCallbacks
    def waitFor(self, condition: Any, timeout: float = 15.0) -> Any:
        """
        Poll the reactor until C{condition()} is true.
        """
        for _ in range(int(timeout / 0.02)):
            if condition():
                return
            yield task.deferLater(reactor, 0.02, lambda: None)
        self.fail("condition not met in %s s" % (timeout,))

    @defer.inlineCallbacks
    def test_framesBothWays(self) -> None:
        """
        Frames cross the SSH cable both ways; the remote vde_plug shows on
        the far switch.
        """
        cable = self.manager.dial(self.description(), retryPolicy=lambda n: 0.2)
        yield self.waitFor(lambda: cable.state() == "CONNECTED"
                           and any(e.description.startswith("vde_plug")
                                   or "vdeplug" in e.description
                                   for _, e in self.far.endpoints()))
        self.nearHost.transport.sendFrame(frame(BROADCAST, MAC1))
        yield self.waitFor(lambda: self.farHost.frames)
        self.farHost.transport.sendFrame(frame(MAC1, MAC2))
        yield self.waitFor(lambda: self.nearHost.frames)
        self.assertEqual(self.nearHost.frames, [frame(MAC1, MAC2)])
        self.assertIn("127.0.0.1:%d" % (self.port,), "\n".join(self.manager.describe()))

    @defer.inlineCallbacks
    def test_unknownHostRefused(self) -> None:
        """
        A server whose key is not in knownHosts is refused.
        """
        empty = os.path.join(self.directory, "empty_known_hosts")
        open(empty, "w").close()
        cable = self.manager.dial(self.description(empty), retryPolicy=lambda n: 0.2)
        yield self.waitFor(lambda: cable.attempts >= 2)
        self.assertEqual(cable.connects, 0)
        self.manager.remove(cable.cableID)

    def test_badDescriptions(self) -> None:
        """
        Bad SSH descriptions are L{CableError}s.
        """
        for text in ["ssh:", "ssh:host:notaport", "ssh:host:identity=/nonexistent",
                     "ssh:host:nosuch=1"]:
            self.assertRaises(CableError, clientEndpoint, reactor, text)
