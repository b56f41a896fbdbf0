# -*- test-case-name: tests.slirp.test_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{twistd slirp}: the NAT gateway, with slirpvde's options and defaults.

    twistd -n slirp -s /tmp/vde -n 192.168.77.0 \\
        -L30000:192.168.77.100:10000 -L30001:192.168.77.101:10000

Differences from slirpvde, all deliberate: every guest gets its own frames
(a real neighbour table), DNS is on by default (C{--no-dns} turns it off),
guests reach the host's loopback only with C{--allow-host-loopback},
C{-L}/C{-U} accept a host address (C{[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT}),
C{-D} takes no argument (C{--dhcp-start ADDR} gives the pool's start),
stream mode (C{-s -}), C{-X}, C{-x} and C{-t} are not supported, and
twistd does the daemonizing and pidfile (C{-d}/C{-p} are twistd's;
C{vdetwist slirp} takes them as slirpvde does, L{vdetwist.scripts.slirp}).
Long options take one dash too, as slirpvde's C{getopt_long_only}
(C{-socket DIR}, C{-dhcp}; L{longOnly}).

The virtual link's MTU is the switch's unless C{--mtu} says otherwise:
1500, or what a vdetwist switch started with C{--mtu} announces (read
when the service is made; L{vdetwist.vde.announce}).

A failed start (no switch at C{-s}, a forward's host port taken, a busy
C{-M} socket) is one line on standard error and exit status 1, with
nothing left listening (L{vdetwist.service.FaceService}).
"""

import os
import sys
from typing import Any, List, Optional

from twisted.application import service
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure

from vdetwist.observe.service import OBSERVE_PARAMETERS, checkObserveOptions
from vdetwist.version import VersionOption
from vdetwist.service import FaceService, StartupError, addStartupStep, reportStartupFailure
from vdetwist.slirp.forward import parseForwardSpec
from vdetwist.slirp.gateway import DEFAULT_NETWORK, GUEST_SEND_BUFFER, Gateway, parseNetwork
from vdetwist.slirp.gateway6 import DEFAULT_PREFIX6, parsePrefix6
from vdetwist.wire.addr import parseIPv4, sameNetwork
from vdetwist.wire.addr6 import samePrefix

__all__ = ["Options", "makeService", "SlirpService"]

_log = Logger()


def longOnly(argv: List[str], longNames: List[str], shortNames: str) -> List[str]:
    """
    slirpvde parses its options as C{getopt_long_only} does: C{-socket
    DIR}, C{-dhcp}, C{-daemon} are long options.  Rewrite them with two
    dashes for L{usage.Options}.

    An argument C{-WORD[=VALUE]} is long when WORD is a long option's name
    or the start of exactly one; otherwise, and always when it is a single
    letter that is a short option, it is left as short options.
    C{--dhcp=START} (slirpvde's DHCP start) becomes C{--dhcp-start=START}.

    @param argv: the arguments.
    @param longNames: the long options' names.
    @param shortNames: the short options' letters.
    @return: the rewritten arguments.
    """
    out: List[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[index:])
            break
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            word, sep, value = arg[1:].partition("=")
            if not (len(word) == 1 and word in shortNames):
                matches = [name for name in longNames if name == word] or [
                    name for name in longNames if name.startswith(word)]
                if len(matches) == 1:
                    arg = "--" + matches[0] + sep + value
        if arg.startswith("--dhcp="):
            arg = "--dhcp-start=" + arg[len("--dhcp="):]
        out.append(arg)
    return out


class Options(VersionOption, usage.Options):
    """
    slirpvde's options, for C{twistd slirp}: long options take one dash
    too (C{-socket}, C{-dhcp}), C{-h} is C{--help} and C{--version}
    prints vdetwist's version.
    """

    command = "twistd slirp"

    synopsis = "[options] [SWITCH]"
    longdesc = ("A NAT gateway for a Virtual Distributed Ethernet LAN (slirpvde "
                "compatible): DHCP, DNS, outbound NAT, and host port forwards to guests.")

    optFlags = [
        ["dhcp", "D", "Enable the DHCP server (pool from network + 15, 16 leases)."],
        ["quiet", "q", "No startup text."],
        ["no-dns", None, "Do not answer DNS on the DNS address."],
        ["no-ipv6", None, "No IPv6 (by default the gateway is PREFIX::2 and the DNS "
         "PREFIX::3 of --prefix6, with router advertisements and an IPv6 NAT)."],
        ["allow-host-loopback", None,
         "Let guests reach the host's 127.0.0.1 through the gateway address."],
        ["preserve-source", None,
         "Forwarded connections reach the guest from the client's address and port."],
    ]
    optParameters = [
        ["sock", "s", None, "The switch: its directory or a vde:// URL "
         "(default /var/run/vde.ctl for root, /tmp/vde.ctl otherwise)."],
        ["network", "n", DEFAULT_NETWORK,
         "The virtual network, ADDR[/bits]; a host part of 0 means .2."],
        ["dns", "N", None, "The virtual DNS address (default network + 3)."],
        ["dhcp-start", None, None, "The DHCP pool's first address (implies -D)."],
        ["mgmt", "M", None, "Management console socket."],
        ["mgmtmode", None, "0600", "Mode of the management socket, octal."],
        ["mtu", None, None, "The virtual link's MTU (default: the switch's: 1500, or what "
         "a vdetwist switch started with --mtu announces).", int],
        ["hosts", None, "/etc/hosts", "The hosts file the DNS server reads first."],
        ["prefix6", None, DEFAULT_PREFIX6,
         "The virtual IPv6 /64 (default: the ULA fd00:0:0:2::/64; gateway ::2, DNS ::3)."],
        ["max-tcp", None, 1024, "The most outbound TCP connections.", int],
        ["max-udp", None, 1024, "The most outbound UDP flows.", int],
        ["tcp-sndbuf", None, GUEST_SEND_BUFFER,
         "Bytes a TCP connection towards a guest buffers, and so has in flight, at most "
         "(more suits a guest far away; through a local vde_switch more loses frames).", int],
        ["manhole", None, None, "Serve a manhole (Python shell over SSH) on this "
         "endpoint, e.g. ssh:2222:interface=127.0.0.1."],
        ["manhole-keys", None, None, "Authorized keys file for the manhole."],
        ["manhole-passwd", None, None, "username:password file for the manhole."],
        ["pcap", None, None, "Write the gateway's frames (both ways) to this pcap file."],
    ] + OBSERVE_PARAMETERS

    compData = usage.Completions(optActions={
        "sock": usage.CompleteDirs(), "mgmt": usage.CompleteFiles()})

    def __init__(self) -> None:
        """
        No forwards yet.
        """
        super().__init__()
        self["tcpForwards"] = []
        self["udpForwards"] = []

    def opt_tcp_forward(self, value: str) -> None:
        """
        TCP forward [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT, repeatable.
        """
        self["tcpForwards"].append(value)

    opt_L = opt_tcp_forward

    def opt_udp_forward(self, value: str) -> None:
        """
        UDP forward [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT, repeatable.
        """
        self["udpForwards"].append(value)

    opt_U = opt_udp_forward

    def opt_host(self, value: str) -> None:
        """
        The same as --network.
        """
        self["network"] = value

    opt_H = opt_host

    def opt_socket(self, value: str) -> None:
        """
        The same as --sock.
        """
        self["sock"] = value

    def opt_vdesock(self, value: str) -> None:
        """
        The same as --sock.
        """
        self["sock"] = value

    def opt_unix(self, value: str) -> None:
        """
        The same as --sock.
        """
        self["sock"] = value

    def opt_nameserver(self, value: str) -> None:
        """
        The same as --dns.
        """
        self["dns"] = value

    def opt_h(self) -> None:
        """
        Display this help and exit.
        """
        self.opt_help()

    def parseOptions(self, options: Optional[List[str]] = None) -> None:
        """
        Parse as slirpvde does: one-dash long options (L{longOnly}).

        @param options: the arguments (C{sys.argv[1:]} by default).
        """
        if options is None:
            options = sys.argv[1:]
        longNames = [name.rstrip("=") for name in self.longOpt]
        super().parseOptions(longOnly(list(options), longNames, self.shortOpt.replace(":", "")))

    def parseArgs(self, *args: str) -> None:
        """
        slirpvde takes the switch as an optional final argument too.

        @param args: at most one switch.
        @raise usage.UsageError: more than one.
        """
        if len(args) > 1:
            raise usage.UsageError("too many arguments: give at most one switch")
        if args:
            if self["sock"] is not None and self["sock"] != args[0]:
                raise usage.UsageError("the switch is given twice (-s and an argument)")
            self["sock"] = args[0]

    def postOptions(self) -> None:
        """
        Validate and convert the options.

        @raise usage.UsageError: with a clear message.
        """
        from vdetwist.console.arguments import parseOctalMode
        from vdetwist.manhole import checkManholeOptions
        from vdetwist.vde.url import defaultSocketDirectory
        if self["sock"] is None:
            self["sock"] = defaultSocketDirectory()
        if self["sock"] == "-":
            raise usage.UsageError("stream mode (-s -) is not supported; give a switch")
        try:
            address, prefix = parseNetwork(self["network"])
        except ValueError as e:
            raise usage.UsageError(f"--network: {e}")
        self["address"], self["prefixLength"] = address, prefix
        if self["dns"] is not None:
            try:
                dns = parseIPv4(self["dns"])
            except ValueError as e:
                raise usage.UsageError(f"--dns: {e}")
            if not sameNetwork(dns, address, prefix) or dns == address:
                raise usage.UsageError("--dns: the DNS address must be another address "
                                       "of the virtual network")
        if self["dhcp-start"] is not None:
            self["dhcp"] = True
            try:
                start = parseIPv4(self["dhcp-start"])
            except ValueError as e:
                raise usage.UsageError(f"--dhcp-start: {e}")
            if not sameNetwork(start, address, prefix):
                raise usage.UsageError("--dhcp-start: not on the virtual network")
        try:
            prefix6 = parsePrefix6(self["prefix6"])
        except ValueError as e:
            raise usage.UsageError(f"--prefix6: {e}")
        if self["mtu"] is not None and not 576 <= self["mtu"] <= 65535:
            raise usage.UsageError("--mtu must be 576 to 65535")
        for name in ("max-tcp", "max-udp"):
            if self[name] < 1:
                raise usage.UsageError(f"--{name} must be at least 1")
        if not 4096 <= self["tcp-sndbuf"] <= 1 << 30:
            raise usage.UsageError("--tcp-sndbuf must be 4096 to 1073741824")
        try:
            self["mgmtmode"] = parseOctalMode(self["mgmtmode"])
        except ValueError:
            raise usage.UsageError("--mgmtmode: not an octal mode: %r" % (self["mgmtmode"],))
        specs: List[Any] = []
        for protocol, option, texts in (("tcp", "-L", self["tcpForwards"]),
                                        ("udp", "-U", self["udpForwards"])):
            seen = set()
            for text in texts:
                try:
                    spec = parseForwardSpec(text)
                except ValueError as e:
                    raise usage.UsageError(f"{option} {text}: {e}")
                if len(spec.guestAddress) == 16:
                    if self["no-ipv6"] or not samePrefix(spec.guestAddress, prefix6, 64):
                        raise usage.UsageError(
                            f"{option} {text}: the guest address is not in the IPv6 "
                            f"prefix {self['prefix6']}")
                elif not sameNetwork(spec.guestAddress, address, prefix):
                    raise usage.UsageError(
                        f"{option} {text}: the guest address is not on the virtual network "
                        f"{self['network']}")
                key = (spec.hostAddress, spec.hostPort)
                if spec.hostPort and key in seen:
                    raise usage.UsageError(f"{option} {text}: host port forwarded twice")
                seen.add(key)
                specs.append((protocol, spec))
        self["forwards"] = specs
        checkManholeOptions(self)
        checkObserveOptions(self)


class SlirpService(service.Service):
    """
    Runs a L{Gateway}: listens for the forwards, attaches to the switch,
    prints the startup text, and stops the process when the switch goes
    away (as slirpvde exits when its control stream closes).

    @ivar gateway: the gateway.
    @ivar sock: the switch.
    @ivar quiet: no startup text.
    """

    def __init__(self, reactor: Any, gateway: Gateway, sock: str, quiet: bool = False,
                 out: Any = None) -> None:
        """
        @param reactor: the reactor.
        @param gateway: the gateway.
        @param sock: the switch directory or URL.
        @param quiet: no startup text.
        @param out: where the startup text goes (the real stdout by
            default, not twistd's log).
        """
        self.reactor = reactor
        self.gateway = gateway
        self.sock = sock
        self.quiet = quiet
        self.out = out

    def startService(self) -> None:
        """
        Listen, attach, announce.

        @raise StartupError: a forward's host port cannot be listened on,
            or the switch cannot be opened (checked before the reactor
            runs); what had started is stopped first.
        """
        service.Service.startService(self)
        try:
            self.gateway.startForwards()
        except CannotListenError as e:
            self._abort()
            reason = getattr(e.socketError, "strerror", None) or str(e.socketError)
            raise StartupError("cannot listen for a forward on %s port %s: %s" % (
                e.interface or "0.0.0.0", e.port, reason))
        self.gateway.addDetachObserver(self._detached)
        d = self.gateway.attach(self.sock)
        outcome: List[Any] = []

        def record(result: Any) -> Any:
            outcome.append(result)
            return result
        d.addBoth(record)
        if outcome and isinstance(outcome[0], Failure):
            d.addErrback(lambda _: None)
            self._abort()
            raise StartupError(self._attachError(outcome[0]))
        addStartupStep(self, d)
        d.addCallbacks(self._attached, self._attachFailed)

    def _abort(self) -> None:
        """
        The start failed: undo it.
        """
        service.Service.stopService(self)
        self.gateway.stop()

    def _attachError(self, reason: Any) -> str:
        """
        The line for an attach failure.
        """
        return "cannot attach to the switch %s: %s" % (self.sock, reason.getErrorMessage())

    def _attached(self, transport: Any) -> None:
        """
        Attached: print the startup text.

        @param transport: the switch side.
        """
        text = self.gateway.startupText(self.quiet)
        if text:
            out: Any = self.out if self.out is not None else sys.__stdout__
            out.write(text)
            out.flush()
        _log.info("slirp attached to {sock}", sock=self.sock)

    def _attachFailed(self, reason: Any) -> None:
        """
        The switch could not be joined: say why and stop (through the
        face, with status 1, when there is one).

        @param reason: the failure.
        """
        if reportStartupFailure(self, self._attachError(reason)):
            return
        _log.error("slirp: {error}", error=self._attachError(reason))
        self._stopReactor()

    def _detached(self, reason: Any) -> None:
        """
        The switch closed our port: stop, as slirpvde does.

        @param reason: why.
        """
        if self.running:
            _log.info("slirp: the switch closed the connection; exiting")
            self._stopReactor()

    def _stopReactor(self) -> None:
        """
        Stop the reactor if it runs.
        """
        if getattr(self.reactor, "running", False):
            self.reactor.stop()

    def stopService(self) -> None:
        """
        Stop the gateway.
        """
        service.Service.stopService(self)
        self.gateway.stop()


class _PcapService(service.Service):
    """
    Capture the gateway's frames to a pcap file (mode 0600) while running.
    """

    def __init__(self, gateway: Any, path: str) -> None:
        self.gateway = gateway
        self.path = path
        self.file: Any = None

    def startService(self) -> None:
        service.Service.startService(self)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self.file = os.fdopen(fd, "wb")
        self.gateway.host.startCapture(self.file)

    def stopService(self) -> None:
        service.Service.stopService(self)
        self.gateway.host.stopCapture()
        self.file.close()


def makeService(options: Any, reactor: Optional[Any] = None,
                resolver: Any = None, command: str = "slirp") -> FaceService:
    """
    Build slirp: the gateway service, and optionally the console and a
    manhole, under a L{FaceService}: a start-up failure (a forward's port
    taken, no switch) is one line on standard error, a non-zero exit
    status, and nothing left behind.

    @param options: parsed L{Options}.
    @param reactor: the reactor; without one (twistd), the global one,
        and a failed start ends the process with status 1.
    @param resolver: the DNS resolver (the host's by default).
    @param command: the name the failure line starts with.
    @return: the service; its C{gateway} attribute is the L{Gateway}.
    """
    exitProcess = reactor is None
    if reactor is None:
        from vdetwist.runtime import tuneInterpreter
        tuneInterpreter()
        from twisted.internet import reactor as _reactor
        reactor = _reactor
    top = FaceService(command, reactor, exitProcess=exitProcess)
    if resolver is None and options["hosts"] != "/etc/hosts" and not options["no-dns"]:
        from vdetwist.slirp.dns import makeHostResolver
        resolver = makeHostResolver(reactor, hosts=options["hosts"])
    mtu = options["mtu"]
    if mtu is None:
        from vdetwist.vde.announce import switchMTU
        mtu = switchMTU(options["sock"])
    gateway = Gateway(
        reactor, options["network"], dnsAddress=options["dns"], dhcp=options["dhcp"],
        dhcpStart=options["dhcp-start"], dns=not options["no-dns"], resolver=resolver,
        allowHostLoopback=options["allow-host-loopback"],
        preserveSource=options["preserve-source"], mtu=mtu,
        maxTCP=options["max-tcp"], maxUDPFlows=options["max-udp"],
        ipv6=not options["no-ipv6"], prefix6=options["prefix6"],
        sendBuffer=options["tcp-sndbuf"])
    for protocol, spec in options["forwards"]:
        gateway.addForward(protocol, spec, listen=False)
    top.gateway = gateway  # type: ignore[attr-defined]
    if options["pcap"]:
        pcap = _PcapService(gateway, options["pcap"])
        top.addService(pcap)
        top.setStartupContext(pcap, "cannot write the capture file")
    slirp = SlirpService(reactor, gateway, options["sock"], quiet=options["quiet"])
    slirp.setName("slirp")
    slirp.setServiceParent(top)
    if options["mgmt"]:
        from vdetwist.slirp.console import SlirpConsoleFactory
        from vdetwist.console.mgmt import ManagementService

        def shutdown() -> None:
            if getattr(reactor, "running", False):
                reactor.stop()
        factory = SlirpConsoleFactory(gateway, options["mgmt"], options["mgmtmode"],
                                      shutdown=shutdown, reactor=reactor)
        top.console = factory  # type: ignore[attr-defined]
        mgmt = ManagementService(reactor, factory, options["mgmt"], mode=options["mgmtmode"])
        mgmt.setServiceParent(top)
        top.setStartupContext(mgmt, "cannot open the management console")
    if options["manhole"]:
        from vdetwist.manhole import makeManholeService
        manhole = makeManholeService(
            options["manhole"],
            {"gateway": gateway, "nat": gateway.nat, "dhcp": gateway.dhcp,
             "forwards": gateway.forwards, "tcp": gateway.tcp, "host": gateway.host},
            keys=options["manhole-keys"], passwd=options["manhole-passwd"], reactor=reactor)
        manhole.setServiceParent(top)
        top.setStartupContext(manhole, "cannot start the manhole")
    from vdetwist.observe.service import Components, addObserveServices
    top.observer = addObserveServices(  # type: ignore[attr-defined]
        top, reactor, options, Components("slirp " + options["network"], gateway=gateway))
    return top
