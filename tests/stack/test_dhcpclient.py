# -*- test-case-name: tests.stack.test_dhcpclient -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.dhcpclient}: a virtual host's DHCP client
against slirp's DHCP server (L{vdetwist.slirp.dhcp}) on an in-memory
wire, driven by a fake clock.
"""

from typing import Any, List, Optional, Tuple

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.slirp.dhcp import buildUDPFrame
from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.dhcpclient import DHCPClient, DHCPLease, DHCPTimeout
from vdetwist.stack.host import VirtualHost
from vdetwist.testing import MemoryWire, MemoryWirePort
from vdetwist.wire.addr import ANY_IPV4, BROADCAST_MAC, parseIPv4, parseMAC
from vdetwist.wire import dhcp
from vdetwist.wire.dhcp import DHCPRepr
from vdetwist.wire.ethernet import HEADER as ETHERNET

MAC = parseMAC("02:00:00:00:00:aa")
GATEWAY = parseIPv4("10.0.2.2")
DNS = parseIPv4("10.0.2.3")
FIRST = parseIPv4("10.0.2.15")


def dhcpMessage(frame: bytes) -> Optional[DHCPRepr]:
    """
    The DHCP message in an Ethernet/IPv4/UDP frame, or C{None}.
    """
    if frame[12:14] != b"\x08\x00" or frame[23] != 17 or len(frame) < 42:
        return None
    ports = frame[34:38]
    if ports not in (b"\x00\x44\x00\x43", b"\x00\x43\x00\x44"):
        return None
    return DHCPRepr.fromBytes(frame[42:])


class Net:
    """
    slirp's gateway (DHCP on, 10.0.2.0/24) and a DHCP client host on one
    in-memory wire.

    @ivar sent: (time, source IP, destination IP, destination MAC, message)
        for every DHCP message the client sent.
    """

    def __init__(self, server: bool = True, leaseTime: Optional[int] = None,
                 mac: bytes = MAC) -> None:
        self.clock = Clock()
        self.wire = MemoryWire(record=False)
        self.gateway: Optional[Gateway] = None
        self.gatewayPort: Optional[MemoryWirePort] = None
        if server:
            self.gateway = Gateway(self.clock, "10.0.2.0/24", dhcp=True, dns=False, ipv6=False)
            if leaseTime is not None:
                assert self.gateway.dhcp is not None
                self.gateway.dhcp.leaseTime = leaseTime
            self.gatewayPort = self.wire.attach(self.gateway.host.interface)
        self.host = VirtualHost(self.clock, address=None, mac=mac, ipv6=False)
        self.hostPort = self.wire.attach(self.host.interface)
        self.client = DHCPClient(self.clock, self.host, jitter=0)
        self.sent: List[Tuple[float, bytes, bytes, bytes, DHCPRepr]] = []
        self.block = False
        self.wire.filter = self._watch

    def _watch(self, port: MemoryWirePort, frame: bytes) -> List[bytes]:
        """
        Record the client's DHCP messages; drop the client's frames while
        L{block} says so (C{"all"}, or C{"unicast"} for all but broadcasts).
        """
        if port is self.hostPort:
            message = dhcpMessage(frame)
            if message is not None:
                self.sent.append((self.clock.seconds(), frame[26:30], frame[30:34],
                                  frame[0:6], message))
            if self.block == "all" or (self.block == "unicast" and frame[0:6] != BROADCAST_MAC):
                return []
        return [frame]

    def run(self, seconds: float, step: float = 0.5) -> None:
        """
        Let frames flow and timers fire for C{seconds} of fake time.
        """
        end = self.clock.seconds() + seconds
        self.wire.pump()
        while self.clock.seconds() < end:
            self.clock.advance(min(step, end - self.clock.seconds()))
            self.wire.pump()

    def messages(self, kind: int) -> List[Tuple[float, bytes, bytes, bytes, DHCPRepr]]:
        """
        The client's messages of one type.
        """
        return [entry for entry in self.sent if entry[4].messageType == kind]

    def bind(self) -> DHCPLease:
        """
        Start the client and run until it is bound.
        """
        leases: List[DHCPLease] = []
        self.client.start()
        self.client.whenBound().addCallback(leases.append)
        self.run(1)
        assert leases, "not bound"
        return leases[0]


class AcquisitionTests(SynchronousTestCase):
    """
    INIT, SELECTING, REQUESTING, BOUND.
    """

    def test_lease(self) -> None:
        """
        DISCOVER, OFFER, REQUEST, ACK: the host gets slirp's first pool
        address, its prefix, its router and its DNS server.
        """
        net = Net()
        lease = net.bind()
        self.assertEqual((lease.address, lease.prefixLength, lease.routers, lease.dnsServers,
                          lease.serverIdentifier, lease.leaseTime),
                         (FIRST, 24, (GATEWAY,), (DNS,), GATEWAY, 86400))
        self.assertEqual(lease.describe(), "10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3")
        self.assertEqual((net.host.address, net.host.prefixLength, net.host.gateway),
                         (FIRST, 24, GATEWAY))
        self.assertTrue(net.host.configured)
        self.assertEqual(net.client.state, "bound")
        self.assertEqual(
            {k: net.client.counters[k] for k in
             ("discoversSent", "offersReceived", "requestsSent", "acksReceived", "bound")},
            {"discoversSent": 1, "offersReceived": 1, "requestsSent": 1,
             "acksReceived": 1, "bound": 1})
        assert net.gateway is not None and net.gateway.dhcp is not None
        [serverLease] = net.gateway.dhcp.leases(net.clock.seconds())
        self.assertEqual((serverLease.mac, serverLease.address, serverLease.bound),
                         (MAC, FIRST, True))

    def test_messages(self) -> None:
        """
        The DISCOVER and the REQUEST go from 0.0.0.0 to 255.255.255.255
        at the Ethernet broadcast, with our MAC, client identifier and
        parameter list; the REQUEST names the offer and its server.
        """
        net = Net()
        net.bind()
        [(_, source, destination, mac, discover)] = net.messages(dhcp.DHCPDISCOVER)
        self.assertEqual((source, destination, mac), (ANY_IPV4, b"\xff" * 4, BROADCAST_MAC))
        self.assertEqual((discover.op, discover.clientHardwareAddress,
                          discover.clientIdentifier, discover.requestedAddress),
                         (dhcp.OP_REQUEST, MAC, b"\x01" + MAC, None))
        for option in (1, 3, 6, 51, 54):
            self.assertIn(option, discover.parameterRequestList)
        [(_, source, destination, mac, request)] = net.messages(dhcp.DHCPREQUEST)
        self.assertEqual((source, destination, mac), (ANY_IPV4, b"\xff" * 4, BROADCAST_MAC))
        self.assertEqual((request.transactionID, request.requestedAddress,
                          request.serverIdentifier, request.clientAddress),
                         (discover.transactionID, FIRST, GATEWAY, ANY_IPV4))

    def test_tcpThroughTheLease(self) -> None:
        """
        Once bound, the host is reachable at its leased address: a TCP
        connection from another host on the wire is accepted.
        """
        from twisted.internet.protocol import Factory, Protocol
        net = Net()
        net.bind()
        accepted: List[Any] = []
        net.host.tcp.listen(7, Factory.forProtocol(Protocol))
        peer = VirtualHost(net.clock, address="10.0.2.99/24", ipv6=False)
        net.wire.attach(peer.interface)
        connected: List[Any] = []

        class Client(Protocol):
            def connectionMade(self) -> None:
                connected.append(self.transport.getHost())
        d = peer.tcp.connect(FIRST, 7, Factory.forProtocol(Client))
        d.addCallback(accepted.append)
        net.run(2)
        self.assertEqual(len(accepted), 1)
        self.assertEqual(connected[0].host, "10.0.2.99")

    def test_twoClients(self) -> None:
        """
        Two hosts on the wire get two addresses.
        """
        net = Net()
        other = VirtualHost(net.clock, address=None, mac=parseMAC("02:00:00:00:00:bb"), ipv6=False)
        net.wire.attach(other.interface)
        otherClient = DHCPClient(net.clock, other, jitter=0)
        otherClient.start()
        net.bind()
        net.run(1)
        self.assertEqual({net.host.address, other.address},
                         {FIRST, parseIPv4("10.0.2.16")})

    def test_backoff(self) -> None:
        """
        Unanswered DISCOVERs are sent again after 4, 8, 16, 32 and then
        every 64 seconds.
        """
        net = Net(server=False)
        net.client.start()
        net.run(200, step=1)
        times = [entry[0] for entry in net.messages(dhcp.DHCPDISCOVER)]
        self.assertEqual(times, [0, 4, 12, 28, 60, 124, 188])
        self.assertEqual(net.client.counters["retransmissions"], 6)
        self.assertEqual(len({entry[4].transactionID for entry in net.sent}), 1)
        self.assertEqual([entry[4].secs for entry in net.sent], [0, 4, 12, 28, 60, 124, 188])

    def test_jitter(self) -> None:
        """
        With jitter, each delay moves by at most a second.
        """
        net = Net(server=False)
        net.client.jitter = 1.0
        net.client.start()
        net.run(70, step=0.25)
        times = [entry[0] for entry in net.messages(dhcp.DHCPDISCOVER)]
        self.assertEqual(len(times), 5)
        for (before, after), nominal in zip(zip(times, times[1:]), [4, 8, 16, 32]):
            self.assertTrue(nominal - 1.25 <= after - before <= nominal + 1.25)

    def test_whenBoundTimeout(self) -> None:
        """
        C{whenBound(timeout)} fails with L{DHCPTimeout} when no server
        answers in time.
        """
        net = Net(server=False)
        net.client.start()
        d = net.client.whenBound(10)
        net.run(10)
        failure = self.failureResultOf(d, DHCPTimeout)
        self.assertIn("10 s", str(failure.value))

    def test_unansweredRequestStartsOver(self) -> None:
        """
        A REQUEST unanswered L{DHCPClient.maxRequests} times sends the
        client back to DISCOVER with a new transaction.
        """
        net = Net()
        # Let the DISCOVER through, then drop everything.
        original = net.wire.filter

        def dropRequests(port: MemoryWirePort, frame: bytes) -> List[bytes]:
            frames = original(port, frame)  # type: ignore[misc]
            message = dhcpMessage(frame) if port is net.hostPort else None
            if message is not None and message.messageType == dhcp.DHCPREQUEST:
                return []
            return list(frames)
        net.wire.filter = dropRequests
        net.client.start()
        net.run(4 + 8 + 16 + 32 + 1, step=1)
        # REQUESTs at 0, 4, 12 and 28; at 60 a new DISCOVER, OFFER and
        # REQUEST.
        self.assertEqual([r[0] for r in net.messages(dhcp.DHCPREQUEST)], [0, 4, 12, 28, 60])
        self.assertEqual(net.client.counters["requestTimeouts"], 1)
        self.assertEqual(len(net.messages(dhcp.DHCPDISCOVER)), 2)
        self.assertEqual(net.client.state, "requesting")
        first, second = net.messages(dhcp.DHCPDISCOVER)
        self.assertNotEqual(first[4].transactionID, second[4].transactionID)


class LeaseTimeTests(SynchronousTestCase):
    """
    RENEWING at T1, REBINDING at T2, expiry.
    """

    def test_renew(self) -> None:
        """
        At T1 (half the lease) the client asks the server, unicast from its
        address, to extend the lease; the ACK keeps the address and moves
        T1, T2 and the expiry on.
        """
        net = Net(leaseTime=200)
        lease = net.bind()
        self.assertEqual((lease.renewalTime, lease.rebindingTime), (100, 175))
        net.run(100)
        requests = net.messages(dhcp.DHCPREQUEST)
        self.assertEqual(len(requests), 2)
        when, source, destination, mac, renew = requests[1]
        self.assertEqual((source, destination), (FIRST, GATEWAY))
        self.assertNotEqual(mac, BROADCAST_MAC)
        self.assertEqual((renew.clientAddress, renew.requestedAddress, renew.serverIdentifier),
                         (FIRST, None, None))
        self.assertEqual(net.client.state, "bound")
        self.assertEqual(net.client.counters["renewed"], 1)
        assert net.client.lease is not None
        self.assertEqual(net.client.lease.obtained, when)
        # The lease keeps being renewed: no expiry in 1000 s.
        net.run(1000, step=5)
        self.assertEqual(net.client.counters["expired"], 0)
        self.assertEqual(net.host.address, FIRST)
        self.assertEqual(net.client.counters["renewed"], 11)

    def test_rebind(self) -> None:
        """
        When the server does not answer the unicast renewal, the client
        broadcasts its REQUEST at T2 and any server's ACK rebinds it.
        """
        net = Net(leaseTime=200)
        net.bind()
        net.block = "unicast"
        net.run(175, step=1)
        requests = net.messages(dhcp.DHCPREQUEST)
        unicast = [r for r in requests if r[2] == GATEWAY]
        broadcast = [r for r in requests[1:] if r[2] == b"\xff" * 4]
        # At T1 (100), and again 60 s later (half the time to T2 is less).
        self.assertEqual([r[0] for r in unicast], [100.0, 160.0])
        self.assertEqual(len(broadcast), 1)
        self.assertEqual((broadcast[0][1], broadcast[0][4].clientAddress), (FIRST, FIRST))
        self.assertEqual(net.client.counters["rebound"], 1)
        self.assertEqual(net.client.state, "bound")
        self.assertEqual(net.host.address, FIRST)

    def test_renewRetransmission(self) -> None:
        """
        In RENEWING the REQUEST is sent again after half the time left to
        T2, but not sooner than 60 s.
        """
        net = Net(leaseTime=1000)
        net.bind()
        net.block = "unicast"
        net.run(875 - 1, step=0.25)
        times = [r[0] for r in net.messages(dhcp.DHCPREQUEST) if r[2] == GATEWAY]
        # T1 500, T2 875: 500, 500 + 187.5, then + 93.75, then + 60.
        self.assertEqual(times, [500.0, 687.5, 781.25, 841.25])

    def test_expiry(self) -> None:
        """
        With no server left, the lease ends: the address and gateway are
        removed, observers hear C{None}, and the client starts over.
        """
        net = Net(leaseTime=200)
        seen: List[Optional[DHCPLease]] = []
        net.client.addObserver(seen.append)
        net.bind()
        net.block = "all"
        net.run(198, step=1)
        self.assertEqual(net.client.state, "rebinding")
        self.assertEqual(net.host.address, FIRST)
        net.run(1, step=1)
        self.assertEqual(net.client.counters["expired"], 1)
        self.assertEqual((net.host.address, net.host.gateway, net.host.configured),
                         (ANY_IPV4, None, False))
        self.assertEqual([None if lease is None else lease.address for lease in seen],
                         [FIRST, None])
        self.assertEqual(net.client.state, "selecting")
        discovers = net.messages(dhcp.DHCPDISCOVER)
        self.assertEqual(len(discovers), 2)
        # The new DISCOVER asks for the old address back.
        self.assertEqual(discovers[1][4].requestedAddress, FIRST)
        net.block = False
        net.run(5)
        self.assertEqual(net.host.address, FIRST)
        self.assertEqual(net.client.state, "bound")

    def test_infiniteLease(self) -> None:
        """
        An infinite lease arms no timers.
        """
        net = Net(leaseTime=0xFFFFFFFF)
        lease = net.bind()
        self.assertIsNone(lease.leaseTime)
        self.assertEqual(net.clock.getDelayedCalls(), [])


class RefusalTests(SynchronousTestCase):
    """
    NAKs, unexpected and malformed messages.
    """

    def inject(self, net: Net, message: DHCPRepr) -> None:
        """
        Deliver a server message to the client host, broadcast.
        """
        frame = ETHERNET.pack(BROADCAST_MAC, parseMAC("52:55:0a:00:02:02"), 0x0800) + \
            buildUDPFrame(GATEWAY, b"\xff" * 4, 67, 68, message.emit())
        net.host.interface.frameReceived(frame)

    def test_nakWhileRenewing(self) -> None:
        """
        A NAK in RENEWING removes the address at once and starts over.
        """
        net = Net(leaseTime=200)
        seen: List[Optional[DHCPLease]] = []
        net.client.addObserver(seen.append)
        net.bind()
        net.block = "all"
        net.run(100)
        self.assertEqual(net.client.state, "renewing")
        self.inject(net, DHCPRepr(
            op=dhcp.OP_REPLY, transactionID=net.client._xid,
            clientHardwareAddress=MAC, messageType=dhcp.DHCPNAK, serverIdentifier=GATEWAY))
        self.assertEqual(net.client.counters["naksReceived"], 1)
        self.assertEqual(net.host.address, ANY_IPV4)
        self.assertEqual(net.client.state, "selecting")
        self.assertEqual([None if lease is None else lease.address for lease in seen],
                         [FIRST, None])
        net.block = False
        net.run(5)
        self.assertEqual(net.host.address, FIRST)

    def test_nakWhileRequesting(self) -> None:
        """
        The server NAKs a REQUEST for an address it cannot give (taken by
        another client meanwhile): the client starts over and gets
        another.
        """
        net = Net()
        assert net.gateway is not None and net.gateway.dhcp is not None
        server = net.gateway.dhcp
        original = server.handle

        stolen: List[bool] = []

        def steal(payload: bytes, now: float) -> Any:
            message = DHCPRepr.fromBytes(payload)
            if message.clientHardwareAddress == MAC and \
                    message.messageType == dhcp.DHCPREQUEST and not stolen:
                # Another client takes the offered address first.
                stolen.append(True)
                server._forget(server._byMAC[MAC])
                from tests.slirp.helpers import discoverAndRequest
                discoverAndRequest(net.gateway, parseMAC("02:00:00:00:00:cc"))  # type: ignore[arg-type]
            return original(payload, now)
        server.handle = steal  # type: ignore[method-assign]
        net.client.start()
        net.run(2)
        self.assertEqual(net.client.counters["naksReceived"], 1)
        self.assertEqual(net.host.address, parseIPv4("10.0.2.16"))
        self.assertEqual(net.client.state, "bound")

    def test_ignored(self) -> None:
        """
        Malformed messages, replies to other transactions or other MACs,
        requests, and ACKs while selecting are counted and dropped.
        """
        net = Net(server=False)
        net.client.start()
        xid = net.sent[0][4].transactionID
        net.host.interface.frameReceived(
            ETHERNET.pack(BROADCAST_MAC, parseMAC("52:55:0a:00:02:02"), 0x0800)
            + buildUDPFrame(GATEWAY, b"\xff" * 4, 67, 68, b"\x02" * 100))
        base = dict(op=dhcp.OP_REPLY, transactionID=xid, clientHardwareAddress=MAC,
                    yourAddress=FIRST, serverIdentifier=GATEWAY)
        for changes in [dict(transactionID=xid + 1), dict(clientHardwareAddress=b"\x02" * 6),
                        dict(op=dhcp.OP_REQUEST), dict(messageType=dhcp.DHCPACK),
                        dict(messageType=dhcp.DHCPOFFER, serverIdentifier=None)]:
            fields = dict(base, messageType=dhcp.DHCPOFFER)
            fields.update(changes)
            self.inject(net, DHCPRepr(**fields))  # type: ignore[arg-type]
        self.assertEqual((net.client.counters["malformed"], net.client.counters["ignored"]),
                         (1, 5))
        self.assertEqual(net.client.state, "selecting")


class StopTests(SynchronousTestCase):
    """
    L{DHCPClient.stop}.
    """

    def test_release(self) -> None:
        """
        Stopping releases the lease (the server forgets it), removes the
        address and closes port 68.
        """
        net = Net()
        net.bind()
        net.host.icmp.ping(GATEWAY)
        net.run(1)
        net.client.stop()
        net.run(1)
        [(_, source, destination, _, release)] = net.messages(dhcp.DHCPRELEASE)
        self.assertEqual((source, destination, release.clientAddress, release.serverIdentifier),
                         (FIRST, GATEWAY, FIRST, GATEWAY))
        assert net.gateway is not None and net.gateway.dhcp is not None
        self.assertEqual(net.gateway.dhcp.leases(net.clock.seconds()), [])
        self.assertEqual(net.host.address, ANY_IPV4)
        self.assertEqual(net.client.state, "stopped")
        self.assertNotIn((ANY_IPV4, 68), net.host.udp.sockets())
        self.assertEqual(net.clock.getDelayedCalls(), [])

    def test_releaseBroadcastWhenServerUnknown(self) -> None:
        """
        When the server's MAC is not in the ARP cache, the RELEASE is
        broadcast, so that it leaves before the host stops.
        """
        net = Net()
        net.bind()
        net.client.stop()
        net.host.stop()
        net.run(1)
        [(_, source, destination, mac, release)] = net.messages(dhcp.DHCPRELEASE)
        self.assertEqual((source, destination, mac, release.serverIdentifier),
                         (FIRST, b"\xff" * 4, BROADCAST_MAC, GATEWAY))
        assert net.gateway is not None and net.gateway.dhcp is not None
        self.assertEqual(net.gateway.dhcp.leases(net.clock.seconds()), [])

    def test_stopWhileSelecting(self) -> None:
        """
        Stopping before a lease sends nothing, cancels the waiters and the
        timers; the client can start again.
        """
        net = Net(server=False)
        net.client.start()
        d = net.client.whenBound()
        net.client.stop()
        self.failureResultOf(d)
        self.assertEqual(net.client.counters["releasesSent"], 0)
        self.assertEqual(net.clock.getDelayedCalls(), [])
        net.client.start()
        self.assertEqual(net.client.state, "selecting")
