# -*- test-case-name: tests.wire.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.dhcp}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire import dhcp
from vdetwist.wire.dhcp import DHCPRepr, parseOptions
from vdetwist.wire.frames import MalformedPacket

MAC = bytes.fromhex("525400123456")

#: A DHCPDISCOVER as a client sends it (RFC 2131 figure 1 layout).
DISCOVER = (
    bytes.fromhex(
        "01"        # op: BOOTREQUEST
        "01"        # htype: Ethernet
        "06"        # hlen
        "00"        # hops
        "39031337"  # xid
        "0000"      # secs
        "8000"      # flags: broadcast
        "00000000"  # ciaddr
        "00000000"  # yiaddr
        "00000000"  # siaddr
        "00000000"  # giaddr
        "525400123456" + "00" * 10  # chaddr (16 bytes)
    )
    + b"\0" * 64     # sname
    + b"\0" * 128    # file
    + bytes.fromhex(
        "63825363"      # magic cookie
        "350101"        # option 53: DHCPDISCOVER
        "3204c0a84d64"  # option 50: requested 192.168.77.100
        "0c0468616c6f"  # option 12: host name "halo"
        "3703010306"    # option 55: ask for 1, 3, 6
        "3d0701525400123456"  # option 61: client id (type 1 + MAC)
        "ff"            # end
    )
)
DISCOVER = DISCOVER + b"\0" * (300 - len(DISCOVER))
DISCOVER_REPR = dict(
    op=dhcp.OP_REQUEST, transactionID=0x39031337, clientHardwareAddress=MAC,
    messageType=dhcp.DHCPDISCOVER, broadcast=True,
    requestedAddress=bytes([192, 168, 77, 100]), hostName=b"halo",
    parameterRequestList=(1, 3, 6), clientIdentifier=b"\x01" + MAC,
)


#: A DHCPACK with T1 and T2, options in dnsmasq's order (53, 54, 51, 58,
#: 59, 1, 3, 6).
ACK = (
    bytes.fromhex(
        "02"        # op: BOOTREPLY
        "01"        # htype: Ethernet
        "06"        # hlen
        "00"        # hops
        "0badcafe"  # xid
        "0000"      # secs
        "0000"      # flags
        "00000000"  # ciaddr
        "0a00020f"  # yiaddr: 10.0.2.15
        "0a000202"  # siaddr: 10.0.2.2
        "00000000"  # giaddr
        "525400123456" + "00" * 10  # chaddr (16 bytes)
    )
    + b"\0" * 64     # sname
    + b"\0" * 128    # file
    + bytes.fromhex(
        "63825363"      # magic cookie
        "350105"        # option 53: DHCPACK
        "36040a000202"  # option 54: server 10.0.2.2
        "330400000e10"  # option 51: lease 3600 s
        "3a0400000708"  # option 58: T1 1800 s
        "3b0400000c4e"  # option 59: T2 3150 s
        "0104ffffff00"  # option 1: 255.255.255.0
        "03040a000202"  # option 3: router 10.0.2.2
        "06040a000203"  # option 6: DNS 10.0.2.3
        "ff"            # end
    )
)
ACK = ACK + b"\0" * (300 - len(ACK))


class DHCPTests(SynchronousTestCase):
    """
    Tests for L{DHCPRepr}.
    """

    def test_decode(self) -> None:
        """
        The discover fixture parses to its repr.
        """
        self.assertEqual(DHCPRepr.fromBytes(DISCOVER), DHCPRepr(**DISCOVER_REPR))

    def test_encode(self) -> None:
        """
        The repr emits the fixture, padded to 300 bytes.
        """
        buffer = bytearray(b"\xa5" * 300)
        DHCPRepr(**DISCOVER_REPR).emitInto(buffer)
        self.assertEqual(bytes(buffer), DISCOVER)

    def test_renewalAndRebindingTimes(self) -> None:
        """
        Options 58 (T1) and 59 (T2) parse to C{renewalTime} and
        C{rebindingTime}.
        """
        ack = DHCPRepr.fromBytes(ACK)
        self.assertEqual(
            (ack.messageType, ack.yourAddress, ack.serverIdentifier, ack.leaseTime,
             ack.renewalTime, ack.rebindingTime, ack.subnetMask, ack.routers,
             ack.dnsServers, ack.otherOptions),
            (dhcp.DHCPACK, b"\x0a\x00\x02\x0f", b"\x0a\x00\x02\x02", 3600, 1800, 3150,
             b"\xff\xff\xff\x00", (b"\x0a\x00\x02\x02",), (b"\x0a\x00\x02\x03",), ()))

    def test_renewalAndRebindingTimesEmitted(self) -> None:
        """
        T1 and T2 are emitted right after the lease time.
        """
        message = DHCPRepr(
            op=dhcp.OP_REPLY, transactionID=1, clientHardwareAddress=MAC,
            leaseTime=3600, renewalTime=1800, rebindingTime=3150).emit()
        self.assertEqual(message[240:259], bytes.fromhex(
            "330400000e10" "3a0400000708" "3b0400000c4e" "ff"))
        self.assertRaises(MalformedPacket, DHCPRepr.fromBytes,
                          DISCOVER[:240] + b"\x3a\x02\x00\x00\xff")

    def test_offerRoundTrip(self) -> None:
        """
        A server's offer with every supported option round-trips, unknown
        options kept raw.
        """
        offer = DHCPRepr(
            op=dhcp.OP_REPLY, transactionID=7, clientHardwareAddress=MAC,
            messageType=dhcp.DHCPOFFER, yourAddress=b"\x0a\x00\x02\x0f",
            serverAddress=b"\x0a\x00\x02\x02", serverIdentifier=b"\x0a\x00\x02\x02",
            subnetMask=b"\xff\xff\xff\x00", routers=(b"\x0a\x00\x02\x02",),
            dnsServers=(b"\x0a\x00\x02\x03", b"\x08\x08\x08\x08"), leaseTime=86400,
            otherOptions=((15, b"example"),),
        )
        self.assertEqual(DHCPRepr.fromBytes(offer.emit()), offer)

    def test_malformed(self) -> None:
        """
        Truncation, a missing cookie, non-Ethernet hardware, bad option
        lengths and options running off the end are refused.
        """
        for n in (0, 100, 239):
            self.assertRaises(MalformedPacket, DHCPRepr.fromBytes, DISCOVER[:n])
        self.assertRaises(MalformedPacket, DHCPRepr.fromBytes,
                          DISCOVER[:236] + b"\0\0\0\0" + DISCOVER[240:])
        self.assertRaises(MalformedPacket, DHCPRepr.fromBytes, b"\x01\x06" + DISCOVER[2:])
        opts = DISCOVER[:240]
        for bad in [b"\x35\x02\x01\x01\xff", b"\x36\x03\x01\x02\x03\xff",
                    b"\x03\x00\xff", b"\x33\x02\x00\x00\xff", b"\x0c\x09abc", b"\x0c"]:
            self.assertRaises(MalformedPacket, DHCPRepr.fromBytes, opts + bad)

    def test_parseOptions(self) -> None:
        """
        Pads are skipped, parsing stops at the end option.
        """
        self.assertEqual(parseOptions(b"\0\0\x35\x01\x05\0\xff\x01\x01"), [(53, b"\x05")])
        self.assertEqual(parseOptions(b""), [])

    @given(st.binary(max_size=80))
    def test_arbitraryOptions(self, data: bytes) -> None:
        """
        Arbitrary option bytes either parse or raise L{MalformedPacket}.
        """
        try:
            DHCPRepr.fromBytes(DISCOVER[:240] + data)
        except MalformedPacket:
            pass


class DHCPOracleTests(SynchronousTestCase):
    """
    L{DHCPRepr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_scapyToOurs(self) -> None:
        """
        A DHCPACK built by scapy parses to the same fields.
        """
        pkt = scapy.BOOTP(op=2, xid=0xDEADBEEF, yiaddr="10.0.2.15", siaddr="10.0.2.2",
                          chaddr=MAC) / scapy.DHCP(options=[
                              ("message-type", "ack"), ("server_id", "10.0.2.2"),
                              ("subnet_mask", "255.255.255.0"), ("router", "10.0.2.2"),
                              ("name_server", "10.0.2.3"), ("lease_time", 3600), "end"])
        parsed = DHCPRepr.fromBytes(bytes(pkt))
        self.assertEqual(parsed, DHCPRepr(
            op=2, transactionID=0xDEADBEEF, clientHardwareAddress=MAC,
            messageType=dhcp.DHCPACK, yourAddress=b"\x0a\x00\x02\x0f",
            serverAddress=b"\x0a\x00\x02\x02", serverIdentifier=b"\x0a\x00\x02\x02",
            subnetMask=b"\xff\xff\xff\x00", routers=(b"\x0a\x00\x02\x02",),
            dnsServers=(b"\x0a\x00\x02\x03",), leaseTime=3600))

    def test_oursToScapy(self) -> None:
        """
        scapy reads our discover's options back.
        """
        pkt = scapy.BOOTP(DHCPRepr(**DISCOVER_REPR).emit())
        options = dict(o for o in pkt[scapy.DHCP].options if isinstance(o, tuple))
        self.assertEqual(options["message-type"], 1)
        self.assertEqual(options["requested_addr"], "192.168.77.100")
        self.assertEqual(options["hostname"], b"halo")
        self.assertEqual(list(options["param_req_list"]), [1, 3, 6])
        self.assertEqual(pkt.xid, 0x39031337)
