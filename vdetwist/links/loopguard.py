# -*- test-case-name: tests.links.test_loopguard -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A loop guard for cable meshes (L{vdetwist.links.cable}): probes flooded
out of every cable, and the cable through which our own probe comes back
blocked for a while.  Not a spanning tree: the switch's FSTP
(L{vdetwist.switch.fstp}) is that; the guard protects cable meshes without
it (docs/cables.txt, "Loops").

The guard knows the cables only as L{IGuardedLink}s, listed by a callable
its owner (the cable manager) gives it.
"""

import os
import random
import struct
from typing import Any, Callable, Dict, List

from twisted.logger import Logger
from zope.interface import Attribute, Interface

log = Logger(namespace="vdetwist.links.cable")

#: The loop guard's probe: to a locally administered multicast address
#: (03:76:64:65:74:77, "\x03vdetw"), which every switch floods, with the
#: IEEE local experimental EtherType.
PROBE_DESTINATION = b"\x03vdetw"
PROBE_TYPE = b"\x88\xb5"
PROBE_MAGIC = b"vdetwist loop probe\x00"
#: The probe after the Ethernet header: magic, guard ID (8 bytes), round
#: (4), the cable ID it was sent on (2).
_PROBE = struct.Struct("!20s8sIH")
#: Seconds between probe rounds (each jittered by +-25%).
PROBE_INTERVAL = 2.0
#: Seconds a cable stays blocked before it is tried again (jittered up to
#: +50%, so switches that blocked at once do not retry in step).
BLOCK_TIME = 30.0
#: Seconds between seeing a loop and blocking, to hear whether a switch
#: with a lower guard ID is in a loop too (then it blocks, and we do not).
DECIDE_DELAY = 0.05
#: Probe rounds remembered per other switch (to see one arrive twice).
ROUNDS_REMEMBERED = 8
#: Switch IDs remembered as seen looped, at most.
MAX_LOOPED_SEEN = 256


class IGuardedLink(Interface):
    """
    A cable as the loop guard sees it.
    """

    cableID = Attribute("The cable's ID (int), carried in its probes.")
    blocked = Attribute("Whether the guard blocked it (bool).")
    state = Attribute("C{CONNECTED} while it carries frames.")

    def sendDirect(frame: bytes) -> None:
        """
        Send a frame to the peer even while blocked (a probe).

        @param frame: the frame.
        """

    def setBlocked(blocked: bool) -> None:
        """
        Drop (or pass again) data frames both ways; probes still pass.

        @param blocked: the new state.
        """


class LoopGuard:
    """
    A simple loop guard for cable meshes (not a spanning tree: that is the
    switch's FSTP).

    Every L{PROBE_INTERVAL} seconds, and whenever a cable attaches or is
    unblocked, the guard sends a probe frame out of each unblocked cable:
    multicast, so every switch (ours or Debian's) floods it.  A probe of
    our own that comes back in through a cable proves a loop: that cable
    is blocked (data frames dropped both ways) for L{BLOCK_TIME} seconds,
    then tried again.  One detection covers every probe sent before it
    (they may all be circling the same loop); after a block a new round
    looks for other loops at once.  A switch defers to one
    with a lower guard ID whose probes it has seen arrive twice in a round
    (that switch is in a loop too, and blocks): the decision waits
    L{DECIDE_DELAY} to hear of such a switch.  Other switches' probes are
    forwarded as ordinary frames.

    It can over-block when two switches detect the same loop at the same
    moment; the block then lifts after L{BLOCK_TIME} and the loop is tested
    again.  Loops closed by ports other than cables are not seen.

    @ivar guardID: 8 random bytes naming this guard.
    @ivar round: the current probe round.
    @ivar loopsDetected: own probes that came back.
    """

    def __init__(self, reactor: Any, mac: bytes,
                 connections: Callable[[], List[Any]]) -> None:
        """
        @param reactor: the reactor (its clock).
        @param mac: the switch's MAC, the source of our probes.
        @param connections: returns the attached L{IGuardedLink}s.
        """
        self.reactor = reactor
        self.mac = mac
        self.connections = connections
        self.guardID = os.urandom(8)
        self.round = 0
        self.loopsDetected = 0
        self.random = random.Random()
        self._cutRound = 0
        self._timer: Any = None
        self._unblockTimers: Dict[int, Any] = {}
        self._seen: Dict[bytes, Dict[int, int]] = {}
        self._looped: Dict[bytes, float] = {}

    def start(self) -> None:
        """
        Start the probe rounds.
        """
        if self._timer is None:
            self._schedule()

    def stop(self) -> None:
        """
        Stop the probe rounds and the unblock timers.
        """
        for timer in [self._timer] + list(self._unblockTimers.values()):
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = None
        self._unblockTimers.clear()

    def _schedule(self) -> None:
        """
        Schedule the next round.
        """
        delay = PROBE_INTERVAL * self.random.uniform(0.75, 1.25)
        self._timer = self.reactor.callLater(delay, self._tick)

    def _tick(self) -> None:
        """
        One round: a probe out of every unblocked cable.
        """
        self._timer = None
        self.probeAll()
        self._schedule()

    def probe(self, connection: Any) -> None:
        """
        Send this round's probe out of one cable.

        @param connection: the cable.
        """
        frame = (PROBE_DESTINATION + self.mac + PROBE_TYPE
                 + _PROBE.pack(PROBE_MAGIC, self.guardID, self.round & 0xFFFFFFFF,
                               connection.cableID & 0xFFFF))
        connection.sendDirect(frame + b"\x00" * (60 - len(frame)))

    def probeAll(self) -> None:
        """
        Start a new round: probe every unblocked cable.
        """
        self.round += 1
        for connection in self.connections():
            if not connection.blocked:
                self.probe(connection)

    def connectionUp(self, connection: Any) -> None:
        """
        A cable attached: test it (and the rest) for a loop at once.

        @param connection: the cable.
        """
        self.probeAll()

    def probeReceived(self, connection: Any, frame: bytes) -> bool:
        """
        A frame to the probe address came in on a cable.

        @param connection: the cable it came in on.
        @param frame: the frame.
        @return: C{True} when it was our own probe (consumed: not
            forwarded), C{False} otherwise (forward it as usual).
        """
        if len(frame) < 14 + _PROBE.size or frame[12:14] != PROBE_TYPE:
            return False
        magic, guardID, probeRound, sentOn = _PROBE.unpack_from(frame, 14)
        if magic != PROBE_MAGIC:
            return False
        now = self.reactor.seconds()
        if guardID != self.guardID:
            self._noteOther(guardID, probeRound, connection.cableID, now)
            return False
        if probeRound <= self._cutRound or connection.blocked:
            return True
        # Every probe sent so far may still be circling this loop: one
        # decision covers them all.
        self._cutRound = self.round
        self.loopsDetected += 1
        self.reactor.callLater(DECIDE_DELAY, self._decide, connection, sentOn)
        return True

    def _decide(self, connection: Any, sentOn: int) -> None:
        """
        A loop was seen through C{connection} L{DECIDE_DELAY} ago: block it,
        unless a switch with a lower guard ID is in a loop too (its probes
        arrived twice in a round), which blocks instead.

        @param connection: the cable our probe came back in on.
        @param sentOn: the cable ID the probe went out on.
        """
        if connection.state != "CONNECTED" or connection.blocked:
            return
        now = self.reactor.seconds()
        for other, when in list(self._looped.items()):
            if now - when > 2 * PROBE_INTERVAL:
                del self._looped[other]
            elif other < self.guardID:
                log.info("loop through cable {id}: left to a switch with a lower guard ID",
                         id=connection.cableID)
                return
        self.block(connection, sentOn)
        self._cutRound = self.round
        self.probeAll()

    def _noteOther(self, guardID: bytes, probeRound: int, cableID: int,
                   now: float) -> None:
        """
        Remember another switch's probe; the same round arriving twice means
        that switch is in a loop with us.

        @param guardID: its guard.
        @param probeRound: the probe's round.
        @param cableID: the cable it came in on.
        @param now: the time.
        """
        rounds = self._seen.get(guardID)
        if rounds is None:
            if len(self._seen) >= MAX_LOOPED_SEEN:
                self._seen.clear()
            rounds = self._seen[guardID] = {}
        if probeRound in rounds:
            self._looped[guardID] = now
            if len(self._looped) > MAX_LOOPED_SEEN:
                self._looped.clear()
        else:
            if len(rounds) >= ROUNDS_REMEMBERED:
                del rounds[min(rounds)]
            rounds[probeRound] = cableID

    def block(self, connection: Any, sentOn: int) -> None:
        """
        Block a cable that closes a loop, for a while.

        @param connection: the cable our probe came back in on.
        @param sentOn: the cable ID the probe went out on.
        """
        hold = BLOCK_TIME * self.random.uniform(1.0, 1.5)
        log.warn("loop detected: our probe sent on cable {sent} came back on cable {id}; "
                 "blocking cable {id} for {hold:.0f} s", sent=sentOn, id=connection.cableID,
                 hold=hold)
        connection.setBlocked(True)
        timer = self._unblockTimers.pop(connection.cableID, None)
        if timer is not None and timer.active():
            timer.cancel()
        self._unblockTimers[connection.cableID] = self.reactor.callLater(
            hold, self.unblock, connection)

    def unblock(self, connection: Any) -> None:
        """
        Try a blocked cable again: unblock it and probe at once.

        @param connection: the cable.
        """
        self._unblockTimers.pop(connection.cableID, None)
        if connection.blocked:
            log.info("cable {id}: unblocked, testing for a loop again",
                     id=connection.cableID)
            connection.setBlocked(False)
            self.probeAll()
