# -*- test-case-name: tests.slirp.test_dns -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's DNS on the virtual network's .3 address, over UDP and TCP: each
guest query is answered through the host's resolver (L{twisted.names}), so names in the
host's C{/etc/hosts} resolve and the host's C{/etc/resolv.conf} is
followed, and re-read when it changes (L{twisted.names.client.Resolver}
checks its modification time every minute).

Bad queries are counted and dropped; the number of queries waiting for
the resolver is bounded.
"""

from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.logger import Logger
from twisted.names import dns, error
from twisted.python.failure import Failure

__all__ = ["DNSProxy", "DNSStreamProtocol", "DNSStreamFactory", "makeHostResolver",
           "MAX_UDP_RESPONSE"]

_log = Logger()

#: The largest answer sent over UDP to a client without EDNS (RFC 1035).
MAX_UDP_RESPONSE = 512


def makeHostResolver(reactor: Any, resolvConf: str = "/etc/resolv.conf",
                     hosts: str = "/etc/hosts") -> Any:
    """
    The host's resolver: C{hosts} first, then a cache, then the servers
    of C{resolvConf} (re-read when the file changes).

    @param reactor: the reactor.
    @param resolvConf: the resolver configuration file.
    @param hosts: the hosts file.
    @return: an L{twisted.internet.interfaces.IResolver}.
    """
    from twisted.names import cache, client, hosts as hostsModule, resolve
    return resolve.ResolverChain([
        hostsModule.Resolver(file=hosts),
        cache.CacheResolver(reactor=reactor),
        client.Resolver(resolv=resolvConf, reactor=reactor),
    ])


class DNSProxy(DatagramProtocol):
    """
    Answers guests' DNS queries (UDP) through a resolver.

    @ivar resolver: the L{twisted.internet.interfaces.IResolver}.
    @ivar maxPending: the most queries waiting for the resolver.
    @ivar timeout: the resolver timeouts per try, in seconds.
    @ivar counters: C{received}, C{malformed}, C{notQuery} (responses,
        other opcodes, or not exactly one question), C{tooMany} (dropped
        because L{maxPending} queries wait), C{answered}, C{nameError},
        C{serverFailure}, C{truncated}.
    """

    def __init__(self, resolver: Any, maxPending: int = 256,
                 timeout: Tuple[int, ...] = (1, 3, 5)) -> None:
        """
        @param resolver: the resolver to ask.
        @param maxPending: the bound on waiting queries.
        @param timeout: the resolver's per-try timeouts.
        """
        self.resolver = resolver
        self.maxPending = maxPending
        self.timeout = timeout
        self.counters: Counter[str] = Counter()
        self._pending: Dict[int, "Deferred[Any]"] = {}
        self._nextKey = 0

    @property
    def pending(self) -> int:
        """
        The number of queries waiting for the resolver.
        """
        return len(self._pending)

    def answer(self, data: bytes) -> "Optional[Deferred[Optional[dns.Message]]]":
        """
        Start answering one query, whatever carried it.

        @param data: the DNS message.
        @return: C{None} when it is dropped (malformed, a response, or too
            many pending), else a Deferred firing with the response (or
            C{None}).
        """
        counters = self.counters
        counters["received"] += 1
        message = dns.Message()
        try:
            if len(data) < 12:
                raise EOFError("shorter than a DNS header")
            message.fromStr(data)
            if len(message.queries) != int.from_bytes(data[4:6], "big"):
                # Twisted's decoder stops quietly at a truncated section.
                raise EOFError("truncated question section")
        except Exception:
            counters["malformed"] += 1
            return None
        if message.answer or message.opCode != dns.OP_QUERY or len(message.queries) != 1:
            counters["notQuery"] += 1
            if message.answer:
                return None
            return succeed(self._response(
                message, dns.ENOTIMP if message.opCode != dns.OP_QUERY else dns.EFORMAT))
        if len(self._pending) >= self.maxPending:
            counters["tooMany"] += 1
            return None
        query = message.queries[0]
        key = self._nextKey
        self._nextKey += 1
        try:
            d = self.resolver.query(query, timeout=self.timeout)
        except Exception:
            d = Deferred()
            d.errback(Failure())
        self._pending[key] = d
        d.addCallbacks(self._answered, self._failed, callbackArgs=(message,),
                       errbackArgs=(message,))

        def logged(reason: Failure) -> None:
            _log.failure("DNS proxy", reason)
            return None

        def forget(response: Optional[dns.Message]) -> Optional[dns.Message]:
            self._pending.pop(key, None)
            return response
        result: "Deferred[Optional[dns.Message]]" = d.addErrback(logged).addBoth(forget)
        return result

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Handle one query over UDP.

        @param datagram: the DNS message.
        @param addr: the guest's (address, port).
        """
        d = self.answer(datagram)
        if d is not None:
            d.addCallback(self._done, addr)

    def _done(self, response: Optional[dns.Message], addr: Tuple[str, int]) -> None:
        """
        Send a finished query's response.

        @param response: the response, or C{None}.
        @param addr: the guest.
        """
        if response is not None:
            self._send(response, addr)

    def _response(self, query: dns.Message, rCode: int) -> dns.Message:
        """
        Start a response to C{query}.

        @param query: the guest's message.
        @param rCode: the response code.
        @return: the response, with the question copied.
        """
        response = dns.Message(id=query.id, answer=1, opCode=query.opCode,
                               recDes=query.recDes, recAv=1, rCode=rCode)
        response.queries = list(query.queries)
        return response

    def _answered(self, result: Tuple[List[Any], List[Any], List[Any]], query: dns.Message) -> dns.Message:
        """
        The resolver answered.

        @param result: (answers, authority, additional).
        @param query: the guest's message.
        @return: the response.
        """
        answers, authority, additional = result
        response = self._response(query, dns.OK)
        response.answers = list(answers)
        response.authority = list(authority)
        response.additional = list(additional)
        self.counters["answered"] += 1
        return response

    def _failed(self, reason: Failure, query: dns.Message) -> dns.Message:
        """
        The resolver failed: NXDOMAIN for a name error, else SERVFAIL.

        @param reason: why.
        @param query: the guest's message.
        @return: the response.
        """
        if reason.check(error.DNSNameError):
            self.counters["nameError"] += 1
            response = self._response(query, dns.ENAME)
            value = getattr(reason.value, "args", ())
            if value and isinstance(value[0], dns.Message):
                response.authority = list(value[0].authority)
            return response
        self.counters["serverFailure"] += 1
        return self._response(query, dns.ESERVER)

    def _send(self, response: dns.Message, addr: Tuple[str, int]) -> None:
        """
        Send a response over UDP (see L{encodeForUDP}).

        @param response: the response.
        @param addr: the guest.
        """
        data = self.encodeForUDP(response)
        if self.transport is not None:
            self.transport.write(data, addr)

    def encodeForUDP(self, response: dns.Message) -> bytes:
        """
        Encode a response for UDP, trimmed to fit in 512 bytes (additional
        records, then authority, then the truncation bit).

        @param response: the response.
        @return: the message.
        """
        # Twisted's encoder truncates at maxSize without fixing the
        # counts: encode whole, and trim here.
        response.maxSize = 65535
        data = response.toStr()
        if len(data) > MAX_UDP_RESPONSE:
            response.additional = []
            data = response.toStr()
        if len(data) > MAX_UDP_RESPONSE:
            response.authority = []
            data = response.toStr()
        if len(data) > MAX_UDP_RESPONSE:
            self.counters["truncated"] += 1
            response.trunc = 1
            response.answers = []
            data = response.toStr()
        return data

    def stopProtocol(self) -> None:
        """
        Cancel the waiting queries.
        """
        pending, self._pending = self._pending, {}
        self.transport = None
        for d in pending.values():
            d.cancel()


class DNSStreamProtocol(Protocol):
    """
    DNS over TCP (RFC 1035 4.2.2: each message behind a 2-byte length) on
    the DNS address, for clients retrying a truncated answer.  At most
    L{MAX_PIPELINED} queries of one connection are answered at once; a
    connection idle for L{IDLE_TIMEOUT} seconds is closed.

    @ivar proxy: the L{DNSProxy} that answers.
    """

    MAX_PIPELINED = 8
    IDLE_TIMEOUT = 30.0

    def __init__(self, proxy: DNSProxy, reactor: Any) -> None:
        """
        @param proxy: the proxy.
        @param reactor: for the idle timer.
        """
        self.proxy = proxy
        self.reactor = reactor
        self._buffer = b""
        self._inFlight = 0
        self._timer: Any = None
        self._lost = False

    def connectionMade(self) -> None:
        """
        Start the idle timer.
        """
        self._timer = self.reactor.callLater(self.IDLE_TIMEOUT, self._idle)

    def _idle(self) -> None:
        """
        Close an idle connection.
        """
        self._timer = None
        if self.transport is not None:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Split the stream into messages and answer each.

        @param data: bytes from the guest.
        """
        if self._timer is not None and self._timer.active():
            self._timer.reset(self.IDLE_TIMEOUT)
        self._buffer += data
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + length:
                break
            message, self._buffer = self._buffer[2:2 + length], self._buffer[2 + length:]
            if self._inFlight >= self.MAX_PIPELINED:
                self.proxy.counters["tooMany"] += 1
                continue
            d = self.proxy.answer(message)
            if d is not None:
                self._inFlight += 1
                d.addCallback(self._send)

    def _send(self, response: Optional[dns.Message]) -> None:
        """
        Write one response, length first.

        @param response: the response, or C{None}.
        """
        self._inFlight -= 1
        if response is None or self._lost:
            return
        response.maxSize = 65535
        data = response.toStr()
        self.transport.write(len(data).to_bytes(2, "big") + data)  # type: ignore[union-attr]

    def connectionLost(self, reason: Any = None) -> None:
        """
        Stop the timer.

        @param reason: why.
        """
        self._lost = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


class DNSStreamFactory(Factory):
    """
    Builds L{DNSStreamProtocol}s for one proxy.
    """

    noisy = False

    def __init__(self, proxy: DNSProxy, reactor: Any) -> None:
        """
        @param proxy: the proxy.
        @param reactor: the reactor.
        """
        self.proxy = proxy
        self.reactor = reactor

    def buildProtocol(self, addr: Any) -> DNSStreamProtocol:
        """
        @return: a new connection's protocol.
        """
        return DNSStreamProtocol(self.proxy, self.reactor)
