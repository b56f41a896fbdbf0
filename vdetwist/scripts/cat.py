# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist cat}: netcat whose socket lives on its own virtual TCP/IP stack.

    vdetwist cat -s /tmp/vde --ip 192.168.77.100/24 --gw 192.168.77.2 -v -l -p 10000
    vdetwist cat -s /tmp/vde --ip 192.168.77.101/24 192.168.77.100 10000

Standard input goes to the connection and the connection to standard
output.  The messages of C{-v} are traditional netcat's (the seed tutorial's
transcript): C{listening on [any] 10000 ...} and C{connect to [A] from
(UNKNOWN) [B] PORT}; C{-vv} adds C{ sent N, rcvd M} at the end.  C{-N} shuts
down the sending side at the end of input, as OpenBSD netcat does; without
it the connection stays open until the peer closes.  A listener exits when
its connection ends, unless C{-k}.  Exit status: 0 when a connection was
made and ended, 1 on failure (refused, timed out, bad usage).
"""

import sys
from typing import Any, List, Optional

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python import usage
from zope.interface import implementer

from vdetwist.wire.addr import parseIPv4, parseInterface, parseMAC


class Options(usage.Options):
    """
    netcat's options plus the virtual host's.
    """

    synopsis = "-s SWITCH --ip ADDR/PREFIX [--gw GW] [-l -p PORT [-k] | HOST PORT]"

    optFlags = [
        ["listen", "l", "Listen for an incoming connection."],
        ["keep", "k", "Keep listening after a connection ends."],
        ["udp", "u", "UDP instead of TCP."],
        ["shutdown", "N", "Shut down the sending side at the end of input."],
        ["numeric", "n", "Numeric addresses only (always the case here)."],
    ]
    optParameters = [
        ["sock", "s", None, "The switch: a directory or vde:// URL."],
        ["ip", None, None, "The virtual host's address, ADDR/PREFIX."],
        ["gw", None, None, "The virtual host's default gateway."],
        ["mac", None, None, "The virtual host's MAC (random by default)."],
        ["mtu", None, 1500, "The link MTU.", int],
        ["port", "p", None, "The local port (with -l).", int],
        ["wait", "w", 30.0, "Connect timeout in seconds.", float],
        ["pcap", None, None, "Write the virtual host's frames to this pcap file."],
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
        if not self["ip"]:
            raise usage.UsageError("--ip ADDR/PREFIX is required")
        if "/" not in self["ip"]:
            self["ip"] += "/24"
        try:
            parseInterface(self["ip"])
            if self["gw"]:
                parseIPv4(self["gw"])
            if self["mac"]:
                self["mac"] = parseMAC(self["mac"])
        except ValueError as e:
            raise usage.UsageError(str(e))
        args = self["args"]
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
            try:
                parseIPv4(args[0])
            except ValueError:
                raise usage.UsageError("HOST must be an IPv4 address: %r" % (args[0],))
            self["host"], self["remote"] = args[0], _parsePort(args[1])
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


class Cat:
    """
    Join standard input and output to one TCP connection at a time.
    """

    def __init__(self, reactor: Any, options: Options, stdout: Any, err: Any) -> None:
        self.reactor = reactor
        self.options = options
        self.stdout = stdout
        self.console = Console(options, err)
        self.connection: Optional[CatProtocol] = None
        self.port: Any = None
        self.stdinDone = False
        self.exitCode = 1
        self.done: defer.Deferred[int] = defer.Deferred()
        self.stdio: Any = None

    # -- stdin / stdout -------------------------------------------------

    def startStdio(self) -> None:
        """
        Start reading standard input (paused until a connection exists).
        """
        from twisted.internet import stdio
        self.stdio = stdio.StandardIO(_StdinProtocol(self), reactor=self.reactor)
        self.stdio.pauseProducing()

    def fromStdin(self, data: bytes) -> None:
        if self.connection is not None:
            self.console.sent += len(data)
            self.connection.transport.write(data)

    def stdinEnded(self) -> None:
        if self.stdinDone:
            return
        self.stdinDone = True
        if self.connection is not None and self.options["shutdown"]:
            self.connection.transport.loseWriteConnection()

    def fromNetwork(self, data: bytes) -> None:
        self.console.received += len(data)
        self.stdout.write(data)

    # -- connection -----------------------------------------------------

    def connected(self, proto: CatProtocol) -> None:
        if self.connection is not None:
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
        proto.transport.loseConnection()

    def disconnected(self, proto: CatProtocol) -> None:
        if proto is not self.connection:
            return
        self.connection = None
        self.exitCode = 0
        self.console.say(" sent %d, rcvd %d" % (self.console.sent, self.console.received), 2)
        if self.stdio is not None:
            self.stdio.pauseProducing()
        if not self.options["keep"]:
            self.finish(0)

    def finish(self, code: int) -> None:
        """
        Stop: the Deferred L{done} fires with the exit status.
        """
        if self.done.called:
            return
        if self.port is not None:
            self.port.stopListening()
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
        try:
            stackHost = yield hosts.hostFor(self.reactor, o["sock"], o["ip"], o["gw"],
                                            o["mac"], o["mtu"], description="vdetwist-cat:")
        except Exception as e:
            self.console.err.write("vdetwist cat: cannot attach to %s: %s\n" % (o["sock"], e))
            return 1
        if o["pcap"]:
            import os
            fd = os.open(o["pcap"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self.pcapFile = os.fdopen(fd, "wb")
            stackHost.host.startCapture(self.pcapFile)
            self.done.addBoth(self._closePcap)
        if o["listen"]:
            self.port = stackHost.tcp.listen(o["port"], factory, interface=stackHost.address)
            self.console.say("listening on [any] %d ..." % (o["port"],))
        else:
            try:
                yield stackHost.tcp.connect(parseIPv4(o["host"]), o["remote"], factory,
                                            timeout=o["wait"])
            except Exception as e:
                self.console.say("(UNKNOWN) [%s] %d (?) : %s" % (
                    o["host"], o["remote"], _describe(e)))
                return 1
        code = yield self.done
        return code


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
        print("vdetwist cat: %s\n%s" % (e, options), file=sys.stderr)
        return 1
    if options["udp"]:
        print("vdetwist cat: -u is not supported yet", file=sys.stderr)
        return 1
    from twisted.internet import reactor
    result: List[int] = [1]
    cat = Cat(reactor, options, _Stdout(), sys.stderr)

    def start() -> None:
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
    Standard output, unbuffered.
    """

    def write(self, data: bytes) -> None:
        import os
        view = memoryview(data)
        while view:
            n = os.write(1, view)
            view = view[n:]
