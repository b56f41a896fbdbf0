# -*- test-case-name: tests.slirp.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.dhcp}: the server's state machine against
client messages built with scapy (an independent encoder), and the
replies checked field by field against slirpvde's captured OFFER
(docs/vde-protocol.md section 7.2).
"""

from typing import Any, List, Optional, Tuple

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.slirp.dhcp import DHCPProtocol, DHCPServer
from vdetwist.wire.addr import BROADCAST_IPV4, BROADCAST_MAC, parseIPv4, parseMAC
from vdetwist.wire.dhcp import DHCPACK, DHCPNAK, DHCPOFFER, DHCPRepr

GATEWAY = parseIPv4("10.0.2.2")
DNS = parseIPv4("10.0.2.3")
POOL = parseIPv4("10.0.2.15")
MAC1 = parseMAC("52:54:00:12:34:01")
MAC2 = parseMAC("52:54:00:12:34:02")


def clientMessage(kind: str, mac: bytes, xid: int = 0x1234, requested: Optional[str] = None,
                  server: Optional[str] = None, ciaddr: str = "0.0.0.0",
                  broadcast: bool = False) -> bytes:
    """
    Build a client DHCP message with scapy.

    @param kind: the scapy message-type name ("discover", "request", ...).
    @param mac: the client MAC.
    @param xid: the transaction ID.
    @param requested: option 50, dotted, or C{None}.
    @param server: option 54, dotted, or C{None}.
    @param ciaddr: the client address field.
    @param broadcast: the broadcast flag.
    @return: the UDP payload.
    """
    options: List[Any] = [("message-type", kind)]
    if requested is not None:
        options.append(("requested_addr", requested))
    if server is not None:
        options.append(("server_id", server))
    options.append("end")
    packet = scapy.BOOTP(op=1, chaddr=mac + b"\0" * 10, xid=xid, ciaddr=ciaddr,
                         flags=0x8000 if broadcast else 0) / scapy.DHCP(options=options)
    return bytes(packet)


def scapyOptions(payload: bytes) -> dict:
    """
    Decode a reply's options with scapy.

    @param payload: the DHCP message.
    @return: option name to value.
    """
    parsed = scapy.BOOTP(payload)
    return {o[0]: o[1] for o in parsed[scapy.DHCP].options if isinstance(o, tuple)}


class DHCPServerTests(SynchronousTestCase):
    """
    Tests for L{DHCPServer}.
    """

    if scapy is None:
        skip = SKIP_REASON

    def setUp(self) -> None:
        """
        A server with slirpvde's defaults.
        """
        self.server = DHCPServer(GATEWAY, 24, DNS, POOL)

    def test_offerMatchesSlirpvdeCapture(self) -> None:
        """
        A DISCOVER gets an OFFER of .15 whose fields and options are those
        of slirpvde's captured OFFER: siaddr 10.0.2.2, options 53=2,
        54=10.0.2.2, 1=255.255.255.0, 3=10.0.2.2, 6=10.0.2.3,
        51=86400 in that order, sent to 255.255.255.255 at the client's
        MAC, from port 67 to 68.
        """
        reply = self.server.handle(clientMessage("discover", MAC1, xid=0xabcd), 0.0)
        assert reply is not None
        self.assertEqual(reply.destinationMAC, MAC1)
        self.assertEqual(reply.destinationAddress, BROADCAST_IPV4)
        payload = reply.message.emit()
        parsed = scapy.BOOTP(payload)
        self.assertEqual(parsed.op, 2)
        self.assertEqual(parsed.xid, 0xabcd)
        self.assertEqual(parsed.yiaddr, "10.0.2.15")
        self.assertEqual(parsed.siaddr, "10.0.2.2")
        self.assertEqual(parsed.chaddr[:6], MAC1)
        options = [o for o in parsed[scapy.DHCP].options if isinstance(o, tuple)]
        self.assertEqual(options, [
            ("message-type", 2), ("server_id", "10.0.2.2"),
            ("subnet_mask", "255.255.255.0"), ("router", "10.0.2.2"),
            ("name_server", "10.0.2.3"), ("lease_time", 0x00015180)])

    def test_requestAcknowledged(self) -> None:
        """
        A REQUEST for the offered address (SELECTING, server identifier
        ours) is ACKed and the lease is bound.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        reply = self.server.handle(
            clientMessage("request", MAC1, requested="10.0.2.15", server="10.0.2.2"), 1.0)
        assert reply is not None
        self.assertEqual(reply.message.messageType, DHCPACK)
        self.assertEqual(reply.message.yourAddress, POOL)
        self.assertEqual(scapyOptions(reply.message.emit())["message-type"], 5)
        [lease] = self.server.leases(2.0)
        self.assertEqual((lease.mac, lease.address, lease.bound), (MAC1, POOL, True))
        self.assertEqual(lease.expires, 1.0 + 86400)

    def test_distinctClientsDistinctAddresses(self) -> None:
        """
        Two clients are offered .15 and .16; the same client asking
        again gets the same address.
        """
        first = self.server.handle(clientMessage("discover", MAC1), 0.0)
        second = self.server.handle(clientMessage("discover", MAC2), 0.0)
        again = self.server.handle(clientMessage("discover", MAC1), 0.0)
        assert first is not None and second is not None and again is not None
        self.assertEqual(first.message.yourAddress, parseIPv4("10.0.2.15"))
        self.assertEqual(second.message.yourAddress, parseIPv4("10.0.2.16"))
        self.assertEqual(again.message.yourAddress, parseIPv4("10.0.2.15"))

    def test_poolBounded(self) -> None:
        """
        The pool holds 16 leases (.15 to .30); a 17th client gets no
        offer, and the lease table never grows past the pool.
        """
        for i in range(16):
            mac = bytes([2, 0, 0, 0, 0, i])
            reply = self.server.handle(clientMessage("discover", mac), 0.0)
            assert reply is not None
            self.assertEqual(reply.message.yourAddress, bytes([10, 0, 2, 15 + i]))
        self.assertIsNone(self.server.handle(clientMessage("discover", bytes([2, 0, 0, 0, 1, 0])), 0.0))
        self.assertEqual(self.server.counters["poolExhausted"], 1)
        self.assertEqual(len(self.server.leases(0.0)), 16)

    def test_offerExpires(self) -> None:
        """
        An address offered but never requested returns to the pool after
        the offer timeout.
        """
        for i in range(16):
            self.server.handle(clientMessage("discover", bytes([2, 0, 0, 0, 0, i])), 0.0)
        reply = self.server.handle(clientMessage("discover", MAC1), 61.0)
        assert reply is not None
        self.assertEqual(reply.message.yourAddress, POOL)

    def test_requestedAddressHonoured(self) -> None:
        """
        A DISCOVER asking for a free pool address is offered that address.
        """
        reply = self.server.handle(clientMessage("discover", MAC1, requested="10.0.2.20"), 0.0)
        assert reply is not None
        self.assertEqual(reply.message.yourAddress, parseIPv4("10.0.2.20"))

    def test_nakForForeignAddress(self) -> None:
        """
        An INIT-REBOOT REQUEST for an address of another network is NAKed,
        broadcast, with only the message type and server identifier.
        """
        reply = self.server.handle(clientMessage("request", MAC1, requested="192.168.1.5"), 0.0)
        assert reply is not None
        self.assertEqual(reply.message.messageType, DHCPNAK)
        self.assertEqual(reply.destinationMAC, BROADCAST_MAC)
        self.assertEqual(scapyOptions(reply.message.emit()),
                         {"message-type": 6, "server_id": "10.0.2.2"})

    def test_nakForTakenAddress(self) -> None:
        """
        A REQUEST for an address leased to another client is NAKed.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        self.server.handle(clientMessage("request", MAC1, requested="10.0.2.15",
                                         server="10.0.2.2"), 0.0)
        reply = self.server.handle(clientMessage("request", MAC2, requested="10.0.2.15"), 1.0)
        assert reply is not None
        self.assertEqual(reply.message.messageType, DHCPNAK)

    def test_otherServerChosen(self) -> None:
        """
        A REQUEST naming another server releases our offer and gets no
        reply.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        self.assertIsNone(self.server.handle(
            clientMessage("request", MAC1, requested="10.0.2.15", server="10.0.2.99"), 0.0))
        self.assertEqual(self.server.leases(0.0), [])

    def test_renewUnicast(self) -> None:
        """
        A RENEWING REQUEST (ciaddr set) is ACKed by unicast to the client.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        self.server.handle(clientMessage("request", MAC1, requested="10.0.2.15",
                                         server="10.0.2.2"), 0.0)
        reply = self.server.handle(clientMessage("request", MAC1, ciaddr="10.0.2.15"), 100.0)
        assert reply is not None
        self.assertEqual(reply.message.messageType, DHCPACK)
        self.assertEqual((reply.destinationMAC, reply.destinationAddress), (MAC1, POOL))
        self.assertEqual(self.server.leases(100.0)[0].expires, 100.0 + 86400)

    def test_broadcastFlag(self) -> None:
        """
        A client that sets the broadcast flag is answered at the Ethernet
        broadcast address.
        """
        reply = self.server.handle(clientMessage("discover", MAC1, broadcast=True), 0.0)
        assert reply is not None
        self.assertEqual(reply.destinationMAC, BROADCAST_MAC)

    def test_release(self) -> None:
        """
        A RELEASE frees the address for the next client.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        self.server.handle(clientMessage("request", MAC1, requested="10.0.2.15",
                                         server="10.0.2.2"), 0.0)
        self.assertIsNone(self.server.handle(
            clientMessage("release", MAC1, ciaddr="10.0.2.15", server="10.0.2.2"), 1.0))
        self.assertEqual(self.server.leases(1.0), [])
        reply = self.server.handle(clientMessage("discover", MAC2), 2.0)
        assert reply is not None
        self.assertEqual(reply.message.yourAddress, POOL)

    def test_decline(self) -> None:
        """
        A DECLINEd address is not offered again.
        """
        self.server.handle(clientMessage("discover", MAC1), 0.0)
        self.server.handle(clientMessage("decline", MAC1, requested="10.0.2.15",
                                         server="10.0.2.2"), 0.0)
        reply = self.server.handle(clientMessage("discover", MAC1), 1.0)
        assert reply is not None
        self.assertEqual(reply.message.yourAddress, parseIPv4("10.0.2.16"))

    def test_inform(self) -> None:
        """
        An INFORM gets an ACK with the options but no address or lease
        time, unicast to the client.
        """
        reply = self.server.handle(clientMessage("inform", MAC1, ciaddr="10.0.2.50"), 0.0)
        assert reply is not None
        self.assertEqual(reply.destinationAddress, parseIPv4("10.0.2.50"))
        options = scapyOptions(reply.message.emit())
        self.assertEqual(options["message-type"], 5)
        self.assertNotIn("lease_time", options)
        self.assertEqual(reply.message.yourAddress, b"\0\0\0\0")

    def test_malformedCounted(self) -> None:
        """
        Truncated messages, a missing cookie and a truncated option are
        dropped and counted as malformed; a reply (op 2) is ignored.
        """
        good = clientMessage("discover", MAC1)
        for bad in [b"", good[:100], good[:236] + b"\0\0\0\0" + good[240:],
                    good[:240] + b"\x35\x05\x01"]:
            self.assertIsNone(self.server.handle(bad, 0.0))
        self.assertEqual(self.server.counters["malformed"], 4)
        self.assertIsNone(self.server.handle(b"\x02" + good[1:], 0.0))
        self.assertEqual(self.server.counters["ignored"], 1)

    def test_poolValidated(self) -> None:
        """
        A pool leaving the network or holding the gateway is refused.
        """
        self.assertRaises(ValueError, DHCPServer, GATEWAY, 24, DNS, parseIPv4("10.0.2.250"))
        self.assertRaises(ValueError, DHCPServer, GATEWAY, 24, DNS, parseIPv4("10.0.2.1"))


class DHCPProtocolTests(SynchronousTestCase):
    """
    Tests for L{DHCPProtocol}, the frame-building glue.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_offerFrame(self) -> None:
        """
        The OFFER leaves as an IPv4/UDP datagram from 10.0.2.2:67 to
        255.255.255.255:68 at the client's MAC, with valid checksums
        (checked by scapy); an ACK tells the neighbour observer.
        """
        sent: List[Tuple[bytes, int, bytes]] = []
        bound: List[Tuple[bytes, bytes]] = []
        protocol = DHCPProtocol(Clock(), DHCPServer(GATEWAY, 24, DNS, POOL),
                                lambda *a: sent.append(a), lambda *a: bound.append(a))
        protocol.datagramReceived(clientMessage("discover", MAC1), ("0.0.0.0", 68))
        [(mac, etherType, datagram)] = sent
        self.assertEqual((mac, etherType), (MAC1, 0x0800))
        packet = scapy.IP(datagram)
        self.assertEqual((packet.src, packet.dst), ("10.0.2.2", "255.255.255.255"))
        self.assertEqual((packet[scapy.UDP].sport, packet[scapy.UDP].dport), (67, 68))
        ipChecksum, udpChecksum = packet.chksum, packet[scapy.UDP].chksum
        del packet.chksum
        del packet[scapy.UDP].chksum
        rebuilt = scapy.IP(bytes(packet))
        self.assertEqual((rebuilt.chksum, rebuilt[scapy.UDP].chksum), (ipChecksum, udpChecksum))
        self.assertEqual(DHCPRepr.fromBytes(bytes(packet[scapy.UDP].payload)).messageType,
                         DHCPOFFER)
        self.assertEqual(bound, [])
        protocol.datagramReceived(
            clientMessage("request", MAC1, requested="10.0.2.15", server="10.0.2.2"),
            ("0.0.0.0", 68))
        self.assertEqual(bound, [(POOL, MAC1)])
