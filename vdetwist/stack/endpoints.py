# -*- test-case-name: tests.stack.test_endpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Twisted endpoints on virtual hosts, and their C{vde:} string parsers.

    vde:sock=/tmp/vde:ip=192.168.77.100/24:gw=192.168.77.2:port=8080
    vde:sock=/tmp/vde:ip=192.168.77.100/24:host=192.168.77.101:port=10000
    vde:sock=/tmp/vde:ip=dhcp:port=8080
    vde:sock=/tmp/vde:ip6=fd00\\:77\\:\\:50/64:port=8080
    vde:sock=/tmp/vde:ip=192.168.77.100/24:ip6=fd00\\:77\\:\\:100/64:port=8080
    vde:sock=/tmp/vde:ip6=fd00\\:77\\:\\:100/64:host=fd00\\:77\\:\\:101:port=10000

The first is a server endpoint (C{twistd web --listen "vde:..."} serves HTTP
on the virtual address), the second a client endpoint.  Endpoints in one
process that name the same switch and address share one virtual host (one
stack, one switch port), found through L{StackRegistry}.  C{ip=dhcp} takes
the address, prefix and gateway from a DHCP server on the switch (slirp's,
Debian's slirpvde): the endpoint listens or connects once the lease is
bound, and fails with L{DHCPTimeout} ("no DHCP answer from the switch
within N s") when no server answers within C{dhcpwait=} seconds
(L{DEFAULT_DHCP_WAIT} by default).

Hosts are dual-stack: C{ip6=ADDR/PREFIX} (colons escaped as Twisted
escapes them, C{fd00\\:77\\:\\:50/64}) gives a static IPv6 address,
C{gw6=} an IPv6 default router; either C{ip=} or C{ip6=} is needed.  A
server endpoint with both listens on both; one with only C{ip6=} listens
on IPv6 only.  A client's C{host=} is an IPv4 or an IPv6 literal.  An
endpoint with C{ip6=} is ready once duplicate address detection passed
(about a second).

The host is attached to the switch by L{vdetwist.vde.attach.attachToSwitch}:
in-process when a vdetwist switch in this process serves that directory
(frames pass by call), and otherwise through the VDE control protocol
(L{vdetwist.vde.plug}), so Debian's vde_switch works as well as ours.
"""

from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer
from twisted.internet.interfaces import (
    IListeningPort, IStreamClientEndpoint, IStreamClientEndpointStringParserWithReactor,
    IStreamServerEndpoint, IStreamServerEndpointStringParser)
from twisted.logger import Logger
from twisted.plugin import IPlugin
from zope.interface import implementer

from vdetwist.stack.dhcpclient import DHCPClient, DHCPLease, DHCPTimeout
from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.demux import SOMAXCONN
from vdetwist.vde.announce import switchMTU
from vdetwist.vde.attach import SwitchAttachment, attachPersistently
from vdetwist.wire.addr import ANY_IPV4, parseIPv4, parseInterface
from vdetwist.wire.addr6 import parseInterface6, parseIPv6

#: The C{ip=} value that asks for a DHCP lease.
DHCP = "dhcp"

#: Seconds an C{ip=dhcp} host waits for its lease by default.
DEFAULT_DHCP_WAIT = 30.0

_log = Logger()


class StackHost:
    """
    A virtual host attached to a switch.

    @ivar host: the L{VirtualHost}.
    @ivar tcp: its L{vdetwist.stack.tcp.demux.TCPLayer}.
    @ivar dhcp: its L{DHCPClient} when its address comes from DHCP, else
        C{None}.
    @ivar dhcpWait: seconds L{attach} waits for the first lease.
    @ivar hasIPv4: whether the host has (or leases) an IPv4 address.
    @ivar hasIPv6: whether it was given a static IPv6 address.
    @ivar address6: that address, 16 bytes, or C{None}.
    @ivar attachment: the L{SwitchAttachment} it sends into: it reattaches
        when the switch restarts, keeping the host's MAC and addresses (its
        C{counters()} include the frames dropped while detached).
    @ivar switchMTU: the MTU the switch announced when the host attached
        (L{vdetwist.vde.announce.switchMTU}), or L{None} before.
    """

    def __init__(self, reactor: Any, address: Optional[str], gateway: Optional[str] = None,
                 mac: Optional[bytes] = None, mtu: int = 1500,
                 dhcpWait: float = DEFAULT_DHCP_WAIT, address6: Optional[str] = None,
                 gateway6: Optional[str] = None) -> None:
        """
        @param reactor: the reactor.
        @param address: C{ADDR/PREFIX}, or C{"dhcp"} for a DHCP lease, or
            C{None} for a host with IPv6 addresses only.
        @param gateway: the default gateway, dotted, or L{None} (ignored
            with DHCP: the lease's router is the gateway).
        @param mac: the MAC, random locally administered when L{None}.
        @param mtu: the link MTU.
        @param dhcpWait: seconds to wait for the first DHCP lease.
        @param address6: a static IPv6 C{ADDR/PREFIX}, or C{None}.
        @param gateway6: the IPv6 default router, or C{None}.
        """
        self.reactor = reactor
        self.dhcp: Optional[DHCPClient] = None
        self.dhcpWait = dhcpWait
        self.hasIPv4 = address is not None
        self.hasIPv6 = address6 is not None
        statics = [address6] if address6 is not None else []
        if address == DHCP:
            self.host = VirtualHost(reactor, address=None, mac=mac, mtu=mtu,
                                    addresses6=statics, gateway6=gateway6)
            self.dhcp = DHCPClient(reactor, self.host)
        else:
            self.host = VirtualHost(reactor, address=address, gateway=gateway, mac=mac, mtu=mtu,
                                    addresses6=statics, gateway6=gateway6)
        self.address6 = parseInterface6(address6)[0] if address6 is not None else None
        self.tcp = self.host.tcp
        self.attachment: Optional[SwitchAttachment] = None
        self.switchMTU: Optional[int] = None
        self._sock: Optional[str] = None

    @property
    def address(self) -> bytes:
        """
        The host's IPv4 address, 4 bytes (all zeros while a DHCP host has
        no lease).
        """
        return self.host.address

    @property
    def lease(self) -> Optional[DHCPLease]:
        """
        The current DHCP lease, or C{None}.
        """
        return self.dhcp.lease if self.dhcp is not None else None

    @property
    def listenAddress(self) -> bytes:
        """
        The address servers bind: the host's own, or every address for a
        DHCP host (so that a new lease does not orphan its listeners).
        """
        return ANY_IPV4 if self.dhcp is not None else self.host.address

    def listen(self, port: int, factory: Any, backlog: int) -> IListeningPort:
        """
        Listen on the host's IPv4 address, its static IPv6 address, or
        both (one port object stopping both).

        @param port: the TCP port.
        @param factory: the protocol factory.
        @param backlog: the listen backlog.
        @return: the listening port.
        """
        ports: List[IListeningPort] = []
        if self.hasIPv4:
            ports.append(self.tcp.listen(port, factory, backlog=backlog,
                                         interface=self.listenAddress))
        if self.address6 is not None:
            tcp6 = self.host.tcp6
            assert tcp6 is not None
            try:
                # With port 0, IPv6 takes the port IPv4 picked.
                port6 = port if port or not ports else ports[0].getHost().port
                ports.append(tcp6.listen(port6, factory, backlog=backlog,
                                         interface=self.address6))
            except Exception:
                for listening in ports:
                    listening.stopListening()
                raise
        return ports[0] if len(ports) == 1 else DualListeningPort(ports)

    def connect(self, host: str, port: int, factory: Any,
                timeout: float) -> "defer.Deferred[Any]":
        """
        Connect to an IPv4 or IPv6 literal.

        @param host: the server's address as text.
        @param port: its port.
        @param factory: the protocol factory.
        @param timeout: seconds.
        @return: a Deferred firing with the connected protocol.
        """
        if ":" in host:
            return self.host.tcpFor(parseIPv6(host)).connect(
                parseIPv6(host), port, factory, timeout=timeout)
        return self.tcp.connect(parseIPv4(host), port, factory, timeout=timeout)

    def checkSwitchMTU(self) -> bool:
        """
        After the switch came back: warn when it now announces another MTU
        than when the host attached (its --mtu changed, or Debian's switch
        took its place).  The host keeps its MTU (TCP connections and
        their MSS outlive the outage); restarting it takes the new one.

        @return: whether the switch's MTU is still the one seen at attach.
        """
        if self._sock is None:
            return True
        now = switchMTU(self._sock)
        if now == self.switchMTU:
            return True
        _log.warn("switch {switch} now announces MTU {now} (it was {then} when this host "
                  "attached); the host keeps MTU {mtu} until it is restarted",
                  switch=self._sock, now=now, then=self.switchMTU, mtu=self.host.ip.mtu)
        self.switchMTU = now
        return False

    def stop(self) -> None:
        """
        Reset every connection, stop listening, cancel the stack's timers
        and leave the switch (a DHCP host releases its lease first).
        """
        if self.dhcp is not None:
            self.dhcp.stop()
        self.host.stop()
        if self.attachment is not None:
            attachment, self.attachment = self.attachment, None
            attachment.loseConnection()

    def attach(self, sock: str, description: str = "vdetwist") -> "defer.Deferred[StackHost]":
        """
        Join the switch at C{sock} (a directory or C{vde://} URL): in
        process when this process serves it, else over a VDE plug; and
        join it again when it restarts (L{attachPersistently}), announcing
        the host with a gratuitous ARP each time.  A DHCP host then runs
        its client and waits for the lease.

        @param sock: the switch.
        @param description: what the switch's port/print shows.
        @return: a Deferred firing with this host once attached (and, with
            DHCP, bound), or failing as
            L{vdetwist.vde.attach.attachToSwitch}'s does, or with
            L{DHCPTimeout} (the host leaves the switch then).
        """
        self._sock = sock
        self.switchMTU = switchMTU(sock)
        d = attachPersistently(self.reactor, sock, self.host.interface, description)

        def attached(attachment: SwitchAttachment) -> Any:
            self.attachment = attachment
            attachment.addReattachObserver(self.host.arp.announce)
            attachment.addReattachObserver(self.checkSwitchMTU)
            if self.dhcp is None:
                return self.host.whenReady6().addCallbacks(lambda _: self, failed)
            self.dhcp.start()
            return self.dhcp.whenBound(self.dhcpWait).addCallbacks(
                lambda lease: self.host.whenReady6(), noLease).addCallbacks(
                    lambda _: self, failed)

        def failed(failure: Any) -> Any:
            self.stop()
            return failure

        def noLease(failure: Any) -> Any:
            self.stop()
            if failure.check(DHCPTimeout):
                raise DHCPTimeout(
                    f"no DHCP answer from the switch within {self.dhcpWait:g} s")
            return failure
        return d.addCallback(attached)


@implementer(IListeningPort)
class DualListeningPort:
    """
    The listeners of one server endpoint on IPv4 and on IPv6, as one
    C{IListeningPort}.

    @ivar ports: the listeners, IPv4's first.
    """

    def __init__(self, ports: List[IListeningPort]) -> None:
        """
        @param ports: the listeners.
        """
        self.ports = ports

    def startListening(self) -> None:
        """
        Already listening (done by the TCP layers).
        """

    def stopListening(self) -> "defer.Deferred[None]":
        """
        Stop every listener.

        @return: a Deferred firing when all have stopped.
        """
        return defer.gatherResults(  # type: ignore[return-value]
            [defer.maybeDeferred(p.stopListening) for p in self.ports])

    loseConnection = stopListening

    def getHost(self) -> Any:
        """
        @return: the first (IPv4) listener's address.
        """
        return self.ports[0].getHost()


class StackRegistry:
    """
    One L{StackHost} per (switch, address) in a process, shared by every
    endpoint that names them; with C{ip6=} the IPv6 address is part of the
    key (C{ip=A} and C{ip=A:ip6=B} are two hosts).
    """

    def __init__(self) -> None:
        self._hosts: Dict[Tuple[str, Any], "defer.Deferred[StackHost]"] = {}

    def hostFor(self, reactor: Any, sock: str, address: Optional[str],
                gateway: Optional[str] = None,
                mac: Optional[bytes] = None, mtu: Optional[int] = None,
                description: str = "vdetwist",
                dhcpWait: float = DEFAULT_DHCP_WAIT, address6: Optional[str] = None,
                gateway6: Optional[str] = None) -> "defer.Deferred[StackHost]":
        """
        The host for (switch, address), made and attached on first use;
        every C{ip=dhcp} endpoint on one switch shares one DHCP host.

        @param reactor: the reactor.
        @param sock: the switch directory or URL.
        @param address: C{ADDR/PREFIX}, or C{"dhcp"}.
        @param gateway: the default gateway.
        @param mac: the MAC.
        @param mtu: the link MTU; L{None} for the switch's
            (L{vdetwist.vde.announce.switchMTU}: 1500 unless a vdetwist
            switch announces another).
        @param description: the port description.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        @param address6: a static IPv6 C{ADDR/PREFIX}, or C{None}.
        @param gateway6: the IPv6 default router.
        @return: a Deferred firing with the L{StackHost} (with DHCP, once
            bound; with C{address6}, once its DAD passed).
        """
        key: Tuple[str, Any] = (
            sock, None if address is None else
            DHCP if address == DHCP else parseInterface(address)[0])
        if address6 is not None:
            key = key + (parseInterface6(address6)[0],)
        existing = self._hosts.get(key)
        if existing is None:
            if mtu is None:
                mtu = switchMTU(sock)
            attaching = StackHost(reactor, address, gateway, mac, mtu,
                                  dhcpWait, address6, gateway6).attach(sock, description)
            existing = self._hosts[key] = _Shared(attaching)

            def forget(failure: Any) -> Any:
                self._hosts.pop(key, None)
                return failure
            attaching.addErrback(forget)
        return existing.get()


    def attached(self) -> "list[StackHost]":
        """
        The hosts whose attachment has completed, for operators and tests
        (counters, captures).

        @return: the hosts.
        """
        return [shared.result() for shared in self._hosts.values()
                if shared.result() is not None]


class _Shared:
    """
    A Deferred result many callers can wait for.
    """

    def __init__(self, d: "defer.Deferred[Any]") -> None:
        self._waiting: list = []
        self._result: Any = None
        self._done = False
        d.addBoth(self._fire)

    def _fire(self, result: Any) -> None:
        self._done, self._result = True, result
        waiting, self._waiting = self._waiting, []
        for w in waiting:
            w.callback(result) if not isinstance(result, defer.Failure) else w.errback(result)

    def result(self) -> Any:
        """
        The result once it succeeded, else L{None}.
        """
        if self._done and not isinstance(self._result, defer.Failure):
            return self._result
        return None

    def get(self) -> "defer.Deferred[Any]":
        d: defer.Deferred[Any] = defer.Deferred()
        if self._done:
            if isinstance(self._result, defer.Failure):
                d.errback(self._result)
            else:
                d.callback(self._result)
        else:
            self._waiting.append(d)
        return d


#: The registry endpoints use by default.
registry = StackRegistry()


@implementer(IStreamServerEndpoint)
class VDEServerEndpoint:
    """
    Listen for TCP connections on a virtual host's port.
    """

    def __init__(self, reactor: Any, sock: str, address: str, port: int,
                 gateway: Optional[str] = None, mac: Optional[bytes] = None,
                 mtu: Optional[int] = None, backlog: int = SOMAXCONN,
                 hosts: Optional[StackRegistry] = None,
                 dhcpWait: float = DEFAULT_DHCP_WAIT, address6: Optional[str] = None,
                 gateway6: Optional[str] = None) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host, or C{"dhcp"},
            or C{None} (IPv6 only).
        @param port: the TCP port.
        @param gateway: the host's default gateway.
        @param mac: the host's MAC.
        @param mtu: the link MTU; L{None} for the switch's.
        @param backlog: the listen backlog (the most half-open
            connections; SYN cookies answer SYNs beyond it), Linux's
            somaxconn by default.
        @param hosts: the registry, the process-wide one by default.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        @param address6: the host's static IPv6 C{ADDR/PREFIX}: the
            endpoint listens on it too.
        @param gateway6: the host's IPv6 default router.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
        self.port, self.gateway, self.mac, self.mtu = port, gateway, mac, mtu
        self.address6, self.gateway6 = address6, gateway6
        self.backlog = backlog
        self.hosts = hosts if hosts is not None else registry
        self.dhcpWait = dhcpWait

    def listen(self, factory: Any) -> "defer.Deferred[Any]":
        """
        Attach the host if needed and listen.

        @param factory: the protocol factory.
        @return: a Deferred firing with an C{IListeningPort}.
        """
        d = self.hosts.hostFor(self.reactor, self.sock, self.address, self.gateway,
                               self.mac, self.mtu, dhcpWait=self.dhcpWait,
                               address6=self.address6, gateway6=self.gateway6)
        return d.addCallback(lambda host: host.listen(self.port, factory, self.backlog))


@implementer(IStreamClientEndpoint)
class VDEClientEndpoint:
    """
    Connect from a virtual host to a TCP server on the virtual LAN (or
    beyond its gateway).
    """

    def __init__(self, reactor: Any, sock: str, address: str, host: str, port: int,
                 gateway: Optional[str] = None, mac: Optional[bytes] = None,
                 mtu: Optional[int] = None, timeout: float = 30,
                 hosts: Optional[StackRegistry] = None,
                 dhcpWait: float = DEFAULT_DHCP_WAIT, address6: Optional[str] = None,
                 gateway6: Optional[str] = None) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host we connect from,
            or C{"dhcp"}, or C{None} (IPv6 only).
        @param host: the server's IPv4 address, dotted, or IPv6 address.
        @param port: the server's port.
        @param gateway: our default gateway.
        @param mac: our MAC.
        @param mtu: the link MTU; L{None} for the switch's.
        @param timeout: seconds to wait for the connection.
        @param hosts: the registry, the process-wide one by default.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        @param address6: our static IPv6 C{ADDR/PREFIX}.
        @param gateway6: our IPv6 default router.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
        self.address6, self.gateway6 = address6, gateway6
        self.host, self.port = host, port
        self.gateway, self.mac, self.mtu, self.timeout = gateway, mac, mtu, timeout
        self.hosts = hosts if hosts is not None else registry
        self.dhcpWait = dhcpWait

    def connect(self, factory: Any) -> "defer.Deferred[Any]":
        """
        Attach the host if needed and connect.

        @param factory: the protocol factory.
        @return: a Deferred firing with the connected protocol.
        """
        d = self.hosts.hostFor(self.reactor, self.sock, self.address, self.gateway,
                               self.mac, self.mtu, dhcpWait=self.dhcpWait,
                               address6=self.address6, gateway6=self.gateway6)
        return d.addCallback(lambda h: h.connect(self.host, self.port, factory, self.timeout))


def _common(kwargs: Dict[str, str]) -> Dict[str, Any]:
    """
    Convert and check the keywords both parsers share.

    @param kwargs: the raw keywords.
    @return: converted keywords.
    @raise ValueError: for a missing or malformed keyword.
    """
    from vdetwist.wire.addr import parseMAC
    if "sock" not in kwargs:
        raise ValueError("vde: endpoints need sock=SWITCH (a directory or vde:// URL)")
    if "ip" not in kwargs and "ip6" not in kwargs:
        raise ValueError("vde: endpoints need ip=ADDRESS/PREFIX, ip=dhcp or ip6=ADDRESS/PREFIX")
    ip: Optional[str] = kwargs.pop("ip", None)
    if ip is None:
        pass
    elif ip.lower() == DHCP:
        ip = DHCP
    else:
        if "/" not in ip:
            ip += "/24"
        parseInterface(ip)
    result: Dict[str, Any] = {"sock": kwargs.pop("sock"), "address": ip}
    if "ip6" in kwargs:
        ip6 = kwargs.pop("ip6")
        if "/" not in ip6:
            ip6 += "/64"
        parseInterface6(ip6)
        result["address6"] = ip6
    if "gw6" in kwargs:
        gw6 = kwargs.pop("gw6")
        parseIPv6(gw6)
        result["gateway6"] = gw6
    if "dhcpwait" in kwargs:
        if ip != DHCP:
            raise ValueError("vde: dhcpwait= goes with ip=dhcp")
        result["dhcpWait"] = float(kwargs.pop("dhcpwait"))
        if not result["dhcpWait"] > 0:
            raise ValueError("vde: dhcpwait must be positive")
    if "gw" in kwargs:
        gw = kwargs.pop("gw")
        parseIPv4(gw)
        result["gateway"] = gw
    if "mac" in kwargs:
        result["mac"] = parseMAC(kwargs.pop("mac"))
    if "mtu" in kwargs:
        result["mtu"] = int(kwargs.pop("mtu"))
        if not 576 <= result["mtu"] <= 9216:
            raise ValueError("vde: mtu must be between 576 and 9216")
    return result


def _port(args: Tuple[str, ...], kwargs: Dict[str, str]) -> int:
    """
    The port, from C{port=} or a single positional argument.
    """
    if args and "port" in kwargs:
        raise ValueError("vde: give the port once (positionally or as port=)")
    if len(args) > 1:
        raise ValueError("vde: unexpected arguments %r" % (args[1:],))
    raw = args[0] if args else kwargs.pop("port", None)
    if raw is None:
        raise ValueError("vde: endpoints need port=PORT")
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("vde: port out of range: %d" % (port,))
    return port


@implementer(IPlugin, IStreamServerEndpointStringParser)
class VDEServerParser:
    """
    The C{vde:} server endpoint string parser.
    """

    prefix = "vde"

    def parseStreamServer(self, reactor: Any, *args: str, **kwargs: str) -> VDEServerEndpoint:
        """
        Parse C{vde:sock=S:ip=A/P[:gw=G][:ip6=A6/P][:gw6=G6][:mac=M][:mtu=N]
        [:backlog=B]:port=N} (at least one of C{ip=} and C{ip6=}; both
        listen on both); C{ip=dhcp[:dhcpwait=SECS]} takes the address from
        DHCP.

        @return: the endpoint.
        @raise ValueError: for bad or conflicting keywords.
        """
        port = _port(args, kwargs)
        common = _common(kwargs)
        backlog = int(kwargs.pop("backlog", SOMAXCONN))
        if kwargs:
            raise ValueError("vde: unknown keywords %s" % (", ".join(sorted(kwargs)),))
        return VDEServerEndpoint(reactor, port=port, backlog=backlog, **common)


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class VDEClientParser:
    """
    The C{vde:} client endpoint string parser.
    """

    prefix = "vde"

    def parseStreamClient(self, reactor: Any, *args: str, **kwargs: str) -> VDEClientEndpoint:
        """
        Parse C{vde:sock=S:ip=A/P[:gw=G][:ip6=A6/P][:gw6=G6][:mac=M][:mtu=N]
        [:timeout=T]:host=H:port=N} with an IPv4 or IPv6 C{host}
        (C{host=fd00\\:77\\:\\:101}); C{ip=dhcp[:dhcpwait=SECS]} takes the
        address from DHCP.

        @return: the endpoint.
        @raise ValueError: for bad or conflicting keywords.
        """
        port = _port(args, kwargs)
        if "host" not in kwargs:
            raise ValueError("vde: client endpoints need host=ADDRESS")
        host = kwargs.pop("host")
        if ":" in host:
            parseIPv6(host)
        else:
            parseIPv4(host)
        common = _common(kwargs)
        timeout = float(kwargs.pop("timeout", 30))
        if kwargs:
            raise ValueError("vde: unknown keywords %s" % (", ".join(sorted(kwargs)),))
        return VDEClientEndpoint(reactor, host=host, port=port, timeout=timeout, **common)
