# -*- test-case-name: tests.slirp.test_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.console}: slirp's commands in the switch
console's framing.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.slirp.helpers import HostTransport, Network, discoverAndRequest
from vdetwist.slirp.console import SlirpConsoleFactory
from vdetwist.slirp.forward import parseForwardSpec


class ConsoleTests(SynchronousTestCase):
    """
    Tests for L{SlirpCommands} in a slirp console.
    """

    def setUp(self) -> None:
        """
        A network with a guest listening on 10000, a forward to it, DHCP,
        and a console session.
        """
        self.net = Network("192.168.77.0", dhcp=True)
        self.guest = self.net.guest("192.168.77.100/24")
        self.guest.listen(10000, b"g")
        self.reactor = MemoryReactorClock()
        self.forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("30000:192.168.77.100:10000"), listen=False)
        factory = SlirpConsoleFactory(self.net.gateway, "/tmp/slirp.mgmt", pid=42,
                                      reactor=self.reactor)
        self.session = factory.buildProtocol(None)
        self.transport = StringTransport()
        self.session.makeConnection(self.transport)

    def command(self, line: str) -> str:
        """
        Run one command and return the reply (the prompt stripped).
        """
        self.transport.clear()
        self.session.dataReceived(line.encode() + b"\n")
        reply = self.transport.value().decode()
        self.assertTrue(reply.endswith("\nvde$ "), reply)
        return reply[:-len("\nvde$ ")]

    def test_banner(self) -> None:
        """
        A session starts with slirp's banner and the switch's prompt.
        """
        session = self.session.factory.buildProtocol(None)
        transport = StringTransport()
        session.makeConnection(transport)
        self.assertEqual(transport.value(), b"vdetwist slirp (slirpvde compatible)\n\nvde$ ")

    def test_showinfo(self) -> None:
        """
        C{showinfo} shows the addresses, the MAC and the tables' bounds in
        a data block.
        """
        reply = self.command("showinfo")
        self.assertTrue(reply.startswith("0000 DATA END WITH '.'\n"))
        self.assertIn("virtual_host=192.168.77.2/24 MAC 52:55:c0:a8:4d:02\n", reply)
        self.assertIn("dhcp_start=192.168.77.15\n", reply)
        self.assertIn("pid 42\n", reply)
        self.assertIn("host loopback denied\n", reply)
        self.assertTrue(reply.endswith(".\n1000 Success\n"))

    def test_fwdPrintCounters(self) -> None:
        """
        C{fwd/print} shows each forward's connection and byte counters
        (13 bytes from the guest: C{"hello from g\\n"}).
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        end.makeConnection(HostTransport())
        self.net.run()
        end.dataReceived(b"12345")
        self.net.run()
        reply = self.command("fwd/print")
        self.assertIn("PROTO HOST", reply)
        self.assertRegex(reply, r"tcp +0\.0\.0\.0:30000 +192\.168\.77\.100:10000 +1 +1 +0 +5 +13")

    def test_fwdAddAllocatesPort(self) -> None:
        """
        C{fwd/add} with host port 0 listens on a port the reply shows.
        """
        self.net.gateway.reactor = self.reactor
        reply = self.command("fwd/add tcp 0:192.168.77.100:22")
        self.assertIn("1000 Success", reply)
        self.assertEqual(self.reactor.tcpServers[-1][0], 0)
        self.assertIn("192.168.77.100:22", reply)

    def test_fwdAddErrors(self) -> None:
        """
        A malformed or off-network forward is refused with 1022 and a
        reason.
        """
        reply = self.command("fwd/add tcp 1:10.9.9.9:22")
        self.assertIn("not on the virtual network", reply)
        self.assertTrue(reply.endswith("1022 Invalid argument\n"))
        self.assertTrue(self.command("fwd/add garbage").endswith("1022 Invalid argument\n"))

    def test_fwdDelKeepsConnections(self) -> None:
        """
        C{fwd/del} stops listening but live relays go on.
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = HostTransport()
        end.makeConnection(transport)
        self.net.run()
        self.assertEqual(self.command("fwd/del 30000"), "1000 Success\n")
        self.assertNotIn(self.forward, self.net.gateway.forwards.values())
        self.assertEqual(self.command("fwd/del 30000"), "1002 No such file or directory\n")
        end.dataReceived(b"still here")
        self.net.run()
        self.assertEqual(self.guest.servers[0].received, b"still here")

    def test_connPrint(self) -> None:
        """
        C{conn/print} lists the live forwarded connections.
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        end.makeConnection(HostTransport())
        self.net.run()
        end.dataReceived(b"x" * 3000)
        reply = self.command("conn/print")
        self.assertIn("fwd   127.0.0.1:5000 -> 192.168.77.100:10000", reply)
        # The sender towards the guest: its round trip, congestion window
        # (ten segments of 1448 bytes), bytes in flight (the 3000 are
        # acknowledged on the in-memory wire) and the guest's window.
        self.assertRegex(reply, r"ESTABLISHED rtt [\d.]+ms cwnd 14480 flight 0 wnd 131072\n")

    def test_tcpPrint(self) -> None:
        """
        C{tcp/print} shows the gateway's TCP counters, IPv4 and IPv6: a
        forwarded connection's data segments count as sent on IPv4.
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        end.makeConnection(HostTransport())
        self.net.run()
        end.dataReceived(b"x" * 10000)
        self.net.run()
        reply = self.command("tcp/print")
        self.assertTrue(reply.startswith("0000 DATA END WITH '.'\n"))
        self.assertTrue(reply.endswith(".\n1000 Success\n"))
        lines = {line.split()[0]: line.split()[1:] for line in reply.splitlines()[1:-2]}
        self.assertEqual(lines["COUNTER"], ["IPV4", "IPV6"])
        sent, sent6 = lines["segmentsSent"]
        self.assertEqual(int(sent), self.net.gateway.tcp.stats.segmentsSent)
        self.assertGreaterEqual(int(sent), 1 + 7)
        self.assertEqual(sent6, "0")
        self.assertEqual(lines["retransmissions"], ["0", "0"])

    def test_dhcpPrint(self) -> None:
        """
        C{dhcp/print} lists the leases.
        """
        discoverAndRequest(self.net.gateway, b"\x02\x00\x00\x00\x00\x01")
        reply = self.command("dhcp/print")
        self.assertRegex(reply, r"192\.168\.77\.15 +02:00:00:00:00:01 +bound")

    def test_neighPrint(self) -> None:
        """
        C{neigh/print} shows the guests the gateway knows.
        """
        self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000)).makeConnection(
            HostTransport())
        self.net.run()
        self.assertIn("192.168.77.100", self.command("neigh/print"))

    def test_help(self) -> None:
        """
        C{help fwd} lists the forward commands only.
        """
        reply = self.command("help fwd")
        self.assertIn("fwd/add", reply)
        self.assertNotIn("dhcp/print", reply)

    def test_logout(self) -> None:
        """
        C{logout} ends the session with C{9999 END OF SESSION}, the
        session being its transport's producer as every console session
        is.
        """
        self.assertIs(self.transport.producer, self.session)
        self.transport.clear()
        self.session.dataReceived(b"logout\n")
        self.assertEqual(self.transport.value(), b"9999 END OF SESSION")
        self.assertTrue(self.transport.disconnecting)
