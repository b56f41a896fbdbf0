# -*- test-case-name: tests.stack.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The IPv6 layer of a user-space host: header checks, a bounded walk of
extension headers, reassembly, demultiplexing by next header to the
registered upper protocols, and the sending side: source selection,
routing (on-link or a default router), Neighbor Discovery resolution and
fragmentation.

The upper protocols see the same two methods as on IPv4, with 16-byte
addresses: C{packetReceived(source, destination, payload, packet)} for
each protocol, and L{IPv6Layer.sendPacket}C{(nextHeader, source,
destination, payload)} and L{IPv6Layer.sourceFor} on this layer.

Our addresses, groups, prefixes and routers live in the L{NDLayer}
(L{vdetwist.stack.nd}); this layer reads them.  In "router" mode (a NAT
answering as every outside address) it accepts packets for any unicast
destination and sends from any source.

L{Reassembler} is pure (time is an argument); L{IPv6Layer} owns the one
timer that expires it.
"""

import os
import struct
from collections import Counter, OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from zope.interface import implementer

from vdetwist.interfaces import IIPv6Sender
from vdetwist.stack.nd import NDLayer
from vdetwist.stack.interface import InterfaceCorkMixin
from vdetwist.stack.reassembly import BaseReassembler, PartialDatagram, ReassemblyTimerMixin
from vdetwist.wire.addr6 import UNSPECIFIED, isLinkLocal, multicastMAC
from vdetwist.wire.ethernet import ETHERTYPE_IPV6
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpv6 import (
    CODE_ERRONEOUS_HEADER_FIELD,
    CODE_REASSEMBLY_TIME_EXCEEDED,
    CODE_UNRECOGNIZED_NEXT_HEADER,
    CODE_UNRECOGNIZED_OPTION,
    TYPE_PARAMETER_PROBLEM,
    TYPE_TIME_EXCEEDED,
)
from vdetwist.wire.ipv6 import (
    ACTION_DISCARD,
    ACTION_DISCARD_ERROR,
    ACTION_SKIP,
    FRAGMENT_HEADER,
    HEADER,
    HEADER_LENGTH,
    MIN_MTU,
    NEXT_HEADER_DESTINATION_OPTIONS,
    NEXT_HEADER_FRAGMENT,
    NEXT_HEADER_HOP_BY_HOP,
    NEXT_HEADER_NONE,
    NEXT_HEADER_ROUTING,
    OPTION_ROUTER_ALERT,
    ExtensionChain,
    optionAction,
    parseOptions,
    walkExtensionHeaders,
)

_unpackHeader = HEADER.unpack_from
_packHeader = HEADER.pack
#: An Ethernet header and an IPv6 header, packed together by
#: L{IPv6Layer.sendPackets}.
_packFrameHeader = struct.Struct("!6s6sH" + HEADER.format.lstrip("!")).pack
_packFragment = FRAGMENT_HEADER.pack

#: A reassembly key: source, destination, identification (RFC 8200 4.5).
FragmentKey = Tuple[bytes, bytes, int]

#: How an ICMPv6 error about a received packet is reported: called with
#: (type, code, restOfHeader, packet).
ErrorReporter = Callable[[int, int, int, bytes], None]


class Reassembler(BaseReassembler):
    """
    IPv6 reassembly (RFC 8200 section 4.5) with bounds.  Pure: time is
    passed in.

    Overlapping fragments abandon the packet silently (RFC 5722), and so
    does a fragment at an offset already held whose bytes differ; an exact
    duplicate is ignored.  The first fragment is kept whole, for the
    ICMPv6 time-exceeded error, beside its unfragmentable part.

    @ivar counters: see L{BaseReassembler}.
    """

    duplicatesMustMatch = True

    def __init__(self, timeout: float = 60.0, maxPackets: int = 64,
                 maxBytes: int = 1 << 20, maxFragments: int = 64) -> None:
        """
        @param timeout: seconds a packet may take to complete (60 in RFC
            8200).
        @param maxPackets: the most packets under reassembly.
        @param maxBytes: the most fragment bytes held.
        @param maxFragments: the most fragments one packet may have.
        """
        BaseReassembler.__init__(self, timeout, maxPackets, maxBytes, maxFragments)

    @property
    def maxPackets(self) -> int:
        """
        The most packets under reassembly at once (L{maxDatagrams}).
        """
        return self.maxDatagrams

    @maxPackets.setter
    def maxPackets(self, value: int) -> None:
        """
        Set L{maxDatagrams}.

        @param value: the most packets.
        """
        self.maxDatagrams = value

    def add(self, key: FragmentKey, unfragmentable: bytes, nextHeaderAt: int,
            nextHeader: int, offset: int, more: bool, data: bytes, now: float,
            packet: bytes = b"") -> Optional[bytes]:
        """
        Add one fragment.

        @param key: (source, destination, identification).
        @param unfragmentable: the fixed header and the extension headers
            before the fragment header.
        @param nextHeaderAt: where, in C{unfragmentable}, the next-header
            byte naming the fragment header sits.
        @param nextHeader: the fragment header's next header.
        @param offset: the fragment offset in bytes.
        @param more: the M flag.
        @param data: the fragment's data.
        @param now: the current time.
        @param packet: the whole fragment, kept when it is the first one
            for an ICMPv6 time exceeded.
        @return: the reassembled packet when this fragment completes it,
            else C{None}.
        """
        return self._add(key, len(unfragmentable) - HEADER_LENGTH,
                         (unfragmentable, nextHeaderAt, nextHeader, packet),
                         offset, more, data, now)

    def _assemble(self, first: Tuple[bytes, int, int, bytes], data: bytes) -> bytes:
        """
        The first fragment's unfragmentable part, its fragment header
        unlinked and its payload length set, and the fragmentable part.

        @param first: the first fragment's unfragmentable part, the offset
            in it of the next-header byte naming the fragment header, the
            fragment header's next header, and the fragment as received.
        @param data: the fragmentable part, whole.
        @return: the packet.
        """
        header, at, next, _ = first
        out = bytearray(header)
        out[at] = next
        struct.pack_into("!H", out, 4, len(out) - HEADER_LENGTH + len(data))
        return bytes(out) + data

    def _timedOut(self, partial: PartialDatagram) -> Optional[bytes]:
        """
        The first fragment as received (RFC 8200: an ICMPv6 time exceeded
        is sent about it).

        @param partial: what was held.
        @return: the first fragment.
        """
        packet: bytes = partial.first[3]
        return packet


@implementer(IIPv6Sender)
class IPv6Layer(ReassemblyTimerMixin, InterfaceCorkMixin):
    """
    IPv6 on one interface.

    @ivar nd: the L{NDLayer} (addresses, neighbors, routers).
    @ivar mtu: the interface MTU; the MTU used is the smaller of the ND
        layer's link MTU and a path MTU learnt from "packet too big".
    @ivar router: accept packets for any unicast destination and send
        from any source (a NAT).
    @ivar protocols: next header to upper protocol (an object with
        C{packetReceived(source, destination, payload, packet)}).
    @ivar reportError: called with (type, code, rest, packet) to send an
        ICMPv6 error about a received packet (the ICMPv6 layer installs
        itself through L{setErrorReporter}), or C{None}.
    @ivar counters: C{received}, C{delivered}, C{sent}, C{fragmentsSent},
        C{malformed}, C{notForUs}, C{martian}, C{badExtensionHeaders},
        C{unknownOption}, C{routingHeader}, C{unknownNextHeader},
        C{noNextHeader}, C{nestedFragment}, C{atomicFragments},
        C{noRoute}, C{badSource}, C{tooBig}, and the reassembler's
        counts.
    """

    reassembler: Reassembler

    def __init__(
        self,
        reactor: Any,
        nd: NDLayer,
        mtu: Optional[int] = None,
        router: bool = False,
        reassembler: Optional[Reassembler] = None,
        maxPathMTUs: int = 256,
        pathMTULifetime: float = 600.0,
    ) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param nd: the ND layer; this layer installs itself as its
            interface's IPv6 handler.
        @param mtu: the interface MTU (the ND layer's when C{None}).
        @param router: accept any destination, send from any source.
        @param reassembler: the reassembler (a default-bounded one when
            C{None}).
        @param maxPathMTUs: the most path MTUs remembered.
        @param pathMTULifetime: seconds a learnt path MTU is kept (RFC 8201
            suggests ten minutes).
        """
        mtu = nd.mtu if mtu is None else mtu
        if mtu < MIN_MTU:
            raise ValueError("the IPv6 MTU is at least 1280")
        self.reactor = reactor
        self.nd = nd
        #: The interface (the Neighbor Discovery layer's): its cork, and the
        #: end of a batch of frames (the TCP layer's receive offload).
        self.interface = nd.interface
        self.mtu = mtu
        self.router = router
        self.protocols: Dict[int, Any] = {}
        self.reportError: Optional[ErrorReporter] = None
        self.reassembler = reassembler if reassembler is not None else Reassembler()
        self._counters: Counter[str] = Counter()
        self._received = 0
        self._delivered = 0
        self._sent = 0
        self.maxPathMTUs = maxPathMTUs
        self.pathMTULifetime = pathMTULifetime
        self._pathMTU: "OrderedDict[bytes, Tuple[int, float]]" = OrderedDict()
        self._identification = int.from_bytes(os.urandom(4), "big")
        self._reassemblyTimer: Any = None
        nd.interface.ipv6Handler = self.frameReceived

    @property
    def hopLimit(self) -> int:
        """
        The hop limit of packets we send (the ND layer's, from RAs).
        """
        return self.nd.hopLimit

    def setErrorReporter(self, reportError: ErrorReporter) -> None:
        """
        Name who reports this layer's errors to senders (the ICMPv6 layer).

        @param reportError: called with (type, code, rest, packet).
        """
        self.reportError = reportError

    def registerProtocol(self, number: int, handler: Any) -> None:
        """
        Deliver packets whose upper-layer header is C{number} to
        C{handler}.

        @param number: the next-header value (6, 17, 58...).
        @param handler: an object with C{packetReceived(source,
            destination, payload, packet)}.
        """
        self.protocols[number] = handler

    def addAddress(self, address: bytes, prefixLength: int = 64) -> None:
        """
        Add a static address (C{ip6=ADDR/PREFIX}); it is usable once DAD
        passes.

        @param address: 16 bytes.
        @param prefixLength: its prefix length, on-link.
        """
        self.nd.addAddress(address, prefixLength)

    # Receiving

    def packetReceived(self, packet: bytes) -> None:
        """
        Check one packet, walk its extension headers, reassemble it if it
        is a fragment, and deliver it to its upper protocol.  Never raises
        for bad input.

        @param packet: the packet (link padding allowed after it).
        """
        self.frameReceived(b"", packet)

    def frameReceived(self, sourceMAC: bytes, packet: bytes) -> None:
        """
        Handle an IPv6 payload from the interface.

        @param sourceMAC: the Ethernet source (unused).
        @param packet: the Ethernet payload.
        """
        self._received += 1
        counters = self._counters
        size = len(packet)
        if size < HEADER_LENGTH:
            counters["malformed"] += 1
            return
        word, length, nextHeader, _, source, destination = _unpackHeader(packet)
        total = HEADER_LENGTH + length
        if word >> 28 != 6 or total > size:
            counters["malformed"] += 1
            return
        if size > total:
            packet = packet[:total]
        nd = self.nd
        if destination[0] == 0xFF:
            if destination not in nd.groups:
                counters["notForUs"] += 1
                return
        elif destination not in nd.assigned and not (
                self.router and destination != UNSPECIFIED):
            counters["notForUs"] += 1
            return
        if source[0] == 0xFF:
            counters["martian"] += 1
            return
        if nextHeader in (6, 17, 58):
            # The common case, without a walk.
            handler = self.protocols.get(nextHeader)
            if handler is not None:
                self._delivered += 1
                handler.packetReceived(source, destination, packet[HEADER_LENGTH:], packet)
                return
        self._walk(source, destination, nextHeader, packet, False)

    def _walk(self, source: bytes, destination: bytes, nextHeader: int, packet: bytes,
              reassembled: bool) -> None:
        """
        Walk a packet's extension headers and act on them: options,
        routing headers, fragments; then deliver.

        @param source: the source.
        @param destination: the destination.
        @param nextHeader: the fixed header's next header.
        @param packet: the whole packet.
        @param reassembled: the packet was reassembled (a fragment header
            in it is refused).
        """
        counters = self.counters
        payload = packet[HEADER_LENGTH:]
        try:
            chain = walkExtensionHeaders(nextHeader, payload)
            for header in chain.headers:
                if header.type in (NEXT_HEADER_HOP_BY_HOP, NEXT_HEADER_DESTINATION_OPTIONS):
                    if not self._options(destination, packet, header.offset, header.length):
                        return
                elif header.type == NEXT_HEADER_ROUTING and payload[header.offset + 3]:
                    # Segments left: we implement no routing type (type 0
                    # is deprecated by RFC 5095), so RFC 8200 4.4 says to
                    # report the routing type.
                    counters["routingHeader"] += 1
                    self._error(TYPE_PARAMETER_PROBLEM, CODE_ERRONEOUS_HEADER_FIELD,
                                HEADER_LENGTH + header.offset + 2, packet, destination)
                    return
        except MalformedPacket:
            counters["badExtensionHeaders"] += 1
            return
        fragment = chain.fragment
        if fragment is not None:
            if reassembled:
                counters["nestedFragment"] += 1
                return
            if fragment.offset == 0 and not fragment.more:
                # An atomic fragment (RFC 6946): no reassembly.
                counters["atomicFragments"] += 1
                self._deliverAfterFragment(source, destination, packet, chain)
                return
            self._fragment(source, destination, packet, chain)
            return
        self._deliver(source, destination, packet, chain)

    def _deliverAfterFragment(self, source: bytes, destination: bytes, packet: bytes,
                              chain: ExtensionChain) -> None:
        """
        Deliver an atomic fragment: walk on after its fragment header.

        @param source: the source.
        @param destination: the destination.
        @param packet: the packet.
        @param chain: the chain up to the fragment header.
        """
        fragmentAt = chain.headers[-1].offset
        unfragmentable = bytearray(packet[:HEADER_LENGTH + fragmentAt])
        at = 6 if len(chain.headers) == 1 else HEADER_LENGTH + chain.headers[-2].offset
        unfragmentable[at] = chain.nextHeader
        rest = packet[HEADER_LENGTH + chain.offset:]
        struct.pack_into("!H", unfragmentable, 4, len(unfragmentable) - HEADER_LENGTH + len(rest))
        self._walk(source, destination, unfragmentable[6], bytes(unfragmentable) + rest, True)

    def _fragment(self, source: bytes, destination: bytes, packet: bytes,
                  chain: ExtensionChain) -> None:
        """
        Add a fragment to its reassembly; walk the whole packet when it is
        complete.

        @param source: the source.
        @param destination: the destination.
        @param packet: the fragment.
        @param chain: the chain up to the fragment header.
        """
        fragment = chain.fragment
        assert fragment is not None
        data = packet[HEADER_LENGTH + chain.offset:]
        if fragment.more and (not data or len(data) % 8):
            # RFC 8200 4.5: point at the payload length.
            self.reassembler.counters["inconsistent"] += 1
            self._error(TYPE_PARAMETER_PROBLEM, CODE_ERRONEOUS_HEADER_FIELD, 4, packet,
                        destination)
            return
        fragmentAt = chain.headers[-1].offset
        at = 6 if len(chain.headers) == 1 else HEADER_LENGTH + chain.headers[-2].offset
        whole = self.reassembler.add(
            (source, destination, fragment.identification),
            packet[:HEADER_LENGTH + fragmentAt], at, fragment.nextHeader,
            fragment.offset, fragment.more, data, self.reactor.seconds(),
            packet if fragment.offset == 0 else b"")
        self._scheduleReassemblyTimer()
        if whole is not None:
            self._walk(source, destination, whole[6], whole, True)

    def _options(self, destination: bytes, packet: bytes, offset: int, length: int) -> bool:
        """
        Process a hop-by-hop or destination options header: we recognise
        none but padding and router alert, so act on each other option's
        action bits (RFC 8200 4.2).

        @param destination: the packet's destination.
        @param packet: the packet.
        @param offset: the header's offset in the payload.
        @param length: its length.
        @return: whether to go on processing the packet.
        @raise MalformedPacket: an option runs past the header.
        """
        start = HEADER_LENGTH + offset
        for at, kind, _ in parseOptions(packet[start:start + length]):
            if kind == OPTION_ROUTER_ALERT:
                continue
            action = optionAction(kind)
            if action == ACTION_SKIP:
                continue
            self.counters["unknownOption"] += 1
            if action == ACTION_DISCARD:
                return False
            if action == ACTION_DISCARD_ERROR or destination[0] != 0xFF:
                self._error(TYPE_PARAMETER_PROBLEM, CODE_UNRECOGNIZED_OPTION,
                            start + at, packet, destination, multicastOK=True)
            return False
        return True

    def _deliver(self, source: bytes, destination: bytes, packet: bytes,
                 chain: ExtensionChain) -> None:
        """
        Hand the upper-layer part to its protocol.

        @param source: the source.
        @param destination: the destination.
        @param packet: the whole packet.
        @param chain: its extension header chain.
        """
        nextHeader = chain.nextHeader
        if nextHeader == NEXT_HEADER_NONE:
            self.counters["noNextHeader"] += 1
            return
        handler = self.protocols.get(nextHeader)
        if handler is None:
            self.counters["unknownNextHeader"] += 1
            pointer = 6 if chain.nextHeaderOffset < 0 else HEADER_LENGTH + chain.nextHeaderOffset
            self._error(TYPE_PARAMETER_PROBLEM, CODE_UNRECOGNIZED_NEXT_HEADER, pointer,
                        packet, destination)
            return
        self._delivered += 1
        handler.packetReceived(source, destination, packet[HEADER_LENGTH + chain.offset:],
                               packet)

    def _error(self, icmpType: int, code: int, rest: int, packet: bytes,
               destination: bytes, multicastOK: bool = False) -> None:
        """
        Report an error to the sender, not about packets to a multicast
        group unless allowed (RFC 4443 2.4 e).

        @param icmpType: the ICMPv6 type.
        @param code: the code.
        @param rest: the pointer or MTU.
        @param packet: the offending packet.
        @param destination: its destination.
        @param multicastOK: the error may answer a multicast packet.
        """
        if self.reportError is None or (destination[0] == 0xFF and not multicastOK):
            return
        self.reportError(icmpType, code, rest, packet)

    def _reassemblyTimedOut(self, first: bytes) -> None:
        """
        Send ICMPv6 time exceeded (code 1) about an abandoned packet.

        @param first: its first fragment.
        """
        self._error(TYPE_TIME_EXCEEDED, CODE_REASSEMBLY_TIME_EXCEEDED, 0, first, first[24:40])

    # Sending

    def sourceFor(self, destination: bytes) -> bytes:
        """
        Choose our address for talking to C{destination} (RFC 6724,
        simplified): the link-local one for link-local and multicast
        destinations; else a preferred address sharing the longest prefix;
        else any assigned one.

        @param destination: the remote address, 16 bytes.
        @return: our address, or :: when none is usable.
        """
        nd = self.nd
        assigned = nd.assigned
        if not assigned:
            return UNSPECIFIED
        linkLocal = nd.linkLocal
        if (isLinkLocal(destination) or destination[0] == 0xFF and destination[1] & 0x0F <= 2):
            if linkLocal is not None and linkLocal in assigned:
                return linkLocal
        best, bestScore = None, -1
        for address in assigned:
            info = nd.addresses.get(address)
            if info is None:
                continue
            score = 0
            if not isLinkLocal(address):
                score += 512
            if info.state == "preferred":
                score += 256
            common = 128 - (int.from_bytes(address, "big")
                            ^ int.from_bytes(destination, "big")).bit_length()
            score += common
            if score > bestScore or score == bestScore and best is not None and address < best:
                best, bestScore = address, score
        return best if best is not None else UNSPECIFIED

    def pathMTU(self, destination: bytes) -> int:
        """
        The MTU to use towards C{destination}.

        @param destination: 16 bytes.
        @return: the smaller of the link MTU and a learnt path MTU.
        """
        mtu = min(self.mtu, self.nd.linkMTU)
        if self._pathMTU:
            entry = self._pathMTU.get(destination)
            if entry is not None:
                if entry[1] > self.reactor.seconds():
                    return min(mtu, entry[0])
                del self._pathMTU[destination]
        return mtu

    def updatePathMTU(self, destination: bytes, mtu: int) -> None:
        """
        A "packet too big" told us a path's MTU (RFC 8201): remember it,
        never below 1280.

        @param destination: the destination of the packet that was too
            big.
        @param mtu: the reported MTU.
        """
        mtu = max(MIN_MTU, mtu)
        if mtu >= min(self.mtu, self.nd.linkMTU):
            return
        table = self._pathMTU
        if destination in table:
            table.move_to_end(destination)
        elif len(table) >= self.maxPathMTUs:
            table.popitem(last=False)
        table[destination] = (mtu, self.reactor.seconds() + self.pathMTULifetime)
        self.counters["pathMTUUpdates"] += 1

    def sendPacket(self, nextHeader: int, source: bytes, destination: bytes,
                   payload: bytes, hopLimit: Optional[int] = None) -> None:
        """
        Send one packet, fragmenting it when it exceeds the path MTU.

        @param nextHeader: the upper-layer protocol.
        @param source: the source address (one of ours, or any in router
            mode).
        @param destination: the destination address.
        @param payload: the upper-layer header and data, checksum filled
            in over the pseudo-header.
        @param hopLimit: the hop limit (the configured one when C{None}).
        """
        counters = self._counters
        nd = self.nd
        if source not in nd.assigned and not self.router:
            counters["badSource"] += 1
            return
        if len(payload) > 65535:
            counters["tooBig"] += 1
            return
        if hopLimit is None:
            hopLimit = nd.hopLimit
        if destination in nd.assigned:
            self._sent += 1
            self.reactor.callLater(0, self.frameReceived, b"", _packHeader(
                0x60000000, len(payload), nextHeader, hopLimit, source,
                destination) + payload)
            return
        if self._pathMTU:
            mtu = self.pathMTU(destination)
        else:
            # pathMTU, inlined for the usual case of no learnt path MTU.
            mtu = self.mtu
            if nd.linkMTU < mtu:
                mtu = nd.linkMTU
        if HEADER_LENGTH + len(payload) <= mtu:
            self._sent += 1
            packet = _packHeader(0x60000000, len(payload), nextHeader, hopLimit, source,
                                 destination) + payload
            if destination[0] == 0xFF:
                self._transmit(destination, packet)
            elif nd.isOnLink(destination):
                # _transmit's unicast cases, inlined.
                nd.sendIPv6(destination, packet)
            else:
                router = nd.defaultRouter()
                if router is None:
                    counters["noRoute"] += 1
                    return
                nd.sendIPv6(router, packet)
            return
        self._identification = identification = (self._identification + 1) & 0xFFFFFFFF
        step = (mtu - HEADER_LENGTH - 8) & ~7
        self._sent += 1
        for offset in range(0, len(payload), step):
            chunk = payload[offset:offset + step]
            more = 1 if offset + step < len(payload) else 0
            counters["fragmentsSent"] += 1
            self._transmit(destination, _packHeader(
                0x60000000, 8 + len(chunk), NEXT_HEADER_FRAGMENT, hopLimit, source,
                destination) + _packFragment(nextHeader, 0, offset | more, identification)
                + chunk)

    def sendPackets(self, nextHeader: int, source: bytes, destination: bytes,
                    payloads: List[bytes]) -> None:
        """
        Send several packets from one source to one destination, in order
        (a TCP sender's burst): the first through L{sendPacket} (which
        resolves the next hop and keeps Neighbor Unreachability Detection
        going), the rest, while the neighbor cache's entry stays usable
        without a change of state, as whole frames built here and handed
        to the interface together.  What this does not handle (ourselves,
        multicast, a learnt path MTU, a packet over the MTU) goes through
        L{sendPacket}, one by one.

        @param nextHeader: the upper-layer protocol.
        @param source: the source address.
        @param destination: the destination address.
        @param payloads: the upper-layer headers and data, one per packet.
        """
        nd = self.nd
        mac = None
        if payloads and not self._pathMTU and (source in nd.assigned or self.router) and (
                destination[0] != 0xFF and destination not in nd.assigned):
            self.sendPacket(nextHeader, source, destination, payloads[0])
            payloads = payloads[1:]
            hop = destination if nd.isOnLink(destination) else nd.defaultRouter()
            if hop is not None:
                mac = nd.cache.usable(hop, self.reactor.seconds())
        if mac is None:
            for payload in payloads:
                self.sendPacket(nextHeader, source, destination, payload)
            return
        interface = self.interface
        ours = interface.mac
        hopLimit = nd.hopLimit
        mtu = self.mtu if self.mtu <= nd.linkMTU else nd.linkMTU
        frames = []
        for payload in payloads:
            size = len(payload)
            if HEADER_LENGTH + size > mtu:
                if frames:
                    self._sent += len(frames)
                    interface.sendFrames(frames)
                    frames = []
                self.sendPacket(nextHeader, source, destination, payload)
                continue
            frames.append(_packFrameHeader(mac, ours, ETHERTYPE_IPV6, 0x60000000, size,
                                           nextHeader, hopLimit, source, destination)
                          + payload)
        if frames:
            self._sent += len(frames)
            interface.sendFrames(frames)

    def _transmit(self, destination: bytes, packet: bytes) -> None:
        """
        Route one packet to its next hop.

        @param destination: the final destination.
        @param packet: the whole packet.
        """
        nd = self.nd
        if destination[0] == 0xFF:
            nd.interface.sendFrame(multicastMAC(destination), ETHERTYPE_IPV6, packet)
            return
        if nd.isOnLink(destination):
            nd.sendIPv6(destination, packet)
            return
        router = nd.defaultRouter()
        if router is None:
            self.counters["noRoute"] += 1
            return
        nd.sendIPv6(router, packet)

    def isOnLink(self, address: bytes) -> bool:
        """
        Whether C{address} is on-link.

        @param address: 16 bytes.
        @return: the answer.
        """
        return self.nd.isOnLink(address)


__all__ = ["IPv6Layer", "Reassembler", "ErrorReporter"]
