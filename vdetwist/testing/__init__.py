# -*- test-case-name: tests.stack.test_testing -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Public test helpers for code built on vdetwist: an in-memory Ethernet
wire, a fake IPv4 sender, a fake operating system (L{FakeSystem}, an
L{ISystem} like L{vdetwist.vde.system.RealSystem}), frame builders, and composable packet
checkers in the style of gVisor's C{checker} package.

L{MemoryWire} queues frames and delivers them when pumped (so a test
decides when traffic flows, and nothing re-enters a protocol while it is
sending); build it with C{synchronous=True} to deliver during
C{sendFrame} instead.

Checkers compose::

    checkFrame(frame,
               ethernet(dstMAC(peer), etherType(0x0800)),
               ipv4(srcAddr("10.0.2.15"), ttl(64),
                    udp(dstPort(53), payload(b"query"))))

A layer checker (L{ethernet}, L{arp}, L{ipv4}, L{udp}, L{icmp}) parses
its parent's payload and runs its field checkers and nested layer
checkers on the result; a failure raises L{PacketCheckFailed} (an
C{AssertionError}) naming the layer and the field.
"""

from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple, Union

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from zope.interface import implementer
from zope.interface.verify import verifyClass

from vdetwist.interfaces import IFrameTransport, IIPv4Sender
from vdetwist.wire.addr import BROADCAST_MAC, ZERO_MAC, parseIPv4, parseMAC
from vdetwist.wire.arp import OPERATION_REPLY, OPERATION_REQUEST, ARPRepr, ARPView
from vdetwist.wire.ethernet import (
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    EthernetRepr,
    EthernetView,
)
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmp import ICMPRepr, ICMPView
from vdetwist.wire.ipv4 import PROTOCOL_ICMP, PROTOCOL_UDP, IPv4Repr, IPv4View
from vdetwist.wire.udp import UDPRepr, UDPView

__all__ = [
    "FakeSystem",
    "FakeDatagramSocket",
    "FakeStat",
    "MemoryWire",
    "MemoryWirePort",
    "FakeFrameTransport",
    "FakeIPv4Sender",
    "ethernetFrame",
    "arpFrame",
    "ipv4Packet",
    "ipv4Frame",
    "udpPacket",
    "udpFrame",
    "icmpEchoFrame",
    "PacketCheckFailed",
    "checkFrame",
    "checkIPv4",
    "ethernet",
    "arp",
    "ipv4",
    "udp",
    "icmp",
    "srcMAC",
    "dstMAC",
    "etherType",
    "vlan",
    "arpOperation",
    "arpSender",
    "arpTarget",
    "srcAddr",
    "dstAddr",
    "ttl",
    "protocol",
    "fragmentOffset",
    "moreFragments",
    "dontFragment",
    "totalLength",
    "srcPort",
    "dstPort",
    "payload",
    "payloadLength",
    "validChecksum",
    "icmpType",
    "icmpCode",
    "echoIdentifier",
    "echoSequence",
]

Address = Union[str, bytes]

#: A frame filter for L{MemoryWire}: called with the sending port and the
#: frame, returns the frames to deliver (none to drop it, two to
#: duplicate it, changed bytes to corrupt it).
FrameFilter = Callable[["MemoryWirePort", bytes], Iterable[bytes]]


def _mac(value: Address) -> bytes:
    """
    A MAC given as text or 6 bytes.

    @param value: the MAC.
    @return: 6 bytes.
    """
    return parseMAC(value) if isinstance(value, str) else value


def _ip(value: Address) -> bytes:
    """
    An IPv4 address given as a dotted quad or 4 bytes.

    @param value: the address.
    @return: 4 bytes.
    """
    return parseIPv4(value) if isinstance(value, str) else value


@implementer(IFrameTransport)
class MemoryWirePort:
    """
    One attachment to a L{MemoryWire}: the transport of one protocol.

    @ivar wire: the wire.
    @ivar protocol: the attached protocol.
    @ivar connected: whether still attached.
    """

    def __init__(self, wire: "MemoryWire", protocol: Any) -> None:
        """
        @param wire: the wire.
        @param protocol: the protocol (an L{IFrameProtocol} or
            L{IFrameReceiver}).
        """
        self.wire = wire
        self.protocol = protocol
        self.connected = True

    def sendFrame(self, frame: bytes) -> None:
        """
        Put a frame on the wire (dropped when detached).

        @param frame: the frame.
        """
        if self.connected:
            self.wire._send(self, frame)

    def loseConnection(self) -> None:
        """
        Detach; the protocol's C{connectionLost} is called.
        """
        if not self.connected:
            return
        self.connected = False
        self.wire.ports.remove(self)
        lost = getattr(self.protocol, "connectionLost", None)
        if lost is not None:
            lost(Failure(ConnectionDone("detached from the memory wire")))  # type: ignore[no-untyped-call]


class MemoryWire:
    """
    An in-memory Ethernet hub: every frame sent by one attached protocol
    is delivered to all the others.

    @ivar ports: the attached L{MemoryWirePort}s.
    @ivar synchronous: deliver during C{sendFrame} instead of on L{pump}.
    @ivar filter: an optional L{FrameFilter} (loss, duplication,
        corruption).
    @ivar frames: every frame sent, with its sender, when C{record} is set.
    @ivar queue: frames waiting for L{pump}: (sender, frame).
    """

    def __init__(self, synchronous: bool = False, record: bool = True) -> None:
        """
        @param synchronous: deliver at once rather than when pumped.
        @param record: keep every frame in L{frames}.
        """
        self.ports: List[MemoryWirePort] = []
        self.synchronous = synchronous
        self.filter: Optional[FrameFilter] = None
        self.record = record
        self.frames: List[Tuple[MemoryWirePort, bytes]] = []
        self.queue: Deque[Tuple[MemoryWirePort, bytes]] = deque()

    def attach(self, protocol: Any) -> MemoryWirePort:
        """
        Attach a protocol; its C{makeConnection} (if any) is called with
        the new port.

        @param protocol: an L{IFrameProtocol} or L{IFrameReceiver}.
        @return: the port (the protocol's transport).
        """
        port = MemoryWirePort(self, protocol)
        self.ports.append(port)
        make = getattr(protocol, "makeConnection", None)
        if make is not None:
            make(port)
        return port

    def _send(self, sender: MemoryWirePort, frame: bytes) -> None:
        """
        Accept a frame from C{sender}.

        @param sender: the sending port.
        @param frame: the frame.
        """
        if self.record:
            self.frames.append((sender, frame))
        frames: Iterable[bytes] = [frame]
        if self.filter is not None:
            frames = list(self.filter(sender, frame))
        for each in frames:
            if self.synchronous:
                self._deliver(sender, each)
            else:
                self.queue.append((sender, each))

    def _deliver(self, sender: MemoryWirePort, frame: bytes) -> None:
        """
        Give a frame to every port but its sender.

        @param sender: the sending port.
        @param frame: the frame.
        """
        for port in list(self.ports):
            if port is not sender and port.connected:
                port.protocol.frameReceived(frame)

    def pump(self, limit: int = 100000) -> int:
        """
        Deliver queued frames, including those sent in response, until the
        queue is empty.

        @param limit: the most frames to deliver (guards against a storm).
        @return: the number delivered.
        @raise RuntimeError: the limit was reached with frames left.
        """
        count = 0
        while self.queue:
            if count >= limit:
                raise RuntimeError(f"MemoryWire: more than {limit} frames in one pump")
            sender, frame = self.queue.popleft()
            self._deliver(sender, frame)
            count += 1
        return count

    def sentBy(self, protocol: Any) -> List[bytes]:
        """
        The recorded frames sent by one protocol.

        @param protocol: an attached (or formerly attached) protocol.
        @return: its frames, in order.
        """
        return [f for p, f in self.frames if p.protocol is protocol]


@implementer(IFrameTransport)
class FakeFrameTransport:
    """
    An L{IFrameTransport} that records frames, like Twisted's
    C{StringTransport}.

    @ivar frames: the frames sent.
    @ivar disconnecting: whether C{loseConnection} was called.
    """

    def __init__(self) -> None:
        """
        An empty transport.
        """
        self.frames: List[bytes] = []
        self.disconnecting = False

    def sendFrame(self, frame: bytes) -> None:
        """
        Record a frame.

        @param frame: the frame.
        """
        self.frames.append(frame)

    def loseConnection(self) -> None:
        """
        Record the request to detach.
        """
        self.disconnecting = True

    def clear(self) -> List[bytes]:
        """
        Take the recorded frames.

        @return: the frames sent since the last clear.
        """
        frames, self.frames = self.frames, []
        return frames


@implementer(IIPv4Sender)
class FakeIPv4Sender:
    """
    An L{IIPv4Sender} that records what is sent, for testing transport
    protocols without a stack.

    @ivar mtu: the MTU reported.
    @ivar address: what L{sourceFor} returns.
    @ivar sent: (protocol, source, destination, payload) tuples.
    """

    def __init__(self, address: Address = "192.168.77.100", mtu: int = 1500) -> None:
        """
        @param address: our address.
        @param mtu: the MTU.
        """
        self.address = _ip(address)
        self.mtu = mtu
        self.sent: List[Tuple[int, bytes, bytes, bytes]] = []

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Record one packet.

        @param protocol: the protocol number.
        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the payload.
        """
        self.sent.append((protocol, source, destination, payload))

    def sourceFor(self, destination: bytes) -> bytes:
        """
        Our address.

        @param destination: ignored.
        @return: L{address}.
        """
        return self.address

    def isBroadcast(self, address: bytes) -> bool:
        """
        Whether C{address} is the limited broadcast.

        @param address: 4 bytes.
        @return: the answer.
        """
        return address == b"\xff" * 4

    def clear(self) -> List[Tuple[int, bytes, bytes, bytes]]:
        """
        Take the recorded packets.

        @return: the packets sent since the last clear.
        """
        sent, self.sent = self.sent, []
        return sent


# Frame builders


def ethernetFrame(destination: Address, source: Address, etherTypeValue: int,
                  payloadBytes: bytes, vlanID: Optional[int] = None) -> bytes:
    """
    Build an Ethernet frame.

    @param destination: the destination MAC.
    @param source: the source MAC.
    @param etherTypeValue: the EtherType.
    @param payloadBytes: the payload.
    @param vlanID: an 802.1Q VLAN, or C{None}.
    @return: the frame.
    """
    return EthernetRepr(_mac(destination), _mac(source), etherTypeValue, vlanID).emit(
        payloadBytes)


def arpFrame(operation: int, senderMAC: Address, senderIP: Address,
             targetIP: Address, targetMAC: Optional[Address] = None,
             destination: Optional[Address] = None) -> bytes:
    """
    Build an ARP request or reply frame.

    @param operation: 1 request, 2 reply.
    @param senderMAC: the sender's MAC (also the Ethernet source).
    @param senderIP: the sender's address.
    @param targetIP: the target's address.
    @param targetMAC: the target's MAC (zeros by default).
    @param destination: the Ethernet destination (broadcast for a
        request, the target MAC for a reply, by default).
    @return: the frame.
    """
    tha = ZERO_MAC if targetMAC is None else _mac(targetMAC)
    if destination is None:
        destination = BROADCAST_MAC if operation == OPERATION_REQUEST else tha
    packet = ARPRepr(operation, _mac(senderMAC), _ip(senderIP), tha, _ip(targetIP)).emit()
    return ethernetFrame(destination, senderMAC, ETHERTYPE_ARP, packet)


def ipv4Packet(source: Address, destination: Address, protocolNumber: int,
               payloadBytes: bytes, **fields: Any) -> bytes:
    """
    Build an IPv4 datagram.

    @param source: the source address.
    @param destination: the destination address.
    @param protocolNumber: the protocol.
    @param payloadBytes: the payload.
    @param fields: other L{IPv4Repr} fields (ttl, identification,
        moreFragments, fragmentOffset, options, ...).
    @return: the datagram.
    """
    return IPv4Repr(_ip(source), _ip(destination), protocolNumber, len(payloadBytes),
                    **fields).emit(payloadBytes)


def ipv4Frame(destinationMAC: Address, sourceMAC: Address, source: Address,
              destination: Address, protocolNumber: int, payloadBytes: bytes,
              **fields: Any) -> bytes:
    """
    Build an Ethernet frame holding an IPv4 datagram.

    @param destinationMAC: the Ethernet destination.
    @param sourceMAC: the Ethernet source.
    @param source: the IPv4 source.
    @param destination: the IPv4 destination.
    @param protocolNumber: the protocol.
    @param payloadBytes: the IPv4 payload.
    @param fields: other L{IPv4Repr} fields.
    @return: the frame.
    """
    return ethernetFrame(destinationMAC, sourceMAC, ETHERTYPE_IPV4,
                         ipv4Packet(source, destination, protocolNumber, payloadBytes,
                                    **fields))


def udpPacket(source: Address, sourcePort: int, destination: Address,
              destinationPort: int, payloadBytes: bytes, checksum: bool = True) -> bytes:
    """
    Build a UDP datagram (header and payload, checksum for the addresses).

    @param source: the IPv4 source.
    @param sourcePort: the source port.
    @param destination: the IPv4 destination.
    @param destinationPort: the destination port.
    @param payloadBytes: the payload.
    @param checksum: compute the checksum (else 0).
    @return: the UDP bytes.
    """
    return UDPRepr(sourcePort, destinationPort).emit(
        payloadBytes, _ip(source), _ip(destination), checksum)


def udpFrame(destinationMAC: Address, sourceMAC: Address, source: Address,
             sourcePort: int, destination: Address, destinationPort: int,
             payloadBytes: bytes, **fields: Any) -> bytes:
    """
    Build an Ethernet frame holding a UDP datagram.

    @param destinationMAC: the Ethernet destination.
    @param sourceMAC: the Ethernet source.
    @param source: the IPv4 source.
    @param sourcePort: the source port.
    @param destination: the IPv4 destination.
    @param destinationPort: the destination port.
    @param payloadBytes: the UDP payload.
    @param fields: other L{IPv4Repr} fields.
    @return: the frame.
    """
    return ipv4Frame(destinationMAC, sourceMAC, source, destination, PROTOCOL_UDP,
                     udpPacket(source, sourcePort, destination, destinationPort,
                               payloadBytes), **fields)


def icmpEchoFrame(destinationMAC: Address, sourceMAC: Address, source: Address,
                  destination: Address, identifier: int = 1, sequence: int = 1,
                  data: bytes = b"ping", reply: bool = False, **fields: Any) -> bytes:
    """
    Build an Ethernet frame holding an ICMP echo request (or reply).

    @param destinationMAC: the Ethernet destination.
    @param sourceMAC: the Ethernet source.
    @param source: the IPv4 source.
    @param destination: the IPv4 destination.
    @param identifier: the echo identifier.
    @param sequence: the echo sequence.
    @param data: the echo payload.
    @param reply: build a reply instead of a request.
    @param fields: other L{IPv4Repr} fields.
    @return: the frame.
    """
    maker = ICMPRepr.echoReply if reply else ICMPRepr.echoRequest
    return ipv4Frame(destinationMAC, sourceMAC, source, destination, PROTOCOL_ICMP,
                     maker(identifier, sequence, data).emit(), **fields)


# Checkers


class PacketCheckFailed(AssertionError):
    """
    A packet checker found a difference; the message names the layer and
    the field.
    """


#: A checker: called with the parent layer's view (or a L{_Raw} for the
#: top) and a context dict (addresses for checksums).
Checker = Callable[[Any, Dict[str, Any]], None]


class _Raw:
    """
    The pseudo-layer above the outermost one: its payload is the bytes
    being checked.

    @ivar payload: the bytes.
    """

    def __init__(self, data: bytes) -> None:
        """
        @param data: the bytes.
        """
        self.payload = data


def _run(checkers: Tuple[Checker, ...], view: Any, context: Dict[str, Any]) -> None:
    """
    Run checkers in order.

    @param checkers: the checkers.
    @param view: the layer's view.
    @param context: the context.
    """
    for checker in checkers:
        checker(view, context)


def checkFrame(frame: bytes, *checkers: Checker) -> None:
    """
    Check an Ethernet frame: C{checkFrame(frame, ethernet(...), ipv4(...))}
    where L{ethernet} checks the header and the following layer checkers
    apply to the Ethernet payload.

    @param frame: the frame.
    @param checkers: an L{ethernet} checker, optionally followed by the
        checkers of the payload (L{arp}, L{ipv4}).
    @raise PacketCheckFailed: a check failed.
    """
    if not checkers:
        return
    checkers[0](_Raw(frame), {})
    if len(checkers) > 1:
        view = EthernetView.checked(frame)
        _run(checkers[1:], view, {})


def checkIPv4(datagram: bytes, *checkers: Checker) -> None:
    """
    Check an IPv4 datagram with field and nested layer checkers, as
    L{ipv4} does for a frame's payload.

    @param datagram: the datagram.
    @param checkers: the checkers.
    @raise PacketCheckFailed: a check failed.
    """
    ipv4(*checkers)(_Raw(datagram), {})


def _layer(name: str, parse: Callable[[Any], Any],
           contextOf: Optional[Callable[[Any], Dict[str, Any]]] = None) -> Callable[..., Checker]:
    """
    Make a layer checker factory.

    @param name: the layer's name, for messages.
    @param parse: parses the parent's payload into this layer's view,
        raising L{MalformedPacket}.
    @param contextOf: extra context this layer gives its children.
    @return: the factory.
    """
    def factory(*checkers: Checker) -> Checker:
        def check(parent: Any, context: Dict[str, Any]) -> None:
            try:
                view = parse(bytes(parent.payload))
            except MalformedPacket as e:
                raise PacketCheckFailed(f"{name}: malformed: {e}") from None
            inner = dict(context, layer=name)
            if contextOf is not None:
                inner.update(contextOf(view))
            _run(checkers, view, inner)
        check.__doc__ = f"Check a {name} layer."
        return check
    factory.__name__ = name.lower()
    return factory


def _parseIPv4(data: bytes) -> IPv4View:
    """
    Parse an IPv4 datagram for checking.

    @param data: the bytes.
    @return: the view.
    """
    view = IPv4View.checked(data)
    if view.version != 4:
        raise MalformedPacket(f"version {view.version}")
    return view


ethernet = _layer("Ethernet", EthernetView.checked)
ethernet.__doc__ = "Check the Ethernet header: C{ethernet(srcMAC(...), ...)}."
arp = _layer("ARP", ARPView.checked)
arp.__doc__ = "Check an ARP packet: C{arp(arpOperation(1), arpTarget(...))}."
ipv4 = _layer("IPv4", _parseIPv4,
              lambda v: {"source": v.source, "destination": v.destination})
ipv4.__doc__ = "Check an IPv4 datagram: C{ipv4(srcAddr(...), udp(...))}."
udp = _layer("UDP", UDPView.checked)
udp.__doc__ = "Check a UDP datagram: C{udp(dstPort(53), payload(b'x'))}."
icmp = _layer("ICMP", ICMPView.checked)
icmp.__doc__ = "Check an ICMP message: C{icmp(icmpType(0), echoSequence(1))}."


def _field(name: str, get: Callable[[Any, Dict[str, Any]], Any],
           convert: Callable[[Any], Any] = lambda v: v) -> Callable[[Any], Checker]:
    """
    Make a field checker factory.

    @param name: the field's name, for messages.
    @param get: reads the field from a view (with the context).
    @param convert: turns the expected value given by the test into the
        field's representation.
    @return: the factory.
    """
    def factory(expected: Any) -> Checker:
        want = convert(expected)

        def check(view: Any, context: Dict[str, Any]) -> None:
            got = get(view, context)
            if got != want:
                layer = context.get("layer", "Ethernet")
                raise PacketCheckFailed(f"{layer} {name}: got {got!r}, want {want!r}")
        return check
    factory.__name__ = name
    factory.__doc__ = f"Check the {name} field."
    return factory


srcMAC = _field("srcMAC", lambda v, c: v.source, _mac)
dstMAC = _field("dstMAC", lambda v, c: v.destination, _mac)
etherType = _field("etherType", lambda v, c: v.etherType)
vlan = _field("vlan", lambda v, c: v.vlan)
arpOperation = _field("operation", lambda v, c: v.operation)
arpSender = _field("sender", lambda v, c: (v.senderHardwareAddress, v.senderProtocolAddress),
                   lambda e: (_mac(e[0]), _ip(e[1])))
arpTarget = _field("targetProtocolAddress", lambda v, c: v.targetProtocolAddress, _ip)
srcAddr = _field("srcAddr", lambda v, c: v.source, _ip)
dstAddr = _field("dstAddr", lambda v, c: v.destination, _ip)
ttl = _field("ttl", lambda v, c: v.ttl)
protocol = _field("protocol", lambda v, c: v.protocol)
fragmentOffset = _field("fragmentOffset", lambda v, c: v.fragmentOffset)
moreFragments = _field("moreFragments", lambda v, c: v.moreFragments)
dontFragment = _field("dontFragment", lambda v, c: v.dontFragment)
totalLength = _field("totalLength", lambda v, c: v.totalLength)
srcPort = _field("srcPort", lambda v, c: v.sourcePort)
dstPort = _field("dstPort", lambda v, c: v.destinationPort)
payload = _field("payload", lambda v, c: bytes(v.payload if hasattr(v, "payload")
                                               else v.data), bytes)
payloadLength = _field("payloadLength", lambda v, c: len(v.payload if hasattr(v, "payload")
                                                         else v.data))
icmpType = _field("type", lambda v, c: v.type)
icmpCode = _field("code", lambda v, c: v.code)
echoIdentifier = _field("identifier", lambda v, c: v.identifier)
echoSequence = _field("sequence", lambda v, c: v.sequence)


def validChecksum() -> Checker:
    """
    Check the layer's checksum: IPv4 header, UDP (with the enclosing IPv4
    addresses) or ICMP.

    @return: the checker.
    """
    def check(view: Any, context: Dict[str, Any]) -> None:
        if isinstance(view, IPv4View):
            ok = view.checksumValid
        elif isinstance(view, UDPView):
            ok = view.checksumValid(context["source"], context["destination"])
        elif isinstance(view, ICMPView):
            ok = view.checksumValid
        else:
            raise PacketCheckFailed(f"no checksum in {type(view).__name__}")
        if not ok:
            raise PacketCheckFailed(f"{context.get('layer')} checksum is wrong")
    return check


for _cls, _iface in [(MemoryWirePort, IFrameTransport), (FakeFrameTransport, IFrameTransport),
                     (FakeIPv4Sender, IIPv4Sender)]:
    verifyClass(_iface, _cls)

#: L{ARPRepr} operation names re-exported for tests.
ARP_REQUEST = OPERATION_REQUEST
ARP_REPLY = OPERATION_REPLY


from vdetwist.testing.network import FakeNetwork, NetworkPort  # noqa: E402
from vdetwist.testing.system import FakeDatagramSocket, FakeStat, FakeSystem  # noqa: E402

__all__ += ["FakeNetwork", "NetworkPort"]
