# -*- test-case-name: tests.slirp.test_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.tap}: C{twistd slirp}'s options and service.
"""

import io
from typing import List

from twisted.application.service import IServiceMaker
from twisted.internet.defer import succeed
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.extras import hasExtra, missingExtra
from vdetwist.manhole import ManholeService
from vdetwist.slirp import tap
from vdetwist.slirp.forward import TCPForward, UDPForward
from vdetwist.slirp.gateway import GUEST_SEND_BUFFER
from vdetwist.wire.addr import parseIPv4

TUTORIAL = ["-s", "/tmp/vde", "-n", "192.168.77.0", "-L30000:192.168.77.100:10000",
            "-L30001:192.168.77.101:10000", "-L30002:192.168.77.102:10000"]


class FakeResolver:
    """
    A resolver that is never asked.
    """

    def query(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("not expected")


def parse(args: List[str]) -> tap.Options:
    """
    Parse slirp options.
    """
    options = tap.Options()
    options.parseOptions(args)
    return options


class OptionsTests(SynchronousTestCase):
    """
    Tests for L{tap.Options}.
    """

    def test_tutorialCommand(self) -> None:
        """
        The seed tutorial's command parses: the network's .2 host and the
        three forwards.
        """
        options = parse(TUTORIAL)
        self.assertEqual(options["sock"], "/tmp/vde")
        self.assertEqual(options["address"], parseIPv4("192.168.77.2"))
        self.assertEqual(options["prefixLength"], 24)
        self.assertEqual([(p, str(s)) for p, s in options["forwards"]], [
            ("tcp", "30000:192.168.77.100:10000"), ("tcp", "30001:192.168.77.101:10000"),
            ("tcp", "30002:192.168.77.102:10000")])

    def test_defaults(self) -> None:
        """
        slirpvde's defaults: 10.0.2.0/24, no DHCP, the switch as the final
        argument.
        """
        options = parse(["/tmp/sw"])
        self.assertEqual(options["sock"], "/tmp/sw")
        self.assertEqual(options["address"], parseIPv4("10.0.2.2"))
        self.assertFalse(options["dhcp"])

    def test_aliases(self) -> None:
        """
        slirpvde's long names work: --socket, --host, --nameserver, -U, -D.
        """
        options = parse(["--socket", "/tmp/sw", "--host", "10.5.0.0/16", "--nameserver",
                         "10.5.0.3", "-D", "-U5353:10.5.1.1:53", "-L127.0.0.1:8080:10.5.1.1:80"])
        self.assertEqual(options["sock"], "/tmp/sw")
        self.assertEqual(options["address"], parseIPv4("10.5.0.2"))
        self.assertEqual(options["dns"], "10.5.0.3")
        self.assertTrue(options["dhcp"])
        self.assertEqual([(p, str(s)) for p, s in options["forwards"]], [
            ("tcp", "127.0.0.1:8080:10.5.1.1:80"), ("udp", "5353:10.5.1.1:53")])

    def test_help(self) -> None:
        """
        C{--help} prints every option.
        """
        text = str(tap.Options())
        for option in ("--sock", "--network", "--dhcp", "--allow-host-loopback", "-L", "-U",
                       "--vdesock", "--manhole"):
            self.assertIn(option, text)

    def test_errors(self) -> None:
        """
        Bad values are refused with a usage error naming the option.
        """
        for args, words in [
            (["-n", "300.0.0.0"], "--network"),
            (["-L", "30000:192.168.1.5"], "-L"),
            (["-L", "30000:10.0.3.5:80"], "not on the virtual network"),
            (["-L", "30000:10.0.2.5:80", "-L", "30000:10.0.2.6:80"], "twice"),
            (["-U", "x:10.0.2.5:80"], "-U"),
            (["-N", "10.0.9.3"], "--dns"),
            (["--dhcp-start", "10.9.9.9"], "--dhcp-start"),
            (["--mtu", "100"], "--mtu"),
            (["--tcp-sndbuf", "100"], "--tcp-sndbuf"),
            (["-s", "-"], "stream mode"),
            (["a", "b"], "too many"),
            (["--manhole", "tcp:2222"], "--manhole"),
        ]:
            e = self.assertRaises(usage.UsageError, parse, ["-s", "/tmp/sw"] + args
                                  if args[0] not in ("-s", "a") else args)
            self.assertIn(words, str(e), args)


class MakeServiceTests(SynchronousTestCase):
    """
    Tests for L{tap.makeService}.
    """

    def test_tutorialService(self) -> None:
        """
        The tutorial's command builds a gateway at 192.168.77.2 with three
        TCP forwards, which listen when the service starts.
        """
        reactor = MemoryReactorClock()
        top = tap.makeService(parse(TUTORIAL), reactor, resolver=FakeResolver())
        gateway = top.gateway
        self.assertEqual(gateway.address, parseIPv4("192.168.77.2"))
        self.assertEqual(sorted(key[2] for key in gateway.forwards), [30000, 30001, 30002])
        self.assertTrue(all(isinstance(f, TCPForward) for f in gateway.forwards.values()))
        service = top.getServiceNamed("slirp")
        service.out = io.StringIO()
        gateway.attach = lambda sock: succeed(None)
        top.startService()
        self.assertEqual(sorted(port for port, *_ in reactor.tcpServers), [30000, 30001, 30002])
        self.assertIn("redir TCP   =30001:192.168.77.101:10000", service.out.getvalue())
        top.stopService()

    def test_tcpSendBuffer(self) -> None:
        """
        C{--tcp-sndbuf} sets the send buffer of the gateway's TCP
        connections to guests, over IPv4 and IPv6.
        """
        reactor = MemoryReactorClock()
        gateway = tap.makeService(parse(["-s", "/tmp/sw", "--no-dns"]), reactor).gateway
        self.assertEqual(gateway.tcp.config.sendBufferSize, GUEST_SEND_BUFFER)
        gateway = tap.makeService(parse(["-s", "/tmp/sw", "--no-dns", "--tcp-sndbuf",
                                         "1048576"]), reactor).gateway
        self.assertEqual(gateway.tcp.config.sendBufferSize, 1048576)
        self.assertEqual(gateway.ipv6.tcp.config.sendBufferSize, 1048576)

    def test_consoleAndUDP(self) -> None:
        """
        C{-M} adds the console's management service; C{-U} a UDP forward.
        """
        reactor = MemoryReactorClock()
        top = tap.makeService(parse(["-s", "/tmp/sw", "-M", "/tmp/sw.mgmt",
                                     "-U5353:10.0.2.15:53", "--no-dns"]), reactor)
        self.assertIsNotNone(top.console)
        [forward] = top.gateway.forwards.values()
        self.assertIsInstance(forward, UDPForward)
        self.assertIsNone(top.gateway.dns)

    def test_plugin(self) -> None:
        """
        C{twistd slirp} is discovered through the plugin system.
        """
        makers = {m.tapname: m for m in getPlugins(IServiceMaker)}
        self.assertIn("slirp", makers)
        self.assertEqual(makers["slirp"].module, "vdetwist.slirp.tap")


class ManholeOptionTests(SynchronousTestCase):
    """
    C{--manhole} with credentials puts the gateway's tables in the shell.
    """

    skip = None if hasExtra("manhole") else str(missingExtra("manhole"))

    def test_namespace(self) -> None:
        """
        The manhole's namespace holds the gateway, the NAT, the DHCP server
        and the forwards.
        """
        passwd = FilePath(self.mktemp())
        passwd.setContent(b"admin:secret\n")
        passwd.chmod(0o600)
        options = parse(["-s", "/tmp/sw", "-D", "--no-dns", "--manhole", "tcp:0",
                         "--manhole-passwd", passwd.path])
        top = tap.makeService(options, MemoryReactorClock())
        [manhole] = [s for s in top if isinstance(s, ManholeService)]
        for name in ("gateway", "nat", "dhcp", "forwards", "tcp", "host"):
            self.assertIn(name, manhole.namespace)
        self.assertIs(manhole.namespace["nat"], top.gateway.nat)


class LongOnlyTests(SynchronousTestCase):
    """
    Tests for L{tap.longOnly}: slirpvde's getopt_long_only parsing.
    """

    def test_rewrite(self) -> None:
        """
        One-dash long names (exact or a unique start) get two dashes;
        short options, with or without attached values, stay.
        """
        names = ["socket", "sock", "dhcp", "dhcp-start", "daemon", "network", "dns"]
        self.assertEqual(
            tap.longOnly(["-socket", "/x", "-dhcp", "-netw", "10.0.0.0", "-s/y", "-d",
                          "-n10.0.0.0", "-L1:10.0.0.5:2", "-dhcp=10.0.0.9", "--", "-dns"],
                         names, "sdnL"),
            ["--socket", "/x", "--dhcp", "--network", "10.0.0.0", "-s/y", "-d",
             "-n10.0.0.0", "-L1:10.0.0.5:2", "--dhcp-start=10.0.0.9", "--", "-dns"])

    def test_options(self) -> None:
        """
        twistd slirp takes them too.
        """
        options = parse(["-socket", "/tmp/vde", "-dhcp", "-network", "10.3.0.0"])
        self.assertEqual((options["sock"], options["dhcp"], options["network"]),
                         ("/tmp/vde", True, "10.3.0.0"))


class _TakenPortReactor(MemoryReactorClock):
    """
    Every TCP port is taken.
    """

    def listenTCP(self, port: int, *args: object, **kwargs: object) -> None:
        from twisted.internet.error import CannotListenError
        raise CannotListenError(kwargs.get("interface", ""), port,
                                OSError(98, "Address already in use"))


class StartFailureTests(SynchronousTestCase):
    """
    A failed start: one line, status 1, nothing listening or attached.
    """

    def test_forwardPortTaken(self) -> None:
        """
        A forward's host port taken.
        """
        top = tap.makeService(parse(["-s", "/nonexistent", "-L30000:10.0.2.15:80"]),
                              _TakenPortReactor(), resolver=FakeResolver())
        top.err = io.StringIO()
        top.startService()
        self.assertEqual(top.err.getvalue(), "slirp: cannot listen for a forward on "
                         "0.0.0.0 port 30000: Address already in use\n")
        self.assertEqual(top.exitStatus, 1)

    def test_noSwitch(self) -> None:
        """
        No switch at the path: one line before the reactor runs.
        """
        top = tap.makeService(parse(["-s", "/nonexistent/sw"]), MemoryReactorClock(),
                              resolver=FakeResolver())
        top.err = io.StringIO()
        top.startService()
        self.assertIn("slirp: cannot attach to the switch /nonexistent/sw: ",
                      top.err.getvalue())
        self.assertEqual(len(top.err.getvalue().splitlines()), 1)
        self.assertEqual(top.exitStatus, 1)


class SwitchMTUTests(SynchronousTestCase):
    """
    Without C{--mtu} the slirp takes the switch's MTU
    (L{vdetwist.vde.announce.switchMTU}); C{--mtu} overrides it.
    """

    def gateway(self, switchMTU: int, *argv: str):
        """
        The gateway slirp builds for a switch at C{switchMTU}, served in
        this process.
        """
        from tests.util import shortTempDir
        from vdetwist.switch.switch import Switch
        from vdetwist.vde import local
        directory = shortTempDir(self)
        local.register(directory, Switch(numports=4, mtu=switchMTU))
        self.addCleanup(local.unregister, directory)
        return tap.makeService(parse(["-s", directory, "--no-dns", *argv]),
                               MemoryReactorClock()).gateway

    def test_jumboSwitch(self) -> None:
        """
        On a switch at 9000 the guests' link is 9000: the gateway's IP
        layers, the MSS it announces to guests, and the MTU its router
        advertisements give.
        """
        gateway = self.gateway(9000)
        self.assertEqual(gateway.host.ip.mtu, 9000)
        self.assertEqual(gateway.tcp.config.mss, 8960)
        self.assertEqual(gateway.ipv6.nd.mtu, 9000)

    def test_defaultSwitch(self) -> None:
        """
        On a switch at 1500 it stays 1500.
        """
        gateway = self.gateway(1500)
        self.assertEqual(gateway.host.ip.mtu, 1500)
        self.assertEqual(gateway.tcp.config.mss, 1460)

    def test_explicitWins(self) -> None:
        """
        C{--mtu} wins.
        """
        self.assertEqual(self.gateway(9000, "--mtu", "1500").host.ip.mtu, 1500)
