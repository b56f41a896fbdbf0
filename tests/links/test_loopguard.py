# -*- test-case-name: tests.links.test_loopguard -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.loopguard}: the guard alone on fake links and a
clock (probe format, rounds, blocking, unblocking, deferring to a lower
guard ID), and on cables over string transports.
"""

from typing import List

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.links.test_cable import CableTestCase, framed
from tests.switch.test_switch import BROADCAST, MAC1, MAC2, frame
from vdetwist.links.cableprotocol import CableProtocol
from vdetwist.links.loopguard import (
    BLOCK_TIME, DECIDE_DELAY, PROBE_DESTINATION, PROBE_INTERVAL, PROBE_MAGIC, PROBE_TYPE,
    IGuardedLink, LoopGuard)

SWITCH_MAC = b"\x00\xff\x0a\x0b\x0c\x0d"


@implementer(IGuardedLink)
class FakeLink:
    """
    A cable as the guard sees it: records what is sent past the guard.
    """

    def __init__(self, cableID: int) -> None:
        """
        @param cableID: its ID.
        """
        self.cableID = cableID
        self.blocked = False
        self.state = "CONNECTED"
        self.sent: List[bytes] = []

    def sendDirect(self, frame: bytes) -> None:
        """
        Record a frame.
        """
        self.sent.append(frame)

    def setBlocked(self, blocked: bool) -> None:
        """
        Note the guard's decision.
        """
        self.blocked = blocked


class LoopGuardTests(SynchronousTestCase):
    """
    The guard on fake links and a clock.
    """

    def setUp(self) -> None:
        """
        Three links, a guard on a clock.
        """
        self.clock = Clock()
        self.links = [FakeLink(1), FakeLink(2), FakeLink(3)]
        self.guard = LoopGuard(self.clock, SWITCH_MAC,
                               lambda: [l for l in self.links if l.state == "CONNECTED"])

    def test_fakeProvides(self) -> None:
        """
        The fake is an L{IGuardedLink}, and so is a cable connection.
        """
        self.assertTrue(verifyObject(IGuardedLink, self.links[0]))
        self.assertTrue(IGuardedLink.implementedBy(CableProtocol))

    def test_probeFormat(self) -> None:
        """
        A probe is 60 bytes: to 03:76:64:65:74:77 from the switch's MAC,
        EtherType 0x88b5, the magic, the guard ID, the round and the cable
        it went out on (big-endian), then zero padding.
        """
        self.guard.probeAll()
        probe = self.links[1].sent[0]
        self.assertEqual(len(probe), 60)
        self.assertEqual(probe[:6], bytes.fromhex("037664657477"))
        self.assertEqual(probe[:6], PROBE_DESTINATION)
        self.assertEqual(probe[6:12], SWITCH_MAC)
        self.assertEqual(probe[12:14], PROBE_TYPE)
        self.assertEqual(probe[14:34], b"vdetwist loop probe\x00")
        self.assertEqual(probe[14:34], PROBE_MAGIC)
        self.assertEqual(probe[34:42], self.guard.guardID)
        self.assertEqual(probe[42:46], b"\x00\x00\x00\x01")
        self.assertEqual(probe[46:48], b"\x00\x02")
        self.assertEqual(probe[48:], b"\x00" * 12)

    def test_rounds(self) -> None:
        """
        Once started, every link gets one probe per round, every
        L{PROBE_INTERVAL} seconds give or take a quarter; stopping ends the
        rounds.
        """
        self.guard.start()
        self.clock.advance(PROBE_INTERVAL * 0.74)
        self.assertEqual([len(l.sent) for l in self.links], [0, 0, 0])
        self.clock.advance(PROBE_INTERVAL * 0.52)
        self.assertEqual([len(l.sent) for l in self.links], [1, 1, 1])
        self.guard.stop()
        self.clock.advance(PROBE_INTERVAL * 10)
        self.assertEqual([len(l.sent) for l in self.links], [1, 1, 1])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_blockedNotProbed(self) -> None:
        """
        A blocked link gets no probes.
        """
        self.links[0].blocked = True
        self.guard.probeAll()
        self.assertEqual([len(l.sent) for l in self.links], [0, 1, 1])

    def test_ownProbeBlocksAfterDelay(self) -> None:
        """
        Our own probe coming back in is consumed; the link it came in on is
        blocked L{DECIDE_DELAY} later, a new round probes the others, and
        after the hold time (L{BLOCK_TIME} to 1.5 times it) it is unblocked
        and probed again.
        """
        self.guard.probeAll()
        probe = self.links[0].sent[0]
        self.assertTrue(self.guard.probeReceived(self.links[1], probe))
        self.assertEqual(self.guard.loopsDetected, 1)
        self.assertFalse(self.links[1].blocked)
        self.clock.advance(DECIDE_DELAY)
        self.assertEqual([l.blocked for l in self.links], [False, True, False])
        self.assertEqual([len(l.sent) for l in self.links], [2, 1, 2])
        self.clock.advance(BLOCK_TIME * 0.99)
        self.assertTrue(self.links[1].blocked)
        self.clock.advance(BLOCK_TIME * 0.52)
        self.assertFalse(self.links[1].blocked)
        self.assertEqual(len(self.links[1].sent), 2)

    def test_oneDecisionPerRound(self) -> None:
        """
        Copies of probes sent before a detection are consumed without
        another decision.
        """
        self.guard.probeAll()
        probe = self.links[0].sent[0]
        self.guard.probeReceived(self.links[1], probe)
        self.assertTrue(self.guard.probeReceived(self.links[2], probe))
        self.clock.advance(DECIDE_DELAY)
        self.assertEqual(self.guard.loopsDetected, 1)
        self.assertEqual([l.blocked for l in self.links], [False, True, False])

    def test_goneBeforeDecision(self) -> None:
        """
        A link that went away before the decision is not blocked.
        """
        self.guard.probeAll()
        self.guard.probeReceived(self.links[1], self.links[0].sent[0])
        self.links[1].state = "CLOSED"
        self.clock.advance(DECIDE_DELAY)
        self.assertFalse(self.links[1].blocked)

    def test_otherProbesNotConsumed(self) -> None:
        """
        Another guard's probe, and frames that only look like probes, are
        not consumed (they are forwarded as ordinary frames).
        """
        self.guard.probeAll()
        probe = bytearray(self.links[0].sent[0])
        probe[34:42] = b"\x01" * 8
        self.assertFalse(self.guard.probeReceived(self.links[1], bytes(probe)))
        wrongType = bytearray(self.links[0].sent[0])
        wrongType[12:14] = b"\x08\x00"
        self.assertFalse(self.guard.probeReceived(self.links[1], bytes(wrongType)))
        self.assertFalse(self.guard.probeReceived(self.links[1], self.links[0].sent[0][:40]))
        self.clock.advance(DECIDE_DELAY)
        self.assertEqual(self.guard.loopsDetected, 0)
        self.assertFalse(any(l.blocked for l in self.links))

    def test_defersToLowerID(self) -> None:
        """
        When a guard with a lower ID was seen in a loop (its probe of one
        round arrived twice), we leave the loop to it; a higher ID does not
        make us defer.
        """
        self.guard.guardID = b"\x80" * 8
        self.guard.probeAll()
        own = self.links[0].sent[0]
        for otherID, blocks in [(b"\xff" * 8, True), (b"\x00" * 8, False)]:
            other = bytearray(own)
            other[34:42] = otherID
            self.guard.probeReceived(self.links[0], bytes(other))
            self.guard.probeReceived(self.links[2], bytes(other))
            self.links[1].blocked = False
            self.guard.probeAll()
            self.guard.probeReceived(self.links[1], self.links[0].sent[-1])
            self.clock.advance(DECIDE_DELAY)
            self.assertEqual(self.links[1].blocked, blocks, otherID)


class LoopGuardCableTests(CableTestCase):
    """
    The loop guard on string transports: a probe written on one cable and
    fed back in through another is a loop.
    """

    loopGuard = True

    def probeFrom(self, transport: StringTransport) -> bytes:
        """
        The last probe written on a transport, as stream bytes.
        """
        data = transport.value()
        probes = [i for i in range(len(data)) if data[i:i + 8] == b"\x00\x3c\x03vdetw"]
        self.assertTrue(probes, "no probe written")
        return data[probes[-1]:probes[-1] + 62]

    def test_probeOnAttach(self) -> None:
        """
        A cable that attaches gets a probe at once: multicast to
        03:76:64:65:74:77, from the switch's MAC, EtherType 0x88b5.
        """
        protocol, transport = self.connect()
        probe = self.probeFrom(transport)[2:]
        self.assertEqual(probe[:6], bytes.fromhex("037664657477"))
        self.assertEqual(probe[6:12], self.switch.mac)
        self.assertEqual(probe[12:14], b"\x88\xb5")
        self.assertEqual(len(probe), 60)

    def test_loopBlocksCable(self) -> None:
        """
        Our probe coming back in on another cable blocks that cable: data
        is dropped both ways (counted) and the cable print says so; after
        the hold time it is unblocked and probed again.
        """
        first, firstTransport = self.connect(1)
        second, secondTransport = self.connect(2)
        second.dataReceived(self.probeFrom(firstTransport))
        self.clock.advance(DECIDE_DELAY)
        self.assertTrue(second.blocked)
        self.assertFalse(first.blocked)
        self.assertEqual(self.manager.loopGuard.loopsDetected, 1)
        self.assertTrue(any("loop detected" in w for w in self.warnings()))
        secondTransport.clear()
        self.host.transport.sendFrame(frame(BROADCAST, MAC2))
        self.assertEqual(secondTransport.value(), b"")
        second.dataReceived(framed(frame(BROADCAST, MAC1)))
        self.assertEqual(self.host.frames, [])
        self.assertIn(" BLOCKED by the loop guard (2 frames dropped)",
                      self.manager.describe())
        self.clock.advance(BLOCK_TIME * 1.5)
        self.assertFalse(second.blocked)
        self.assertIn(b"\x03vdetw", secondTransport.value())

    def test_oneBlockPerRound(self) -> None:
        """
        Only the first copy of a round's probe to come back blocks.
        """
        first, firstTransport = self.connect(1)
        second, secondTransport = self.connect(2)
        third, thirdTransport = self.connect(3)
        probe = self.probeFrom(firstTransport)
        second.dataReceived(probe)
        self.clock.advance(DECIDE_DELAY)
        third.dataReceived(probe)
        self.clock.advance(DECIDE_DELAY)
        self.assertEqual([first.blocked, second.blocked, third.blocked],
                         [False, True, False])

    def test_otherProbesForwarded(self) -> None:
        """
        Another switch's probe is an ordinary frame: forwarded.
        """
        protocol, transport = self.connect()
        probe = bytearray(self.probeFrom(transport))
        probe[2 + 14 + 20] ^= 0xFF
        protocol.dataReceived(bytes(probe))
        self.assertEqual(self.host.frames, [bytes(probe[2:])])

    def test_defersToLowerID(self) -> None:
        """
        A switch that has just seen a lower-ID switch's probe arrive twice
        in one round (so that switch is in the loop and will block) does
        not block itself.
        """
        guard = self.manager.loopGuard
        guard.guardID = b"\xff" * 8
        first, firstTransport = self.connect(1)
        second, secondTransport = self.connect(2)
        own = self.probeFrom(firstTransport)
        other = bytearray(own)
        other[2 + 14 + 20:2 + 14 + 28] = b"\x00" * 8
        first.dataReceived(bytes(other))
        second.dataReceived(bytes(other))
        second.dataReceived(own)
        self.clock.advance(DECIDE_DELAY)
        self.assertFalse(second.blocked)
