# -*- test-case-name: tests.stack.test_icmp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ICMP for a user-space host: answers echo requests, sends rate-limited
destination-unreachable and time-exceeded errors for the other layers,
delivers received errors to the protocol whose datagram they quote (TCP
and UDP register handlers), and offers a small L{ICMPLayer.ping}.
"""

import struct
from collections import Counter
from typing import Any, Callable, Dict, Optional

from twisted.internet.defer import Deferred
from zope.interface import implementer

from vdetwist.interfaces import IIPv4Protocol, IIPv4Sender
from vdetwist.stack.ping import PingTracker
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.icmp import (
    ERROR_TYPES,
    HEADER,
    HEADER_LENGTH,
    TYPE_DESTINATION_UNREACHABLE,
    TYPE_ECHO_REPLY,
    TYPE_ECHO_REQUEST,
    TYPE_TIME_EXCEEDED,
    ICMPRepr,
    quoteDatagram,
)
from vdetwist.wire.ipv4 import OFFSET_MASK, PROTOCOL_ICMP

#: A received ICMP error, as delivered to a protocol's error handler:
#: C{handler(reporter, icmpType, icmpCode, restOfHeader, quoted)} where
#: C{reporter} is the address that sent the error and C{quoted} the quoted
#: datagram (its IPv4 header, at least 20 bytes and its whole IHL, and
#: at least some of its payload).
ErrorHandler = Callable[[bytes, int, int, int, bytes], None]


class TokenBucket:
    """
    A token bucket for rate limiting.  Pure: time is passed in.

    @ivar rate: tokens added per second.
    @ivar burst: the most tokens held.
    """

    def __init__(self, rate: float, burst: float) -> None:
        """
        @param rate: tokens per second.
        @param burst: the bucket size (it starts full).
        """
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last: Optional[float] = None

    def take(self, now: float) -> bool:
        """
        Take one token if there is one.

        @param now: the current time.
        @return: whether a token was taken.
        """
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@implementer(IIPv4Protocol)
class ICMPLayer:
    """
    ICMP (protocol 1) for one IPv4 layer.

    @ivar ip: the IPv4 sender.
    @ivar answerBroadcastEcho: answer echo requests sent to a broadcast
        address (off by default, as on Linux).
    @ivar errorHandlers: protocol number to L{ErrorHandler}, for errors
        quoting a datagram of that protocol.
    @ivar echoReplyReceived: an optional hook called with (source,
        identifier, sequence, data) for every echo reply.
    @ivar counters: C{received}, C{malformed}, C{badChecksum},
        C{echoRequests}, C{echoReplies}, C{errorsReceived},
        C{errorsSent}, C{errorsRateLimited}, C{errorsSuppressed},
        C{localErrors}.
    """

    def __init__(self, reactor: Any, ip: IIPv4Sender, errorRate: float = 100.0,
                 errorBurst: float = 50.0) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param ip: the IPv4 layer to send through.  If it has
            C{unreachable} and C{timeExceeded} hooks, this layer installs
            itself in them.
        @param errorRate: errors sent per second, at most.
        @param errorBurst: errors sent in a burst, at most.
        """
        self.reactor = reactor
        self.ip = ip
        self.answerBroadcastEcho = False
        self.errorHandlers: Dict[int, ErrorHandler] = {}
        self.echoReplyReceived: Optional[Callable[[bytes, int, int, bytes], None]] = None
        self.counters: Counter[str] = Counter()
        self._bucket = TokenBucket(errorRate, errorBurst)
        self._pings = PingTracker(reactor, 0x7674)
        setErrorReporter = getattr(ip, "setErrorReporter", None)
        if setErrorReporter is not None:
            setErrorReporter(self.sendUnreachable, self._reassemblyTimedOut)

    def registerErrorHandler(self, protocol: int, handler: ErrorHandler) -> None:
        """
        Deliver ICMP errors quoting datagrams of C{protocol} to
        C{handler}.

        @param protocol: the IP protocol number of the quoted datagram.
        @param handler: see L{ErrorHandler}.
        """
        self.errorHandlers[protocol] = handler

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       datagram: bytes) -> None:
        """
        Handle one ICMP message.

        @param source: the sender.
        @param destination: us (or a broadcast).
        @param payload: the ICMP message.
        @param datagram: the whole datagram.
        """
        counters = self.counters
        counters["received"] += 1
        if len(payload) < HEADER_LENGTH:
            counters["malformed"] += 1
            return
        if internetChecksum(payload) != 0:
            counters["badChecksum"] += 1
            return
        icmpType, code, _, rest = HEADER.unpack_from(payload)
        if icmpType == TYPE_ECHO_REQUEST:
            counters["echoRequests"] += 1
            isBroadcast = getattr(self.ip, "isBroadcast", lambda a: a == b"\xff" * 4)
            if isBroadcast(destination):
                if not self.answerBroadcastEcho:
                    return
                destination = self.ip.sourceFor(source)
            reply = bytearray(payload)
            reply[0] = TYPE_ECHO_REPLY
            reply[2:4] = b"\0\0"
            struct.pack_into("!H", reply, 2, internetChecksum(reply))
            self.ip.sendPacket(PROTOCOL_ICMP, destination, source, bytes(reply))
        elif icmpType == TYPE_ECHO_REPLY:
            counters["echoReplies"] += 1
            identifier, sequence = rest >> 16, rest & 0xFFFF
            data = payload[HEADER_LENGTH:]
            self._pings.replyReceived(source, identifier, sequence)
            if self.echoReplyReceived is not None:
                self.echoReplyReceived(source, identifier, sequence, data)
        elif icmpType in ERROR_TYPES:
            quoted = payload[HEADER_LENGTH:]
            if len(quoted) < 20 or quoted[0] >> 4 != 4 or (quoted[0] & 0x0F) * 4 > len(quoted) \
                    or (quoted[0] & 0x0F) < 5:
                counters["malformed"] += 1
                return
            counters["errorsReceived"] += 1
            handler = self.errorHandlers.get(quoted[9])
            if handler is not None:
                handler(source, icmpType, code, rest, quoted)
        else:
            counters["ignored"] += 1

    def _mayReportOn(self, datagram: bytes) -> bool:
        """
        Whether RFC 1122 3.2.2 allows an error about C{datagram}: not about
        an ICMP error, a non-first fragment, or a datagram from a
        broadcast, multicast or zero source.

        @param datagram: the offending datagram (a checked header).
        @return: the verdict.
        """
        source = datagram[12:16]
        isBroadcast = getattr(self.ip, "isBroadcast", lambda a: a == b"\xff" * 4)
        if source == b"\0\0\0\0" or source[0] >= 224 or isBroadcast(source):
            return False
        if int.from_bytes(datagram[6:8], "big") & OFFSET_MASK:
            return False
        headerLength = (datagram[0] & 0x0F) * 4
        if datagram[9] == PROTOCOL_ICMP and len(datagram) > headerLength:
            if datagram[headerLength] in ERROR_TYPES or datagram[headerLength] not in (
                    TYPE_ECHO_REQUEST, TYPE_ECHO_REPLY, 13, 14, 15, 16, 17, 18):
                return False
        return True

    def sendError(self, icmpType: int, code: int, datagram: bytes, rest: int = 0) -> None:
        """
        Send an ICMP error about a received datagram, subject to RFC 1122's
        rules and the rate limit.

        @param icmpType: the error type.
        @param code: the code.
        @param datagram: the offending datagram.
        @param rest: the rest-of-header word (the MTU for "fragmentation
            needed").
        """
        if len(datagram) < 20 or not self._mayReportOn(datagram):
            self.counters["errorsSuppressed"] += 1
            return
        if not self._bucket.take(self.reactor.seconds()):
            self.counters["errorsRateLimited"] += 1
            return
        offendingSource = datagram[12:16]
        offendingDestination = datagram[16:20]
        isBroadcast = getattr(self.ip, "isBroadcast", lambda a: a == b"\xff" * 4)
        if isBroadcast(offendingDestination) or offendingDestination[0] >= 224:
            source = self.ip.sourceFor(offendingSource)
        else:
            source = offendingDestination
        message = ICMPRepr(icmpType, code, rest, quoteDatagram(datagram))
        self.counters["errorsSent"] += 1
        self.ip.sendPacket(PROTOCOL_ICMP, source, offendingSource, message.emit())

    def deliverLocalError(self, icmpType: int, code: int, datagram: bytes,
                          rest: int = 0) -> None:
        """
        Tell the protocol that sent C{datagram} that it could not be
        delivered, as if an ICMP error had come back from ourselves (as
        Linux reports C{EHOSTUNREACH} when ARP resolution fails).

        @param icmpType: the ICMP type (3, destination unreachable).
        @param code: the code (1, host unreachable).
        @param datagram: our datagram that was dropped.
        @param rest: the rest-of-header word.
        """
        if len(datagram) < 20:
            return
        handler = self.errorHandlers.get(datagram[9])
        if handler is None:
            return
        self.counters["localErrors"] += 1
        handler(bytes(datagram[12:16]), icmpType, code, rest, quoteDatagram(datagram))

    def sendUnreachable(self, code: int, datagram: bytes) -> None:
        """
        Send a destination unreachable (protocol, port, ...) about
        C{datagram}.

        @param code: the unreachable code (2 protocol, 3 port).
        @param datagram: the offending datagram.
        """
        self.sendError(TYPE_DESTINATION_UNREACHABLE, code, datagram)

    def _reassemblyTimedOut(self, firstFragment: bytes) -> None:
        """
        Send "fragment reassembly time exceeded" (RFC 792, type 11 code 1).

        @param firstFragment: the first fragment of the abandoned datagram.
        """
        self.sendError(TYPE_TIME_EXCEEDED, 1, firstFragment)

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
        message = ICMPRepr.echoRequest(identifier, sequence, data).emit()
        self.ip.sendPacket(PROTOCOL_ICMP, self.ip.sourceFor(destination), destination, message)
        return d


__all__ = ["ICMPLayer", "ErrorHandler", "TokenBucket"]
