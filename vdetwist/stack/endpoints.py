# -*- test-case-name: tests.stack.test_endpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Twisted endpoints on virtual hosts, and their C{vde:} string parsers.

    vde:sock=/tmp/vde:ip=192.168.77.100/24:gw=192.168.77.2:port=8080
    vde:sock=/tmp/vde:ip=192.168.77.100/24:host=192.168.77.101:port=10000

The first is a server endpoint (C{twistd web --listen "vde:..."} serves HTTP
on the virtual address), the second a client endpoint.  Endpoints in one
process that name the same switch and address share one virtual host (one
stack, one switch port), found through L{StackRegistry}.

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

from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.demux import SOMAXCONN
from vdetwist.vde.attach import SwitchAttachment, attachPersistently
from vdetwist.wire.addr import parseIPv4, parseInterface


class StackHost:
    """
    A virtual host attached to a switch.

    @ivar host: the L{VirtualHost}.
    @ivar tcp: its L{vdetwist.stack.tcp.demux.TCPLayer}.
    @ivar address: its IPv4 address, 4 bytes.
    @ivar attachment: the L{SwitchAttachment} it sends into: it reattaches
        when the switch restarts, keeping the host's MAC and addresses (its
        C{counters()} include the frames dropped while detached).
    """

    def __init__(self, reactor: Any, address: str, gateway: Optional[str] = None,
                 mac: Optional[bytes] = None, mtu: int = 1500) -> None:
        """
        @param reactor: the reactor.
        @param address: C{ADDR/PREFIX}.
        @param gateway: the default gateway, dotted, or L{None}.
        @param mac: the MAC, random locally administered when L{None}.
        @param mtu: the link MTU.
        """
        self.reactor = reactor
        self.host = VirtualHost(reactor, address=address, gateway=gateway, mac=mac, mtu=mtu)
        self.tcp = self.host.tcp
        self.address = parseInterface(address)[0]
        self.attachment: Optional[SwitchAttachment] = None

    def stop(self) -> None:
        """
        Reset every connection, stop listening, cancel the stack's timers
        and leave the switch.
        """
        self.host.stop()
        if self.attachment is not None:
            attachment, self.attachment = self.attachment, None
            attachment.loseConnection()

    def attach(self, sock: str, description: str = "vdetwist") -> "defer.Deferred[StackHost]":
        """
        Join the switch at C{sock} (a directory or C{vde://} URL): in
        process when this process serves it, else over a VDE plug; and
        join it again when it restarts (L{attachPersistently}), announcing
        the host with a gratuitous ARP each time.

        @param sock: the switch.
        @param description: what the switch's port/print shows.
        @return: a Deferred firing with this host once attached (or failing
            as L{vdetwist.vde.attach.attachToSwitch}'s does).
        """
        d = attachPersistently(self.reactor, sock, self.host.interface, description)

        def attached(attachment: SwitchAttachment) -> "StackHost":
            self.attachment = attachment
            attachment.addReattachObserver(self.host.arp.announce)
            return self
        return d.addCallback(attached)


class StackRegistry:
    """
    One L{StackHost} per (switch, address) in a process, shared by every
    endpoint that names them.
    """

    def __init__(self) -> None:
        self._hosts: Dict[Tuple[str, bytes], "defer.Deferred[StackHost]"] = {}

    def hostFor(self, reactor: Any, sock: str, address: str, gateway: Optional[str] = None,
                mac: Optional[bytes] = None, mtu: int = 1500,
                description: str = "vdetwist") -> "defer.Deferred[StackHost]":
        """
        The host for (switch, address), made and attached on first use.

        @param reactor: the reactor.
        @param sock: the switch directory or URL.
        @param address: C{ADDR/PREFIX}.
        @param gateway: the default gateway.
        @param mac: the MAC.
        @param mtu: the MTU.
        @param description: the port description.
        @return: a Deferred firing with the L{StackHost}.
        """
        key = (sock, parseInterface(address)[0])
        existing = self._hosts.get(key)
        if existing is None:
            attaching = StackHost(reactor, address, gateway, mac, mtu).attach(sock, description)
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
                 hosts: Optional[StackRegistry] = None) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host.
        @param port: the TCP port.
        @param gateway: the host's default gateway.
        @param mac: the host's MAC.
        @param mtu: the link MTU.
        @param backlog: the listen backlog (the most half-open
            connections; SYN cookies answer SYNs beyond it), Linux's
            somaxconn by default.
        @param hosts: the registry, the process-wide one by default.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
        self.port, self.gateway, self.mac, self.mtu = port, gateway, mac, mtu
        self.backlog = backlog
        self.hosts = hosts if hosts is not None else registry

    def listen(self, factory: Any) -> "defer.Deferred[Any]":
        """
        Attach the host if needed and listen.

        @param factory: the protocol factory.
        @return: a Deferred firing with an C{IListeningPort}.
        """
        d = self.hosts.hostFor(self.reactor, self.sock, self.address, self.gateway,
                               self.mac, self.mtu)
        return d.addCallback(lambda host: host.tcp.listen(
            self.port, factory, backlog=self.backlog, interface=host.address))


@implementer(IStreamClientEndpoint)
class VDEClientEndpoint:
    """
    Connect from a virtual host to a TCP server on the virtual LAN (or
    beyond its gateway).
    """

    def __init__(self, reactor: Any, sock: str, address: str, host: str, port: int,
                 gateway: Optional[str] = None, mac: Optional[bytes] = None,
                 mtu: int = 1500, timeout: float = 30,
                 hosts: Optional[StackRegistry] = None) -> None:
        """
        @param reactor: the reactor.
        @param sock: the switch directory or C{vde://} URL.
        @param address: C{ADDR/PREFIX} of the virtual host we connect from.
        @param host: the server's IPv4 address, dotted.
        @param port: the server's port.
        @param gateway: our default gateway.
        @param mac: our MAC.
        @param mtu: the link MTU.
        @param timeout: seconds to wait for the connection.
        @param hosts: the registry, the process-wide one by default.
        """
        self.reactor, self.sock, self.address = reactor, sock, address
        self.host, self.port = host, port
        self.gateway, self.mac, self.mtu, self.timeout = gateway, mac, mtu, timeout
        self.hosts = hosts if hosts is not None else registry

    def connect(self, factory: Any) -> "defer.Deferred[Any]":
        """
        Attach the host if needed and connect.

        @param factory: the protocol factory.
        @return: a Deferred firing with the connected protocol.
        """
        d = self.hosts.hostFor(self.reactor, self.sock, self.address, self.gateway,
                               self.mac, self.mtu)
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
        raise ValueError("vde: endpoints need ip=ADDRESS/PREFIX")
    ip = kwargs.pop("ip")
    if "/" not in ip:
        ip += "/24"
    parseInterface(ip)
    result: Dict[str, Any] = {"sock": kwargs.pop("sock"), "address": ip}
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
        Parse C{vde:sock=S:ip=A/P[:gw=G][:mac=M][:mtu=N][:backlog=B]:port=N}.

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
        Parse C{vde:sock=S:ip=A/P[:gw=G][:mac=M][:mtu=N][:timeout=T]:host=H:port=N}.

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
