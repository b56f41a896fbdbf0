# -*- test-case-name: tests.switch.test_fstp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
FSTP, vde_switch's "fast spanning tree": a per-VLAN, RSTP-like protocol
spoken between VDE switches (docs/vde-protocol.md section 6), following the
logic of vde2's C{src/vde_switch/fstp.c} so that a mesh of our switches and
Debian's C{vde_switch -F} elects one root and blocks the same loops.

The engine is pure: it holds the per-VLAN state, takes the switch's integer
second tick as an argument, and returns the BPDUs to send as C{(port,
frame)} pairs.  The switch tells it which ports are active members of which
VLANs (L{FSTP.addPort}, L{FSTP.delPort}), hands it the BPDUs it consumes
(L{FSTP.receive}) and calls L{FSTP.tick} every second; the engine calls
back the switch to flush a VLAN's MAC table (a topology change) and when a
port's state in a VLAN changes (L{FSTVLAN.discarding} is the set of ports
whose frames are dropped both ways).

The protocol, in short:

  - Every L{HELLO_PERIOD} seconds each switch sends a BPDU on every
    non-edge member port of every VLAN, with the root it believes in, its
    cost to it, its own id and the port.
  - A BPDU that announces a better root (or worse news on the root port)
    makes the receiving port the root port: every other port that speaks
    FSTP becomes an alternate/backup (discarding, with a proposal), the
    root port forwards and answers with an agreement, and the VLAN's MAC
    table is flushed (a topology change, sent on to the other ports).
  - On a link where both ends know the same root and ours is the better
    path, our port forwards when the peer's port is its root port, and is
    blocked otherwise (so both ends of a redundant link block).
  - The root port times out after 3 hellos without news; a blocked port
    that has heard no BPDU for 16 to 32 seconds forwards again (its peer no
    longer speaks FSTP).

Quirks of vde_switch kept for compatibility: the port identifier and the
little-endian timers (L{vdetwist.wire.bpdu}); a new root resets the VLAN
only when the old root id compares below the 8 bytes of "our MAC followed
by C{00 27}"; the forward delay is always 0; a port (re)joining a VLAN
loses its edge setting.  Deliberate differences: a port that leaves a VLAN
or becomes inactive forgets its discarding state (vde_switch can leave a
tagged port of a re-activated port discarding for good), and with FSTP
off, ports joining or leaving do not flush the VLAN's MAC table (vde_switch
flushes it even then; our switch's behaviour with FSTP off is unchanged).
"""

from typing import Callable, Dict, List, Set, Tuple

from vdetwist.wire.bpdu import (AGREEMENT, BPDU, ROLE_MASK, ROLE_ROOT, TC, MalformedPacket,
                                buildBPDU, parseBPDU, portIdentifier)

#: Seconds between hellos.
HELLO_PERIOD = 4
#: The max age sent (vde_switch sends 10 hellos and never uses it).
MAX_AGE = HELLO_PERIOD * 10
#: The bridge priority vde_switch uses.
DEFAULT_PRIORITY = 0x8000
#: Every port's cost.
DEFAULT_COST = 20000000

#: Port states (vde_switch's values; FORWARDING implies learning).
DISCARDING = 0
LEARNING = 1
FORWARDING = 3
_STATUS_NAMES = {DISCARDING: "discarding", LEARNING: "learning", FORWARDING: "forwarding",
                 2: "forwarding"}

Outgoing = List[Tuple[int, bytes]]


def bridgeID(mac: bytes, priority: int = DEFAULT_PRIORITY) -> bytes:
    """
    A switch's 8-byte id: the priority, big-endian, then its MAC.

    @param mac: the switch's MAC.
    @param priority: the priority.
    @return: 8 bytes.
    """
    return bytes(((priority >> 8) & 0xFF, priority & 0xFF)) + mac


def formatID(identifier: bytes) -> str:
    """
    An 8-byte id as vde_switch prints it (C{80:00:00:ff:...}).

    @param identifier: the id.
    @return: the text.
    """
    return ":".join("%02x" % (b,) for b in identifier)


class FSTVLAN:
    """
    FSTP's state for one VLAN.

    @ivar vid: the VLAN id.
    @ivar root: the root id believed in.
    @ivar rootCost: the cost to it.
    @ivar designated: the id of the switch on the root port's other end
        (all C{ff} when we are the root).
    @ivar designatedPort: that switch's port identifier (2 bytes).
    @ivar rootPort: the root port, 0 when we are the root.
    @ivar rootTimestamp: when the root was last heard of (switch tick).
    @ivar bonusPort: the port whose cost is lowered by L{bonusCost}.
    @ivar bonusCost: see L{bonusPort}.
    @ivar tcTime: when the last topology change happened.
    @ivar untagged: active ports carrying the VLAN untagged.
    @ivar tagged: active ports carrying it tagged.
    @ivar backup: alternate/backup ports.
    @ivar edge: edge ports (no BPDUs either way).
    @ivar received: two sets of ports BPDUs came from, in alternate
        periods of 4 hellos.
    @ivar discarding: ports whose frames are dropped in this VLAN.
    """

    def __init__(self, vid: int, myID: bytes) -> None:
        """
        @param vid: the VLAN id.
        @param myID: this switch's id.
        """
        self.vid = vid
        self.bonusPort = 0
        self.bonusCost = 0
        self.tcTime = 0
        self.untagged: Set[int] = set()
        self.tagged: Set[int] = set()
        self.backup: Set[int] = set()
        self.edge: Set[int] = set()
        self.received: List[Set[int]] = [set(), set()]
        self.discarding: Set[int] = set()
        self.resetRoot(myID)

    def resetRoot(self, myID: bytes) -> None:
        """
        Believe we are the root (the state of a new VLAN).

        @param myID: this switch's id.
        """
        self.root = myID
        self.rootCost = 0
        self.designated = b"\xff" * 8
        self.designatedPort = b"\x00\x00"
        self.rootPort = 0
        self.rootTimestamp = 0

    def active(self, port: int) -> bool:
        """
        Whether FSTP BPDUs came from C{port} lately.

        @param port: the port.
        @return: the answer.
        """
        return port in self.received[0] or port in self.received[1]

    def members(self) -> List[int]:
        """
        The untagged members in order, then the tagged ones.

        @return: port numbers.
        """
        return sorted(self.untagged) + sorted(self.tagged)


class FSTP:
    """
    The FSTP engine of one switch.

    @ivar enabled: whether FSTP runs (C{-F}, C{fstp/setfstp 1}).
    @ivar mac: the switch's MAC (the BPDUs' source).
    @ivar priority: the bridge priority.
    @ivar myID: the bridge id.
    @ivar vlans: VLAN id to L{FSTVLAN}.
    @ivar portCost: the cost of a port, C{portCost(port)}.
    @ivar received: BPDUs consumed.
    @ivar malformed: BPDUs ignored as not version 2 / type 2.
    """

    def __init__(self, mac: bytes, priority: int = DEFAULT_PRIORITY,
                 flushVLAN: Callable[[int], None] = lambda vid: None,
                 statusChanged: Callable[[int, int, int], None] = lambda port, vid, s: None,
                 emit: Callable[[str, str], None] = lambda category, message: None,
                 portCost: Callable[[int], int] = lambda port: DEFAULT_COST) -> None:
        """
        @param mac: the switch's MAC.
        @param priority: the bridge priority.
        @param flushVLAN: called with a VLAN id on a topology change.
        @param statusChanged: called as C{(port, vid, status)} when a port
            starts or stops discarding in a VLAN.
        @param emit: debug events, as C{emit(category, message)}.
        @param portCost: the cost of a port.
        """
        self.enabled = False
        self.mac = mac
        self.priority = priority
        self.myID = bridgeID(mac, priority)
        self.vlans: Dict[int, FSTVLAN] = {}
        self.flushVLAN = flushVLAN
        self.statusChanged = statusChanged
        self.emit = emit
        self.portCost = portCost
        self.received = 0
        self.malformed = 0
        self._helloCounter = 0
        self._historyIndex = 0
        self._nextHello = 0
        # fst_in_bpdu's odd reset test compares the root with these 8 bytes:
        # the MAC and the 802.3 length that follows it in the BPDU.
        self._srcAndLength = mac + b"\x00\x27"

    # -- switching on and off --------------------------------------------

    def enable(self, now: int) -> None:
        """
        Start FSTP: the first hello goes out L{HELLO_PERIOD} seconds later.

        @param now: the switch tick.
        """
        if not self.enabled:
            self.enabled = True
            self._nextHello = now + HELLO_PERIOD

    def disable(self) -> None:
        """
        Stop FSTP: every VLAN forgets its root and its blocked ports forward.
        """
        if self.enabled:
            self.enabled = False
            for vid in sorted(self.vlans):
                self._newRoot(self.vlans[vid])

    # -- VLANs and ports ---------------------------------------------------

    def addVLAN(self, vid: int) -> None:
        """
        A VLAN was created.

        @param vid: its id.
        """
        if vid not in self.vlans:
            vlan = self.vlans[vid] = FSTVLAN(vid, self.myID)
            self._emitRoot(0, vlan)

    def removeVLAN(self, vid: int) -> None:
        """
        A VLAN was removed.

        @param vid: its id.
        """
        self.vlans.pop(vid, None)

    def addPort(self, vid: int, port: int, tagged: bool, now: int) -> Outgoing:
        """
        An active port joined a VLAN (or a port of the VLAN became active):
        a BPDU to it and a topology change.

        @param vid: the VLAN.
        @param port: the port.
        @param tagged: whether it carries the VLAN tagged.
        @param now: the switch tick.
        @return: the BPDUs to send.
        """
        vlan = self.vlans.get(vid)
        if vlan is None:
            return []
        (vlan.tagged if tagged else vlan.untagged).add(port)
        (vlan.untagged if tagged else vlan.tagged).discard(port)
        vlan.backup.discard(port)
        vlan.edge.discard(port)
        vlan.received[0].discard(port)
        vlan.received[1].discard(port)
        out: Outgoing = []
        self._send(out, vlan, port, now)
        self._topologyChange(out, vlan, port, now)
        return out

    def delPort(self, vid: int, port: int, now: int) -> Outgoing:
        """
        A port left a VLAN or became inactive.

        @param vid: the VLAN.
        @param port: the port.
        @param now: the switch tick.
        @return: the BPDUs to send.
        """
        vlan = self.vlans.get(vid)
        if vlan is None:
            return []
        if vlan.active(port):
            self.emit("fstp/-", "Port %04d VLAN %02x:%02x" % (port, vid >> 8, vid & 0xFF))
        vlan.untagged.discard(port)
        vlan.tagged.discard(port)
        vlan.backup.discard(port)
        vlan.edge.discard(port)
        if port in vlan.discarding:
            vlan.discarding.discard(port)
            self.statusChanged(port, vid, FORWARDING)
        if port == vlan.rootPort:
            self._newRoot(vlan)
        out: Outgoing = []
        self._topologyChange(out, vlan, port, now)
        return out

    def setEdge(self, vid: int, port: int, edge: bool) -> None:
        """
        C{fstp/setedge}: an edge port neither sends nor heeds BPDUs.

        @param vid: the VLAN (it exists).
        @param port: the port.
        @param edge: on or off.
        """
        vlan = self.vlans[vid]
        if edge:
            vlan.edge.add(port)
            if port in vlan.untagged or port in vlan.tagged:
                self._setStatus(vlan, port, FORWARDING)
        else:
            vlan.edge.discard(port)
            vlan.backup.discard(port)

    def setBonus(self, vid: int, port: int, cost: int) -> None:
        """
        C{fstp/bonus}: lower one port's cost in a VLAN.

        @param vid: the VLAN (it exists).
        @param port: the port.
        @param cost: subtracted from the port's cost.
        """
        vlan = self.vlans[vid]
        vlan.bonusPort = port
        vlan.bonusCost = cost

    # -- state -------------------------------------------------------------

    def role(self, vid: int, port: int) -> str:
        """
        A port's role as C{fstp/print} names it; tagged members are always
        C{Unknown} (vde_switch tests the untagged set twice).

        @param vid: the VLAN.
        @param port: the port.
        @return: C{Unknown}, C{Edge}, C{Root}, C{Alternate/Backup} or
            C{Designated}.
        """
        vlan = self.vlans[vid]
        if port not in vlan.untagged:
            return "Unknown"
        if port in vlan.edge:
            return "Edge"
        if port == vlan.rootPort:
            return "Root"
        if port in vlan.backup:
            return "Alternate/Backup"
        return "Designated"

    def isRoot(self, vid: int) -> bool:
        """
        Whether this switch believes it is the VLAN's root.

        @param vid: the VLAN.
        @return: the answer.
        """
        return self.vlans[vid].root == self.myID

    # -- time --------------------------------------------------------------

    def tick(self, now: int) -> Outgoing:
        """
        Called every switch tick: hellos every L{HELLO_PERIOD} seconds, and
        every fourth hello the blocked ports that heard nothing forward.

        @param now: the switch tick.
        @return: the BPDUs to send.
        """
        out: Outgoing = []
        if not self.enabled or now < self._nextHello:
            return out
        self._nextHello = now + HELLO_PERIOD
        self._helloCounter += 1
        for vid in sorted(self.vlans):
            self._hello(out, self.vlans[vid], now)
        if self._helloCounter & 3 == 0:
            self._historyIndex = index = 1 - self._historyIndex
            for vid in sorted(self.vlans):
                self._updateBackup(self.vlans[vid], index)
        return out

    def _hello(self, out: Outgoing, vlan: FSTVLAN, now: int) -> None:
        if vlan.rootPort != 0 and now - vlan.rootTimestamp > 3 * HELLO_PERIOD:
            self._newRoot(vlan)
        for port in vlan.members():
            if port not in vlan.edge:
                out.append((port, self._bpdu(vlan, port, now, AGREEMENT)))

    def _updateBackup(self, vlan: FSTVLAN, index: int) -> None:
        for port in sorted(vlan.backup):
            if not vlan.active(port):
                vlan.backup.discard(port)
                self._setStatus(vlan, port, FORWARDING)
        other = vlan.received[1 - index]
        for port in vlan.members():
            if port in vlan.received[index] and port not in other:
                self.emit("fstp/-", "Port %04d VLAN %02x:%02x" % (
                    port, vlan.vid >> 8, vlan.vid & 0xFF))
        vlan.received[index] = set()

    # -- BPDUs ---------------------------------------------------------------

    def receive(self, port: int, frame: bytes, vid: int, tagged: bool, now: int) -> Outgoing:
        """
        A BPDU (a frame to L{vdetwist.wire.bpdu.BPDU_ADDRESS}) came in
        through C{port}, in VLAN C{vid}.  The switch calls this only while
        FSTP is enabled, and never forwards the frame.

        @param port: the ingress port.
        @param frame: the frame.
        @param vid: its VLAN.
        @param tagged: whether it is tagged.
        @param now: the switch tick.
        @return: the BPDUs to send.
        """
        out: Outgoing = []
        vlan = self.vlans.get(vid)
        if vlan is None or port in vlan.edge:
            return out
        if not vlan.active(port):
            self.emit("fstp/+", "Port %04d VLAN %02x:%02x" % (port, vid >> 8, vid & 0xFF))
        vlan.received[self._historyIndex].add(port)
        try:
            bpdu = parseBPDU(frame, tagged)
        except MalformedPacket:
            self.malformed += 1
            return out
        self.received += 1
        if bpdu.flags & TC:
            self._topologyChange(out, vlan, port, now)
        cost = self.portCost(port) - (vlan.bonusCost if port == vlan.bonusPort else 0)
        rootCost = (bpdu.rootCost + cost) & 0xFFFFFFFF
        # >0: a better root or path; 0: the same news; <0: ours is better.
        val = _compare(vlan.root, bpdu.root)
        if val == 0:
            val = _compare(vlan.rootCost.to_bytes(4, "big"), rootCost.to_bytes(4, "big"))
            if val == 0:
                val = _compare(vlan.designated, bpdu.bridge)
                if val == 0:
                    val = _compare(vlan.designatedPort, bpdu.port)
        if val == 0:
            vlan.rootTimestamp = now
        elif val > 0 or port == vlan.rootPort:
            if vlan.root <= self._srcAndLength:
                self._newRoot(vlan)
            vlan.root = bpdu.root
            vlan.rootCost = rootCost
            vlan.designated = bpdu.bridge
            vlan.designatedPort = bpdu.port
            vlan.rootPort = port
            vlan.rootTimestamp = now
            self._emitRoot(port, vlan)
            self._fastProtocol(out, vlan, port, now)
            self._topologyChange(out, vlan, port, now)
        elif vlan.root == bpdu.root:
            if bpdu.flags & ROLE_MASK == ROLE_ROOT:
                if port in vlan.backup:
                    vlan.backup.discard(port)
                    self._setStatus(vlan, port, FORWARDING)
                    self._topologyChange(out, vlan, port, now)
            elif port not in vlan.backup:
                vlan.backup.add(port)
                self._setStatus(vlan, port, DISCARDING)
                self._topologyChange(out, vlan, port, now)
        else:
            self._send(out, vlan, port, now)
        return out

    def _flags(self, vlan: FSTVLAN, port: int, extra: int) -> int:
        backup = port in vlan.backup
        status = DISCARDING if port in vlan.discarding else FORWARDING
        return (extra | (2 if backup else 4) | (8 if vlan.rootPort != port else 0)
                | status << 4)

    def _bpdu(self, vlan: FSTVLAN, port: int, now: int, extra: int) -> bytes:
        age = (0 if vlan.rootPort == 0 else now) - vlan.rootTimestamp
        if age > 0xFFFF:
            age = 0xFFFF
        bpdu = BPDU(self._flags(vlan, port, extra), vlan.root, vlan.rootCost, self.myID,
                    portIdentifier(port), age, MAX_AGE, HELLO_PERIOD, 0)
        return buildBPDU(self.mac, bpdu, vlan.vid if port in vlan.tagged else None)

    def _send(self, out: Outgoing, vlan: FSTVLAN, port: int, now: int, extra: int = 0) -> None:
        if self.enabled and (port in vlan.untagged or port in vlan.tagged):
            out.append((port, self._bpdu(vlan, port, now, extra)))

    def _topologyChange(self, out: Outgoing, vlan: FSTVLAN, origin: int, now: int) -> None:
        """
        Flush the VLAN's MAC table and tell the other forwarding ports that
        speak FSTP (vde_switch flushes the whole VLAN, the origin included).
        """
        if not self.enabled:
            return
        vlan.tcTime = now
        self.flushVLAN(vlan.vid)
        for port in vlan.members():
            if (port != origin and port not in vlan.backup and port not in vlan.edge
                    and vlan.active(port)):
                self._send(out, vlan, port, now, TC)

    def _fastProtocol(self, out: Outgoing, vlan: FSTVLAN, rootPort: int, now: int) -> None:
        """
        A new root port: block every other port that speaks FSTP (with a
        proposal), then forward on the root port and agree.
        """
        for port in vlan.members():
            if (port != rootPort and port not in vlan.backup and port not in vlan.edge
                    and vlan.active(port)):
                self._setStatus(vlan, port, DISCARDING)
                vlan.backup.add(port)
                self._send(out, vlan, port, now)
        vlan.backup.discard(rootPort)
        self._setStatus(vlan, rootPort, FORWARDING)
        self._send(out, vlan, rootPort, now, AGREEMENT)

    def _newRoot(self, vlan: FSTVLAN) -> None:
        """
        vde_switch's C{fstnewvlan}: believe we are the root again, and let
        the blocked ports forward.
        """
        vlan.resetRoot(self.myID)
        self._emitRoot(0, vlan)
        for port in sorted(vlan.backup):
            vlan.backup.discard(port)
            self._setStatus(vlan, port, FORWARDING)

    def _setStatus(self, vlan: FSTVLAN, port: int, status: int) -> None:
        self.emit("fstp/status", "Port %04d VLAN %02x:%02x %s" % (
            port, vlan.vid >> 8, vlan.vid & 0xFF, _STATUS_NAMES[status]))
        if port not in vlan.untagged and port not in vlan.tagged:
            return
        if status == DISCARDING:
            if port not in vlan.discarding:
                vlan.discarding.add(port)
                self.statusChanged(port, vlan.vid, status)
        elif port in vlan.discarding:
            vlan.discarding.discard(port)
            self.statusChanged(port, vlan.vid, status)

    def _emitRoot(self, port: int, vlan: FSTVLAN) -> None:
        self.emit("fstp/root", "Port %04d VLAN %02x:%02x -> %s" % (
            port, vlan.vid >> 8, vlan.vid & 0xFF, formatID(vlan.root)))


def _compare(a: bytes, b: bytes) -> int:
    """
    C{memcmp}'s sign.
    """
    return (a > b) - (a < b)


__all__ = ["FSTP", "FSTVLAN", "HELLO_PERIOD", "MAX_AGE", "DEFAULT_PRIORITY", "DEFAULT_COST",
           "DISCARDING", "LEARNING", "FORWARDING", "bridgeID", "formatID"]

