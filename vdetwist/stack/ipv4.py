# -*- test-case-name: tests.stack.test_ipv4 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The IPv4 layer of a user-space host: header checks, reassembly,
demultiplexing to the registered L{IIPv4Protocol} handlers, and the
sending side (L{IIPv4Sender}): routing (on-link or the default gateway),
ARP resolution, fragmentation.

A host accepts datagrams for its address and for broadcasts.  In "router"
mode (slirp's NAT, which answers as every outside address) it accepts
datagrams for any unicast destination and sends from any source.

L{Reassembler} is pure (time is an argument); L{IPv4Layer} owns the one
timer that expires it.
"""

import struct
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

from zope.interface import implementer

from vdetwist.interfaces import IIPv4Protocol, IIPv4Sender
from vdetwist.stack.arp import ARPLayer
from vdetwist.stack.interface import InterfaceCorkMixin
from vdetwist.stack.reassembly import BaseReassembler, PartialDatagram, ReassemblyTimerMixin
from vdetwist.wire.addr import BROADCAST_IPV4, BROADCAST_MAC, broadcastAddress
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.ipv4 import (
    FLAG_MF,
    FLAG_RESERVED,
    HEADER,
    HEADER_LENGTH,
    OFFSET_MASK,
    PROTOCOL_ICMP,
)

_ANY = b"\0\0\0\0"
_unpackHeader = HEADER.unpack_from
_packHeader = HEADER.pack
#: An Ethernet header and an IPv4 header of 20 bytes, packed together by
#: L{IPv4Layer.sendPackets}.
_packFrameHeader = struct.Struct("!6s6sH" + HEADER.format.lstrip("!")).pack

#: A reassembly key: source, destination, protocol, identification.
FragmentKey = Tuple[bytes, bytes, int, int]


class Reassembler(BaseReassembler):
    """
    IPv4 reassembly (RFC 791 section 3.2, RFC 815) with bounds.  Pure:
    time is passed in.

    Overlapping fragments abandon the datagram (as RFC 5722 asks for IPv6,
    closing the door on overlap attacks); a fragment at an offset already
    held, of the same length, is a duplicate and ignored.  The first
    fragment's header is kept, to rebuild the datagram's header and for
    the ICMP time-exceeded error.

    @ivar counters: see L{BaseReassembler}.
    """

    def __init__(self, timeout: float = 30.0, maxDatagrams: int = 64,
                 maxBytes: int = 1 << 20, maxFragments: int = 64) -> None:
        """
        @param timeout: seconds a datagram may take to complete.
        @param maxDatagrams: the most datagrams under reassembly.
        @param maxBytes: the most payload bytes held.
        @param maxFragments: the most fragments one datagram may have.
        """
        BaseReassembler.__init__(self, timeout, maxDatagrams, maxBytes, maxFragments)

    def add(self, key: FragmentKey, header: bytes, offset: int, more: bool,
            payload: bytes, now: float) -> Optional[bytes]:
        """
        Add one fragment.

        @param key: (source, destination, protocol, identification).
        @param header: the fragment's IPv4 header (options included).
        @param offset: the fragment offset in bytes.
        @param more: the MF flag.
        @param payload: the fragment's payload.
        @param now: the current time.
        @return: the reassembled datagram (a fresh header with no fragment
            fields, and the whole payload) when this fragment completes
            it, else C{None}.
        """
        return self._add(key, len(header), header, offset, more, payload, now)

    def _assemble(self, first: bytes, data: bytes) -> bytes:
        """
        The first fragment's header, rebuilt for the whole payload, and the
        payload.

        @param first: the first fragment's header.
        @param data: the whole payload.
        @return: the datagram.
        """
        return rebuildHeader(first, len(data)) + data

    def _timedOut(self, partial: PartialDatagram) -> Optional[bytes]:
        """
        The first fragment, header and payload.

        @param partial: what was held.
        @return: the first fragment.
        """
        header: bytes = partial.first
        return header + partial.pieces[0]


def rebuildHeader(header: bytes, payloadLength: int, flagsAndOffset: int = 0) -> bytes:
    """
    Copy an IPv4 header with a new total length and flags/offset word, and
    its checksum recomputed.

    @param header: the original header (options included).
    @param payloadLength: the new payload length.
    @param flagsAndOffset: the new flags/fragment-offset word.
    @return: the new header.
    """
    out = bytearray(header)
    struct.pack_into("!H", out, 2, len(header) + payloadLength)
    struct.pack_into("!HBBH", out, 6, flagsAndOffset, out[8], out[9], 0)
    struct.pack_into("!H", out, 10, internetChecksum(out))
    return bytes(out)


@implementer(IIPv4Sender)
class IPv4Layer(ReassemblyTimerMixin, InterfaceCorkMixin):
    """
    IPv4 on one interface.

    @ivar address: our address, 4 bytes.
    @ivar prefixLength: the on-link prefix length.
    @ivar gateway: the default gateway, or C{None}.
    @ivar mtu: the link MTU.
    @ivar router: accept datagrams for any destination and send from any
        source (a NAT).
    @ivar ttl: the TTL of datagrams we send.
    @ivar protocols: protocol number to L{IIPv4Protocol}.
    @ivar unreachable: called with (code, datagram) to send an ICMP
        destination unreachable about a received datagram (given by the
        ICMP layer through L{setErrorReporter}), or C{None}.
    @ivar timeExceeded: called with the first fragment of a datagram whose
        reassembly timed out (likewise), or C{None}.
    @ivar counters: C{received}, C{delivered}, C{sent}, C{fragmentsSent},
        C{malformed}, C{badChecksum}, C{notForUs}, C{martian},
        C{unknownProtocol}, C{noRoute}, C{badSource}, C{tooBig}, and the
        reassembler's counts.
    """

    reassembler: Reassembler

    def __init__(
        self,
        reactor: Any,
        arp: ARPLayer,
        address: bytes,
        prefixLength: int,
        gateway: Optional[bytes] = None,
        mtu: int = 1500,
        router: bool = False,
        ttl: int = 64,
        reassembler: Optional[Reassembler] = None,
    ) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param arp: the ARP layer that resolves next hops; this layer
            installs itself as its interface's IPv4 handler.
        @param address: our address, 4 bytes.
        @param prefixLength: the on-link prefix length.
        @param gateway: the default gateway, or C{None} for on-link only.
        @param mtu: the link MTU (at least 68).
        @param router: accept any destination, send from any source.
        @param ttl: the TTL of datagrams we send.
        @param reassembler: the reassembler (a default-bounded one when
            C{None}).
        """
        if mtu < 68:
            raise ValueError("the IPv4 MTU is at least 68")
        self.reactor = reactor
        self.arp = arp
        #: The interface (the ARP layer's): its cork, and the
        #: end of a batch of frames (the TCP layer's receive offload).
        self.interface = arp.interface
        self.mtu = mtu
        self.router = router
        self.ttl = ttl
        self.protocols: Dict[int, IIPv4Protocol] = {}
        self.unreachable: Optional[Callable[[int, bytes], None]] = None
        self.timeExceeded: Optional[Callable[[bytes], None]] = None
        self.reassembler = reassembler if reassembler is not None else Reassembler()
        self._counters: Counter[str] = Counter()
        self._received = 0
        self._delivered = 0
        self._sent = 0
        self._identification = 0
        self._reassemblyTimer: Any = None
        arp.interface.ipv4Handler = self.frameReceived
        self.address = _ANY
        self._receiveAddress: Optional[bytes] = None
        self.configure(address, prefixLength, gateway)

    @property
    def configured(self) -> bool:
        """
        Whether the layer has an address (else it sends only from
        0.0.0.0 to broadcasts and receives only broadcasts, as a DHCP
        client needs).
        """
        return self._receiveAddress is not None

    def configure(self, address: bytes, prefixLength: int,
                  gateway: Optional[bytes] = None) -> None:
        """
        Set (or replace) our address, on-link prefix and default gateway
        at run time (a DHCP lease).  The ARP layer answers for the new
        address instead of the old one.  All zeros unconfigures (see
        L{unconfigure}).

        @param address: our address, 4 bytes.
        @param prefixLength: the on-link prefix length (0 to 32).
        @param gateway: the default gateway, or C{None}.
        @raise ValueError: a bad address or prefix length.
        """
        if len(address) != 4 or not 0 <= prefixLength <= 32:
            raise ValueError("an IPv4 address is 4 bytes and a prefix 0 to 32 bits")
        addresses = self.arp.addresses
        if self.address != _ANY:
            addresses.discard(self.address)
        if address == _ANY:
            # Unconfigured: nothing is on link, nothing is ours.
            prefixLength, gateway = 32, None
            self._receiveAddress = None
        else:
            self._receiveAddress = address
            addresses.add(address)
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self._shift = 32 - prefixLength
        self._network = int.from_bytes(address, "big") >> self._shift if prefixLength else 0
        self.broadcast = broadcastAddress(address, prefixLength)

    def unconfigure(self) -> None:
        """
        Remove our address and gateway: datagrams go out only from
        0.0.0.0 to the limited broadcast, and only broadcasts come in.
        """
        self.configure(_ANY, 32, None)

    def setErrorReporter(self, unreachable: Callable[[int, bytes], None],
                         timeExceeded: Callable[[bytes], None]) -> None:
        """
        Name who reports this layer's errors to senders (the ICMP layer).

        @param unreachable: called with (code, datagram) when a received
            datagram cannot be delivered (no such protocol).
        @param timeExceeded: called with the first fragment of a datagram
            whose reassembly timed out.
        """
        self.unreachable = unreachable
        self.timeExceeded = timeExceeded

    def registerProtocol(self, number: int, handler: IIPv4Protocol) -> None:
        """
        Deliver datagrams of protocol C{number} to C{handler}.

        @param number: the IP protocol number.
        @param handler: the protocol.
        """
        self.protocols[number] = handler

    def isOnLink(self, address: bytes) -> bool:
        """
        Whether C{address} is in our subnet.

        @param address: 4 bytes.
        @return: the answer.
        """
        if not self.prefixLength:
            return True
        return int.from_bytes(address, "big") >> self._shift == self._network

    def isBroadcast(self, address: bytes) -> bool:
        """
        Whether C{address} is the limited or our directed broadcast.

        @param address: 4 bytes.
        @return: the answer.
        """
        return address == BROADCAST_IPV4 or (
            address == self.broadcast and self.prefixLength < 31)

    # Receiving

    def datagramReceived(self, datagram: bytes) -> None:
        """
        Check one datagram, reassemble it if it is a fragment, and deliver
        it to its protocol.  Never raises for bad input.

        @param datagram: the datagram (link padding allowed after it).
        """
        self.frameReceived(b"", datagram)

    def frameReceived(self, sourceMAC: bytes, datagram: bytes) -> None:
        """
        Handle an IPv4 payload from the interface: L{datagramReceived},
        whose body lives here to save the interface's hot path a call.

        @param sourceMAC: the Ethernet source (unused).
        @param datagram: the Ethernet payload.
        """
        self._received += 1
        counters = self._counters
        size = len(datagram)
        if size < HEADER_LENGTH:
            counters["malformed"] += 1
            return
        (versionIHL, _, total, identification, flags, _, protocol, _,
         source, destination) = _unpackHeader(datagram)
        headerLength = (versionIHL & 0x0F) << 2
        if versionIHL >> 4 != 4 or headerLength < HEADER_LENGTH or not (
                headerLength <= total <= size) or flags & FLAG_RESERVED:
            counters["malformed"] += 1
            return
        # internetChecksum(header) == 0, inlined: the header is never all
        # zeros (its version is 4), so it is valid exactly when its value
        # is a multiple of 0xffff (see vdetwist.wire.checksum).
        if int.from_bytes(datagram[:headerLength], "big") % 0xFFFF:
            counters["badChecksum"] += 1
            return
        if size > total:
            datagram = datagram[:total]
        if destination == self._receiveAddress:
            pass
        elif self.isBroadcast(destination):
            pass
        elif destination[0] >= 224 or destination == _ANY:
            counters["notForUs"] += 1
            return
        elif not self.router:
            counters["notForUs"] += 1
            return
        if source[0] >= 224 or source == BROADCAST_IPV4 or source == self.broadcast:
            counters["martian"] += 1
            return
        if flags & (FLAG_MF | OFFSET_MASK):
            whole = self.reassembler.add(
                (source, destination, protocol, identification),
                datagram[:headerLength], (flags & OFFSET_MASK) << 3,
                bool(flags & FLAG_MF), datagram[headerLength:],
                self.reactor.seconds())
            self._scheduleReassemblyTimer()
            if whole is None:
                return
            datagram = whole
        handler = self.protocols.get(protocol)
        if handler is None:
            counters["unknownProtocol"] += 1
            if self.unreachable is not None and not self.isBroadcast(destination):
                self.unreachable(2, datagram)
            return
        self._delivered += 1
        handler.packetReceived(source, destination, datagram[headerLength:], datagram)

    def _reassemblyTimedOut(self, first: bytes) -> None:
        """
        Send ICMP time exceeded (code 1) about an abandoned datagram, when
        there is an error reporter.

        @param first: its first fragment.
        """
        if self.timeExceeded is not None:
            self.timeExceeded(first)

    # Sending

    def sourceFor(self, destination: bytes) -> bytes:
        """
        Our address, whatever the destination (one address per host).

        @param destination: the remote address.
        @return: our address.
        """
        return self.address

    def nextHop(self, destination: bytes) -> Optional[bytes]:
        """
        Route C{destination}: itself when on-link, else the gateway.

        @param destination: 4 bytes.
        @return: the next hop, or C{None} when there is no route.
        """
        if self.isOnLink(destination) or destination == BROADCAST_IPV4:
            return destination
        return self.gateway

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Send one datagram, fragmenting it when it exceeds the MTU.

        @param protocol: the IP protocol number.
        @param source: the source address (ours, or any in router mode).
        @param destination: the destination address.
        @param payload: the transport header and data.
        """
        counters = self._counters
        if source != self.address and source != _ANY and not self.router:
            counters["badSource"] += 1
            return
        size = len(payload)
        if size + HEADER_LENGTH > 65535:
            counters["tooBig"] += 1
            return
        if destination == self.address:
            self._sent += 1
            self.reactor.callLater(0, self._loopback, protocol, source, destination, payload)
            return
        self._identification = identification = (self._identification + 1) & 0xFFFF
        maximum = self.mtu - HEADER_LENGTH
        if size <= maximum:
            self._sent += 1
            # _header and the unicast on-link case of _transmit, inlined:
            # this runs for every datagram sent.
            total = HEADER_LENGTH + size
            ttl = self.ttl
            target = int.from_bytes(destination, "big")
            remainder = (0x4500 + total + identification + (ttl << 8 | protocol)
                         + int.from_bytes(source, "big") + target) % 0xFFFF
            datagram = _packHeader(0x45, 0, total, identification, 0, ttl, protocol,
                                   0xFFFF - remainder if remainder else 0, source,
                                   destination) + payload
            if (destination[0] < 224 and destination != self.broadcast
                    and destination != BROADCAST_IPV4 and self.prefixLength
                    and target >> self._shift == self._network):
                self.arp.sendIPv4(destination, datagram)
            else:
                self._transmit(destination, datagram)
            return
        step = maximum & ~7
        self._sent += 1
        for offset in range(0, len(payload), step):
            chunk = payload[offset:offset + step]
            more = FLAG_MF if offset + step < len(payload) else 0
            counters["fragmentsSent"] += 1
            self._transmit(destination, self._header(
                protocol, source, destination, identification,
                more | (offset >> 3), len(chunk)) + chunk)

    def sendPackets(self, protocol: int, source: bytes, destination: bytes,
                    payloads: List[bytes]) -> None:
        """
        Send several datagrams from one source to one destination, in order
        (a TCP sender's burst): the route and the next hop's MAC are looked
        up once, each frame's Ethernet and IPv4 headers are packed in one
        go, and the frames go to the interface together.  What this does
        not handle (ourselves, broadcast or multicast, an unresolved next
        hop, a datagram over the MTU) goes through L{sendPacket}, one by
        one, the same way.

        @param protocol: the IP protocol number.
        @param source: the source address.
        @param destination: the destination address.
        @param payloads: the transport headers and data, one per datagram.
        """
        mac = None
        if ((source == self.address or source == _ANY or self.router)
                and destination != self.address and destination[0] < 224
                and destination != self.broadcast and destination != BROADCAST_IPV4):
            hop = self.nextHop(destination)
            if hop is not None:
                mac = self.arp.resolved(hop)
        if mac is None:
            for payload in payloads:
                self.sendPacket(protocol, source, destination, payload)
            return
        interface = self.interface
        ours = interface.mac
        ttl = self.ttl
        # sendPacket's checksum: the header's words summed as integers,
        # modulo 0xffff (never zero: 0x4500 is in it).
        base = (0x4500 + (ttl << 8 | protocol) + int.from_bytes(source, "big")
                + int.from_bytes(destination, "big"))
        maximum = self.mtu - HEADER_LENGTH
        identification = self._identification
        frames = []
        for payload in payloads:
            size = len(payload)
            if size > maximum:
                if frames:
                    self._identification = identification
                    self._sent += len(frames)
                    interface.sendFrames(frames)
                    frames = []
                self.sendPacket(protocol, source, destination, payload)
                identification = self._identification
                continue
            identification = (identification + 1) & 0xFFFF
            total = HEADER_LENGTH + size
            remainder = (base + total + identification) % 0xFFFF
            frames.append(_packFrameHeader(
                mac, ours, 0x0800, 0x45, 0, total, identification, 0, ttl, protocol,
                0xFFFF - remainder if remainder else 0, source, destination) + payload)
        self._identification = identification
        if frames:
            self._sent += len(frames)
            interface.sendFrames(frames)

    def _header(self, protocol: int, source: bytes, destination: bytes,
                identification: int, flags: int, payloadLength: int) -> bytes:
        """
        Build a 20-byte header with its checksum.

        @param protocol: the protocol number.
        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param identification: the identification.
        @param flags: the flags/fragment-offset word.
        @param payloadLength: the payload length.
        @return: the header.
        """
        total = HEADER_LENGTH + payloadLength
        ttlProtocol = self.ttl << 8 | protocol
        # The checksum without packing twice: the header's value modulo
        # 0xffff is the sum of its 16-bit words (and of the two addresses
        # read whole) modulo 0xffff; never zero, as 0x4500 is in it.
        remainder = (0x4500 + total + identification + flags + ttlProtocol
                     + int.from_bytes(source, "big")
                     + int.from_bytes(destination, "big")) % 0xFFFF
        return _packHeader(0x45, 0, total, identification, flags, self.ttl, protocol,
                           0xFFFF - remainder if remainder else 0, source, destination)

    def _transmit(self, destination: bytes, datagram: bytes) -> None:
        """
        Route one datagram to its next hop.

        @param destination: the final destination.
        @param datagram: the whole datagram.
        """
        # isBroadcast and nextHop, inlined: this runs for every datagram.
        if destination == BROADCAST_IPV4 or (
                destination == self.broadcast and self.prefixLength < 31):
            self.arp.interface.sendFrame(BROADCAST_MAC, 0x0800, datagram)
            return
        if destination[0] >= 224 and destination[0] < 240:
            mac = b"\x01\x00\x5e" + bytes([destination[1] & 0x7F]) + destination[2:]
            self.arp.interface.sendFrame(mac, 0x0800, datagram)
            return
        if not self.prefixLength or (
                int.from_bytes(destination, "big") >> self._shift == self._network):
            hop: Optional[bytes] = destination
        else:
            hop = self.gateway
        if hop is None:
            self.counters["noRoute"] += 1
            return
        self.arp.sendIPv4(hop, datagram)

    def _loopback(self, protocol: int, source: bytes, destination: bytes,
                  payload: bytes) -> None:
        """
        Deliver a datagram we sent to ourselves (on a later reactor turn).

        @param protocol: the protocol number.
        @param source: 4 bytes.
        @param destination: our address.
        @param payload: the payload.
        """
        self._identification = identification = (self._identification + 1) & 0xFFFF
        self.datagramReceived(self._header(
            protocol, source, destination, identification, 0, len(payload)) + payload)


__all__ = ["IPv4Layer", "Reassembler", "rebuildHeader", "PROTOCOL_ICMP"]
