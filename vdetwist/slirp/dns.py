# -*- test-case-name: tests.slirp.test_dns -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's DNS on the virtual network's .3 address: each guest query is
answered through the host's resolver (L{twisted.names}), so names in the
host's C{/etc/hosts} resolve and the host's C{/etc/resolv.conf} is
followed, and re-read when it changes (L{twisted.names.client.Resolver}
checks its modification time every minute).

Bad queries are counted and dropped; the number of queries waiting for
the resolver is bounded.
"""

from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from twisted.names import dns, error
from twisted.python.failure import Failure

__all__ = ["DNSProxy", "makeHostResolver", "MAX_UDP_RESPONSE"]

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

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Handle one query.

        @param datagram: the DNS message.
        @param addr: the guest's (address, port).
        """
        counters = self.counters
        counters["received"] += 1
        message = dns.Message()
        try:
            if len(datagram) < 12:
                raise EOFError("shorter than a DNS header")
            message.fromStr(datagram)
            if len(message.queries) != int.from_bytes(datagram[4:6], "big"):
                # Twisted's decoder stops quietly at a truncated section.
                raise EOFError("truncated question section")
        except Exception:
            counters["malformed"] += 1
            return
        if message.answer or message.opCode != dns.OP_QUERY or len(message.queries) != 1:
            counters["notQuery"] += 1
            if not message.answer:
                self._send(self._response(message, dns.ENOTIMP if message.opCode != dns.OP_QUERY
                                          else dns.EFORMAT), addr)
            return
        if len(self._pending) >= self.maxPending:
            counters["tooMany"] += 1
            return
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
        d.addErrback(lambda f: _log.failure("DNS proxy", f))
        d.addBoth(self._done, key, addr)

    def _done(self, response: Optional[dns.Message], key: int,
              addr: Tuple[str, int]) -> None:
        """
        Forget a finished query and send its response.

        @param response: the response, or C{None}.
        @param key: the pending key.
        @param addr: the guest.
        """
        self._pending.pop(key, None)
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
        Send a response, trimmed to fit in 512 bytes (additional records,
        then authority, then the truncation bit).

        @param response: the response.
        @param addr: the guest.
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
        if self.transport is not None:
            self.transport.write(data, addr)

    def stopProtocol(self) -> None:
        """
        Cancel the waiting queries.
        """
        pending, self._pending = self._pending, {}
        self.transport = None
        for d in pending.values():
            d.cancel()
