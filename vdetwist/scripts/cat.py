# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist cat}: netcat whose socket lives on its own virtual TCP/IP stack.

    vdetwist cat -s /tmp/vde --ip 192.168.77.100/24 --gw 192.168.77.2 -v -l -p 10000
    vdetwist cat -s /tmp/vde --ip 192.168.77.101/24 192.168.77.100 10000
    vdetwist cat -s /tmp/vde --dhcp -v 10.0.2.2 80
    vdetwist cat -s /tmp/vde --ip6 fd00:77::100/64 -l -p 10000
    vdetwist cat -s /tmp/vde --ip6 fd00:77::101/64 fd00:77::100 10000

Standard input goes to the connection and the connection to standard
output.  The messages of C{-v} are traditional netcat's (the seed tutorial's
transcript): C{listening on [any] 10000 ...} and C{connect to [A] from
(UNKNOWN) [B] PORT}; C{-vv} adds C{ sent N, rcvd M} at the end.  C{-N} shuts
down the sending side at the end of input, as OpenBSD netcat does; without
it the connection stays open until the peer closes.  A listener exits when
its connection ends, unless C{-k}.  Exit status: 0 when a connection was
made and ended, 1 on failure (refused, timed out, bad usage).

C{--dhcp} instead of C{--ip} takes the address, prefix, default gateway
and DNS servers from a DHCP server on the switch (slirp's, Debian's
slirpvde); C{-v} prints the lease (C{vdetwist cat: DHCP: 10.0.2.15/24
router 10.0.2.2 dns 10.0.2.3}).  The cat listens or connects once the
lease is bound, or exits 1 with C{no DHCP answer from the switch within N
s} after C{--dhcp-wait} seconds.

C{-u} is UDP as netcat-openbsd does it: C{-u -l -p PORT} binds the virtual
host's UDP port, prints the datagrams that arrive and sends what is read
from standard input, one datagram per read, to the first peer (the socket
is connected to it; with C{-k} it takes datagrams from anyone and answers
the latest sender).  C{-u HOST PORT} sends each read of standard input as
one datagram and prints the answers; an ICMP port unreachable ends it with
status 1.  UDP has no end of connection: the cat runs until it is stopped,
or C{-q SECS} after the end of standard input.

C{-z} probes without data, as netcat-openbsd: C{-z HOST PORT} (or a range
C{LO-HI}) connects and closes at once; the status is 0 when a port is
open, else 1; C{-v} prints C{Connection to HOST PORT port [tcp/*]
succeeded!} or C{connect to HOST port PORT (tcp) failed: REASON}.  With
C{-u}, four C{X} datagrams are sent and the port counts as open unless an
ICMP port unreachable comes back within L{UDP_PROBE_WAIT} seconds (failures
are silent, as netcat's are).

The link MTU is the switch's unless C{--mtu} says otherwise: 1500, or
what a vdetwist switch started with C{--mtu} announces (jumbo frames
between vdetwist's parts; L{vdetwist.vde.announce}).

The host is dual-stack: C{--ip6 ADDR/PREFIX} gives it a static IPv6
address (usable once duplicate address detection passed, about a second)
and C{--gw6} an IPv6 default router; it also configures addresses from
router advertisements.  HOST may be an IPv6 literal.  With C{-l} it
listens on every family it has an address of; C{-4} and C{-6} restrict it
to one, as netcat's do.
"""

import sys
from collections import deque
from typing import Any, Deque, List, Optional, Tuple

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python import usage
from zope.interface import implementer

from vdetwist.version import VersionOption
from vdetwist.wire.addr import parseIPv4, parseInterface, parseMAC
from vdetwist.wire.addr6 import parseInterface6, parseIPv6

#: Seconds a UDP probe (C{-z -u}) waits for an ICMP port unreachable.
UDP_PROBE_WAIT = 1.0

#: The largest datagram sent for one read of standard input.
MAX_DATAGRAM = 65507

#: Connections a C{-l -k} listener holds, paused, while it serves one; past
#: that a new one is closed at once.
MAX_WAITING = 128


class Options(VersionOption, usage.Options):
    """
    netcat's options plus the virtual host's.
    """

    synopsis = ("-s SWITCH (--ip ADDR/PREFIX [--gw GW] | --dhcp) "
                "[--ip6 ADDR/PREFIX [--gw6 GW]] [-4|-6] [-u] "
                "[-l -p PORT [-k] | HOST PORT | -z HOST PORT[-PORT]]")
    command = "vdetwist cat"

    optFlags = [
        ["listen", "l", "Listen for an incoming connection."],
        ["keep", "k", "Keep listening after a connection ends."],
        ["udp", "u", "UDP instead of TCP."],
        ["shutdown", "N", "Shut down the sending side at the end of input."],
        ["numeric", "n", "Numeric addresses only (always the case here)."],
        ["zero", "z", "Zero-I/O mode: report whether the port is open, then exit."],
        ["dhcp", None, "Take the address, gateway and DNS from a DHCP server (not --ip)."],
        ["ipv4", "4", "IPv4 only."],
        ["ipv6", "6", "IPv6 only."],
    ]
    optParameters = [
        ["sock", "s", None, "The switch: a directory or vde:// URL."],
        ["ip", None, None, "The virtual host's address, ADDR/PREFIX."],
        ["gw", None, None, "The virtual host's default gateway."],
        ["ip6", None, None, "The virtual host's static IPv6 address, ADDR/PREFIX."],
        ["gw6", None, None, "The virtual host's IPv6 default router."],
        ["mac", None, None, "The virtual host's MAC (random by default)."],
        ["mtu", None, None, "The link MTU, 576 to 9216 (default: the switch's: 1500, or "
         "what a vdetwist switch started with --mtu announces).", int],
        ["port", "p", None, "The local port (with -l).", int],
        ["wait", "w", 30.0, "Connect timeout in seconds.", float],
        ["quit", "q", -1.0,
         "Quit this many seconds after the end of standard input (negative: never).",
         float],
        ["pcap", None, None, "Write the virtual host's frames to this pcap file."],
        ["dhcp-wait", None, 30.0, "With --dhcp, seconds to wait for a lease.", float],
        ["metrics", None, None, "Serve the virtual host's Prometheus metrics (IP, TCP, UDP "
         "and attachment counters) at /metrics on this Twisted server endpoint, e.g. "
         "tcp:9102:interface=127.0.0.1 (a bare port number listens on 127.0.0.1)."],
    ]

    def __init__(self) -> None:
        usage.Options.__init__(self)
        self["verbose"] = 0

    def opt_verbose(self) -> None:
        """
        Print netcat's messages on standard error; twice for the byte counts.
        """
        self["verbose"] += 1

    opt_v = opt_verbose

    def parseArgs(self, *args: str) -> None:
        """
        C{HOST PORT} to connect, or C{[PORT]} with C{-l}.
        """
        self["args"] = list(args)

    def postOptions(self) -> None:
        """
        Check the combination.

        @raise usage.UsageError: with a clear message.
        """
        if not self["sock"]:
            raise usage.UsageError("-s SWITCH is required (a switch directory or vde:// URL)")
        if self["dhcp"]:
            if self["ip"]:
                raise usage.UsageError("--dhcp and --ip cannot be used together")
            if self["gw"]:
                raise usage.UsageError("--gw goes with --ip (with --dhcp the lease names it)")
            if not self["dhcp-wait"] > 0:
                raise usage.UsageError("--dhcp-wait must be positive")
            self["ip"] = "dhcp"
        elif not self["ip"]:
            if not self["ip6"]:
                raise usage.UsageError(
                    "--ip ADDR/PREFIX (or --dhcp, or --ip6 ADDR/PREFIX) is required")
            if self["gw"]:
                raise usage.UsageError("--gw goes with --ip")
        elif "/" not in self["ip"]:
            self["ip"] += "/24"
        if self["ipv4"] and self["ipv6"]:
            raise usage.UsageError("-4 and -6 cannot be used together")
        if self["mtu"] is not None and not 576 <= self["mtu"] <= 9216:
            raise usage.UsageError("--mtu must be 576 to 9216")
        if self["ip6"] and "/" not in self["ip6"]:
            self["ip6"] += "/64"
        try:
            if self["ip"] and not self["dhcp"]:
                parseInterface(self["ip"])
            if self["gw"]:
                parseIPv4(self["gw"])
            if self["ip6"]:
                parseInterface6(self["ip6"])
            if self["gw6"]:
                parseIPv6(self["gw6"])
            if self["mac"]:
                self["mac"] = parseMAC(self["mac"])
        except ValueError as e:
            raise usage.UsageError(str(e))
        from vdetwist.observe.service import checkObserveOptions
        checkObserveOptions(self)
        args = self["args"]
        self["ports"] = []
        if self["port"] is not None and not 0 <= self["port"] <= 65535:
            raise usage.UsageError("port out of range: %d" % (self["port"],))
        if self["zero"] and self["listen"]:
            raise usage.UsageError("-z and -l cannot be used together")
        if self["listen"]:
            if self["port"] is None and len(args) == 1:
                self["port"] = _parsePort(args[0])
            elif args:
                raise usage.UsageError("with -l give only the port (-p PORT or PORT)")
            if self["port"] is None:
                raise usage.UsageError("-l needs a port: -p PORT")
        else:
            if len(args) != 2:
                raise usage.UsageError("give HOST PORT, or -l -p PORT to listen")
            host = args[0]
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            try:
                if ":" in host:
                    parseIPv6(host)
                else:
                    parseIPv4(host)
            except ValueError:
                raise usage.UsageError(
                    "HOST must be an IPv4 or IPv6 address: %r" % (args[0],))
            if ":" in host and self["ipv4"]:
                raise usage.UsageError("-4 with an IPv6 HOST")
            if ":" not in host and self["ipv6"]:
                raise usage.UsageError("-6 with an IPv4 HOST")
            if ":" not in host and not self["ip"]:
                raise usage.UsageError("an IPv4 HOST needs --ip or --dhcp")
            self["host"] = host
            self["ports"] = _parsePorts(args[1], self["zero"])
            self["remote"] = self["ports"][0]
            if self["keep"]:
                raise usage.UsageError("-k goes with -l")


def _parsePort(text: str) -> int:
    """
    A port number.

    @raise usage.UsageError: when it is not one.
    """
    try:
        port = int(text)
    except ValueError:
        raise usage.UsageError("not a port: %r" % (text,))
    if not 0 < port < 65536:
        raise usage.UsageError("port out of range: %d" % (port,))
    return port


def _parsePorts(text: str, allowRange: bool) -> List[int]:
    """
    A port, or with C{-z} a range C{LO-HI} (inclusive), as netcat takes.

    @param text: the argument.
    @param allowRange: whether a range is allowed.
    @return: the ports, in order.
    @raise usage.UsageError: when it is neither.
    """
    if "-" not in text:
        return [_parsePort(text)]
    if not allowRange:
        raise usage.UsageError("a port range needs -z: %r" % (text,))
    low, high = (_parsePort(part) for part in text.split("-", 1))
    if low > high:
        raise usage.UsageError("empty port range: %r" % (text,))
    return list(range(low, high + 1))


class Console:
    """
    Standard input and output, and the messages on standard error.

    @ivar stdio: the L{twisted.internet.stdio.StandardIO}, once made.
    """

    def __init__(self, options: Options, err: Any) -> None:
        self.options = options
        self.err = err
        self.stdio: Any = None
        self.sent = 0
        self.received = 0

    def say(self, text: str, level: int = 1) -> None:
        """
        Print a message at verbosity C{level}.
        """
        if self.options["verbose"] >= level:
            self.err.write(text + "\n")
            self.err.flush()


@implementer(IHalfCloseableProtocol)
class _StdinProtocol(protocol.Protocol):
    """
    Standard input: forwarded to the current connection.
    """

    def __init__(self, cat: "Cat") -> None:
        self.cat = cat

    def dataReceived(self, data: bytes) -> None:
        self.cat.fromStdin(data)

    def readConnectionLost(self) -> None:
        self.cat.stdinEnded()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: object = None) -> None:
        self.cat.stdinEnded()


@implementer(IHalfCloseableProtocol)
class CatProtocol(protocol.Protocol):
    """
    The network side of the cat.
    """

    def __init__(self, cat: "Cat") -> None:
        self.cat = cat
        #: The peer ended while this connection waited for its turn (-k).
        self.eofPending = False

    def connectionMade(self) -> None:
        self.cat.connected(self)

    def dataReceived(self, data: bytes) -> None:
        self.cat.fromNetwork(data)

    def readConnectionLost(self) -> None:
        self.cat.networkEOF(self)

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: object = None) -> None:
        self.cat.disconnected(self)


class CatDatagramProtocol(protocol.DatagramProtocol):
    """
    The network side of a UDP cat (C{-u}).
    """

    def __init__(self, cat: "Cat") -> None:
        self.cat = cat

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.cat.datagramReceived(data, addr)

    def connectionRefused(self) -> None:
        self.cat.udpRefused()


class _Closer(protocol.Protocol):
    """
    C{-z} over TCP: close as soon as connected.

    @ivar lost: fires when the connection is gone.
    """

    def __init__(self) -> None:
        self.lost: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: object = None) -> None:
        if not self.lost.called:
            self.lost.callback(None)


class _UDPProbe(protocol.DatagramProtocol):
    """
    C{-z -u}: notices an ICMP port unreachable.

    @ivar refused: fires with C{True} when one arrives.
    """

    def __init__(self) -> None:
        self.refused: defer.Deferred[bool] = defer.Deferred()

    def connectionRefused(self) -> None:
        if not self.refused.called:
            self.refused.callback(True)


class Cat:
    """
    Join standard input and output to one TCP connection at a time, or to
    a UDP socket (C{-u}); or probe ports (C{-z}).

    @ivar udp: the L{vdetwist.stack.udp.UDPPort} with C{-u}.
    @ivar peer: with C{-u}, the C{(host, port)} standard input goes to.
    """

    def __init__(self, reactor: Any, options: Options, stdout: Any, err: Any) -> None:
        self.reactor = reactor
        self.options = options
        self.stdout = stdout
        self.console = Console(options, err)
        self.connection: Optional[CatProtocol] = None
        # -l -k: connections that came while one was being served, paused
        # and served in turn, as netcat leaves them in the accept queue.
        self.waiting: Deque[CatProtocol] = deque()
        self.port: Any = None
        self.stdinDone = False
        self.exitCode = 1
        self.done: defer.Deferred[int] = defer.Deferred()
        self.stdio: Any = None
        self.udp: Any = None
        self.peer: Optional[Tuple[str, int]] = None
        self._quitTimer: Any = None
        self.metricsPort: Any = None

    # -- stdin / stdout -------------------------------------------------

    def startStdio(self) -> None:
        """
        Start reading standard input (paused until a connection exists).
        """
        from twisted.internet import stdio
        self.stdio = stdio.StandardIO(_StdinProtocol(self), reactor=self.reactor)
        self.stdio.pauseProducing()

    def fromStdin(self, data: bytes) -> None:
        if self.udp is not None:
            self._sendDatagrams(data)
        elif self.connection is not None:
            self.console.sent += len(data)
            self.connection.transport.write(data)

    def stdinEnded(self) -> None:
        if self.stdinDone:
            return
        self.stdinDone = True
        if self.connection is not None and self.options["shutdown"]:
            self.connection.transport.loseWriteConnection()
        if self.options["quit"] >= 0 and self._quitTimer is None:
            self._quitTimer = self.reactor.callLater(self.options["quit"], self._quit)

    def _quit(self) -> None:
        """
        C{-q}: the delay after the end of standard input is over.
        """
        self.options["keep"] = False
        if self.connection is not None:
            self.connection.transport.loseConnection()
        else:
            self.finish(0)

    def _resumeStdin(self) -> None:
        """
        Start reading standard input (a UDP peer is known).
        """
        if self.stdio is not None:
            self.stdio.resumeProducing()

    # -- UDP ------------------------------------------------------------

    def _sendDatagrams(self, data: bytes) -> None:
        """
        Send one read of standard input to the peer: one datagram (or
        more, when it is longer than a datagram can be).
        """
        if self.peer is None:
            return
        for start in range(0, len(data), MAX_DATAGRAM):
            chunk = data[start:start + MAX_DATAGRAM]
            try:
                if self.udp.connected is not None:
                    self.udp.write(chunk)
                else:
                    self.udp.write(chunk, self.peer)
            except (OSError, ValueError) as e:
                self.console.say("vdetwist cat: send to %s port %d failed: %s" % (
                    self.peer[0], self.peer[1], e))
                return
            self.console.sent += len(chunk)

    def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        A datagram for the UDP socket: the first sender becomes the peer
        (the socket is connected to it, unless C{-k}, where the latest
        sender is answered).
        """
        if self.peer != addr and (self.peer is None or self.options["keep"]):
            first = self.peer is None
            self.peer = addr
            if not self.options["keep"]:
                self.udp.connect(addr[0], addr[1])
            self.console.say("connect to [%s] from (UNKNOWN) [%s] %d" % (
                self.udp.getHost().host, addr[0], addr[1]))
            if first:
                self.exitCode = 0
                self._resumeStdin()
        self.fromNetwork(data)

    def udpRefused(self) -> None:
        """
        An ICMP port unreachable for the connected UDP socket: a client
        ends with status 1; a listener keeps waiting.
        """
        if self.options["listen"]:
            return
        self.console.say("(UNKNOWN) [%s] %d (?) : Connection refused" % (
            self.options["host"], self.options["remote"]))
        self.finish(1)

    def fromNetwork(self, data: bytes) -> None:
        self.console.received += len(data)
        self.stdout.write(data)

    # -- connection -----------------------------------------------------

    def connected(self, proto: CatProtocol) -> None:
        if self.connection is not None:
            if (self.options["listen"] and self.options["keep"]
                    and len(self.waiting) < MAX_WAITING):
                proto.transport.pauseProducing()
                self.waiting.append(proto)
            else:
                proto.transport.loseConnection()
            return
        self.connection = proto
        transport = proto.transport
        host, peer = transport.getHost(), transport.getPeer()
        if self.options["listen"]:
            self.console.say("connect to [%s] from (UNKNOWN) [%s] %d" % (
                host.host, peer.host, peer.port))
        else:
            self.console.say("(UNKNOWN) [%s] %d (?) open" % (peer.host, peer.port))
        if self.stdio is not None:
            transport.registerProducer(self.stdio, True)
            self.stdio.resumeProducing()
            if self.stdinDone and self.options["shutdown"]:
                transport.loseWriteConnection()

    def networkEOF(self, proto: CatProtocol) -> None:
        if proto in self.waiting:
            # Its turn has not come: the end is acted on once it is served.
            proto.eofPending = True
            return
        proto.transport.loseConnection()

    def disconnected(self, proto: CatProtocol) -> None:
        if proto is not self.connection:
            if proto in self.waiting:
                self.waiting.remove(proto)
            return
        self.connection = None
        self.exitCode = 0
        self.console.say(" sent %d, rcvd %d" % (self.console.sent, self.console.received), 2)
        if self.stdio is not None:
            self.stdio.pauseProducing()
        if not self.options["keep"]:
            self.finish(0)
        elif self.waiting:
            self._serveNext()

    def _serveNext(self) -> None:
        """
        C{-l -k}: the current connection ended; serve the one that waited
        longest (its data, and its end if it came, are delivered now).
        """
        proto = self.waiting.popleft()
        self.connected(proto)
        proto.transport.resumeProducing()
        if proto.eofPending and proto is self.connection:
            proto.transport.loseConnection()

    def finish(self, code: int) -> None:
        """
        Stop: the Deferred L{done} fires with the exit status.
        """
        if self.done.called:
            return
        if self._quitTimer is not None and self._quitTimer.active():
            self._quitTimer.cancel()
        if self.port is not None:
            self.port.stopListening()
        if self.udp is not None:
            self.udp.stopListening()
        if self.metricsPort is not None:
            self.metricsPort.stopListening()
        self.done.callback(code)

    # -- start ----------------------------------------------------------

    @defer.inlineCallbacks
    def run(self, hosts: Any = None) -> Any:
        """
        Attach the virtual host, then listen or connect.

        @param hosts: a L{vdetwist.stack.endpoints.StackRegistry}.
        @return: a Deferred firing with the exit status.
        """
        from vdetwist.stack.endpoints import registry
        hosts = hosts if hosts is not None else registry
        o = self.options
        factory = protocol.Factory.forProtocol(lambda: CatProtocol(self))
        from vdetwist.stack.dhcpclient import DHCPTimeout
        extra = {"dhcpWait": o["dhcp-wait"]} if o["dhcp"] else {}
        try:
            if o["ip6"] or o["gw6"]:
                extra.update(address6=o["ip6"], gateway6=o["gw6"])
            stackHost = yield hosts.hostFor(self.reactor, o["sock"], o["ip"], o["gw"],
                                            o["mac"], o["mtu"], description="vdetwist-cat:",
                                            **extra)
        except DHCPTimeout as e:
            self.console.err.write("vdetwist cat: %s\n" % (e,))
            return 1
        except Exception as e:
            self.console.err.write("vdetwist cat: cannot attach to %s: %s\n" % (o["sock"], e))
            return 1
        self._sayOutages(getattr(stackHost, "attachment", None))
        if o["metrics"]:
            try:
                self.metricsPort = yield self._serveMetrics(stackHost)
            except Exception as e:
                self.console.err.write("vdetwist cat: --metrics %s: %s\n" % (o["metrics"], e))
                return 1
        if o["dhcp"]:
            self._sayLeases(stackHost)
        if o["pcap"]:
            import os
            try:
                fd = os.open(o["pcap"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as e:
                self.console.err.write("vdetwist cat: cannot write the capture file %s: %s\n"
                                       % (o["pcap"], e.strerror))
                return 1
            self.pcapFile = os.fdopen(fd, "wb")
            stackHost.host.startCapture(self.pcapFile)
            self.done.addBoth(self._closePcap)
        if o["zero"]:
            code = yield self._scan(stackHost)
            return code
        if o["udp"]:
            code = yield self._runUDP(stackHost)
            return code
        if o["listen"]:
            self.port = self._listenTCP(stackHost, factory)
            self.console.say("listening on [any] %d ..." % (o["port"],))
        else:
            try:
                yield stackHost.connect(o["host"], o["remote"], factory, o["wait"])
            except Exception as e:
                self.console.say("(UNKNOWN) [%s] %d (?) : %s" % (
                    o["host"], o["remote"], _describe(e)))
                return 1
        code = yield self.done
        return code


    def _serveMetrics(self, stackHost: Any) -> "defer.Deferred[Any]":
        """
        C{--metrics}: serve the virtual host's counters (IP, TCP, UDP, SYN
        cookies, ...) and its attachment's (frames, bytes, drops,
        reattachments), labelled with the host's address, read at each
        scrape.

        @param stackHost: the L{vdetwist.stack.endpoints.StackHost}.
        @return: a Deferred firing with the listening port.
        """
        from twisted.internet.endpoints import serverFromString

        from vdetwist.observe.components import Components
        from vdetwist.observe.metrics import makeRegistry, metricsSite
        from vdetwist.wire.addr import formatIPv4

        def name() -> str:
            address = stackHost.host.address
            return formatIPv4(address) if address else "unconfigured"

        def attachments() -> List[Tuple[str, Any]]:
            attachment = getattr(stackHost, "attachment", None)
            if attachment is None or not hasattr(attachment, "counters"):
                return []
            return [(name(), attachment.counters())]
        registry = makeRegistry(self.reactor, Components(
            "vdetwist cat", hosts=lambda: [(name(), stackHost.host)],
            attachments=attachments))
        self.metricsRegistry = registry
        endpoint = serverFromString(self.reactor, self.options["metrics"])
        return endpoint.listen(metricsSite(registry))  # type: ignore[no-any-return]

    def _families(self, stackHost: Any) -> Tuple[bool, bool]:
        """
        Which families a listener binds: those the host has an address
        of, less what C{-4} or C{-6} excludes.

        @param stackHost: the attached host.
        @return: (IPv4, IPv6).
        """
        o = self.options
        ipv4 = stackHost.hasIPv4 and not o["ipv6"]
        ipv6 = (stackHost.address6 is not None or o["ipv6"]) and not o["ipv4"]
        return ipv4, ipv6

    def _address6(self, stackHost: Any) -> bytes:
        """
        The IPv6 address a listener binds: the static one, else any.

        @param stackHost: the attached host.
        @return: 16 bytes.
        """
        return stackHost.address6 if stackHost.address6 is not None else b"\0" * 16

    def _listenTCP(self, stackHost: Any, factory: Any) -> Any:
        """
        C{-l}: listen on IPv4, IPv6 or both.

        @param stackHost: the attached host.
        @param factory: the protocol factory.
        @return: the listening port (one object for both families).
        """
        from vdetwist.stack.endpoints import DualListeningPort
        ipv4, ipv6 = self._families(stackHost)
        port = self.options["port"]
        ports = []
        if ipv4:
            ports.append(stackHost.tcp.listen(port, factory, interface=stackHost.address))
        if ipv6:
            ports.append(stackHost.host.tcp6.listen(port, factory,
                                                    interface=self._address6(stackHost)))
        return ports[0] if len(ports) == 1 else DualListeningPort(ports)

    def _udpLayer(self, stackHost: Any) -> Tuple[Any, Any]:
        """
        The UDP layer and bind address of C{-u}: the HOST's family, or
        with C{-l} IPv6 when asked (C{-6}) or when the host has no IPv4.

        @param stackHost: the attached host.
        @return: (layer, bind address).
        """
        o = self.options
        if o["listen"]:
            ipv4, ipv6 = self._families(stackHost)
            useIPv6 = ipv6 and not ipv4
        else:
            useIPv6 = ":" in o["host"]
        if useIPv6:
            return stackHost.host.udp6, self._address6(stackHost)
        return stackHost.host.udp, stackHost.address

    def _sayOutages(self, attachment: Any) -> None:
        """
        Say on standard error when the switch goes away and when the host
        is attached again (it reattaches by itself, keeping its MAC and
        address, so open connections carry on).

        @param attachment: the host's L{vdetwist.vde.attach.SwitchAttachment}.
        """
        if not hasattr(attachment, "addWentAwayObserver"):
            return

        def say(text: str) -> None:
            try:
                self.console.err.write("vdetwist cat: switch %s %s\n" % (attachment.name, text))
                self.console.err.flush()
            except (OSError, ValueError):
                pass
        attachment.addWentAwayObserver(lambda: say("went away; reconnecting"))
        attachment.addReattachObserver(lambda: say("is back; reattached"))

    def _sayLeases(self, stackHost: Any) -> None:
        """
        With C{-v}, print the DHCP lease, and each later change (a new
        lease, or the address lost).

        @param stackHost: the attached, bound
            L{vdetwist.stack.endpoints.StackHost}.
        """
        if stackHost.lease is not None:
            self.console.say("vdetwist cat: DHCP: %s" % (stackHost.lease.describe(),))

        def changed(lease: Any) -> None:
            try:
                self.console.say("vdetwist cat: DHCP: %s" % (
                    lease.describe() if lease is not None else "lease lost",))
            except (OSError, ValueError):
                pass
        if stackHost.dhcp is not None:
            stackHost.dhcp.addObserver(changed)

    def _runUDP(self, stackHost: Any) -> "defer.Deferred[int]":
        """
        C{-u}: bind the UDP socket, then wait for the end.

        @param stackHost: the attached L{vdetwist.stack.endpoints.StackHost}.
        @return: a Deferred firing with the exit status.
        """
        from twisted.internet.error import CannotListenError
        o = self.options
        udp, address = self._udpLayer(stackHost)
        datagrams = CatDatagramProtocol(self)
        try:
            self.udp = udp.listenUDP(o["port"] or 0, datagrams, interface=address)
        except CannotListenError as e:
            self.console.err.write("vdetwist cat: cannot bind UDP port %s: %s\n" % (
                o["port"], e.socketError))
            return defer.succeed(1)
        if o["listen"]:
            self.console.say("listening on [any] %d ..." % (o["port"],))
        else:
            self.udp.connect(o["host"], o["remote"])
            self.peer = (o["host"], o["remote"])
            self.exitCode = 0
            self.console.say("(UNKNOWN) [%s] %d (?) open" % self.peer)
            self._resumeStdin()
        return self.done

    @defer.inlineCallbacks
    def _scan(self, stackHost: Any) -> Any:
        """
        C{-z}: probe each port in turn, as netcat-openbsd does.

        @param stackHost: the attached L{vdetwist.stack.endpoints.StackHost}.
        @return: a Deferred firing with 0 when some port is open, else 1.
        """
        o = self.options
        kind = "udp" if o["udp"] else "tcp"
        code = 1
        for port in o["ports"]:
            try:
                if o["udp"]:
                    yield self._probeUDP(stackHost, port)
                else:
                    yield self._probeTCP(stackHost, port)
            except Exception as e:
                if not o["udp"]:
                    self.console.say("vdetwist cat: connect to %s port %d (tcp) failed: %s" % (
                        o["host"], port, _describe(e)))
                continue
            code = 0
            self.console.say("Connection to %s %d port [%s/*] succeeded!" % (
                o["host"], port, kind))
        return code

    @defer.inlineCallbacks
    def _probeTCP(self, stackHost: Any, port: int) -> Any:
        """
        Connect and close at once.

        @raise Exception: the connect failed.
        """
        closer = _Closer()
        yield stackHost.connect(self.options["host"], port,
                                protocol.Factory.forProtocol(lambda: closer),
                                self.options["wait"])
        # Let the FIN go out and be answered, within a second.
        yield closer.lost.addTimeout(1.0, self.reactor,
                                     onTimeoutCancel=lambda result, timeout: None)

    @defer.inlineCallbacks
    def _probeUDP(self, stackHost: Any, port: int) -> Any:
        """
        Send four C{X} datagrams, as netcat's C{udptest}; the port is
        closed if an ICMP port unreachable answers within
        L{UDP_PROBE_WAIT} seconds.

        @raise ConnectionRefusedError: it did.
        """
        from twisted.internet.error import ConnectionRefusedError
        probe = _UDPProbe()
        layer, address = self._udpLayer(stackHost)
        udp = layer.listenUDP(0, probe, interface=address)
        try:
            udp.connect(self.options["host"], port)
            for _ in range(4):
                udp.write(b"X")
            refused = yield probe.refused.addTimeout(
                min(UDP_PROBE_WAIT, self.options["wait"]), self.reactor,
                onTimeoutCancel=lambda result, timeout: False)
        finally:
            udp.stopListening()
        if refused:
            raise ConnectionRefusedError()

    def _closePcap(self, result: Any) -> Any:
        """
        Flush the capture file at the end.
        """
        self.pcapFile.close()
        return result


def _describe(error: BaseException) -> str:
    """
    netcat's wording for a connection failure.
    """
    from twisted.internet import error as e
    if isinstance(error, e.ConnectionRefusedError):
        return "Connection refused"
    if isinstance(error, (e.TimeoutError, defer.TimeoutError)):
        return "Connection timed out"
    return str(error) or error.__class__.__name__


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist cat}.

    @param argv: the arguments after C{cat}.
    @return: the exit status.
    """
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        print("vdetwist cat: %s (vdetwist cat --help lists the options)" % (e,),
              file=sys.stderr)
        return 1
    from twisted.internet import reactor
    result: List[int] = [1]
    cat = Cat(reactor, options, _Stdout(), sys.stderr)

    def start() -> None:
        if not options["zero"]:
            cat.startStdio()
        d = cat.run()

        def finished(code: int) -> None:
            result[0] = code
        d.addCallback(finished)
        d.addErrback(lambda f: sys.stderr.write("vdetwist cat: %s\n" % (f.getErrorMessage(),)))
        d.addBoth(lambda _: reactor.callLater(0.05, reactor.stop))
    reactor.callWhenRunning(start)
    reactor.run()
    return result[0]


class _Stdout:
    """
    Standard output, unbuffered.  Twisted's StandardIO makes the descriptor
    non-blocking: when a slow reader lets the pipe fill, writing waits for
    room (as netcat's blocking write does, which holds the network side
    back through TCP's window) instead of failing.

    @ivar fd: the descriptor written to.
    """

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd

    def write(self, data: bytes) -> None:
        import os
        import select
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [])
                continue
            view = view[n:]
