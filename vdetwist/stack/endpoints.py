# -*- test-case-name: tests.stack.test_endpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Twisted endpoints on virtual hosts, and their C{vde:} string parsers.

    vde:sock=/tmp/vde:ip=192.168.77.100/24:gw=192.168.77.2:port=8080
    vde:sock=/tmp/vde:ip=192.168.77.100/24:host=192.168.77.101:port=10000
    vde:sock=/tmp/vde:ip=dhcp:port=8080

The first is a server endpoint (C{twistd web --listen "vde:..."} serves HTTP
on the virtual address), the second a client endpoint.  Endpoints in one
process that name the same switch and address share one virtual host (one
stack, one switch port), found through L{StackRegistry}.  C{ip=dhcp} takes
the address, prefix and gateway from a DHCP server on the switch (slirp's,
Debian's slirpvde): the endpoint listens or connects once the lease is
bound, and fails with L{DHCPTimeout} ("no DHCP answer from the switch
within N s") when no server answers within C{dhcpwait=} seconds
(L{DEFAULT_DHCP_WAIT} by default).

The host is attached to the switch by L{vdetwist.vde.attach.attachToSwitch}:
in-process when a vdetwist switch in this process serves that directory
(frames pass by call), and otherwise through the VDE control protocol
(L{vdetwist.vde.plug}), so Debian's vde_switch works as well as ours.
"""

from typing import Any, Dict, Optional, Tuple

from twisted.internet import defer
from twisted.internet.interfaces import (
    IStreamClientEndpoint, IStreamClientEndpointStringParserWithReactor,
    IStreamServerEndpoint, IStreamServerEndpointStringParser)
from twisted.plugin import IPlugin
from zope.interface import implementer

from vdetwist.stack.dhcpclient import DHCPClient, DHCPLease, DHCPTimeout
from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.demux import SOMAXCONN
from vdetwist.vde.attach import SwitchAttachment, attachPersistently
from vdetwist.wire.addr import ANY_IPV4, parseIPv4, parseInterface

#: The C{ip=} value that asks for a DHCP lease.
DHCP = "dhcp"

#: Seconds an C{ip=dhcp} host waits for its lease by default.
DEFAULT_DHCP_WAIT = 30.0


class StackHost:
    """
    A virtual host attached to a switch.

    @ivar host: the L{VirtualHost}.
    @ivar tcp: its L{vdetwist.stack.tcp.demux.TCPLayer}.
    @ivar dhcp: its L{DHCPClient} when its address comes from DHCP, else
        C{None}.
    @ivar dhcpWait: seconds L{attach} waits for the first lease.
    @ivar attachment: the L{SwitchAttachment} it sends into: it reattaches
        when the switch restarts, keeping the host's MAC and addresses (its
        C{counters()} include the frames dropped while detached).
    """

    def __init__(self, reactor: Any, address: str, gateway: Optional[str] = None,
                 mac: Optional[bytes] = None, mtu: int = 1500,
                 dhcpWait: float = DEFAULT_DHCP_WAIT) -> None:
        """
        @param reactor: the reactor.
        @param address: C{ADDR/PREFIX}, or C{"dhcp"} for a DHCP lease.
        @param gateway: the default gateway, dotted, or L{None} (ignored
            with DHCP: the lease's router is the gateway).
        @param mac: the MAC, random locally administered when L{None}.
        @param mtu: the link MTU.
        @param dhcpWait: seconds to wait for the first DHCP lease.
        """
        self.reactor = reactor
        self.dhcp: Optional[DHCPClient] = None
        self.dhcpWait = dhcpWait
        if address == DHCP:
            self.host = VirtualHost(reactor, address=None, mac=mac, mtu=mtu)
            self.dhcp = DHCPClient(reactor, self.host)
        else:
            self.host = VirtualHost(reactor, address=address, gateway=gateway, mac=mac, mtu=mtu)
        self.tcp = self.host.tcp
        self.attachment: Optional[SwitchAttachment] = None

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
        d = attachPersistently(self.reactor, sock, self.host.interface, description)

        def attached(attachment: SwitchAttachment) -> Any:
            self.attachment = attachment
            attachment.addReattachObserver(self.host.arp.announce)
            if self.dhcp is None:
                return self
            self.dhcp.start()
            return self.dhcp.whenBound(self.dhcpWait).addCallbacks(
                lambda lease: self, noLease)

        def noLease(failure: Any) -> Any:
            self.stop()
            if failure.check(DHCPTimeout):
                raise DHCPTimeout(
                    f"no DHCP answer from the switch within {self.dhcpWait:g} s")
            return failure
        return d.addCallback(attached)


class StackRegistry:
    """
    One L{StackHost} per (switch, address) in a process, shared by every
    endpoint that names them.
    """

    def __init__(self) -> None:
        self._hosts: Dict[Tuple[str, Any], "defer.Deferred[StackHost]"] = {}

    def hostFor(self, reactor: Any, sock: str, address: str, gateway: Optional[str] = None,
                mac: Optional[bytes] = None, mtu: int = 1500,
                description: str = "vdetwist",
                dhcpWait: float = DEFAULT_DHCP_WAIT) -> "defer.Deferred[StackHost]":
        """
        The host for (switch, address), made and attached on first use;
        every C{ip=dhcp} endpoint on one switch shares one DHCP host.

        @param reactor: the reactor.
        @param sock: the switch directory or URL.
        @param address: C{ADDR/PREFIX}, or C{"dhcp"}.
        @param gateway: the default gateway.
        @param mac: the MAC.
        @param mtu: the MTU.
        @param description: the port description.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        @return: a Deferred firing with the L{StackHost} (with DHCP, once
            bound).
        """
        key = (sock, DHCP if address == DHCP else parseInterface(address)[0])
        existing = self._hosts.get(key)
        if existing is None:
            attaching = StackHost(reactor, address, gateway, mac, mtu,
                                  dhcpWait).attach(sock, description)
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
                 mtu: int = 1500, backlog: int = SOMAXCONN,
                 hosts: Optional[StackRegistry] = None,
                 dhcpWait: float = DEFAULT_DHCP_WAIT) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host, or C{"dhcp"}.
        @param port: the TCP port.
        @param gateway: the host's default gateway.
        @param mac: the host's MAC.
        @param mtu: the link MTU.
        @param backlog: the listen backlog (the most half-open
            connections; SYN cookies answer SYNs beyond it), Linux's
            somaxconn by default.
        @param hosts: the registry, the process-wide one by default.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
        self.port, self.gateway, self.mac, self.mtu = port, gateway, mac, mtu
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
                               self.mac, self.mtu, dhcpWait=self.dhcpWait)
        return d.addCallback(lambda host: host.tcp.listen(
            self.port, factory, backlog=self.backlog, interface=host.listenAddress))


@implementer(IStreamClientEndpoint)
class VDEClientEndpoint:
    """
    Connect from a virtual host to a TCP server on the virtual LAN (or
    beyond its gateway).
    """

    def __init__(self, reactor: Any, sock: str, address: str, host: str, port: int,
                 gateway: Optional[str] = None, mac: Optional[bytes] = None,
                 mtu: int = 1500, timeout: float = 30,
                 hosts: Optional[StackRegistry] = None,
                 dhcpWait: float = DEFAULT_DHCP_WAIT) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host we connect from,
            or C{"dhcp"}.
        @param host: the server's IPv4 address, dotted.
        @param port: the server's port.
        @param gateway: our default gateway.
        @param mac: our MAC.
        @param mtu: the link MTU.
        @param timeout: seconds to wait for the connection.
        @param hosts: the registry, the process-wide one by default.
        @param dhcpWait: with DHCP, seconds to wait for the lease.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
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
                               self.mac, self.mtu, dhcpWait=self.dhcpWait)
        return d.addCallback(lambda h: h.tcp.connect(
            parseIPv4(self.host), self.port, factory, timeout=self.timeout))


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
    if "ip" not in kwargs:
        raise ValueError("vde: endpoints need ip=ADDRESS/PREFIX or ip=dhcp")
    ip = kwargs.pop("ip")
    if ip.lower() == DHCP:
        ip = DHCP
    else:
        if "/" not in ip:
            ip += "/24"
        parseInterface(ip)
    result: Dict[str, Any] = {"sock": kwargs.pop("sock"), "address": ip}
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
        Parse C{vde:sock=S:ip=A/P[:gw=G][:mac=M][:mtu=N][:backlog=B]:port=N};
        C{ip=dhcp[:dhcpwait=SECS]} takes the address from DHCP.

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
        Parse C{vde:sock=S:ip=A/P[:gw=G][:mac=M][:mtu=N][:timeout=T]:host=H:port=N};
        C{ip=dhcp[:dhcpwait=SECS]} takes the address from DHCP.

        @return: the endpoint.
        @raise ValueError: for bad or conflicting keywords.
        """
        port = _port(args, kwargs)
        if "host" not in kwargs:
            raise ValueError("vde: client endpoints need host=ADDRESS")
        host = kwargs.pop("host")
        parseIPv4(host)
        common = _common(kwargs)
        timeout = float(kwargs.pop("timeout", 30))
        if kwargs:
            raise ValueError("vde: unknown keywords %s" % (", ".join(sorted(kwargs)),))
        return VDEClientEndpoint(reactor, host=host, port=port, timeout=timeout, **common)
