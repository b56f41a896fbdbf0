# -*- test-case-name: tests.links.test_vxlan -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
VXLAN ports (RFC 7348): a switch port whose frames travel in UDP to other
VXLAN tunnel end points (VTEPs), as the Linux kernel's C{vxlan} device and
vdeplug4's C{vxlan://} send them.

Each UDP payload is an 8-byte header and an Ethernet frame::

    08 00 00 00   flags (the I bit: the VNI is valid), 24 reserved bits
    VV VV VV 00   the 24-bit VXLAN network identifier, 8 reserved bits

Frames for a MAC learned behind a VTEP go to that VTEP alone; broadcasts,
multicasts and unknown unicasts go to every configured remote (head-end
replication, as Linux does with C{remote} or C{bridge fdb append
00:00:00:00:00:00 dst ...}) and to every VTEP heard from, so a VTEP that
only reached us first still gets our floods.  A multicast remote is joined,
as Linux's C{group}.  Replies go to the VTEP's address at the remote port
(4789 by default), not to the datagram's source port, which Linux varies
per flow.

The MAC table is bounded (L{MAX_MACS}) and entries age out after
L{AGEING_TIME} seconds; the set of VTEPs flooded to is bounded too
(L{MAX_VTEPS}).

VXLAN ports and vxvde segments are entries of the cable table: this module
registers the C{vxlan} and C{vxvde} kinds with a L{CableManager}
(L{registerKinds}), which imports no transport itself.
"""

import collections
import ipaddress
import socket
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from vdetwist.interfaces import AttachError
from vdetwist.links.cable import Cable, CableManager
from vdetwist.links.cableendpoints import CableError
from vdetwist.links.switchport import FIRST_ENDPOINT_ID, LinkPort
from vdetwist.wire.frames import MIN_FRAME

log = Logger(namespace="vdetwist.links.vxlan")

#: The IANA VXLAN port, the default of Linux's C{dstport} since 3.x.
VXLAN_PORT = 4789
#: The I flag: the VNI field is valid.
FLAG_I = 0x08
#: The header length.
HEADER_LENGTH = 8
#: The largest VNI.
MAX_VNI = (1 << 24) - 1
#: MACs learned behind remote VTEPs, at most.
MAX_MACS = 4096
#: VTEPs heard from and flooded to, at most (configured remotes come on top).
MAX_VTEPS = 256
#: Seconds a learned MAC lives without traffic: Linux's vxlan C{ageing}
#: default.
AGEING_TIME = 300
#: The largest datagram read.
MAX_DATAGRAM = 65535


def encodeHeader(vni: int) -> bytes:
    """
    The VXLAN header for a VNI.

    @param vni: 0 .. 2**24 - 1.
    @return: 8 bytes.
    @raise ValueError: for a VNI out of range.
    """
    if not 0 <= vni <= MAX_VNI:
        raise ValueError("VNI %d out of range 0..%d" % (vni, MAX_VNI))
    return bytes([FLAG_I, 0, 0, 0]) + vni.to_bytes(3, "big") + b"\x00"


def decodeHeader(datagram: bytes) -> Optional[int]:
    """
    The VNI of a VXLAN datagram, checked: long enough for the header, the I
    flag set.  Reserved bits are ignored, as RFC 7348 says receivers do.

    @param datagram: a UDP payload.
    @return: the VNI, or L{None} when it is not a valid VXLAN header.
    """
    if len(datagram) < HEADER_LENGTH or not datagram[0] & FLAG_I:
        return None
    return int.from_bytes(datagram[4:7], "big")


class VXLANSpec:
    """
    A parsed C{--vxlan LOCAL:PORT,VNI[,REMOTE[:PORT]...]}.

    @ivar localHost: the address to bind (C{0.0.0.0} for all).
    @ivar localPort: the UDP port to bind.
    @ivar vni: the VXLAN network identifier.
    @ivar remotes: C{(ip, port)} of the configured remote VTEPs.
    @ivar remotePort: where replies to learned VTEPs go.
    """

    def __init__(self, localHost: str, localPort: int, vni: int,
                 remotes: List[Tuple[str, int]]) -> None:
        """
        @param localHost: the bind address.
        @param localPort: the bind port.
        @param vni: the VNI.
        @param remotes: the remote VTEPs.
        """
        self.localHost = localHost
        self.localPort = localPort
        self.vni = vni
        self.remotes = remotes
        self.remotePort = localPort or VXLAN_PORT


def _hostPort(text: str, defaultPort: int) -> Tuple[str, int]:
    """
    C{IP}, C{IP:PORT} or C{[IPv6]:PORT}, checked.

    @param text: the text.
    @param defaultPort: the port when none is given.
    @return: C{(ip, port)}.
    @raise ValueError: when it is not an IP address and port.
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else defaultPort
    elif text.count(":") == 1:
        host, portText = text.split(":")
        port = int(portText)
    else:
        host, port = text, defaultPort
    ipaddress.ip_address(host)
    if not 0 <= port <= 65535:
        raise ValueError("port %d out of range" % (port,))
    return host, port


def parseVXLANSpec(text: str) -> VXLANSpec:
    """
    Parse C{LOCAL:PORT,VNI[,REMOTE[:PORT]...]}; remotes are IP addresses
    (unicast or a multicast group).

    @param text: e.g. C{0.0.0.0:4789,42,192.0.2.7}.
    @return: the spec.
    @raise ValueError: with a clear message.
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2:
        raise ValueError("expected LOCAL:PORT,VNI[,REMOTE[:PORT]...], not %r" % (text,))
    try:
        localHost, localPort = _hostPort(parts[0], VXLAN_PORT)
    except ValueError:
        raise ValueError("bad local address %r (an IP address, optionally :PORT)"
                         % (parts[0],))
    try:
        vni = int(parts[1], 0)
    except ValueError:
        raise ValueError("bad VNI %r" % (parts[1],))
    if not 0 <= vni <= MAX_VNI:
        raise ValueError("VNI %d out of range 0..%d" % (vni, MAX_VNI))
    remotes = []
    for part in parts[2:]:
        try:
            remotes.append(_hostPort(part, localPort or VXLAN_PORT))
        except ValueError:
            raise ValueError("bad remote %r (an IP address, optionally :PORT)" % (part,))
    if len(remotes) > MAX_VTEPS:
        raise ValueError("at most %d remotes" % (MAX_VTEPS,))
    return VXLANSpec(localHost, localPort, vni, remotes)


class VXLANPort(DatagramProtocol, LinkPort):
    """
    The UDP socket of a VXLAN port and the switch port it feeds (taken
    through the attach contract, L{LinkPort}; port/print shows module
    C{vxlan}, endpoint ID 20000 + the cable ID).

    @ivar entry: the L{VXLANCable} table entry.
    @ivar spec: the L{VXLANSpec}.
    @ivar macs: learned MAC to C{[(ip, port), lastSeen]}, in the
        reactor's seconds.
    @ivar vteps: VTEP address to the time it was last heard, for flooding
        (configured remotes are always flooded to).
    @ivar badHeaders: datagrams without a valid header.
    @ivar otherVNI: datagrams for another VNI.
    @ivar runts: datagrams whose frame is shorter than 14 bytes.
    @ivar sendErrors: frames the socket refused (buffer full, no route).
    """

    module = "vxlan"
    #: Unicast replies go to the sender's own address and port (vxvde),
    #: rather than to its address at the VXLAN port (Linux's vxlan).
    replyToSource = False
    #: VTEPs heard from are flooded to (vxvde floods to its group only).
    floodLearned = True
    #: Multicast remotes are joined on this socket (vxvde joins on another).
    joinRemotes = True

    def __init__(self, entry: "VXLANCable", spec: VXLANSpec) -> None:
        """
        @param entry: the table entry.
        @param spec: the spec.
        """
        self.entry = entry
        self.spec = spec
        self.switch = entry.manager.switch
        self.reactor = entry.manager.reactor
        self.endpointID = FIRST_ENDPOINT_ID + entry.cableID
        self.description = "vxlan %d vni %d" % (entry.cableID, spec.vni)
        self._initLinkPort()
        self.peer = "%s:%d" % (spec.localHost, spec.localPort)
        self.identity: Optional[str] = None
        self._tls = False
        self.state = "STOPPED"
        self.framesIn = self.bytesIn = self.framesOut = self.bytesOut = 0
        self.badHeaders = self.otherVNI = self.runts = self.sendErrors = 0
        self.macs: Dict[bytes, List[Any]] = {}
        self.vteps: Dict[Tuple[str, int], float] = {}
        self._seconds = self.reactor.seconds
        self._header = encodeHeader(spec.vni)
        self._vniBytes = spec.vni.to_bytes(3, "big")
        self._remotes = list(spec.remotes)
        self._flood: List[Tuple[str, int]] = list(self._remotes)
        self._sendto: Any = None

    # -- receiving --------------------------------------------------------

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        """
        One VXLAN datagram: check the header and VNI, learn the sender's
        MAC, forward the frame.

        @param data: the UDP payload.
        @param addr: the sender's C{(ip, port)}.
        """
        if len(data) < HEADER_LENGTH + MIN_FRAME:
            if len(data) < HEADER_LENGTH or not data[0] & FLAG_I:
                self.badHeaders += 1
            elif len(data) == HEADER_LENGTH and data[4:7] == self._vniBytes:
                self.forget(addr)
            else:
                self.runts += 1
            return
        if not data[0] & FLAG_I:
            self.badHeaders += 1
            return
        if data[4:7] != self._vniBytes:
            self.otherVNI += 1
            return
        frame = data[HEADER_LENGTH:]
        if not frame[6] & 1:
            src = frame[6:12]
            now = self._seconds()
            vtep = (addr[0], addr[1]) if self.replyToSource else (addr[0], self.spec.remotePort)
            entry = self.macs.get(src)
            if entry is not None:
                entry[0] = vtep
                entry[1] = now
            else:
                self._learn(src, vtep, now)
            if vtep not in self.vteps:
                self._addVTEP(vtep, now)
            else:
                self.vteps[vtep] = now
        self.framesIn += 1
        self.bytesIn += len(frame)
        self._forward(frame)

    def forget(self, addr: Any) -> None:
        """
        A header-only datagram: its sender (a vxvde instance closing) is
        gone; forget the MACs behind it.

        @param addr: the sender's address.
        """
        vtep = (addr[0], addr[1]) if self.replyToSource else (addr[0], self.spec.remotePort)
        for mac in [m for m, e in self.macs.items() if e[0] == vtep]:
            del self.macs[mac]
        self.vteps.pop(vtep, None)
        if vtep in self._flood and vtep not in self._remotes:
            self._flood.remove(vtep)

    def _learn(self, mac: bytes, vtep: Tuple[str, int], now: float) -> None:
        """
        Learn a new MAC, within L{MAX_MACS} (expired entries are purged to
        make room; when none are, the MAC is not learned and its frames are
        flooded).

        @param mac: the source MAC.
        @param vtep: where it is.
        @param now: the reactor's time.
        """
        if len(self.macs) >= MAX_MACS:
            self.expire(now)
            if len(self.macs) >= MAX_MACS:
                return
        self.macs[mac] = [vtep, now]

    def _addVTEP(self, vtep: Tuple[str, int], now: float) -> None:
        """
        Flood to a VTEP we heard from, within L{MAX_VTEPS}.

        @param vtep: its address.
        @param now: the reactor's time.
        """
        if len(self.vteps) >= MAX_VTEPS:
            self.expire(now)
            if len(self.vteps) >= MAX_VTEPS:
                return
        self.vteps[vtep] = now
        if self.floodLearned and vtep not in self._flood:
            self._flood.append(vtep)

    def expire(self, now: float) -> None:
        """
        Forget MACs and VTEPs silent for L{AGEING_TIME} seconds.

        @param now: the reactor's time.
        """
        limit = now - AGEING_TIME
        for mac in [m for m, e in self.macs.items() if e[1] < limit]:
            del self.macs[mac]
        old = [v for v, seen in self.vteps.items() if seen < limit]
        for vtep in old:
            del self.vteps[vtep]
        if old and self.floodLearned:
            self._flood = list(self._remotes) + [
                v for v in self.vteps if v not in self._remotes]

    # -- sending ----------------------------------------------------------

    def sendDirect(self, frame: bytes) -> None:
        """
        Encapsulate one frame and send it to the VTEP behind its
        destination MAC, or to every VTEP, past link emulation.  Never
        raises.

        @param frame: the frame.
        """
        sendto = self._sendto
        if sendto is None:
            self.drops += 1
            return
        data = self._header + frame
        self.framesOut += 1
        self.bytesOut += len(frame)
        if not frame[0] & 1:
            entry = self.macs.get(frame[0:6])
            if entry is not None:
                try:
                    sendto(data, entry[0])
                except OSError:
                    self.sendErrors += 1
                return
        for vtep in self._flood:
            try:
                sendto(data, vtep)
            except OSError:
                self.sendErrors += 1

    # -- life ---------------------------------------------------------------

    def startProtocol(self) -> None:
        """
        The socket is bound: join multicast remotes, enlarge buffers, take a
        switch port.
        """
        transport: Any = self.transport
        sock = transport.socket
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 1 << 21)
            except OSError:
                pass
        if self.joinRemotes:
            for host, _ in self._remotes:
                if ipaddress.ip_address(host).is_multicast:
                    transport.joinGroup(host)
        self._sendto = sock.sendto
        try:
            self.attachToSwitch(self.entry.linkParameters)
        except AttachError as e:
            log.error("vxlan {id}: no switch port: {error}", id=self.entry.cableID,
                      error=e.reason)
            self.entry.lastError = "no switch port: %s" % (e.reason,)
            transport.stopListening()
            return
        self.state = "CONNECTED"
        log.info("vxlan {id}: VNI {vni} on {local}, port {port}, remotes {remotes}",
                 id=self.entry.cableID, vni=self.spec.vni, local=self.peer,
                 port=self.portNumber, remotes=self._remotes)

    def stopProtocol(self) -> None:
        """
        The socket is closed: leave the switch port.
        """
        self._sendto = None
        self.state = "STOPPED"
        self.detachFromSwitch()

    def switchClosed(self) -> None:
        """
        The switch closed our port (C{port/epclose}, shutdown): close the
        socket.
        """
        self.entry.stop()

    def linkChanged(self) -> None:
        """
        The entry's link parameters changed.
        """
        if self.state == "CONNECTED":
            self.routeFrames(self.entry.linkParameters)


class VXLANCable(Cable):
    """
    A VXLAN port as an entry of the cable table (so C{cable/print},
    C{cable/del} and C{link/*} apply to it).

    @ivar spec: the L{VXLANSpec}.
    @ivar protocol: the L{VXLANPort}.
    """

    kind = "vxlan"

    def __init__(self, manager: CableManager, cableID: int, description: str,
                 spec: VXLANSpec, linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the C{--vxlan} text.
        @param spec: its parsed form.
        @param linkParameters: link emulation.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.spec = spec
        self.protocol = VXLANPort(self, spec)
        self.listeningPort: Any = None

    def state(self) -> str:
        """
        C{CONNECTED} while bound, else C{STOPPED} (or C{FAILED}).

        @return: the text.
        """
        return self.protocol.state

    def connections(self) -> List[Any]:
        """
        The port, while bound.

        @return: a list.
        """
        return [self.protocol] if self.protocol.state == "CONNECTED" else []

    def start(self) -> None:
        """
        Bind the UDP socket.
        """
        spec = self.spec
        multicast = any(ipaddress.ip_address(host).is_multicast for host, _ in spec.remotes)
        try:
            if multicast:
                self.listeningPort = self.manager.reactor.listenMulticast(
                    spec.localPort, self.protocol, interface=spec.localHost,
                    maxPacketSize=MAX_DATAGRAM)
            else:
                self.listeningPort = self.manager.reactor.listenUDP(
                    spec.localPort, self.protocol, interface=spec.localHost,
                    maxPacketSize=MAX_DATAGRAM)
        except Exception as e:
            self.protocol.state = "FAILED"
            self.lastError = str(e)
            log.error("vxlan {id}: cannot bind {host}:{port}: {error}", id=self.cableID,
                      host=spec.localHost, port=spec.localPort, error=e)

    def stop(self) -> Any:
        """
        Close the socket.

        @return: the Deferred of closing it, or L{None}.
        """
        port, self.listeningPort = self.listeningPort, None
        if port is not None:
            return port.stopListening()
        return None


def _addSegment(manager: CableManager, description: str, parse: Any, kind: Any,
                linkParameters: Any) -> Any:
    """
    Parse a description, make the entry of C{kind}, register it with the
    manager and start it if the manager runs (the shared part of
    L{addVXLAN} and L{addVXVDE}).

    @raise CableError: for a bad description.
    """
    try:
        spec = parse(description)
    except ValueError as e:
        raise CableError(str(e))
    entry = kind(manager, manager.allocateID(), description, spec, linkParameters)
    manager.remember(entry)
    if manager.running:
        entry.start()
    return entry


def addVXLAN(manager: CableManager, description: str,
             linkParameters: Any = None) -> VXLANCable:
    """
    Add a VXLAN port to a cable manager.

    @param manager: the manager.
    @param description: C{LOCAL:PORT,VNI[,REMOTE[:PORT]...]}.
    @param linkParameters: link emulation.
    @return: the entry (bound now if the manager is running).
    @raise CableError: for a bad description.
    """
    return _addSegment(manager, description, parseVXLANSpec, VXLANCable, linkParameters)



# -- vdeplug4's vxvde:// ---------------------------------------------------

#: vxvde's defaults (docs/vde-protocol.md section 9).
VXVDE_GROUP = "239.0.0.1"
VXVDE_PORT = 14789
VXVDE_VNI = 1
#: Multicast datagrams we sent, remembered to recognise them looped back.
_OWN_REMEMBERED = 64


def parseVXVDESpec(text: str) -> VXLANSpec:
    """
    Parse C{--vxvde [GROUP[:PORT]][,VNI[,TTL]]}: a vdeplug4 C{vxvde://}
    segment (defaults 239.0.0.1:14789, VNI 1, TTL 1).

    @param text: e.g. C{""}, C{239.0.0.7}, C{239.0.0.1:14789,5}.
    @return: a spec whose only remote is the group; C{localPort} is the
        group's port.
    @raise ValueError: with a clear message.
    """
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    try:
        group, port = _hostPort(parts[0], VXVDE_PORT) if parts and parts[0] else (
            VXVDE_GROUP, VXVDE_PORT)
    except ValueError:
        raise ValueError("bad multicast group %r" % (parts[0],))
    if not ipaddress.ip_address(group).is_multicast or ":" in group:
        raise ValueError("%s is not an IPv4 multicast group" % (group,))
    try:
        vni = int(parts[1], 0) if len(parts) > 1 and parts[1] else VXVDE_VNI
        ttl = int(parts[2]) if len(parts) > 2 else 1
    except ValueError:
        raise ValueError("bad VNI or TTL in %r" % (text,))
    if not 0 <= vni <= MAX_VNI or not 0 <= ttl <= 255 or len(parts) > 3:
        raise ValueError("expected [GROUP[:PORT]][,VNI[,TTL]] (VNI < 2**24, TTL < 256)")
    spec = VXLANSpec("0.0.0.0", port, vni, [(group, port)])
    spec.ttl = ttl  # type: ignore[attr-defined]
    return spec


class VXVDEPort(VXLANPort):
    """
    A vdeplug4 C{vxvde://} segment as a switch port: frames are sent from a
    unicast socket on an ephemeral port, floods to the group, and unicast
    replies to the sender's own address and port, as each vxvde process
    expects; a multicast socket shared with the host's other vxvde
    processes receives the group.  Our own multicasts looped back are
    dropped; a header-only datagram (a vxvde process closing) makes us
    forget its MACs, and we send one when we close.
    """

    module = "vxvde"
    replyToSource = True
    floodLearned = False
    joinRemotes = False

    def __init__(self, entry: "VXLANCable", spec: VXLANSpec) -> None:
        """
        @param entry: the table entry.
        @param spec: from L{parseVXVDESpec}.
        """
        VXLANPort.__init__(self, entry, spec)
        self.description = "vxvde %d vni %d" % (entry.cableID, spec.vni)
        self.peer = "%s:%d" % spec.remotes[0]
        self.ownPort = 0
        self._sentRecently: Any = collections.deque(maxlen=_OWN_REMEMBERED)

    def startProtocol(self) -> None:
        """
        The unicast socket is bound: multicast TTL, then attach.
        """
        transport: Any = self.transport
        self.ownPort = transport.getHost().port
        transport.socket.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL,
                                    getattr(self.spec, "ttl", 1))
        VXLANPort.startProtocol(self)
        sendto = self._sendto
        group = self.spec.remotes[0]
        remember = self._sentRecently.append

        def sendtoRemembering(data: bytes, addr: Any) -> Any:
            """
            Send, remembering what goes to the group.
            """
            if addr == group:
                remember(data)
            return sendto(data, addr)
        if sendto is not None:
            self._sendto = sendtoRemembering

    def groupDatagram(self, data: bytes, addr: Any) -> None:
        """
        A datagram on the group socket: ours looped back is dropped.

        @param data: the payload.
        @param addr: the sender.
        """
        if addr[1] == self.ownPort and data in self._sentRecently:
            return
        self.datagramReceived(data, addr)

    def stopProtocol(self) -> None:
        """
        Tell the group we are gone (a header-only datagram), then detach.
        """
        sendto = self._sendto
        if sendto is not None:
            try:
                sendto(self._header, self.spec.remotes[0])
            except OSError:
                pass
        VXLANPort.stopProtocol(self)


class _GroupProtocol(DatagramProtocol):
    """
    The multicast socket of a vxvde port: hands datagrams to the port.
    """

    def __init__(self, port: VXVDEPort) -> None:
        """
        @param port: the port.
        """
        self.vxvde = port

    def startProtocol(self) -> None:
        """
        Join the group.
        """
        transport: Any = self.transport
        transport.joinGroup(self.vxvde.spec.remotes[0][0])

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        """
        Pass it on.

        @param data: the payload.
        @param addr: the sender.
        """
        self.vxvde.groupDatagram(data, addr)


class VXVDECable(VXLANCable):
    """
    A vxvde segment in the cable table.
    """

    kind = "vxvde"

    def __init__(self, manager: CableManager, cableID: int, description: str,
                 spec: VXLANSpec, linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the C{--vxvde} text.
        @param spec: from L{parseVXVDESpec}.
        @param linkParameters: link emulation.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.spec = spec
        self.vxvde = VXVDEPort(self, spec)
        self.protocol = self.vxvde
        self.listeningPort: Any = None
        self.groupPort: Any = None

    def start(self) -> None:
        """
        Bind the group socket (shared) and the unicast socket.
        """
        reactor = self.manager.reactor
        try:
            self.groupPort = reactor.listenMulticast(
                self.spec.localPort, _GroupProtocol(self.vxvde), listenMultiple=True,
                maxPacketSize=MAX_DATAGRAM)
            self.listeningPort = reactor.listenUDP(0, self.protocol,
                                                   maxPacketSize=MAX_DATAGRAM)
        except Exception as e:
            self.protocol.state = "FAILED"
            self.lastError = str(e)
            log.error("vxvde {id}: cannot bind: {error}", id=self.cableID, error=e)

    def stop(self) -> Any:
        """
        Close both sockets.

        @return: a Deferred or L{None}.
        """
        group, self.groupPort = self.groupPort, None
        if group is not None:
            group.stopListening()
        return VXLANCable.stop(self)


def addVXVDE(manager: CableManager, description: str,
             linkParameters: Any = None) -> VXLANCable:
    """
    Add a vxvde segment to a cable manager.

    @param manager: the manager.
    @param description: C{[GROUP[:PORT]][,VNI[,TTL]]}.
    @param linkParameters: link emulation.
    @return: the entry (bound now if the manager is running).
    @raise CableError: for a bad description.
    """
    return _addSegment(manager, description, parseVXVDESpec, VXVDECable, linkParameters)


def registerKinds(manager: CableManager) -> None:
    """
    Offer VXLAN ports (C{vxlan}) and vxvde segments (C{vxvde}) in a cable
    manager: C{cable/add vxlan ...}, C{--vxlan}, L{CableManager.addVXLAN}.

    @param manager: the manager.
    """
    manager.registerKind("vxlan", addVXLAN)
    manager.registerKind("vxvde", addVXVDE)
