# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.cat} (its command line; UDP and C{-z} on an
in-memory wire) and the C{vdetwist} dispatcher.
"""

import io
from contextlib import redirect_stderr, redirect_stdout
from typing import List, Tuple

from twisted.internet import defer, protocol, task
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from vdetwist.scripts import cat, main
from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.endpoints import StackHost, StackRegistry
from vdetwist.switch.switch import Switch
from vdetwist.testing import MemoryWire
from vdetwist.vde import local


class OptionsTests(SynchronousTestCase):
    """
    netcat's option shapes.
    """

    def parse(self, *argv: str) -> cat.Options:
        options = cat.Options()
        options.parseOptions(list(argv))
        return options

    def test_listen(self) -> None:
        """
        C{-l -p PORT} and C{-l PORT} both listen; C{-vv} counts.
        """
        o = self.parse("-s", "/tmp/vde", "--ip", "192.168.77.100/24", "-vv", "-l", "-p", "10000")
        self.assertEqual((o["listen"], o["port"], o["verbose"]), (True, 10000, 2))
        o = self.parse("-s", "/tmp/vde", "--ip", "192.168.77.100", "-l", "10000")
        self.assertEqual((o["port"], o["ip"]), (10000, "192.168.77.100/24"))

    def test_mtu(self) -> None:
        """
        Without C{--mtu} the MTU is left to the switch (L{None}); C{--mtu}
        takes 576 to 9216.
        """
        o = self.parse("-s", "/tmp/vde", "--ip", "10.0.0.2/24", "10.0.0.1", "80")
        self.assertIsNone(o["mtu"])
        o = self.parse("-s", "/tmp/vde", "--ip", "10.0.0.2/24", "--mtu", "9000", "10.0.0.1", "80")
        self.assertEqual(o["mtu"], 9000)
        for value in ("575", "9217"):
            self.assertRaises(usage.UsageError, self.parse, "-s", "/tmp/vde", "--ip",
                              "10.0.0.2/24", "--mtu", value, "10.0.0.1", "80")

    def test_connect(self) -> None:
        """
        C{HOST PORT} connects; -N and -w are kept.
        """
        o = self.parse("-s", "/tmp/vde", "--ip", "10.0.0.2/24", "-N", "-w", "3", "10.0.0.1", "80")
        self.assertEqual((o["host"], o["remote"], o["shutdown"], o["wait"]),
                         ("10.0.0.1", 80, True, 3.0))

    def test_errors(self) -> None:
        """
        Missing switch or address, a listener without port, a client
        without host and port, -k without -l, bad numbers: UsageError.
        """
        for argv in [
                ("--ip", "10.0.0.1", "-l", "-p", "1"),
                ("-s", "x", "-l", "-p", "1"),
                ("-s", "x", "--ip", "10.0.0.1", "-l"),
                ("-s", "x", "--ip", "10.0.0.1", "10.0.0.2"),
                ("-s", "x", "--ip", "10.0.0.1", "-k", "10.0.0.2", "5"),
                ("-s", "x", "--ip", "10.0.0.1", "10.0.0.2", "99999"),
                ("-s", "x", "--ip", "10.0.0.1", "name.example", "80"),
                ("-s", "x", "--ip", "10.0.0.1/40", "-l", "-p", "1"),
                ("-s", "x", "--ip", "10.0.0.1", "--mac", "zz", "-l", "-p", "1"),
        ]:
            self.assertRaises(usage.UsageError, self.parse, *argv)

    def test_dhcp(self) -> None:
        """
        C{--dhcp} replaces C{--ip}; C{--dhcp-wait} sets the wait.
        """
        o = self.parse("-s", "/tmp/vde", "--dhcp", "-l", "-p", "10000")
        self.assertEqual((o["dhcp"], o["ip"], o["dhcp-wait"]), (True, "dhcp", 30.0))
        o = self.parse("-s", "/tmp/vde", "--dhcp", "--dhcp-wait", "5", "10.0.2.2", "80")
        self.assertEqual(o["dhcp-wait"], 5.0)
        for argv, message in [
                (("--dhcp", "--ip", "10.0.0.1"), "cannot be used together"),
                (("--dhcp", "--gw", "10.0.0.1"), "--gw"),
                (("--dhcp", "--dhcp-wait", "0"), "positive"),
                ((), "--dhcp"),
        ]:
            e = self.assertRaises(usage.UsageError, self.parse, "-s", "x", *argv, "-l", "1")
            self.assertIn(message, str(e))

    def test_mainUsageError(self) -> None:
        """
        Bad usage exits 1 with the message on standard error.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cat.main(["-l"]), 1)
        self.assertIn("-s SWITCH is required", err.getvalue())


class DispatcherTests(SynchronousTestCase):
    """
    The C{vdetwist} command.
    """

    def test_unknown(self) -> None:
        """
        An unknown subcommand exits 2 and lists the commands.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(main.main(["frobnicate"]), 2)
        self.assertIn("cat", err.getvalue())

    def test_help(self) -> None:
        """
        --help lists the subcommands and exits 0.
        """
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main.main(["--help"]), 0)
        self.assertIn("netcat", out.getvalue())


class _Registry:
    """
    A stand-in for L{vdetwist.stack.endpoints.StackRegistry} that hands
    out one host already on a memory wire.
    """

    def __init__(self, host: StackHost) -> None:
        self.host = host

    def hostFor(self, *args: object, **kwargs: object) -> "defer.Deferred[StackHost]":
        return defer.succeed(self.host)


class _Output:
    """
    Standard output in memory.
    """

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class _Collect(protocol.DatagramProtocol):
    """
    A UDP peer that records what it receives.
    """

    def __init__(self) -> None:
        self.received: List[Tuple[bytes, Tuple[str, int]]] = []

    def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
        self.received.append((data, addr))


class NetworkTests(SynchronousTestCase):
    """
    C{-u} and C{-z} against a second virtual host on an in-memory wire,
    driven by a clock.
    """

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.wire = MemoryWire()
        self.ours = StackHost(self.clock, "10.9.0.1/24")
        self.peer = StackHost(self.clock, "10.9.0.2/24")
        for host in (self.ours, self.peer):
            host.attachment = self.wire.attach(host.host.interface)
            self.addCleanup(host.stop)

    def advance(self, seconds: float = 1.0, steps: int = 20) -> None:
        self.wire.pump()
        for _ in range(steps):
            self.clock.advance(seconds / steps)
            self.wire.pump()

    def start(self, *argv: str) -> Tuple[cat.Cat, "defer.Deferred[int]"]:
        options = cat.Options()
        options.parseOptions(["-s", "/nonexistent", "--ip", "10.9.0.1/24", *argv])
        self.out, self.err = _Output(), io.StringIO()
        c = cat.Cat(self.clock, options, self.out, self.err)
        d = c.run(hosts=_Registry(self.ours))
        self.advance()
        return c, d

    def peerUDP(self, port: int) -> Tuple[_Collect, object]:
        collect = _Collect()
        return collect, self.peer.host.udp.listenUDP(port, collect)

    def test_udpListener(self) -> None:
        """
        C{-u -l -p PORT} prints the first sender's datagrams, says who it
        is with C{-v}, answers it with standard input, and ignores other
        senders from then on.
        """
        c, d = self.start("-u", "-v", "-l", "-p", "5000")
        self.assertEqual(self.err.getvalue(), "listening on [any] 5000 ...\n")
        first, firstPort = self.peerUDP(6000)
        other, otherPort = self.peerUDP(6001)
        firstPort.write(b"hello\n", ("10.9.0.1", 5000))
        self.advance()
        self.assertEqual(self.out.data, b"hello\n")
        self.assertEqual(self.err.getvalue().splitlines()[1],
                         "connect to [10.9.0.1] from (UNKNOWN) [10.9.0.2] 6000")
        c.fromStdin(b"reply 1\n")
        c.fromStdin(b"reply 2\n")
        self.advance()
        self.assertEqual(first.received, [(b"reply 1\n", ("10.9.0.1", 5000)),
                                          (b"reply 2\n", ("10.9.0.1", 5000))])
        otherPort.write(b"intruder\n", ("10.9.0.1", 5000))
        firstPort.write(b"more\n", ("10.9.0.1", 5000))
        self.advance()
        self.assertEqual(self.out.data, b"hello\nmore\n")
        self.assertNoResult(d)
        c.finish(0)
        self.assertEqual(self.successResultOf(d), 0)

    def test_udpListenerKeep(self) -> None:
        """
        With C{-k} a UDP listener takes every sender's datagrams and
        answers the latest.
        """
        c, d = self.start("-u", "-k", "-l", "-p", "5000")
        first, firstPort = self.peerUDP(6000)
        second, secondPort = self.peerUDP(6001)
        firstPort.write(b"one\n", ("10.9.0.1", 5000))
        self.advance()
        secondPort.write(b"two\n", ("10.9.0.1", 5000))
        self.advance()
        c.fromStdin(b"answer\n")
        self.advance()
        self.assertEqual(self.out.data, b"one\ntwo\n")
        self.assertEqual((first.received, second.received),
                         ([], [(b"answer\n", ("10.9.0.1", 5000))]))

    def test_keepServesWaitingConnections(self) -> None:
        """
        C{-l -k}: a connection that arrives while another is served waits,
        paused (as netcat leaves it in the accept queue), and is served
        once the first ends: its data and its end are not lost.
        """
        c, d = self.start("-k", "-l", "-p", "5000")
        received: List[bytes] = []

        class Client(protocol.Protocol):
            def connectionMade(self) -> None:
                self.transport.write(self.factory.line)  # type: ignore[attr-defined]
                self.transport.loseWriteConnection()  # type: ignore[attr-defined]

            def dataReceived(self, data: bytes) -> None:
                received.append(data)

        @implementer(IHalfCloseableProtocol)
        class HalfClosingClient(Client):
            def readConnectionLost(self) -> None:
                self.transport.loseConnection()  # type: ignore[attr-defined]

            def writeConnectionLost(self) -> None:
                pass

        def connect(line: bytes) -> None:
            factory = protocol.ClientFactory.forProtocol(HalfClosingClient)
            factory.line = line  # type: ignore[attr-defined]
            self.peer.tcp.connect(bytes([10, 9, 0, 1]), 5000, factory)

        connect(b"first\n")
        connect(b"second\n")
        connect(b"third\n")
        self.advance(5)
        self.assertEqual(self.out.data, b"first\nsecond\nthird\n")
        self.assertIsNone(c.connection)
        self.assertEqual(len(c.waiting), 0)
        self.assertNoResult(d)
        c.finish(0)
        self.assertEqual(self.successResultOf(d), 0)

    def test_udpClient(self) -> None:
        """
        C{-u HOST PORT} sends each read of standard input as one datagram
        and prints the answers; C{-q 0} ends it with status 0 after the
        end of standard input.
        """
        server, serverPort = self.peerUDP(7000)
        c, d = self.start("-u", "-q", "0", "10.9.0.2", "7000")
        c.fromStdin(b"line 1\n")
        c.fromStdin(b"line 2\n")
        self.advance()
        self.assertEqual([data for data, _ in server.received], [b"line 1\n", b"line 2\n"])
        clientAddress = server.received[0][1]
        serverPort.write(b"answer\n", clientAddress)
        self.advance()
        self.assertEqual(self.out.data, b"answer\n")
        self.assertNoResult(d)
        c.stdinEnded()
        self.advance()
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(self.ours.host.udp.sockets(), {})

    def test_udpClientRefused(self) -> None:
        """
        An ICMP port unreachable ends a UDP client with status 1 (and
        netcat's message with C{-v}).
        """
        c, d = self.start("-u", "-v", "10.9.0.2", "7001")
        c.fromStdin(b"anyone?\n")
        self.advance()
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(self.err.getvalue(), "(UNKNOWN) [10.9.0.2] 7001 (?) open\n"
                         "(UNKNOWN) [10.9.0.2] 7001 (?) : Connection refused\n")

    def test_zeroTCP(self) -> None:
        """
        C{-z} connects and closes: status 0 for an open port with
        netcat-openbsd's C{-v} line, 1 for a closed one, and a range is
        scanned in order.
        """
        accepted: List[protocol.Protocol] = []

        class Accept(protocol.Protocol):
            def connectionMade(self) -> None:
                accepted.append(self)

        self.peer.tcp.listen(80, protocol.Factory.forProtocol(Accept))
        c, d = self.start("-z", "-v", "10.9.0.2", "80")
        self.advance()
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(self.err.getvalue(), "Connection to 10.9.0.2 80 port [tcp/*] succeeded!\n")
        self.assertEqual(len(accepted), 1)
        c, d = self.start("-z", "-v", "10.9.0.2", "81")
        self.advance()
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(self.err.getvalue(), "vdetwist cat: connect to 10.9.0.2 port 81 (tcp) "
                         "failed: Connection refused\n")
        c, d = self.start("-z", "-v", "10.9.0.2", "79-81")
        self.advance(5)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(self.err.getvalue().splitlines(), [
            "vdetwist cat: connect to 10.9.0.2 port 79 (tcp) failed: Connection refused",
            "Connection to 10.9.0.2 80 port [tcp/*] succeeded!",
            "vdetwist cat: connect to 10.9.0.2 port 81 (tcp) failed: Connection refused"])
        c, d = self.start("-z", "10.9.0.2", "81")
        self.advance()
        self.assertEqual((self.successResultOf(d), self.err.getvalue()), (1, ""))

    def test_zeroUDP(self) -> None:
        """
        C{-z -u} sends netcat's four C{X} probes: status 0 (and the C{-v}
        line) unless an ICMP port unreachable answers; failures are silent.
        """
        server, _ = self.peerUDP(53)
        c, d = self.start("-z", "-u", "-v", "10.9.0.2", "53")
        self.advance(2)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual([data for data, _ in server.received], [b"X"] * 4)
        self.assertEqual(self.err.getvalue(), "Connection to 10.9.0.2 53 port [udp/*] succeeded!\n")
        c, d = self.start("-z", "-u", "-v", "10.9.0.2", "54")
        self.advance(2)
        self.assertEqual((self.successResultOf(d), self.err.getvalue()), (1, ""))
        self.assertEqual(self.ours.host.udp.sockets(), {})


class DHCPTests(SynchronousTestCase):
    """
    C{--dhcp} on an in-process switch, with slirp's DHCP server on it or
    without one, driven by a clock.
    """

    sock = "/nonexistent/vde-cat-dhcp"

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.switch = Switch()
        local.register(self.sock, self.switch)
        self.addCleanup(local.unregister, self.sock)
        self.hosts = StackRegistry()
        self.addCleanup(lambda: [h.stop() for h in self.hosts.attached()])

    def run_(self, *argv: str) -> Tuple[cat.Cat, "defer.Deferred[int]", io.StringIO]:
        options = cat.Options()
        options.parseOptions(["-s", self.sock, "--dhcp", *argv])
        err = io.StringIO()
        c = cat.Cat(self.clock, options, _Output(), err)
        d = c.run(hosts=self.hosts)
        for _ in range(100):
            self.clock.advance(0.1)
        return c, d, err

    def test_lease(self) -> None:
        """
        Behind slirp's DHCP server the cat gets a lease, says so with
        C{-v}, and listens on the leased address.
        """
        gateway = Gateway(self.clock, "10.0.2.0/24", dhcp=True, dns=False)
        self.successResultOf(gateway.attach(self.sock))
        self.addCleanup(gateway.stop)
        c, d, err = self.run_("-v", "-u", "-l", "-p", "5000")
        self.assertNoResult(d)
        self.assertEqual(err.getvalue().splitlines(), [
            "vdetwist cat: DHCP: 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3",
            "listening on [any] 5000 ..."])
        self.assertEqual(c.udp.getHost().host, "10.0.2.15")
        c.finish(0)
        self.assertEqual(self.successResultOf(d), 0)

    def test_noAnswer(self) -> None:
        """
        Without a DHCP server the cat exits 1 after C{--dhcp-wait}
        seconds with one clear line.
        """
        c, d, err = self.run_("-v", "--dhcp-wait", "3", "10.0.2.2", "80")
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(err.getvalue(),
                         "vdetwist cat: no DHCP answer from the switch within 3 s\n")


class MoreOptionsTests(SynchronousTestCase):
    """
    The options C{-u}, C{-z} and C{-q} bring, and C{--version}.
    """

    def parse(self, *argv: str) -> cat.Options:
        options = cat.Options()
        options.parseOptions(["-s", "x", "--ip", "10.0.0.1", *argv])
        return options

    def test_shapes(self) -> None:
        """
        C{-z} takes a port range; C{-q} a number of seconds.
        """
        o = self.parse("-z", "-u", "10.0.0.2", "20-22")
        self.assertEqual((o["zero"], o["udp"], o["ports"]), (True, True, [20, 21, 22]))
        self.assertEqual(self.parse("-q", "2", "10.0.0.2", "5")["quit"], 2.0)
        self.assertEqual(self.parse("10.0.0.2", "5")["quit"], -1.0)

    def test_errors(self) -> None:
        """
        C{-z} with C{-l}, a range without C{-z}, an empty range: errors.
        """
        for argv in [("-z", "-l", "-p", "5"), ("10.0.0.2", "5-6"),
                     ("-z", "10.0.0.2", "6-5"), ("-z", "10.0.0.2", "0-5")]:
            self.assertRaises(usage.UsageError, self.parse, *argv)

    def test_mainUDPBadPort(self) -> None:
        """
        C{-u} is no longer refused: bad usage with it is still reported.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cat.main(["-u", "-l"]), 1)
        self.assertNotIn("not supported", err.getvalue())

    def test_version(self) -> None:
        """
        C{vdetwist --version} and C{vdetwist COMMAND --version} print
        vdetwist's version, not Twisted's; so does the options' own
        C{--version}.
        """
        from vdetwist.version import version
        expected = version()
        self.assertTrue(expected)
        for argv, line in [(["--version"], "vdetwist %s\n"),
                           (["cat", "--version"], "vdetwist cat (vdetwist) %s\n"),
                           (["plug", "-v", "--version"], "vdetwist plug (vdetwist) %s\n"),
                           (["term", "--version"], "vdetwist term (vdetwist) %s\n")]:
            out = io.StringIO()
            with redirect_stdout(out):
                self.assertEqual(main.main(argv), 0)
            self.assertEqual(out.getvalue(), line % (expected,))
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, cat.Options().parseOptions, ["--version"])
        self.assertEqual(out.getvalue(), "vdetwist cat (vdetwist) %s\n" % (expected,))

    def test_versionMetadata(self) -> None:
        """
        The version is the installed package's, and the package's own
        C{__version__} agrees with it.
        """
        import vdetwist
        from vdetwist.version import version
        self.assertEqual(version(), vdetwist.__version__)


class MetricsTests(SynchronousTestCase):
    """
    C{--metrics}: the virtual host's counters and its attachment's, on an
    in-process switch, as Prometheus's parser reads them.
    """

    sock = "/nonexistent/vde-cat-metrics"

    def setUp(self) -> None:
        from twisted.internet.testing import MemoryReactorClock
        self.clock = MemoryReactorClock()
        self.switch = Switch()
        local.register(self.sock, self.switch)
        self.addCleanup(local.unregister, self.sock)
        self.hosts = StackRegistry()
        self.addCleanup(lambda: [h.stop() for h in self.hosts.attached()])

    def advance(self) -> None:
        for _ in range(20):
            self.clock.advance(0.05)

    def test_metrics(self) -> None:
        """
        C{--metrics PORT} listens on loopback; after three datagrams, the
        exposition parses and counts them in the host's UDP counters, and
        shows the attachment's counters; the listener stops with the cat.
        """
        from prometheus_client.parser import text_string_to_metric_families

        from vdetwist.observe.metrics import textExposition
        peer = self.successResultOf(self.hosts.hostFor(self.clock, self.sock, "10.9.0.2/24"))
        collect = _Collect()
        peer.host.udp.listenUDP(7000, collect)
        options = cat.Options()
        options.parseOptions(["-s", self.sock, "--ip", "10.9.0.1/24", "--metrics", "9102",
                              "-u", "10.9.0.2", "7000"])
        c = cat.Cat(self.clock, options, _Output(), io.StringIO())
        d = c.run(hosts=self.hosts)
        self.advance()
        for _ in range(3):
            c.fromStdin(b"x" * 100)
        self.advance()
        self.assertEqual(len(collect.received), 3)
        [(port, site, _, interface)] = self.clock.tcpServers
        self.assertEqual((port, interface), (9102, "127.0.0.1"))
        samples = {}
        for family in text_string_to_metric_families(textExposition(c.metricsRegistry)):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        self.assertEqual(samples[("vdetwist_host_events_total", (
            ("event", "sent"), ("host", "10.9.0.1"), ("layer", "udp")))], 3)
        # An in-process attachment does not count bytes (its transport
        # keeps no counters); the exposition shows what the attachment says.
        attachment = [h for h in self.hosts.attached() if h is not peer][0].attachment
        self.assertEqual(samples[("vdetwist_attachment_sent_bytes_total",
                                  (("attachment", "10.9.0.1"),))],
                         attachment.counters()["bytesOut"])
        self.assertEqual(samples[("vdetwist_attachment_attached",
                                  (("attachment", "10.9.0.1"),))], 1)
        self.assertIn(("vdetwist_host_tcp_syn_cookies_total",
                       (("host", "10.9.0.1"), ("result", "sent"))), samples)
        stopped: List[bool] = []
        c.metricsPort.stopListening = lambda: stopped.append(True)
        c.finish(0)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(stopped, [True])

    def test_badEndpoint(self) -> None:
        """
        A C{--metrics} that is no server endpoint is a usage error.
        """
        e = self.assertRaises(usage.UsageError, cat.Options().parseOptions, [
            "-s", self.sock, "--ip", "10.9.0.1/24", "--metrics", "nope:1", "10.9.0.2", "7"])
        self.assertIn("--metrics", str(e))


class StdoutTests(SynchronousTestCase):
    """
    L{cat._Stdout} writes everything to a non-blocking descriptor whose
    reader is slow.
    """

    def test_fullPipeWaits(self) -> None:
        """
        Writing more than a pipe holds to its non-blocking end waits for
        the reader instead of raising L{BlockingIOError}; every byte
        arrives, in order.
        """
        import os
        import threading
        import time
        readEnd, writeEnd = os.pipe()
        self.addCleanup(os.close, readEnd)
        os.set_blocking(writeEnd, False)
        data = bytes(range(256)) * 4096
        got: List[bytes] = []

        def reader() -> None:
            time.sleep(0.2)
            while True:
                chunk = os.read(readEnd, 65536)
                if not chunk:
                    return
                got.append(chunk)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            cat._Stdout(writeEnd).write(data)
        finally:
            os.close(writeEnd)
            thread.join(30)
        self.assertEqual(b"".join(got), data)
