# -*- test-case-name: tests.scripts.test_cat6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for the IPv6 options of L{vdetwist.scripts.cat}: C{--ip6},
C{--gw6}, C{-4}/C{-6} and IPv6 literals as HOST; TCP and UDP over IPv6 on
an in-memory wire.
"""

import io
from typing import Tuple

from twisted.internet import defer, protocol, task
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.scripts.test_cat import _Collect, _Output, _Registry
from vdetwist.scripts import cat
from vdetwist.stack.endpoints import DualListeningPort, StackHost
from vdetwist.testing import MemoryWire
from vdetwist.wire.addr6 import parseIPv6


class OptionsTests(SynchronousTestCase):
    """
    The IPv6 option shapes.
    """

    def parse(self, *argv: str) -> cat.Options:
        """
        @return: the parsed options.
        """
        options = cat.Options()
        options.parseOptions(list(argv))
        return options

    def test_ip6Only(self) -> None:
        """
        C{--ip6} alone is enough; the prefix defaults to /64; HOST may be
        an IPv6 literal, bracketed or not.
        """
        o = self.parse("-s", "x", "--ip6", "fd00:77::100", "-l", "-p", "10000")
        self.assertEqual((o["ip"], o["ip6"]), (None, "fd00:77::100/64"))
        o = self.parse("-s", "x", "--ip6", "fd00:77::101/64", "--gw6", "fd00:77::1",
                       "-6", "[fd00:77::100]", "80")
        self.assertEqual((o["host"], o["gw6"], o["ipv6"]), ("fd00:77::100", "fd00:77::1", True))

    def test_errors(self) -> None:
        """
        Bad IPv6 options and family conflicts are usage errors.
        """
        for argv in [
                ("-s", "x", "--ip6", "fd00:::1", "-l", "-p", "1"),
                ("-s", "x", "--ip6", "fd00::1/200", "-l", "-p", "1"),
                ("-s", "x", "--ip6", "fd00::1", "--gw6", "x", "-l", "-p", "1"),
                ("-s", "x", "--ip6", "fd00::1", "-4", "-6", "-l", "-p", "1"),
                ("-s", "x", "--ip6", "fd00::1", "-4", "fd00::2", "80"),
                ("-s", "x", "--ip", "10.0.0.1", "-6", "10.0.0.2", "80"),
                ("-s", "x", "--ip6", "fd00::1", "10.0.0.2", "80"),
                ("-s", "x", "--ip6", "fd00::1", "--gw", "10.0.0.1", "-l", "-p", "1"),
        ]:
            self.assertRaises(usage.UsageError, self.parse, *argv)


class NetworkTests(SynchronousTestCase):
    """
    C{vdetwist cat} over IPv6 against a second dual-stack host on an
    in-memory wire.
    """

    def setUp(self) -> None:
        """
        Two dual-stack hosts, DAD done.
        """
        self.clock = task.Clock()
        self.wire = MemoryWire()
        self.ours = StackHost(self.clock, "10.9.0.1/24", address6="fd00:77::100/64")
        self.peer = StackHost(self.clock, "10.9.0.2/24", address6="fd00:77::101/64")
        for host in (self.ours, self.peer):
            host.attachment = self.wire.attach(host.host.interface)
            self.addCleanup(host.stop)
        self.advance(3)

    def advance(self, seconds: float = 1.0, steps: int = 20) -> None:
        """
        Pump and advance the clock.
        """
        self.wire.pump()
        for _ in range(int(steps * seconds)):
            self.clock.advance(1 / steps)
            self.wire.pump()

    def start(self, *argv: str) -> Tuple[cat.Cat, "defer.Deferred[int]"]:
        """
        Run C{vdetwist cat} on our host.
        """
        options = cat.Options()
        options.parseOptions(["-s", "/nonexistent", "--ip", "10.9.0.1/24",
                              "--ip6", "fd00:77::100/64", *argv])
        self.out, self.err = _Output(), io.StringIO()
        c = cat.Cat(self.clock, options, self.out, self.err)
        d = c.run(hosts=_Registry(self.ours))
        self.advance()
        return c, d

    def test_listenBoth(self) -> None:
        """
        C{-l} on a dual-stack host listens on IPv4 and IPv6; an IPv6 peer
        connects and its bytes come out.
        """
        c, d = self.start("-v", "-l", "-p", "10000")
        self.assertIsInstance(c.port, DualListeningPort)
        got = []

        class Send(protocol.Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"over IPv6\n")

        self.peer.host.tcp6.connect(parseIPv6("fd00:77::100"), 10000,
                                    protocol.Factory.forProtocol(Send)).addCallback(got.append)
        self.advance()
        self.assertEqual(len(got), 1)
        self.assertEqual(self.out.data, b"over IPv6\n")
        self.assertIn("connect to [fd00:77::100] from (UNKNOWN) [fd00:77::101]",
                      self.err.getvalue())
        c.finish(0)
        self.assertEqual(self.successResultOf(d), 0)

    def test_listen4Only(self) -> None:
        """
        C{-4 -l} listens on IPv4 only.
        """
        c, d = self.start("-4", "-l", "-p", "10000")
        self.assertEqual(list(self.ours.tcp.listeners), [(bytes([10, 9, 0, 1]), 10000)])
        self.assertEqual(self.ours.host.tcp6.listeners, {})
        c.finish(0)

    def test_connect6(self) -> None:
        """
        C{HOST PORT} with an IPv6 HOST connects over IPv6 and sends
        standard input.
        """
        received = []

        class Sink(protocol.Protocol):
            def dataReceived(self, data: bytes) -> None:
                received.append(data)

        self.peer.host.tcp6.listen(80, protocol.Factory.forProtocol(Sink))
        c, d = self.start("-v", "fd00:77::101", "80")
        self.assertIn("(UNKNOWN) [fd00:77::101] 80 (?) open", self.err.getvalue())
        c.fromStdin(b"hello\n")
        self.advance()
        self.assertEqual(b"".join(received), b"hello\n")
        c.finish(0)

    def test_udp6(self) -> None:
        """
        C{-u} with an IPv6 HOST sends datagrams over IPv6.
        """
        server = _Collect()
        self.peer.host.udp6.listenUDP(7000, server)
        c, d = self.start("-u", "fd00:77::101", "7000")
        c.fromStdin(b"datagram\n")
        self.advance()
        self.assertEqual([(data, addr[0]) for data, addr in server.received],
                         [(b"datagram\n", "fd00:77::100")])
        c.finish(0)

    def test_zero6(self) -> None:
        """
        C{-z} probes an IPv6 port.
        """
        self.peer.host.tcp6.listen(80, protocol.Factory.forProtocol(protocol.Protocol))
        c, d = self.start("-z", "-v", "fd00:77::101", "80-81")
        self.advance(3)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertIn("Connection to fd00:77::101 80 port [tcp/*] succeeded!",
                      self.err.getvalue())
