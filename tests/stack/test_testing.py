# -*- test-case-name: tests.stack.test_testing -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.testing}: the fakes behave as documented and the
checkers catch what they should.
"""

from typing import List

from twisted.internet.error import ConnectionDone
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist import testing as t
from vdetwist.interfaces import IFrameTransport, IIPv4Sender
from vdetwist.wire.addr import parseIPv4


class Collector:
    """
    An IFrameProtocol-like recorder.
    """

    def __init__(self, reply: bool = False) -> None:
        """
        @param reply: echo every frame back.
        """
        self.frames: List[bytes] = []
        self.transport = None
        self.reply = reply
        self.lost: List[object] = []

    def makeConnection(self, transport: object) -> None:
        """
        Keep the transport.

        @param transport: the port.
        """
        self.transport = transport

    def frameReceived(self, frame: bytes) -> None:
        """
        Record, and maybe echo.

        @param frame: the frame.
        """
        self.frames.append(frame)
        if self.reply:
            self.transport.sendFrame(b"re:" + frame)  # type: ignore[union-attr]

    def connectionLost(self, reason: object) -> None:
        """
        Record the reason.

        @param reason: why.
        """
        self.lost.append(reason)


class MemoryWireTests(SynchronousTestCase):
    """
    Tests for L{t.MemoryWire}.
    """

    def test_hub(self) -> None:
        """
        A frame reaches every other port, not its sender, when pumped;
        replies are pumped too.
        """
        wire = t.MemoryWire()
        a, b, c = Collector(), Collector(reply=True), Collector()
        pa = wire.attach(a)
        wire.attach(b)
        wire.attach(c)
        self.assertTrue(verifyObject(IFrameTransport, pa))
        pa.sendFrame(b"hello")
        self.assertEqual(b.frames, [])
        self.assertEqual(wire.pump(), 2)
        self.assertEqual(a.frames, [b"re:hello"])
        self.assertEqual(c.frames, [b"hello", b"re:hello"])
        self.assertEqual(wire.sentBy(b), [b"re:hello"])

    def test_synchronous(self) -> None:
        """
        A synchronous wire delivers during C{sendFrame}.
        """
        wire = t.MemoryWire(synchronous=True)
        a, b = Collector(), Collector()
        wire.attach(a).sendFrame(b"x")
        self.assertEqual(b.frames, [])
        wire.attach(b)
        a.transport.sendFrame(b"y")  # type: ignore[attr-defined]
        self.assertEqual(b.frames, [b"y"])

    def test_filter(self) -> None:
        """
        The filter can drop, duplicate and change frames.
        """
        wire = t.MemoryWire()
        a, b = Collector(), Collector()
        pa = wire.attach(a)
        wire.attach(b)
        wire.filter = lambda port, frame: [] if frame == b"drop" else [frame, frame.upper()]
        for frame in (b"drop", b"dup"):
            pa.sendFrame(frame)
        wire.pump()
        self.assertEqual(b.frames, [b"dup", b"DUP"])

    def test_loseConnection(self) -> None:
        """
        Detaching calls C{connectionLost} once and stops delivery.
        """
        wire = t.MemoryWire()
        a, b = Collector(), Collector()
        pa = wire.attach(a)
        pb = wire.attach(b)
        pb.loseConnection()
        pb.loseConnection()
        pa.sendFrame(b"x")
        wire.pump()
        self.assertEqual(b.frames, [])
        self.assertEqual(len(b.lost), 1)
        b.lost[0].trap(ConnectionDone)  # type: ignore[attr-defined]

    def test_stormLimit(self) -> None:
        """
        Two echoing ports would loop forever; the pump limit stops it.
        """
        wire = t.MemoryWire(record=False)
        a, b = Collector(reply=True), Collector(reply=True)
        wire.attach(a).sendFrame(b"x")
        wire.attach(b)
        wire.queue.append((wire.ports[0], b"x"))
        self.assertRaises(RuntimeError, wire.pump, 50)


class FakesTests(SynchronousTestCase):
    """
    Tests for L{t.FakeIPv4Sender} and L{t.FakeFrameTransport}.
    """

    def test_fakeSender(self) -> None:
        """
        The fake sender records packets and reports its address.
        """
        sender = t.FakeIPv4Sender("10.0.2.15", mtu=9000)
        self.assertTrue(verifyObject(IIPv4Sender, sender))
        sender.sendPacket(6, b"a" * 4, b"b" * 4, b"x")
        self.assertEqual(sender.sourceFor(b"\1\2\3\4"), parseIPv4("10.0.2.15"))
        self.assertEqual(sender.mtu, 9000)
        self.assertEqual(sender.clear(), [(6, b"a" * 4, b"b" * 4, b"x")])
        self.assertEqual(sender.sent, [])

    def test_fakeTransport(self) -> None:
        """
        The fake transport records frames and disconnection.
        """
        transport = t.FakeFrameTransport()
        transport.sendFrame(b"f")
        transport.loseConnection()
        self.assertEqual((transport.clear(), transport.disconnecting), ([b"f"], True))


class CheckerTests(SynchronousTestCase):
    """
    Tests for the frame builders and packet checkers.
    """

    FRAME = t.udpFrame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.0.0.1", 5000,
                       "10.0.0.2", 53, b"query", ttl=9)

    def test_passes(self) -> None:
        """
        Matching checkers pass, nested or listed after the Ethernet one.
        """
        t.checkFrame(self.FRAME,
                     t.ethernet(t.dstMAC("02:00:00:00:00:01"), t.srcMAC("02:00:00:00:00:02"),
                                t.etherType(0x0800)),
                     t.ipv4(t.srcAddr("10.0.0.1"), t.dstAddr("10.0.0.2"), t.ttl(9),
                            t.protocol(17), t.validChecksum(),
                            t.udp(t.srcPort(5000), t.dstPort(53), t.payload(b"query"),
                                  t.validChecksum())))
        t.checkFrame(self.FRAME, t.ethernet(t.ipv4(t.udp(t.payloadLength(5)))))

    def test_failures(self) -> None:
        """
        A mismatch raises L{t.PacketCheckFailed} naming layer and field.
        """
        e = self.assertRaises(t.PacketCheckFailed, t.checkFrame, self.FRAME, t.ethernet(),
                              t.ipv4(t.udp(t.dstPort(54))))
        self.assertIn("UDP dstPort", str(e))
        e = self.assertRaises(t.PacketCheckFailed, t.checkFrame, self.FRAME,
                              t.ethernet(t.etherType(0x0806)))
        self.assertIn("etherType", str(e))
        e = self.assertRaises(t.PacketCheckFailed, t.checkFrame, self.FRAME[:20],
                              t.ethernet(), t.ipv4())
        self.assertIn("IPv4: malformed", str(e))
        corrupt = self.FRAME[:-1] + b"Z"
        e = self.assertRaises(t.PacketCheckFailed, t.checkFrame, corrupt, t.ethernet(),
                              t.ipv4(t.udp(t.validChecksum())))
        self.assertIn("checksum", str(e))
        self.assertTrue(issubclass(t.PacketCheckFailed, AssertionError))

    def test_builders(self) -> None:
        """
        The ARP and ICMP builders make frames the checkers accept.
        """
        t.checkFrame(t.arpFrame(1, "02:00:00:00:00:02", "10.0.0.1", "10.0.0.2"),
                     t.ethernet(t.dstMAC(b"\xff" * 6), t.etherType(0x0806)),
                     t.arp(t.arpOperation(1), t.arpTarget("10.0.0.2"),
                           t.arpSender(("02:00:00:00:00:02", "10.0.0.1"))))
        t.checkFrame(t.icmpEchoFrame("02:00:00:00:00:01", "02:00:00:00:00:02", "10.0.0.1",
                                     "10.0.0.2", 3, 4, b"abc", reply=True),
                     t.ethernet(), t.ipv4(t.icmp(t.icmpType(0), t.icmpCode(0),
                                                 t.echoIdentifier(3), t.echoSequence(4),
                                                 t.payload(b"abc"), t.validChecksum())))
        t.checkFrame(t.ethernetFrame("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800,
                                     b"", vlanID=7), t.ethernet(t.vlan(7)))
