# -*- test-case-name: tests.stack.test_interface -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.interface}.
"""

from typing import List, Tuple

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IFrameProtocol
from vdetwist.stack.interface import NetworkInterface
from vdetwist.testing import FakeFrameTransport, ethernetFrame

MAC = bytes.fromhex("020000000001")
OTHER = bytes.fromhex("020000000002")


class NetworkInterfaceTests(SynchronousTestCase):
    """
    Tests for L{NetworkInterface}.
    """

    def setUp(self) -> None:
        """
        An interface with recording handlers, attached to a fake transport.
        """
        self.interface = NetworkInterface(MAC)
        self.arp: List[Tuple[bytes, bytes]] = []
        self.ip: List[Tuple[bytes, bytes]] = []
        self.interface.arpHandler = lambda s, p: self.arp.append((s, p))
        self.interface.ipv4Handler = lambda s, p: self.ip.append((s, p))
        self.transport = FakeFrameTransport()
        self.interface.makeConnection(self.transport)

    def test_interface(self) -> None:
        """
        L{NetworkInterface} provides L{IFrameProtocol}.
        """
        self.assertTrue(verifyObject(IFrameProtocol, self.interface))

    def test_randomMAC(self) -> None:
        """
        Without a MAC, a random locally administered unicast one is used.
        """
        mac = NetworkInterface().mac
        self.assertEqual(len(mac), 6)
        self.assertEqual(mac[0] & 3, 2)
        self.assertRaises(ValueError, NetworkInterface, b"\0" * 5)

    def test_frameCounts(self) -> None:
        """
        Frames received and sent are counted, the same whenever the
        counters are read.
        """
        frame = ethernetFrame(MAC, OTHER, 0x0800, b"ip")
        self.interface.frameReceived(frame)
        self.interface.frameReceived(frame)
        self.interface.sendFrame(OTHER, 0x0800, b"out")
        counters = self.interface.counters
        self.assertEqual((counters["framesReceived"], counters["framesSent"]), (2, 1))
        self.interface.frameReceived(frame)
        self.assertEqual(dict(self.interface.counters), {"framesReceived": 3, "framesSent": 1})
        self.assertEqual(dict(self.interface.counters), {"framesReceived": 3, "framesSent": 1})

    def test_demux(self) -> None:
        """
        ARP and IPv4 payloads reach their handlers with the source MAC.
        """
        self.interface.frameReceived(ethernetFrame(MAC, OTHER, 0x0806, b"arp"))
        self.interface.frameReceived(ethernetFrame(MAC, OTHER, 0x0800, b"ip"))
        self.assertEqual(self.arp, [(OTHER, b"arp")])
        self.assertEqual(self.ip, [(OTHER, b"ip")])

    def test_demuxIPv6(self) -> None:
        """
        IPv6 payloads (EtherType 0x86dd) reach the IPv6 handler once one
        is set, including those sent to a 33:33 multicast MAC; without
        one they are counted as an unknown EtherType.
        """
        ipv6: List[Tuple[bytes, bytes]] = []
        frame = ethernetFrame(MAC, OTHER, 0x86DD, b"six")
        self.interface.frameReceived(frame)
        self.assertEqual(self.interface.counters["unknownEtherType"], 1)
        self.interface.ipv6Handler = lambda s, p: ipv6.append((s, p))
        self.interface.frameReceived(frame)
        self.interface.frameReceived(ethernetFrame(bytes.fromhex("333300000001"), OTHER,
                                                   0x86DD, b"all-nodes"))
        self.assertEqual(ipv6, [(OTHER, b"six"), (OTHER, b"all-nodes")])
        self.assertEqual(self.ip + self.arp, [])

    def test_broadcastAndMulticast(self) -> None:
        """
        Broadcast and multicast destinations are accepted.
        """
        self.interface.frameReceived(ethernetFrame(b"\xff" * 6, OTHER, 0x0800, b"b"))
        self.interface.frameReceived(ethernetFrame(bytes.fromhex("01005e000001"), OTHER,
                                                   0x0800, b"m"))
        self.assertEqual([p for _, p in self.ip], [b"b", b"m"])

    def test_foreign(self) -> None:
        """
        Unicast frames for another MAC are dropped and counted, unless the
        interface is promiscuous.
        """
        frame = ethernetFrame(OTHER, OTHER, 0x0800, b"x")
        self.interface.frameReceived(frame)
        self.assertEqual(self.ip, [])
        self.assertEqual(self.interface.counters["foreign"], 1)
        self.interface.promiscuous = True
        self.interface.frameReceived(frame)
        self.assertEqual(self.ip, [(OTHER, b"x")])

    def test_dropped(self) -> None:
        """
        Runts, tagged frames and unknown EtherTypes are counted and dropped.
        """
        self.interface.frameReceived(MAC + OTHER)
        self.interface.frameReceived(ethernetFrame(MAC, OTHER, 0x0800, b"v", vlanID=3))
        self.interface.frameReceived(ethernetFrame(MAC, OTHER, 0x86DD, b"6"))
        counters = self.interface.counters
        self.assertEqual((counters["runts"], counters["tagged"], counters["unknownEtherType"]),
                         (1, 1, 1))
        self.assertEqual(self.ip + self.arp, [])

    def test_handlerErrorLogged(self) -> None:
        """
        An exception in a handler is logged and counted, not raised.
        """
        def broken(source: bytes, payload: bytes) -> None:
            raise ZeroDivisionError()
        self.interface.ipv4Handler = broken
        self.interface.frameReceived(ethernetFrame(MAC, OTHER, 0x0800, b"x"))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(self.interface.counters["handlerErrors"], 1)

    def test_send(self) -> None:
        """
        C{sendFrame} builds the header from our MAC.
        """
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.assertEqual(self.transport.frames, [OTHER + MAC + b"\x08\x00data"])

    def test_sendDetached(self) -> None:
        """
        After C{connectionLost}, sends are counted and dropped.
        """
        self.interface.connectionLost(None)
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.assertEqual(self.transport.frames, [])
        self.assertEqual(self.interface.counters["notAttached"], 1)

    def test_cork(self) -> None:
        """
        Frames sent while corked are held, and go to the transport in
        order when the outermost cork ends.
        """
        self.interface.cork()
        self.interface.cork()
        for i in range(3):
            self.interface.sendFrame(OTHER, 0x0800, b"%d" % (i,))
        self.interface.uncork()
        self.assertEqual(self.transport.frames, [])
        self.interface.uncork()
        self.assertEqual(self.transport.frames,
                         [OTHER + MAC + b"\x08\x00" + b"%d" % (i,) for i in range(3)])
        self.interface.sendFrame(OTHER, 0x0800, b"after")
        self.assertEqual(len(self.transport.frames), 4)

    def test_unmatchedUncork(self) -> None:
        """
        An C{uncork} without a C{cork} does nothing: later frames are not
        held.
        """
        self.interface.uncork()
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.assertEqual(len(self.transport.frames), 1)

    def test_sendFrames(self) -> None:
        """
        Whole frames go out as given, in order, counted; captured; held
        under the cork (up to C{corkLimit} at a time); dropped and counted
        while detached.
        """
        captured = []
        self.interface.capture = captured.append
        frames = [OTHER + MAC + b"\x08\x00" + b"%d" % (i,) for i in range(5)]
        self.interface.sendFrames(frames[:2])
        self.assertEqual(self.transport.frames, frames[:2])
        self.interface.corkLimit = 2
        self.interface.cork()
        self.interface.sendFrames(frames[2:])
        self.assertEqual(self.transport.frames, frames[:4])
        self.interface.uncork()
        self.assertEqual(self.transport.frames, frames)
        self.assertEqual(captured, frames)
        self.assertEqual(self.interface.counters["framesSent"], 5)
        self.interface.connectionLost(None)
        self.interface.sendFrames(frames[:3])
        self.assertEqual(self.interface.counters["notAttached"], 3)

    def test_uncorkObservers(self) -> None:
        """
        Uncork observers are called at the outermost C{uncork} only, while
        the interface is still corked: what they send goes out behind the
        frames held before, in order.  C{corkDepth} says whether a batch is
        on.
        """
        calls = []

        def observer() -> None:
            calls.append(self.interface.corkDepth)
            self.interface.sendFrame(OTHER, 0x0800, b"observer")
        self.interface.addUncorkObserver(observer)
        self.assertEqual(self.interface.corkDepth, 0)
        self.interface.cork()
        self.interface.cork()
        self.interface.sendFrame(OTHER, 0x0800, b"held")
        self.interface.uncork()
        self.assertEqual(calls, [])
        self.interface.uncork()
        self.assertEqual(calls, [1])
        self.assertEqual([f[14:] for f in self.transport.frames], [b"held", b"observer"])
        self.assertEqual(self.interface.corkDepth, 0)
        self.interface.uncork()
        self.assertEqual(calls, [1])

    def test_failingUncorkObserver(self) -> None:
        """
        An observer that raises is logged and counted; the others still
        run, the cork still ends and the held frames still go.
        """
        calls = []

        def failing() -> None:
            raise RuntimeError("observer bug")
        self.interface.addUncorkObserver(failing)
        self.interface.addUncorkObserver(lambda: calls.append(1))
        self.interface.cork()
        self.interface.sendFrame(OTHER, 0x0800, b"held")
        self.interface.uncork()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(calls, [1])
        self.assertEqual(self.interface.counters["handlerErrors"], 1)
        self.assertEqual(self.interface.corkDepth, 0)
        self.assertEqual(len(self.transport.frames), 1)

    def test_corkLimit(self) -> None:
        """
        At most C{corkLimit} frames are held: the queue is sent when it
        reaches that, and the rest when the cork ends.
        """
        self.interface.corkLimit = 4
        self.interface.cork()
        for i in range(6):
            self.interface.sendFrame(OTHER, 0x0800, b"%d" % (i,))
            self.assertEqual(len(self.transport.frames), 4 if i >= 3 else 0)
        self.interface.uncork()
        self.assertEqual([f[14:] for f in self.transport.frames],
                         [b"%d" % (i,) for i in range(6)])

    def test_corkKeepsOrderWhenSendingAnswers(self) -> None:
        """
        A transport that delivers at once to a peer that answers: frames
        sent while the held ones go out queue behind them, so the wire
        sees them in the order they were sent.
        """
        wire: List[bytes] = []
        interface = self.interface

        class Answering:
            def sendFrame(self, frame: bytes) -> None:
                wire.append(frame[14:])
                if frame[14:] == b"a":
                    interface.sendFrame(OTHER, 0x0800, b"answer to a")
        interface.transport = Answering()  # type: ignore[assignment]
        interface.cork()
        interface.sendFrame(OTHER, 0x0800, b"a")
        interface.sendFrame(OTHER, 0x0800, b"b")
        interface.uncork()
        self.assertEqual(wire, [b"a", b"b", b"answer to a"])
        interface.sendFrame(OTHER, 0x0800, b"c")
        self.assertEqual(wire[-1], b"c")

    def test_corkDetached(self) -> None:
        """
        Frames held while the transport went away are counted as sent
        while detached.
        """
        self.interface.cork()
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.interface.connectionLost(None)
        self.interface.uncork()
        self.assertEqual(self.transport.frames, [])
        self.assertEqual(self.interface.counters["notAttached"], 2)

    def test_capture(self) -> None:
        """
        The capture sees frames both ways; a failing capture is logged and
        stopped.
        """
        seen: List[bytes] = []
        self.interface.capture = seen.append
        self.interface.frameReceived(b"short")
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.assertEqual(seen, [b"short", OTHER + MAC + b"\x08\x00data"])

        def broken(frame: bytes) -> None:
            raise OSError("disk full")
        self.interface.capture = broken
        self.interface.sendFrame(OTHER, 0x0800, b"data")
        self.assertIsNone(self.interface.capture)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        self.assertEqual(len(self.transport.frames), 2)

    def test_connectObservers(self) -> None:
        """
        Connect observers run on each attachment.
        """
        calls: List[int] = []
        self.interface.addConnectObserver(lambda: calls.append(1))
        self.interface.makeConnection(FakeFrameTransport())
        self.assertEqual(calls, [1])

    @settings(max_examples=300)
    @given(st.binary(max_size=80))
    def test_arbitraryBytes(self, frame: bytes) -> None:
        """
        Arbitrary bytes never raise.
        """
        self.interface.frameReceived(frame)
