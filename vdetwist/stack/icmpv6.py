# -*- test-case-name: tests.stack.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ICMPv6 for a user-space host (RFC 4443): answers echo requests (ping6),
sends rate-limited errors for the IPv6 layer and the transports, delivers
received errors to the protocol whose packet they quote (and path MTUs
to the IPv6 layer), hands Neighbor Discovery messages to the
L{NDLayer}, and offers a small L{ICMPv6Layer.ping}.
"""

import struct
from collections import Counter
from typing import Any, Callable, Dict, Optional, Tuple

from twisted.internet.defer import Deferred

from vdetwist.stack.icmp import TokenBucket
from vdetwist.stack.ipv6 import IPv6Layer
from vdetwist.stack.nd import NDLayer
from vdetwist.stack.ping import PingTracker
from vdetwist.wire.addr6 import UNSPECIFIED
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpv6 import (
    CODE_UNRECOGNIZED_OPTION,
    ERROR_TYPES,
    HEADER,
    HEADER_LENGTH,
    ND_TYPES,
    TYPE_DESTINATION_UNREACHABLE,
    TYPE_ECHO_REPLY,
    TYPE_ECHO_REQUEST,
    TYPE_PACKET_TOO_BIG,
    TYPE_PARAMETER_PROBLEM,
    TYPE_REDIRECT,
    ICMPv6Repr,
    quotePacket,
)
from vdetwist.wire.ipv6 import (
    EXTENSION_HEADERS,
    HEADER_LENGTH as IPV6_HEADER_LENGTH,
    NEXT_HEADER_ICMPV6,
    pseudoHeaderSum,
    walkExtensionHeaders,
)

#: A received ICMPv6 error, as delivered to a protocol's error handler:
#: C{handler(reporter, icmpType, icmpCode, restOfHeader, quoted)} where
#: C{reporter} is the address that sent the error and C{quoted} the quoted
#: packet (its IPv6 header, at least 40 bytes, and what followed).
ErrorHandler = Callable[[bytes, int, int, int, bytes], None]


def quotedUpperLayer(quoted: bytes) -> Tuple[Optional[int], int]:
    """
    The upper-layer protocol of a quoted packet, past its extension
    headers (a bounded walk over what was quoted).

    @param quoted: the quoted packet, at least 40 bytes.
    @return: C{(nextHeader, offset)}: the protocol and where its header
        starts in C{quoted}; C{(None, 0)} when the quote is cut inside
        the chain or the chain is bad.
    """
    try:
        chain = walkExtensionHeaders(quoted[6], quoted[IPV6_HEADER_LENGTH:])
    except MalformedPacket:
        return None, 0
    if chain.fragment is not None and chain.fragment.offset:
        return None, 0
    if chain.nextHeader in EXTENSION_HEADERS:
        return None, 0
    return chain.nextHeader, IPV6_HEADER_LENGTH + chain.offset


class ICMPv6Layer:
    """
    ICMPv6 (next header 58) for one IPv6 layer.

    @ivar ip: the L{IPv6Layer}.
    @ivar nd: the L{NDLayer} ND messages go to.
    @ivar answerMulticastEcho: answer echo requests sent to a multicast
        group (on by default, as Linux does for IPv6).
    @ivar errorHandlers: next header to L{ErrorHandler}, for errors
        quoting a packet of that protocol.
    @ivar echoReplyReceived: an optional hook called with (source,
        identifier, sequence, data) for every echo reply.
    @ivar counters: C{received}, C{malformed}, C{badChecksum},
        C{echoRequests}, C{echoReplies}, C{errorsReceived}, C{ndReceived},
        C{errorsSent}, C{errorsRateLimited}, C{errorsSuppressed},
        C{localErrors}, C{ignored}.
    """

    def __init__(self, reactor: Any, ip: IPv6Layer, nd: Optional[NDLayer] = None,
                 errorRate: float = 100.0, errorBurst: float = 50.0) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param ip: the IPv6 layer; this layer registers as its next header
            58 and as its error reporter.
        @param nd: the ND layer (the IPv6 layer's when C{None}).
        @param errorRate: errors sent per second, at most.
        @param errorBurst: errors sent in a burst, at most.
        """
        self.reactor = reactor
        self.ip = ip
        self.nd = nd if nd is not None else ip.nd
        self.answerMulticastEcho = True
        self.errorHandlers: Dict[int, ErrorHandler] = {}
        self.echoReplyReceived: Optional[Callable[[bytes, int, int, bytes], None]] = None
        self.counters: Counter[str] = Counter()
        self._bucket = TokenBucket(errorRate, errorBurst)
        self._pings = PingTracker(reactor, 0x7636)
        ip.registerProtocol(NEXT_HEADER_ICMPV6, self)
        ip.setErrorReporter(self.sendError)

    def registerErrorHandler(self, nextHeader: int, handler: ErrorHandler) -> None:
        """
        Deliver ICMPv6 errors quoting packets of C{nextHeader} to
        C{handler}.

        @param nextHeader: the upper-layer protocol of the quoted packet.
        @param handler: see L{ErrorHandler}.
        """
        self.errorHandlers[nextHeader] = handler

    def _send(self, source: bytes, destination: bytes, message: bytearray) -> None:
        """
        Fill in the checksum of C{message} and send it.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @param message: the ICMPv6 message, checksum field zero.
        """
        struct.pack_into("!H", message, 2, internetChecksum(message, pseudoHeaderSum(
            source, destination, NEXT_HEADER_ICMPV6, len(message))))
        self.ip.sendPacket(NEXT_HEADER_ICMPV6, source, destination, bytes(message))

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       packet: bytes) -> None:
        """
        Handle one ICMPv6 message.  Never raises for bad input.

        @param source: the sender.
        @param destination: us (or one of our groups).
        @param payload: the ICMPv6 message.
        @param packet: the whole packet.
        """
        counters = self.counters
        counters["received"] += 1
        if len(payload) < HEADER_LENGTH:
            counters["malformed"] += 1
            return
        if internetChecksum(payload, pseudoHeaderSum(
                source, destination, NEXT_HEADER_ICMPV6, len(payload))) != 0:
            counters["badChecksum"] += 1
            return
        icmpType, code, _, rest = HEADER.unpack_from(payload)
        if icmpType == TYPE_ECHO_REQUEST:
            counters["echoRequests"] += 1
            if source == UNSPECIFIED or source[0] == 0xFF:
                counters["malformed"] += 1
                return
            if destination[0] == 0xFF:
                if not self.answerMulticastEcho:
                    return
                destination = self.ip.sourceFor(source)
                if destination == UNSPECIFIED:
                    return
            reply = bytearray(payload)
            reply[0] = TYPE_ECHO_REPLY
            reply[2:4] = b"\0\0"
            self._send(destination, source, reply)
        elif icmpType == TYPE_ECHO_REPLY:
            counters["echoReplies"] += 1
            identifier, sequence = rest >> 16, rest & 0xFFFF
            self._pings.replyReceived(source, identifier, sequence)
            if self.echoReplyReceived is not None:
                self.echoReplyReceived(source, identifier, sequence, payload[HEADER_LENGTH:])
        elif icmpType in ND_TYPES:
            counters["ndReceived"] += 1
            self.nd.messageReceived(source, destination, packet[7],
                                    ICMPv6Repr(icmpType, code, rest,
                                               bytes(payload[HEADER_LENGTH:])))
        elif icmpType in ERROR_TYPES:
            quoted = bytes(payload[HEADER_LENGTH:])
            if len(quoted) < IPV6_HEADER_LENGTH or quoted[0] >> 4 != 6:
                counters["malformed"] += 1
                return
            counters["errorsReceived"] += 1
            if icmpType == TYPE_PACKET_TOO_BIG:
                self.ip.updatePathMTU(quoted[24:40], rest)
            nextHeader, _ = quotedUpperLayer(quoted)
            handler = None if nextHeader is None else self.errorHandlers.get(nextHeader)
            if handler is not None:
                handler(source, icmpType, code, rest, quoted)
        else:
            counters["ignored"] += 1

    def _mayReportOn(self, icmpType: int, code: int, packet: bytes) -> bool:
        """
        Whether RFC 4443 2.4 (e) allows an error about C{packet}: not
        about an ICMPv6 error or redirect, not about a packet from an
        unspecified or multicast source, and not about a packet to a
        multicast group, except "packet too big" and an unrecognized
        option whose type asks for it.

        @param icmpType: the error type.
        @param code: its code.
        @param packet: the offending packet.
        @return: the verdict.
        """
        source = packet[8:24]
        if source == UNSPECIFIED or source[0] == 0xFF:
            return False
        if packet[24] == 0xFF and not (
                icmpType == TYPE_PACKET_TOO_BIG
                or icmpType == TYPE_PARAMETER_PROBLEM and code == CODE_UNRECOGNIZED_OPTION):
            return False
        nextHeader, offset = quotedUpperLayer(packet)
        if nextHeader == NEXT_HEADER_ICMPV6 and len(packet) > offset:
            kind = packet[offset]
            if kind < 128 or kind == TYPE_REDIRECT:
                return False
        return True

    def sendError(self, icmpType: int, code: int, rest: int, packet: bytes) -> None:
        """
        Send an ICMPv6 error about a received packet, subject to RFC
        4443's rules and the rate limit.

        @param icmpType: the error type.
        @param code: the code.
        @param rest: the pointer (parameter problem) or MTU (packet too
            big), else 0.
        @param packet: the offending packet.
        """
        if len(packet) < IPV6_HEADER_LENGTH or not self._mayReportOn(icmpType, code, packet):
            self.counters["errorsSuppressed"] += 1
            return
        if not self._bucket.take(self.reactor.seconds()):
            self.counters["errorsRateLimited"] += 1
            return
        offendingSource = bytes(packet[8:24])
        offendingDestination = bytes(packet[24:40])
        if offendingDestination in self.nd.assigned or (
                self.ip.router and offendingDestination[0] != 0xFF):
            source = offendingDestination
        else:
            source = self.ip.sourceFor(offendingSource)
        if source == UNSPECIFIED:
            self.counters["errorsSuppressed"] += 1
            return
        message = bytearray(ICMPv6Repr(icmpType, code, rest, quotePacket(packet)).emit(
            source, offendingSource))
        self.counters["errorsSent"] += 1
        self.ip.sendPacket(NEXT_HEADER_ICMPV6, source, offendingSource, bytes(message))

    def sendUnreachable(self, code: int, packet: bytes) -> None:
        """
        Send a destination unreachable (code 4: port unreachable) about
        C{packet}.

        @param code: the unreachable code.
        @param packet: the offending packet.
        """
        self.sendError(TYPE_DESTINATION_UNREACHABLE, code, 0, packet)

    def deliverLocalError(self, icmpType: int, code: int, packet: bytes, rest: int = 0) -> None:
        """
        Tell the protocol that sent C{packet} that it could not be
        delivered, as if an ICMPv6 error had come back from ourselves (as
        Linux reports C{EHOSTUNREACH} when ND resolution fails).

        @param icmpType: the ICMPv6 type (1, destination unreachable).
        @param code: the code (3, address unreachable).
        @param packet: our packet that was dropped.
        @param rest: the rest-of-header word.
        """
        if len(packet) < IPV6_HEADER_LENGTH:
            return
        nextHeader, _ = quotedUpperLayer(packet)
        handler = None if nextHeader is None else self.errorHandlers.get(nextHeader)
        if handler is None:
            return
        self.counters["localErrors"] += 1
        handler(bytes(packet[8:24]), icmpType, code, rest, quotePacket(packet))

    def ping(self, destination: bytes, data: bytes = b"vdetwist ping",
             timeout: float = 5.0, sequence: int = 1,
             identifier: Optional[int] = None) -> "Deferred[float]":
        """
        Send one echo request.

        @param destination: the address to ping.
        @param data: the echo payload.
        @param timeout: seconds to wait for the reply.
        @param sequence: the sequence number.
        @param identifier: the identifier (a fresh one when C{None}).
        @return: a Deferred firing with the round-trip time in seconds, or
            failing with L{TimeoutError}.
        """
        identifier, d = self._pings.start(destination, sequence, timeout, identifier)
        source = self.ip.sourceFor(destination)
        message = ICMPv6Repr.echoRequest(identifier, sequence, data).emit(source, destination)
        self.ip.sendPacket(NEXT_HEADER_ICMPV6, source, destination, message)
        return d


__all__ = ["ICMPv6Layer", "ErrorHandler", "quotedUpperLayer"]
