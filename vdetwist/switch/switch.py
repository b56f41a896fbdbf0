# -*- test-case-name: tests.switch.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch: ports, VLANs, MAC learning and the forwarding path.

Forwarding decides on the first 14 (or 18, tagged) bytes of a frame with
dict lookups and no per-frame objects (DESIGN.md, Performance).  All
configuration goes through methods that raise L{SwitchError} carrying the
errno vde_switch's console would print.

Endpoints are L{ISwitchPort} providers: the datagram endpoints of the
control server (L{vdetwist.switch.server}), kernel taps, and in-process
attachments made with L{Switch.attach}.
"""

import errno
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from zope.interface import implementer

from vdetwist.interfaces import (
    AttachError, IFrameProtocol, IFrameReceiver, IPortAttachment, IPortProvider, ISwitchPort)
from vdetwist.switch.attachment import InProcessEndpoint
from vdetwist.switch.fdb import (
    DEFAULT_MAX_ENTRIES, DEFAULT_MAX_PORT_ENTRIES, LAST_SEEN, PORT, ForwardingDatabase)
from vdetwist.switch.fstp import FSTP
from vdetwist.switch.port import NOBODY, NOVLAN, VLAN, Port
from vdetwist.wire.addr import formatMAC
from vdetwist.wire.bpdu import BPDU_ADDRESS
from vdetwist.wire.frames import MAX_FRAME

DEFAULT_NUMPORTS = 32
# Frames from MIN_FRAME to MAX_FRAME (VDE_ETHBUFSIZE: 9216 + 14 + 4) are
# forwarded.  vde_switch r586 truncates at 1518; we carry jumbo frames
# between our own parts.
#: The highest VLAN id that can be created (4094 is valid 802.1Q; r586
#: refuses it, which we fix).
MAX_VLAN = 4094

#: Debug categories and their tags, as C{debug/list} shows them.
DEBUG_CATEGORIES = [
    ("hash/+", 0o11, "hash: new element"),
    ("hash/-", 0o12, "hash: discarded element"),
    ("fstp/status", 0o44, "fstp: status change"),
    ("fstp/root", 0o45, "fstp: rootswitch/port change"),
    ("fstp/+", 0o41, "fstp: port becomes active"),
    ("fstp/-", 0o42, "fstp: port becomes inactive"),
    ("port/+", 0o21, "new port"),
    ("port/-", 0o22, "closed port"),
    ("port/descr", 0o23, "set port description"),
    ("port/ep/+", 0o31, "new endpoint"),
    ("port/ep/-", 0o32, "closed endpoint"),
]


class SwitchError(AttachError):
    """
    A refused operation, with the errno the console reports.  It is an
    L{AttachError}, so what attaches through L{IPortProvider.attach} needs
    to know no more than that.

    @ivar errno: the error number (e.g. C{errno.ENXIO}), also C{code}.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        """
        @param code: the errno.
        @param reason: a message for logs.
        """
        AttachError.__init__(self, code, reason or os.strerror(code))
        self.errno = code


def randomSwitchMAC() -> bytes:
    """
    A switch MAC as vde_switch makes one: C{00:ff} and 4 random bytes.

    @return: 6 bytes.
    """
    return b"\x00\xff" + os.urandom(4)


@implementer(IPortProvider)
class Switch:
    """
    A VDE switch.  It offers ports by call to whatever runs in the same
    process (L{IPortProvider}).

    @ivar ports: the port table, C{numports} long, L{None} for uncreated
        ports.
    @ivar vlans: VLAN id to L{VLAN}; VLAN 0 always exists.
    @ivar hub: hub mode: every frame to every port, no learning.
    @ivar mac: the switch's MAC, 6 bytes.
    @ivar fdb: the L{ForwardingDatabase}.
    @ivar now: the switch's integer second tick (advanced by L{tick}).
    @ivar runts: frames dropped for being shorter than 14 bytes.
    @ivar oversize: frames dropped for being longer than L{MAX_FRAME}.
    @ivar vlanDrops: frames dropped for VLAN membership.
    @ivar fstp: the L{FSTP} engine (always there, so C{fstp/setedge} and
        C{fstp/bonus} work with FSTP off, as in vde_switch; running only
        after L{setFSTP}).
    @ivar fstpDrops: frames dropped because their port is discarding in
        their VLAN (FSTP).
    @ivar vlanCaptures: VLAN id to the capture of every frame entering that
        VLAN (L{startVLANCapture}).
    @ivar mtu: the MTU the switch's clients default to (C{--mtu};
        L{vdetwist.vde.announce}); frames up to L{MAX_FRAME} pass whatever
        it is.
    """

    def __init__(self, numports: int = DEFAULT_NUMPORTS, hub: bool = False,
                 mac: Optional[bytes] = None, hashSize: int = 128,
                 maxFDBEntries: int = DEFAULT_MAX_ENTRIES,
                 maxPortFDBEntries: int = DEFAULT_MAX_PORT_ENTRIES,
                 mtu: int = 1500) -> None:
        """
        @param numports: the number of ports (0 .. numports - 1).
        @param hub: start in hub mode.
        @param mac: the switch MAC, random C{00:ff:...} by default.
        @param hashSize: the hash bucket count.
        @param maxFDBEntries: the bound on learned MACs (past it the least
            recently seen is evicted).
        @param maxPortFDBEntries: the bound on the MACs one port learns (past
            it the port's least recently seen is evicted), 0 for none.
        @param mtu: the MTU announced to the switch's clients.
        """
        if numports < 1:
            raise SwitchError(errno.EINVAL, "numports must be positive")
        self.ports: List[Optional[Port]] = [None] * numports
        self.vlans: Dict[int, VLAN] = {0: VLAN(0)}
        self.hub = hub
        self.mac = mac if mac is not None else randomSwitchMAC()
        self.fdb = ForwardingDatabase(hashSize, maxFDBEntries, maxPortFDBEntries)
        self.fdb.onAdd = self._hashAdded
        self.fdb.onRemove = self._hashRemoved
        self.now = 0
        self.runts = 0
        self.oversize = 0
        self.vlanDrops = 0
        self._hubPorts: List[Port] = []
        self._observers: List[Callable[[str, str], None]] = []
        self._nextInProcessID = 10000
        self._tables = self.fdb.tables
        self._tables.setdefault(0, {})
        self.fstpDrops = 0
        self.fstp = FSTP(self.mac, flushVLAN=self._fstpFlush,
                         statusChanged=self._fstpStatusChanged, emit=self.emit)
        self.fstp.addVLAN(0)
        self.vlanCaptures: Dict[int, Any] = {}
        self.mtu = mtu

    # -- time ----------------------------------------------------------

    def tick(self) -> None:
        """
        Advance the 1-second tick; age the table every C{gcInterval} ticks.
        """
        self.now += 1
        gc = self.fdb.gcInterval
        if gc > 0 and self.now % gc == 0:
            self.fdb.expireOld(self.now)
        if self.fstp.enabled:
            self._sendBPDUs(self.fstp.tick(self.now))

    # -- events --------------------------------------------------------

    def addObserver(self, observer: Callable[[str, str], None]) -> None:
        """
        Receive debug events as C{observer(category, message)}.

        @param observer: the callable.
        """
        self._observers.append(observer)

    def removeObserver(self, observer: Callable[[str, str], None]) -> None:
        """
        Stop receiving debug events.

        @param observer: a callable given to L{addObserver}.
        """
        if observer in self._observers:
            self._observers.remove(observer)

    def emit(self, category: str, message: str) -> None:
        """
        Send a debug event to the observers.

        @param category: e.g. C{port/+}.
        @param message: the text after the category.
        """
        for observer in list(self._observers):
            observer(category, message)

    def _hashAdded(self, mac: bytes, vlan: int, port: Port) -> None:
        if self._observers:
            self.emit("hash/+", "%s VLAN %02x:%02x Port %d" % (
                formatMAC(mac), vlan & 0xFF, vlan >> 8, port.number))

    def _hashRemoved(self, mac: bytes, vlan: int, port: Port) -> None:
        if self._observers:
            self.emit("hash/-", "%s VLAN %02x:%02x Port %d" % (
                formatMAC(mac), vlan & 0xFF, vlan >> 8, port.number))

    # -- forwarding ----------------------------------------------------

    def frameFromPort(self, port: Port, frame: bytes) -> None:
        """
        Forward one frame that entered through C{port}.  Never raises.

        @param port: the ingress port.
        @param frame: the frame.
        """
        n = len(frame)
        if n < 14:
            self.runts += 1
            return
        if n > MAX_FRAME:
            self.oversize += 1
            return
        port.inPackets += 1
        port.inBytes += n
        if port.capture is not None:
            port.capture(frame)
        if self.hub:
            for out in self._hubPorts:
                if out is not port:
                    out.outPackets += 1
                    out.outBytes += n
                    out.send(frame)
            return
        if frame[12] == 0x81 and frame[13] == 0:
            if n < 18:
                self.runts += 1
                return
            vid = ((frame[14] & 0x0F) << 8) | frame[15]
            if vid != port.untagged and vid not in port.tagged:
                self.vlanDrops += 1
                return
            tagged = True
        else:
            vid = port.untagged
            if vid == NOVLAN:
                self.vlanDrops += 1
                return
            tagged = False
        vlan = self.vlans.get(vid)
        if vlan is None:
            self.vlanDrops += 1
            return
        table = self._tables[vid]
        if not frame[6] & 1:
            src = frame[6:12]
            entry = table.get(src)
            if entry is not None and entry[PORT] is port:
                if entry[LAST_SEEN] != self.now:
                    self.fdb.touch(entry, self.now)
            else:
                moved = self.fdb.learn(table, vid, src, port, self.now)
                if moved is not None:
                    self._macMoved(src, moved)
        if not frame[0] & 1:
            entry = table.get(frame[0:6])
            if entry is not None:
                out = entry[PORT]
                if out is port:
                    return
                if tagged:
                    if vid in out.tagged:
                        data = frame
                    else:
                        data = frame[:12] + frame[16:]
                elif vid == out.untagged:
                    data = frame
                else:
                    data = frame[:12] + vlan.tag + frame[12:]
                out.outPackets += 1
                out.outBytes += len(data)
                out.send(data)
                return
        # flood
        if tagged:
            same, other = vlan.taggedActive, vlan.untaggedActive
            converted = None
            for out in same:
                if out is not port:
                    out.outPackets += 1
                    out.outBytes += n
                    out.send(frame)
            for out in other:
                if out is not port:
                    if converted is None:
                        converted = frame[:12] + frame[16:]
                    out.outPackets += 1
                    out.outBytes += n - 4
                    out.send(converted)
        else:
            converted = None
            for out in vlan.untaggedActive:
                if out is not port:
                    out.outPackets += 1
                    out.outBytes += n
                    out.send(frame)
            for out in vlan.taggedActive:
                if out is not port:
                    if converted is None:
                        converted = frame[:12] + vlan.tag + frame[12:]
                    out.outPackets += 1
                    out.outBytes += n + 4
                    out.send(converted)

    def _frameFromPortFSTP(self, port: Port, frame: bytes) -> None:
        """
        L{frameFromPort} while FSTP runs (it replaces it on the instance, so
        with FSTP off forwarding pays nothing for it): BPDUs are consumed,
        frames from a port discarding in their VLAN are dropped (both
        counted as received), the rest forwarded as usual.  Flood lists
        leave discarding ports out already (L{_refreshMembership}).

        @param port: the ingress port.
        @param frame: the frame.
        """
        n = len(frame)
        if n < 14 or n > MAX_FRAME or self.hub:
            return Switch.frameFromPort(self, port, frame)
        if frame[12] == 0x81 and frame[13] == 0:
            if n < 18:
                return Switch.frameFromPort(self, port, frame)
            vid = ((frame[14] & 0x0F) << 8) | frame[15]
            tagged = True
            if vid != port.untagged and vid not in port.tagged:
                return Switch.frameFromPort(self, port, frame)
        else:
            vid = port.untagged
            tagged = False
        vlan = self.fstp.vlans.get(vid)
        if vlan is None or vid not in self.vlans:
            return Switch.frameFromPort(self, port, frame)
        if frame[0] == 1 and frame[:6] == BPDU_ADDRESS:
            port.inPackets += 1
            port.inBytes += n
            if port.capture is not None:
                port.capture(frame)
            self._sendBPDUs(self.fstp.receive(port.number, frame, vid, tagged, self.now))
            return
        if port.number in vlan.discarding:
            port.inPackets += 1
            port.inBytes += n
            if port.capture is not None:
                port.capture(frame)
            self.fstpDrops += 1
            return
        Switch.frameFromPort(self, port, frame)

    def _sendBPDUs(self, bpdus: List[Tuple[int, bytes]]) -> None:
        """
        Send what the FSTP engine asks for.

        @param bpdus: C{(port number, frame)} pairs.
        """
        ports = self.ports
        for number, frame in bpdus:
            if number < len(ports):
                out = ports[number]
                if out is not None and out.endpoints:
                    out.outPackets += 1
                    out.outBytes += len(frame)
                    out.send(frame)

    def _fstpFlush(self, vid: int) -> None:
        """
        A topology change: forget every MAC learned in the VLAN.

        @param vid: the VLAN.
        """
        table = self._tables.get(vid)
        if table:
            for mac in list(table):
                self.fdb.remove(vid, mac)

    def _fstpStatusChanged(self, number: int, vid: int, status: int) -> None:
        """
        A port started or stopped discarding in a VLAN: recompute that
        VLAN's flood lists.
        """
        vlan = self.vlans.get(vid)
        fst = self.fstp.vlans.get(vid)
        if vlan is not None and fst is not None:
            vlan.refresh(self.ports, fst.discarding)

    def setFSTP(self, on: bool) -> None:
        """
        C{-F}, C{fstp/setfstp 0|1}: run FSTP or stop it.  Refused silently
        in hub mode (the console prints why).

        @param on: whether FSTP runs.
        """
        if on and not self.hub:
            self.fstp.enable(self.now)
        elif not on:
            self.fstp.disable()
            self._refreshMembership()
        self._installForward()

    def _installForward(self) -> None:
        """
        Put the forwarding path in force: L{frameFromPort} itself, or on
        the instance L{_frameFromPortFSTP} while FSTP runs, wrapped by
        L{vdetwist.switch.capture.vlanCapturingForward} while a VLAN is
        captured; so each costs nothing while off.
        """
        self.__dict__.pop("frameFromPort", None)
        if self.fstp.enabled:
            self.frameFromPort = self._frameFromPortFSTP  # type: ignore[method-assign]
        if self.vlanCaptures:
            from vdetwist.switch.capture import vlanCapturingForward
            self.frameFromPort = vlanCapturingForward(  # type: ignore[method-assign]
                self, self.frameFromPort)
        # In-process attachments hold the forwarding path bound (no lookup
        # per frame): give them the one now in force.
        forward = self.frameFromPort
        for port, endpoint in list(self.endpoints()):
            if isinstance(endpoint, InProcessEndpoint):
                endpoint.attachment._forward = forward

    def _syncFSTP(self) -> List[Tuple[int, bytes]]:
        """
        Tell the FSTP engine which active ports carry which VLANs now, by
        difference with what it knew (ports leaving first, then joining).

        @return: the BPDUs to send once the flood lists are recomputed.
        """
        fstp = self.fstp
        now = self.now
        for vid in [v for v in fstp.vlans if v not in self.vlans]:
            fstp.removeVLAN(vid)
        bpdus: List[Tuple[int, bytes]] = []
        for vid in sorted(self.vlans):
            if vid not in fstp.vlans:
                fstp.addVLAN(vid)
            fst = fstp.vlans[vid]
            untagged = set()
            tagged = set()
            for p in self.ports:
                if p is not None and p.endpoints:
                    if p.untagged == vid:
                        untagged.add(p.number)
                    elif vid in p.tagged:
                        tagged.add(p.number)
            for number in sorted((fst.untagged - untagged) | (fst.tagged - tagged)):
                if number not in untagged and number not in tagged:
                    bpdus.extend(fstp.delPort(vid, number, now))
            for number in sorted(untagged - fst.untagged):
                bpdus.extend(fstp.addPort(vid, number, False, now))
            for number in sorted(tagged - fst.tagged):
                bpdus.extend(fstp.addPort(vid, number, True, now))
        return bpdus

    def _macMoved(self, mac: bytes, moved: Tuple[Port, Port]) -> None:
        """
        Log a MAC that moved between ports, as vde_switch does.
        """
        from twisted.logger import Logger
        Logger(namespace="vdetwist.switch").info(
            "MAC {mac} moved from port {old} to port {new}",
            mac=formatMAC(mac), old=moved[0].number, new=moved[1].number)

    # -- membership bookkeeping ----------------------------------------

    def _refreshMembership(self) -> None:
        """
        Recompute the flood lists after ports, endpoints or VLANs changed.
        """
        bpdus = self._syncFSTP()
        fstVLANs = self.fstp.vlans
        for vid, vlan in self.vlans.items():
            fst = fstVLANs.get(vid)
            vlan.refresh(self.ports, fst.discarding if fst is not None else ())
        if bpdus:
            self._sendBPDUs(bpdus)
        self._hubPorts = [p for p in self.ports[1:] if p is not None and p.endpoints]

    # -- endpoints -----------------------------------------------------

    @property
    def numports(self) -> int:
        """
        The number of ports.
        """
        return len(self.ports)

    def _createPort(self, number: int, allocatable: bool) -> Port:
        port = Port(number, allocatable)
        self.ports[number] = port
        self.emit("port/+", "%02d" % (number,))
        return port

    def _allowed(self, port: Port, uid: int, gids: Tuple[int, ...]) -> bool:
        """
        vde_switch's access rule for attaching to C{port}.
        """
        if uid == 0:
            return True
        if port.endpoints and port.currentUser != uid:
            return False
        if port.user == NOBODY and port.group == NOBODY:
            return True
        return uid == port.user or (port.group != NOBODY and port.group in gids)

    def choosePort(self, requested: int, port0: bool, uid: int = 0,
                   gids: Tuple[int, ...] = ()) -> Port:
        """
        Pick (creating if needed) the port for a new endpoint, per
        docs/vde-protocol.md section 1.5.

        @param requested: the requested port, 0 for any free one.
        @param port0: the special port 0 was asked for.
        @param uid: the client's uid (from its peer credentials).
        @param gids: the client's groups.
        @return: the port.
        @raise SwitchError: when no port can be given.
        """
        if port0:
            number = 0
        elif requested:
            number = requested
            if number >= len(self.ports):
                raise SwitchError(errno.EINVAL, "port %d out of range (numports %d)"
                                  % (number, len(self.ports)))
        else:
            for number in range(1, len(self.ports)):
                p = self.ports[number]
                if p is None or (not p.endpoints and p.allocatable
                                 and self._allowed(p, uid, gids)):
                    break
            else:
                raise SwitchError(errno.ENOSPC, "all ports are busy")
        port = self.ports[number]
        if port is None:
            port = self._createPort(number, True)
        if not self._allowed(port, uid, gids):
            raise SwitchError(errno.EPERM, "port %d: access denied for uid %d"
                              % (number, uid))
        return port

    def addEndpoint(self, port: Port, endpoint: ISwitchPort, uid: int = 0) -> None:
        """
        Attach an endpoint to a port chosen by L{choosePort}.

        @param port: the port.
        @param endpoint: the endpoint; it gets C{endpoint.port = port}.
        @param uid: the owner of the endpoint.
        """
        endpoint.port = port
        port.endpoints.insert(0, endpoint)
        port.currentUser = uid
        port.rebind()
        self._refreshMembership()
        self.emit("port/ep/+", "Port %02d FD %2d" % (port.number, endpoint.endpointID))
        if endpoint.description:
            self.emit("port/descr", 'Port %02d FD %2d -> "%s"' % (
                port.number, endpoint.endpointID, endpoint.description))

    def removeEndpoint(self, endpoint: ISwitchPort) -> None:
        """
        Detach an endpoint; the last one makes its port inactive and flushes
        the port's MAC entries.

        @param endpoint: an endpoint given to L{addEndpoint}.
        """
        port = getattr(endpoint, "port", None)
        if port is None or endpoint not in port.endpoints:
            return
        port.endpoints.remove(endpoint)
        port.rebind()
        self._refreshMembership()
        self.emit("port/ep/-", "Port %02d FD %2d" % (port.number, endpoint.endpointID))
        if not port.endpoints:
            port.currentUser = NOBODY
            self.emit("port/-", "%02d" % (port.number,))
            self.fdb.flushPort(port)

    def attach(self, receiver: IFrameReceiver, description: str = "in-process",
               port: int = 0) -> IPortAttachment:
        """
        Take a port from inside this process: frames pass by call
        (L{IPortProvider.attach}).  The port sends to the
        C{receiver.frameReceived} bound at this call (see
        L{PortAttachment.receiverChanged}).  A receiver with C{module} or
        C{endpointID} attributes is shown with them by port/print (cables
        show C{cable} and their own IDs); others show C{in-process} and IDs
        from 10000 up.

        @param receiver: gets the frames leaving the port; when it provides
            L{IFrameProtocol} its C{makeConnection} is called with the
            attachment before this returns, and C{connectionLost} when the
            port closes.
        @param description: what port/print shows.
        @param port: the port wanted, 0 for any free one.
        @return: the L{PortAttachment}, whose C{sendFrame} puts frames into
            the switch.
        @raise SwitchError: (an L{AttachError}) when no port can be given.
        """
        chosen = self.choosePort(port, False)
        endpointID = getattr(receiver, "endpointID", None)
        if endpointID is None:
            endpointID = self._nextInProcessID
            self._nextInProcessID += 1
        endpoint = InProcessEndpoint(self, receiver, description, endpointID,
                                     getattr(receiver, "module", "in-process"))
        attachment = endpoint.attachment
        attachment._port = chosen
        self.addEndpoint(chosen, endpoint, os.getuid())
        if IFrameProtocol.providedBy(receiver):
            receiver.makeConnection(attachment)
        return attachment

    def endpoints(self) -> Iterator[Tuple[Port, Any]]:
        """
        Every attached endpoint.

        @return: an iterator of C{(port, endpoint)}.
        """
        for port in self.ports:
            if port is not None:
                for endpoint in list(port.endpoints):
                    yield port, endpoint

    # -- configuration (the console's verbs) ---------------------------

    def closeAll(self) -> None:
        """
        Close every endpoint: the switch is going away (its server stops).
        In-process receivers are told with C{connectionLost}, as clients
        over a plug see their control stream end.
        """
        for port, endpoint in list(self.endpoints()):
            endpoint.close()

    def _port(self, number: int) -> Port:
        if not 0 <= number < len(self.ports):
            raise SwitchError(errno.EINVAL)
        port = self.ports[number]
        if port is None:
            raise SwitchError(errno.ENXIO)
        return port

    def getPort(self, number: int) -> Port:
        """
        An existing port.

        @param number: the port number.
        @return: the port.
        @raise SwitchError: EINVAL out of range, ENXIO not created.
        """
        return self._port(number)

    def createPort(self, number: int) -> Port:
        """
        C{port/create N}: an inactive, not allocatable port.

        @param number: the port number (not 0).
        @return: the port.
        @raise SwitchError: EINVAL out of range, EEXIST exists.
        """
        if not 0 < number < len(self.ports):
            raise SwitchError(errno.EINVAL)
        if self.ports[number] is not None:
            raise SwitchError(errno.EEXIST)
        port = self._createPort(number, False)
        self._refreshMembership()
        return port

    def createPortAuto(self) -> Port:
        """
        C{port/createauto}: the lowest port that is free or inactive and
        allocatable (as r586's C{alloc_port(0)}), made not allocatable.

        @return: the port.
        @raise SwitchError: ENOSPC when there is none.
        """
        for number in range(1, len(self.ports)):
            port = self.ports[number]
            if port is None:
                return self.createPort(number)
            if not port.endpoints and port.allocatable:
                self.setAllocatable(number, False)
                return port
        raise SwitchError(errno.ENOSPC)

    def removePort(self, number: int) -> None:
        """
        C{port/remove N}.

        @param number: the port.
        @raise SwitchError: ENXIO missing, EADDRINUSE active.
        """
        port = self._port(number)
        if port.endpoints:
            raise SwitchError(errno.EADDRINUSE)
        self.fdb.flushPort(port)
        self.ports[number] = None
        self._refreshMembership()

    def setNumPorts(self, numports: int) -> None:
        """
        C{port/setnumports N}.

        @param numports: the new count.
        @raise SwitchError: EINVAL for N < 1, EADDRINUSE when a port at or
            above N exists.
        """
        if numports < 1:
            raise SwitchError(errno.EINVAL)
        if any(p is not None for p in self.ports[numports:]):
            raise SwitchError(errno.EADDRINUSE)
        if numports < len(self.ports):
            del self.ports[numports:]
        else:
            self.ports.extend([None] * (numports - len(self.ports)))
        self._refreshMembership()

    def setHub(self, hub: bool) -> None:
        """
        C{port/sethub 0|1}.

        @param hub: hub mode on or off.
        """
        self.hub = hub
        if hub:
            self.setFSTP(False)
        self._refreshMembership()

    def setAllocatable(self, number: int, allocatable: bool) -> None:
        """
        C{port/allocatable N 0|1}.

        @param number: the port.
        @param allocatable: the flag.
        """
        self._port(number).allocatable = allocatable

    def setPortUser(self, number: int, uid: int) -> None:
        """
        C{port/setuser N user}.

        @param number: the port.
        @param uid: the uid or L{NOBODY}.
        """
        self._port(number).user = uid

    def setPortGroup(self, number: int, gid: int) -> None:
        """
        C{port/setgroup N group}.

        @param number: the port.
        @param gid: the gid or L{NOBODY}.
        """
        self._port(number).group = gid

    def closeEndpoint(self, number: int, endpointID: int) -> None:
        """
        C{port/epclose N ID}.

        @param number: the port.
        @param endpointID: the endpoint ID.
        @raise SwitchError: ENXIO when there is no such endpoint.
        """
        port = self._port(number)
        for endpoint in port.endpoints:
            if endpoint.endpointID == endpointID:
                endpoint.close()
                return
        raise SwitchError(errno.ENXIO)

    def startCapture(self, number: int, capture: Any) -> None:
        """
        C{port/capture N FILE}: give every frame in and out of port N to
        C{capture} (replacing a capture already running there).

        @param number: the port.
        @param capture: a callable taking a frame, with a C{close()}.
        @raise SwitchError: EINVAL out of range, ENXIO not created.
        """
        port = self._port(number)
        self.stopCapture(number)
        port.capture = capture
        port.rebind()

    def stopCapture(self, number: int) -> Any:
        """
        C{port/nocapture N}: stop and close port N's capture.

        @param number: the port.
        @return: the capture that was stopped, or L{None}.
        @raise SwitchError: EINVAL out of range, ENXIO not created.
        """
        port = self._port(number)
        capture, port.capture = port.capture, None
        if capture is not None:
            port.rebind()
            capture.close()
        return capture

    def startVLANCapture(self, vid: int, capture: Any) -> None:
        """
        C{vlan/stream N}: give every frame the switch admits into VLAN
        C{vid} to C{capture}, as it entered (replacing a capture already
        running there).

        @param vid: the VLAN.
        @param capture: a callable taking a frame, with a C{close()}.
        @raise SwitchError: ENXIO when the VLAN does not exist.
        """
        if vid not in self.vlans:
            raise SwitchError(errno.ENXIO)
        self.stopVLANCapture(vid)
        self.vlanCaptures[vid] = capture
        if len(self.vlanCaptures) == 1:
            self._installForward()

    def stopVLANCapture(self, vid: int) -> Any:
        """
        C{vlan/nocapture N}: stop and close VLAN C{vid}'s capture.

        @param vid: the VLAN.
        @return: the capture that was stopped, or L{None}.
        """
        capture = self.vlanCaptures.pop(vid, None)
        if capture is not None:
            if not self.vlanCaptures:
                self._installForward()
            capture.close()
        return capture

    def resetCounters(self, number: Optional[int] = None) -> None:
        """
        C{port/resetcounter [N]}.

        @param number: one port, or all when L{None}.
        """
        if number is None:
            for port in self.ports:
                if port is not None:
                    port.resetCounters()
        else:
            self._port(number).resetCounters()

    def setPortVLAN(self, number: int, vid: int) -> None:
        """
        C{port/setvlan N VLAN}: the port's untagged VLAN (L{NOVLAN} for
        none); the port's MAC entries are flushed.

        @param number: the port.
        @param vid: the VLAN.
        @raise SwitchError: EINVAL bad numbers, ENXIO undefined port/VLAN.
        """
        if not 0 <= vid <= NOVLAN:
            raise SwitchError(errno.EINVAL)
        port = self._port(number)
        if vid != NOVLAN and vid not in self.vlans:
            raise SwitchError(errno.ENXIO)
        port.tagged.discard(vid)
        port.untagged = vid
        self.fdb.flushPort(port)
        self._refreshMembership()

    def createVLAN(self, vid: int) -> None:
        """
        C{vlan/create N}, for N in 1 .. 4094.

        @param vid: the VLAN id.
        @raise SwitchError: EINVAL out of range, EEXIST exists.
        """
        if not 1 <= vid <= MAX_VLAN:
            raise SwitchError(errno.EINVAL)
        if vid in self.vlans:
            raise SwitchError(errno.EEXIST)
        self.vlans[vid] = VLAN(vid)
        self._tables.setdefault(vid, {})
        self._refreshMembership()

    def removeVLAN(self, vid: int) -> None:
        """
        C{vlan/remove N}.

        @param vid: the VLAN id.
        @raise SwitchError: ENXIO undefined, EADDRINUSE has members.
        """
        if vid not in self.vlans or vid == 0:
            raise SwitchError(errno.ENXIO if vid not in self.vlans else errno.EADDRINUSE)
        if any(p is not None and p.memberOf(vid) for p in self.ports):
            raise SwitchError(errno.EADDRINUSE)
        del self.vlans[vid]
        self.fstp.removeVLAN(vid)
        self.fdb.flush(lambda v, mac, entry: v == vid)

    def addTaggedPort(self, vid: int, number: int) -> None:
        """
        C{vlan/addport N PORT}: PORT carries N tagged.

        @param vid: the VLAN id.
        @param number: the port.
        @raise SwitchError: ENXIO missing VLAN or port.
        """
        if vid not in self.vlans:
            raise SwitchError(errno.ENXIO)
        port = self._port(number)
        if port.untagged == vid:
            raise SwitchError(errno.EEXIST)
        port.tagged.add(vid)
        self._refreshMembership()

    def delTaggedPort(self, vid: int, number: int) -> None:
        """
        C{vlan/delport N PORT}.

        @param vid: the VLAN id.
        @param number: the port.
        @raise SwitchError: ENXIO missing, EADDRINUSE for the untagged VLAN.
        """
        if vid not in self.vlans:
            raise SwitchError(errno.ENXIO)
        port = self._port(number)
        if port.untagged == vid:
            raise SwitchError(errno.EADDRINUSE)
        if vid not in port.tagged:
            raise SwitchError(errno.ENXIO)
        port.tagged.discard(vid)
        self.fdb.flushPort(port, vid)
        self._refreshMembership()
