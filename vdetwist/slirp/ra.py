# -*- test-case-name: tests.slirp.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's router advertisements (RFC 4861 section 6.2): the gateway
advertises the virtual network's /64 (on-link and autonomous, for SLAAC),
the link MTU and the DNS address (RFC 8106 RDNSS), periodically with
jitter and in answer to router solicitations.

    advertiser = RouterAdvertiser(reactor, send, mac, prefix, mtu=1500,
                                  dnsServers=[dns6])
    advertiser.start()          # an RA now, then every 20 to 60 s
    advertiser.solicited()      # an RS arrived: an RA soon

C{send(destination, message)} is given the ICMPv6 message bytes (checksum
filled in) and sends them with hop limit 255 from the gateway's
link-local address; solicited answers go to all-nodes too, so one answer
serves every host that asked.
"""

import random
from collections import Counter
from typing import Any, Callable, Optional, Sequence

from vdetwist.wire.addr6 import ALL_NODES
from vdetwist.wire.icmpv6 import (
    OPTION_SOURCE_LINK_LAYER_ADDRESS,
    LinkLayerAddressOption,
    MTUOption,
    PrefixInformation,
    RDNSSOption,
    RouterAdvertisement,
)

__all__ = ["RouterAdvertiser"]


class RouterAdvertiser:
    """
    Sends the gateway's router advertisements.

    @ivar prefix: the advertised /64 prefix, 16 bytes.
    @ivar minInterval: the least seconds between unsolicited RAs.
    @ivar maxInterval: the most seconds between unsolicited RAs.
    @ivar minDelay: the least seconds between two RAs (RFC 4861's
        MIN_DELAY_BETWEEN_RAS is 3; solicitations within it are answered
        once, when it ends).
    @ivar counters: C{sent}, C{solicited}, C{solicitationsMerged}.
    """

    def __init__(self, reactor: Any, send: Callable[[bytes, bytes], None], mac: bytes,
                 source: bytes, prefix: bytes, mtu: int = 1500,
                 dnsServers: Sequence[bytes] = (), minInterval: float = 20.0,
                 maxInterval: float = 60.0, minDelay: float = 3.0,
                 routerLifetime: int = 1800, validLifetime: int = 86400,
                 preferredLifetime: int = 14400,
                 random: Callable[[float, float], float] = random.uniform) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param send: called with (destination, ICMPv6 message).
        @param mac: the gateway's MAC (the source link-layer option).
        @param source: the gateway's link-local address (the checksum's
            source).
        @param prefix: the /64 prefix, 16 bytes.
        @param mtu: the link MTU advertised.
        @param dnsServers: the RDNSS addresses (none: no RDNSS option).
        @param minInterval: see L{minInterval}.
        @param maxInterval: see L{maxInterval}.
        @param minDelay: see L{minDelay}.
        @param routerLifetime: seconds the gateway is a default router.
        @param validLifetime: the prefix's valid lifetime.
        @param preferredLifetime: the prefix's preferred lifetime.
        @param random: C{uniform(a, b)} for the jitter (tests pin it).
        """
        self.reactor = reactor
        self.send = send
        self.source = source
        self.prefix = prefix
        self.minInterval = minInterval
        self.maxInterval = maxInterval
        self.minDelay = minDelay
        self.random = random
        self.counters: Counter[str] = Counter()
        options: list = [
            LinkLayerAddressOption(OPTION_SOURCE_LINK_LAYER_ADDRESS, mac),
            MTUOption(mtu),
            PrefixInformation(64, True, True, validLifetime, preferredLifetime, prefix),
        ]
        if dnsServers:
            # RFC 8106 5.1: at least MaxRtrAdvInterval, three times it
            # is recommended.
            options.append(RDNSSOption(int(3 * maxInterval), tuple(dnsServers)))
        self.advertisement = RouterAdvertisement(curHopLimit=64, routerLifetime=routerLifetime,
                                                 options=tuple(options))
        self._message = self.advertisement.emit(source, ALL_NODES)
        self._lastSent: Optional[float] = None
        self._timer: Any = None
        self._solicitedTimer: Any = None

    def start(self) -> None:
        """
        Advertise now, then periodically (the link came up).
        """
        self._advertise()

    def _advertise(self) -> None:
        """
        Send one RA and schedule the next unsolicited one.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self._solicitedTimer is not None and self._solicitedTimer.active():
            self._solicitedTimer.cancel()
        self._solicitedTimer = None
        self._lastSent = self.reactor.seconds()
        self.counters["sent"] += 1
        self.send(ALL_NODES, self._message)
        self._timer = self.reactor.callLater(
            self.random(self.minInterval, self.maxInterval), self._advertise)

    def solicited(self) -> None:
        """
        A router solicitation arrived: advertise at once, or when
        L{minDelay} has passed since the last RA.
        """
        self.counters["solicited"] += 1
        if self._solicitedTimer is not None:
            self.counters["solicitationsMerged"] += 1
            return
        now = self.reactor.seconds()
        if self._lastSent is None or now - self._lastSent >= self.minDelay:
            self._advertise()
            return
        self._solicitedTimer = self.reactor.callLater(self._lastSent + self.minDelay - now,
                                                      self._advertise)

    def stop(self) -> None:
        """
        Stop advertising (no final RA: the gateway is going away with its
        NAT, and hosts' lifetimes end on their own).
        """
        for timer in (self._timer, self._solicitedTimer):
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = self._solicitedTimer = None
