# -*- test-case-name: tests.switch.test_tuntap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.tuntap}: a kernel tap as a switch port.

L{FakeTapTests} run everywhere against a fake system.  L{RealTapTests} make
a real tap (root and C{/dev/net/tun} needed), move it into a network
namespace made for the test, and exchange frames with the kernel there; no
traffic touches the host's own namespace.
"""

import errno
import os
import shutil
import struct
import subprocess
import sys
from typing import Any

from twisted.internet import defer, reactor, task
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from tests.switch.test_switch import BROADCAST, MAC1, Recorder, frame
from vdetwist.interfaces import ISwitchPort
from vdetwist.switch.switch import Switch, SwitchError
from vdetwist.switch.tuntap import (
    IFF_NO_PI, IFF_TAP, READ_BATCH, TUN_DEVICE, TUNSETIFF, TapService, openTap)
from vdetwist.testing import FakeSystem
from vdetwist.wire.frames import MAX_FRAME


class FakeTapTests(SynchronousTestCase):
    """
    L{TapService} and L{TapEndpoint} against L{FakeSystem}.
    """

    def setUp(self) -> None:
        """
        A switch with one in-process host, and a started tap service.
        """
        self.reactor = MemoryReactor()
        self.system = FakeSystem()
        self.switch = Switch(numports=4)
        self.host = Recorder()
        self.switch.attach(self.host)
        self.service = TapService(self.reactor, self.switch, "vde0", system=self.system)
        self.service.startService()
        self.endpoint = self.service.endpoint
        assert self.endpoint is not None

    def test_opened(self) -> None:
        """
        The clone device is opened read-write, nonblocking, close-on-exec,
        and TUNSETIFF asks for a tap without packet information named
        C{IFNAME} (C{struct ifreq}: 16-byte name, 16-bit flags).
        """
        [(fd, (path, flags))] = self.system.opened.items()
        self.assertEqual(path, "/dev/net/tun")
        self.assertEqual(flags, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        [(ioctlFD, opt, arg)] = self.system.ioctls
        self.assertEqual((ioctlFD, opt), (fd, 0x400454CA))
        self.assertEqual(arg[:16], b"vde0" + b"\0" * 12)
        self.assertEqual(struct.unpack("=H", arg[16:18])[0], 0x0002 | 0x1000)
        self.assertEqual(len(arg), 40)

    def test_attached(self) -> None:
        """
        The tap takes a free port as an L{ISwitchPort} (module C{tuntap},
        description the interface name, ID the descriptor) and an
        L{IReadDescriptor} registered with the reactor.
        """
        endpoint = self.endpoint
        assert endpoint is not None
        self.assertTrue(verifyObject(ISwitchPort, endpoint))
        self.assertTrue(verifyObject(IReadDescriptor, endpoint))
        self.assertEqual(endpoint.module, "tuntap")
        self.assertEqual(endpoint.description, "vde0")
        self.assertEqual(endpoint.endpointID, 40)
        self.assertEqual(endpoint.fileno(), 40)
        self.assertEqual(endpoint.port.number, 2)
        self.assertIn(endpoint, self.switch.ports[2].endpoints)
        self.assertIn(endpoint, self.reactor.readers)

    def test_framesIn(self) -> None:
        """
        Frames read from the tap enter the switch (here reaching the
        in-process host); reads ask for one byte more than the largest
        frame; runts and oversized frames are counted by the switch.
        """
        good = frame(BROADCAST, MAC1)
        self.system.inbound[:] = [good, b"short", b"\x02" * (MAX_FRAME + 1), good]
        self.endpoint.doRead()
        self.assertEqual(self.host.frames, [good, good])
        self.assertEqual(self.switch.runts, 1)
        self.assertEqual(self.switch.oversize, 1)
        self.assertEqual(set(self.system.reads), {MAX_FRAME + 1})

    def test_readBatch(self) -> None:
        """
        One wakeup drains at most L{READ_BATCH} frames.
        """
        self.system.inbound[:] = [frame(BROADCAST, MAC1)] * (READ_BATCH + 5)
        self.endpoint.doRead()
        self.assertEqual(len(self.host.frames), READ_BATCH)
        self.endpoint.doRead()
        self.assertEqual(len(self.host.frames), READ_BATCH + 5)

    def test_framesOut(self) -> None:
        """
        Frames the switch sends to the tap's port are written to it.
        """
        data = frame(BROADCAST, MAC1)
        self.host.transport.sendFrame(data)
        self.assertEqual(self.system.outbound, [data])
        self.assertEqual(self.switch.ports[2].outPackets, 1)

    def test_writeEAGAINDropped(self) -> None:
        """
        A full tap queue drops the frame and counts it; nothing raises.
        """
        self.system.full = True
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.endpoint.drops, 2)
        self.assertEqual(self.system.outbound, [])
        self.system.full = False
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(len(self.system.outbound), 1)

    def test_transientReadError(self) -> None:
        """
        ENOBUFS on read is counted and the tap stays.
        """
        self.system.readError = errno.ENOBUFS
        self.endpoint.doRead()
        self.assertEqual(self.endpoint.readErrors, 1)
        self.assertIs(self.service.endpoint, self.endpoint)
        self.assertEqual(self.system.closed, [])

    def test_fatalReadErrorCloses(self) -> None:
        """
        Another read error (the interface is gone) closes the endpoint
        instead of spinning the reactor.
        """
        self.system.readError = errno.EBADFD
        self.endpoint.doRead()
        self.assertEqual(self.system.closed, [40])
        self.assertNotIn(self.endpoint, self.reactor.readers)
        self.assertEqual(self.switch.ports[2].endpoints, [])

    def test_stop(self) -> None:
        """
        Stopping detaches the tap from its port and the reactor and closes
        the descriptor (which removes a non-persistent tap), once.
        """
        endpoint = self.endpoint
        self.service.stopService()
        self.assertEqual(self.system.closed, [40])
        self.assertEqual(self.switch.ports[2].endpoints, [])
        self.assertNotIn(endpoint, self.reactor.readers)
        self.assertIsNone(self.service.endpoint)
        endpoint.close()
        self.assertEqual(self.system.closed, [40])

    def test_closedBySwitch(self) -> None:
        """
        Closing the endpoint from the switch's side (port/epclose) and then
        stopping the service closes the descriptor once.
        """
        self.endpoint.close()
        self.service.stopService()
        self.assertEqual(self.system.closed, [40])

    def test_privilegedOpen(self) -> None:
        """
        The device is opened in C{privilegedStartService} (before twistd
        drops root) and attached in C{startService}, opened once.
        """
        system = FakeSystem()
        service = TapService(self.reactor, self.switch, "vde1", system=system)
        service.privilegedStartService()
        self.assertEqual(len(system.opened), 1)
        self.assertIsNone(service.endpoint)
        service.startService()
        self.assertEqual(len(system.opened), 1)
        self.assertEqual(service.endpoint.description, "vde1")

    def test_noFreePort(self) -> None:
        """
        When the switch has no free port, starting fails and the descriptor
        is closed.
        """
        switch = Switch(numports=2)
        switch.attach(Recorder())
        system = FakeSystem()
        service = TapService(self.reactor, switch, "vde1", system=system)
        self.assertRaises(SwitchError, service.startService)
        self.assertEqual(system.closed, [40])

    def test_ioctlFails(self) -> None:
        """
        A refused TUNSETIFF (e.g. EPERM without CAP_NET_ADMIN) closes the
        descriptor and raises.
        """
        system = FakeSystem()
        system.ioctlError = errno.EPERM
        e = self.assertRaises(OSError, openTap, "vde1", system)
        self.assertEqual(e.errno, errno.EPERM)
        self.assertEqual(system.closed, [40])

    def test_badNames(self) -> None:
        """
        Interface names that the kernel cannot take are refused at once.
        """
        for name in ["", "x" * 16, "a/b", "a b", "t\u00e4p"]:
            self.assertRaises(ValueError, TapService, self.reactor, self.switch, name)
        TapService(self.reactor, self.switch, "x" * 15)

    def test_constants(self) -> None:
        """
        The ioctl constants are Linux's (if_tun.h).
        """
        self.assertEqual((TUNSETIFF, IFF_TAP, IFF_NO_PI, TUN_DEVICE),
                         (0x400454CA, 0x0002, 0x1000, "/dev/net/tun"))


def _run(*argv: str) -> None:
    """
    Run a command, raising with its output when it fails.

    @param argv: the command.
    """
    result = subprocess.run(argv, capture_output=True, timeout=20)
    if result.returncode:
        raise RuntimeError("%r failed: %s" % (argv, result.stderr.decode(errors="replace")))


class RealTapTests(TestCase):
    """
    A real tap, moved into a network namespace created for the test.
    """

    #: The namespace side: 10.198.X.1/24 on the tap.
    address = "10.198.77.1"

    def setUp(self) -> Any:
        """
        Start a tap service on a switch with a recorder, move the tap into
        a fresh namespace, address it and bring it up.
        """
        if not sys.platform.startswith("linux"):
            raise SkipTest("taps are a Linux feature here")
        if os.geteuid() != 0:
            raise SkipTest("creating a tap and a network namespace needs root")
        if not os.path.exists(TUN_DEVICE):
            raise SkipTest("%s is missing (no tun module, or not in this container)"
                           % (TUN_DEVICE,))
        if shutil.which("ip") is None:
            raise SkipTest("iproute2's ip is not installed")
        suffix = os.urandom(4).hex()
        self.ns = "vtt-ns-" + suffix
        self.ifname = "vtt-" + suffix
        try:
            _run("ip", "netns", "add", self.ns)
        except RuntimeError as e:
            raise SkipTest("cannot create a network namespace: %s" % (e,))
        self.addCleanup(_run, "ip", "netns", "del", self.ns)
        self.switch = Switch(numports=4)
        self.recorder = Recorder()
        self.switch.attach(self.recorder)
        self.service = TapService(reactor, self.switch, self.ifname)
        try:
            self.service.startService()
        except OSError as e:
            raise SkipTest("cannot create a tap: %s" % (e,))
        self.addCleanup(self.service.stopService)
        ns = ("ip", "netns", "exec", self.ns)
        _run("ip", "link", "set", self.ifname, "netns", self.ns)
        _run(*ns, "ip", "addr", "add", self.address + "/24", "dev", self.ifname)
        _run(*ns, "ip", "link", "set", self.ifname, "up")

    @defer.inlineCallbacks
    def waitFor(self, match: Any) -> Any:
        """
        Wait (at most 10 seconds) for a recorded frame that C{match}
        accepts.

        @return: a Deferred firing with that frame.
        """
        for _ in range(200):
            for data in self.recorder.frames:
                if match(data):
                    return data
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.fail("no matching frame among %d recorded" % (len(self.recorder.frames),))

    @defer.inlineCallbacks
    def test_frameFromNamespace(self) -> Any:
        """
        A UDP broadcast sent inside the namespace leaves through the tap
        and reaches the host attached to the switch.
        """
        _run("ip", "netns", "exec", self.ns, sys.executable, "-c",
             "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
             "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); "
             "s.sendto(b'vdetwist-tap-test', ('10.198.77.255', 9))")
        data = yield self.waitFor(lambda f: b"vdetwist-tap-test" in f)
        # Ethernet: broadcast destination, IPv4 ethertype.
        self.assertEqual(data[0:6], BROADCAST)
        self.assertEqual(data[12:14], b"\x08\x00")
        self.assertGreaterEqual(self.service.endpoint.port.inPackets, 1)

    @defer.inlineCallbacks
    def test_ARPBothWays(self) -> Any:
        """
        An ARP request written from the switch into the tap is answered by
        the namespace's kernel, and the reply comes back through the tap.
        """
        host = bytes.fromhex("02aa00000002")
        # Ethernet: dst broadcast, src the host, ethertype ARP (0x0806);
        # ARP: htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op 1
        # (request), sender host / 10.198.77.2, target 00*6 / 10.198.77.1;
        # padded to the 60-byte minimum.
        request = (BROADCAST + host + b"\x08\x06"
                   + b"\x00\x01" + b"\x08\x00" + b"\x06" + b"\x04" + b"\x00\x01"
                   + host + bytes([10, 198, 77, 2])
                   + b"\x00" * 6 + bytes([10, 198, 77, 1])).ljust(60, b"\x00")
        self.recorder.transport.sendFrame(request)

        def isReply(f: bytes) -> bool:
            return f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"
        reply = yield self.waitFor(isReply)
        # Ethernet dst: our host; ARP: op 2 (reply), sender IP 10.198.77.1,
        # target MAC/IP our host's.
        self.assertEqual(reply[0:6], host)
        self.assertEqual(reply[28:32], bytes([10, 198, 77, 1]))
        self.assertEqual(reply[32:38], host)
        self.assertEqual(reply[38:42], bytes([10, 198, 77, 2]))
        # The replying MAC (ARP sender hardware address) is the tap's.
        self.assertEqual(reply[22:28], reply[6:12])
