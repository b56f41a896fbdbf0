# -*- test-case-name: tests.slirp.test_gateway -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.gateway} and the inbound TCP forwards of
L{vdetwist.slirp.forward}, with guests on an in-memory wire and a fake
clock.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.slirp.helpers import HostTransport, Network
from vdetwist.slirp.forward import EARLY_DATA_LIMIT, parseForwardSpec
from vdetwist.interfaces import IFrameProtocol, IIPv4Protocol
from vdetwist.slirp.forward import ProxyEnd
from vdetwist.slirp.gateway import (
    GUEST_PACING, GUEST_SEND_BUFFER, Gateway, _Attachment, _GatewayICMP, parseNetwork, slirpMAC)
from vdetwist.testing import arpFrame, checkFrame, ethernet, arp, arpOperation
from vdetwist.wire.addr import parseIPv4, parseMAC


class ParseNetworkTests(SynchronousTestCase):
    """
    Tests for L{parseNetwork}.
    """

    def test_hostPartZero(self) -> None:
        """
        A network address means its .2 host, /24 by default.
        """
        self.assertEqual(parseNetwork("192.168.77.0"), (parseIPv4("192.168.77.2"), 24))
        self.assertEqual(parseNetwork("10.0.2.0/24"), (parseIPv4("10.0.2.2"), 24))

    def test_explicitHost(self) -> None:
        """
        A host address is kept.
        """
        self.assertEqual(parseNetwork("10.9.0.1/16"), (parseIPv4("10.9.0.1"), 16))

    def test_bad(self) -> None:
        """
        Bad input raises L{ValueError}.
        """
        for text in ["10.0.2", "10.0.2.0/33", "10.0.2.0/x", "nonsense"]:
            self.assertRaises(ValueError, parseNetwork, text)


class GatewayTests(SynchronousTestCase):
    """
    Tests for L{Gateway}'s addresses.
    """

    def test_slirpvdeAddresses(self) -> None:
        """
        The defaults are slirpvde's: gateway 10.0.2.2 with MAC
        52:55:0a:00:02:02, DNS 10.0.2.3, DHCP from 10.0.2.15.
        """
        gateway = Gateway(Network().clock, dhcp=True, dns=False)
        self.assertEqual(gateway.address, parseIPv4("10.0.2.2"))
        self.assertEqual(gateway.host.mac, parseMAC("52:55:0a:00:02:02"))
        self.assertEqual(gateway.dnsAddress, parseIPv4("10.0.2.3"))
        self.assertEqual(gateway.dhcpStart, parseIPv4("10.0.2.15"))
        self.assertEqual(slirpMAC(parseIPv4("192.168.77.2")), parseMAC("52:55:c0:a8:4d:02"))

    def test_answersARPForGatewayAndDNS(self) -> None:
        """
        ARP requests for .2 and .3 are answered with the gateway's MAC;
        others are not.
        """
        net = Network()
        guestMAC = parseMAC("02:00:00:00:00:15")
        replies = []

        class Sniffer:
            def frameReceived(self, frame: bytes) -> None:
                replies.append(frame)
        net.wire.attach(Sniffer())
        for target in ["10.0.2.2", "10.0.2.3", "10.0.2.99"]:
            net.gateway.host.interface.frameReceived(
                arpFrame(1, guestMAC, "10.0.2.15", target))
        net.wire.pump()
        arpReplies = [f for f in replies if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"]
        self.assertEqual(len(arpReplies), 2)
        for frame in arpReplies:
            checkFrame(frame, ethernet(arp(arpOperation(2))))
            self.assertEqual(frame[6:12], parseMAC("52:55:0a:00:02:02"))

    def test_tcpTunables(self) -> None:
        """
        The gateway's TCP connections to guests, over IPv4 and IPv6, have
        a send buffer of L{GUEST_SEND_BUFFER} (or the one given), no
        pacing (L{GUEST_PACING}), and an MSS that still follows the MTU.
        """
        clock = Network().clock
        for mtu, sendBuffer in [(1500, None), (9000, 4096)]:
            if sendBuffer is None:
                gateway = Gateway(clock, dns=False)
                sendBuffer = GUEST_SEND_BUFFER
            else:
                gateway = Gateway(clock, dns=False, mtu=mtu, sendBuffer=sendBuffer)
            assert gateway.ipv6 is not None
            self.assertEqual(gateway.tcp.config.sendBufferSize, sendBuffer)
            self.assertEqual(gateway.ipv6.tcp.config.sendBufferSize, sendBuffer)
            self.assertEqual(gateway.tcp.config.mss, mtu - 40)
            self.assertEqual(gateway.ipv6.tcp.config.mss, mtu - 60)
            self.assertIs(gateway.tcp.config.pacing, GUEST_PACING)
            self.assertIs(gateway.ipv6.tcp.config.pacing, GUEST_PACING)

    def test_startupText(self) -> None:
        """
        The startup text is slirpvde's.
        """
        net = Network("192.168.77.0", dhcp=True)
        net.gateway.addForward("tcp", parseForwardSpec("30000:192.168.77.100:10000"),
                               listen=False)
        net.gateway.switch = "/tmp/vde"
        self.assertEqual(net.gateway.startupText(), (
            "Starting slirpvde: virtual_host=192.168.77.2/24\n"
            "                   DNS         =192.168.77.3\n"
            "                   dhcp_start  =192.168.77.15\n"
            "                   vde switch  =/tmp/vde\n"
            "                   redir TCP   =30000:192.168.77.100:10000\n"))

    def test_forwardValidation(self) -> None:
        """
        Forwards to addresses off the network or to the gateway itself,
        and duplicate host ports, are refused.
        """
        net = Network()
        add = net.gateway.addForward
        self.assertRaises(ValueError, add, "tcp", parseForwardSpec("1:10.0.3.5:1"), False)
        self.assertRaises(ValueError, add, "tcp", parseForwardSpec("1:10.0.2.2:1"), False)
        add("tcp", parseForwardSpec("1:10.0.2.5:1"), False)
        self.assertRaises(ValueError, add, "tcp", parseForwardSpec("1:10.0.2.6:1"), False)


class InboundForwardTests(SynchronousTestCase):
    """
    Inbound TCP forwards through the gateway to guests on the wire.
    """

    def setUp(self) -> None:
        """
        The tutorial's network: three guests at .100, .101 and .102, each
        listening on 10000, and a forward to each.
        """
        self.net = Network("192.168.77.0")
        self.guests = []
        self.forwards = []
        for i, name in enumerate([b"g100", b"g101", b"g102"]):
            guest = self.net.guest(f"192.168.77.{100 + i}/24")
            guest.listen(10000, name)
            self.guests.append(guest)
            self.forwards.append(self.net.gateway.addForward(
                "tcp", parseForwardSpec(f"{30000 + i}:192.168.77.{100 + i}:10000"), listen=False))

    def connect(self, forward, port: int = 40000):
        """
        Simulate a host client connecting to a forward.
        """
        end = forward._accepted(IPv4Address("TCP", "127.0.0.1", port))
        transport = HostTransport(("127.0.0.1", port))
        end.makeConnection(transport)
        return end, transport

    def test_everyGuestGetsItsOwnConnection(self) -> None:
        """
        Each forward reaches its own guest (slirpvde sent them all to the
        guest that last ARPed it): each host client reads its guest's
        greeting and each guest reads its client's lines, from the
        gateway's address.
        """
        clients = [self.connect(forward, 40000 + i) for i, forward in enumerate(self.forwards)]
        self.net.run()
        for i, ((end, transport), guest) in enumerate(zip(clients, self.guests)):
            self.assertEqual(transport.value(), b"hello from g10%d\n" % (i,))
            end.dataReceived(b"foo\nbar\n%d\n" % (i,))
        self.net.run()
        for i, guest in enumerate(self.guests):
            [server] = guest.servers
            self.assertEqual(server.received, b"foo\nbar\n%d\n" % (i,))
            self.assertEqual(server.transport.getPeer().host, "192.168.77.2")
        self.assertEqual(self.forwards[0].counters.bytesToGuest, 10)
        self.assertEqual(self.forwards[0].counters.bytesFromGuest, 16)
        self.assertEqual(self.forwards[0].counters.active, 1)

    def test_hostPausedUntilGuestConnected(self) -> None:
        """
        Until the guest connection is up the host side reads at most
        L{EARLY_DATA_LIMIT} bytes (so that a client that leaves is noticed)
        and is then paused; once it is up each transport is the other's
        producer.
        """
        end, transport = self.connect(self.forwards[0])
        end.dataReceived(b"x" * EARLY_DATA_LIMIT)
        self.assertTrue(transport.paused)
        self.net.run()
        self.assertFalse(transport.paused)
        self.assertTrue(transport.streaming)
        [relay] = self.forwards[0].relays
        self.assertIs(transport.producer, relay.guestEnd.transport)

    def test_halfCloseFromHost(self) -> None:
        """
        The host client's FIN becomes a FIN to the guest, which can still
        answer; the guest's close then closes the host side.
        """
        end, transport = self.connect(self.forwards[0])
        self.net.run()
        end.dataReceived(b"request")
        end.readConnectionLost()
        self.net.run()
        [server] = self.guests[0].servers
        self.assertTrue(server.eof)
        self.assertEqual(server.received, b"request")
        server.transport.write(b"answer")
        server.transport.loseConnection()
        self.net.run()
        self.assertEqual(transport.value(), b"hello from g100\nanswer")
        self.assertTrue(transport.writeClosed)

    def test_halfCloseFromGuest(self) -> None:
        """
        The guest's FIN becomes a half-close of the host client's
        connection, which can still send to the guest.
        """
        end, transport = self.connect(self.forwards[0])
        self.net.run()
        [server] = self.guests[0].servers
        server.transport.loseWriteConnection()
        self.net.run()
        self.assertTrue(transport.writeClosed)
        self.assertFalse(transport.disconnecting)
        end.dataReceived(b"late data")
        self.net.run()
        self.assertEqual(server.received, b"late data")

    def test_refusedGuestClosesPromptly(self) -> None:
        """
        A forward to a guest port nobody listens on closes the host client
        at once (the guest's RST), not after a timeout.
        """
        forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("30010:192.168.77.100:9"), listen=False)
        end, transport = self.connect(forward)
        self.net.run(0.2)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(forward.counters.failed, 1)

    def test_vanishedGuestClosesPromptly(self) -> None:
        """
        A forward to an address nobody answers ARP for closes the host
        client when ARP gives up (3 s), before the connect timeout.
        """
        forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("30011:192.168.77.150:10000"), listen=False)
        end, transport = self.connect(forward)
        self.net.run(2.5)
        self.assertFalse(transport.disconnecting)
        self.net.run(1.0)
        self.assertTrue(transport.disconnecting)
        end.connectionLost()
        self.assertEqual(forward.counters.active, 0)
        self.assertEqual(forward.relays, {})

    def test_guestResetAbortsHost(self) -> None:
        """
        A reset from the guest aborts the host client's connection.
        """
        end, transport = self.connect(self.forwards[0])
        self.net.run()
        self.guests[0].servers[0].transport.abortConnection()
        self.net.run()
        self.assertTrue(transport.aborted)

    def test_resetAfterFINKeepsData(self) -> None:
        """
        A reset from the guest after it sent its FIN (all its data is
        relayed) closes the host side gracefully, keeping the data.
        """
        end, transport = self.connect(self.forwards[0])
        self.net.run()
        [server] = self.guests[0].servers
        server.transport.write(b"last words")
        server.transport.loseWriteConnection()
        self.net.run()
        self.assertTrue(transport.writeClosed)
        server.transport.abortConnection()
        self.net.run()
        self.assertFalse(transport.aborted)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"hello from g100\nlast words")

    def test_hostCloseClosesGuest(self) -> None:
        """
        When the host client's connection ends, the guest connection is
        closed and the relay forgotten.
        """
        end, transport = self.connect(self.forwards[0])
        self.net.run()
        end.connectionLost()
        self.net.run(1.0)
        self.assertTrue(self.guests[0].servers[0].lost or
                        self.guests[0].servers[0].eof)
        self.assertEqual(self.forwards[0].relays, {})

    def test_neighbourTable(self) -> None:
        """
        The gateway learns each guest's MAC separately.
        """
        for forward in self.forwards:
            self.connect(forward)
        self.net.run()
        macs = {address: mac for address, mac, _ in self.net.gateway.neighbours()}
        for guest in self.guests:
            self.assertEqual(macs[guest.host.address], guest.host.mac)


class InterfaceTests(SynchronousTestCase):
    """
    The gateway's parts provide the interfaces they claim.
    """

    def test_providers(self) -> None:
        """
        The switch attachment is an L{IFrameProtocol}, the ICMP dispatcher
        an L{IIPv4Protocol}, a relay end an L{IHalfCloseableProtocol}.
        """
        gateway = Network().gateway
        self.assertTrue(verifyObject(IFrameProtocol, _Attachment(gateway)))
        self.assertTrue(verifyObject(IIPv4Protocol, _GatewayICMP(gateway)))
        forward = gateway.addForward("tcp", parseForwardSpec("1:10.0.2.15:1"), listen=False)
        end = forward._accepted(IPv4Address("TCP", "127.0.0.1", 1))
        self.assertIsInstance(end, ProxyEnd)
        self.assertTrue(verifyObject(IHalfCloseableProtocol, end))


class PreserveSourceTests(SynchronousTestCase):
    """
    C{preserveSource}: the guest sees the host client's address.
    """

    def test_clientAddressKept(self) -> None:
        """
        With C{preserveSource}, the guest's connection comes from the host
        client's address and port.
        """
        net = Network(preserveSource=True)
        guest = net.guest("10.0.2.15/24")
        guest.listen(10000, b"g")
        forward = net.gateway.addForward("tcp", parseForwardSpec("1:10.0.2.15:10000"),
                                         listen=False)
        end = forward._accepted(IPv4Address("TCP", "198.51.100.7", 5555))
        end.makeConnection(HostTransport(("198.51.100.7", 5555)))
        net.run()
        [server] = guest.servers
        peer = server.transport.getPeer()
        self.assertEqual((peer.host, peer.port), ("198.51.100.7", 5555))
