# -*- test-case-name: tests.wire.test_bpdu -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.bpdu}, against the BPDUs captured from Debian's
vde_switch (docs/vde-protocol.md section 6).
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.bpdu import (AGREEMENT, BPDU, BPDU_ADDRESS, MalformedPacket, buildBPDU,
                                parseBPDU, portIdentifier)

MAC = bytes.fromhex("02aabbccddee")

#: The first BPDU of C{vde_switch -F --macaddr 02:aa:bb:cc:dd:ee} on port 1
#: (captured through a vde_plug on its port 1).
FIRST = bytes.fromhex(
    "0180c2000000"          # destination: the bridge group address
    "02aabbccddee"          # source: the switch MAC
    "0027"                  # 802.3 length: 39
    "424203"                # LLC
    "0000"                  # protocol 0
    "02"                    # version 2 (RSTP)
    "02"                    # type 2 (RST)
    "3c"                    # flags: designated, learning, forwarding
    "800002aabbccddee"      # root id: priority 0x8000, MAC
    "00000000"              # root path cost, big-endian
    "800002aabbccddee"      # bridge id
    "8001"                  # port id: 0x80 | (1 >> 4), 1
    "0000"                  # message age, little-endian seconds
    "2800"                  # max age 40
    "0400"                  # hello 4
    "0000"                  # forward delay 0
    "00"                    # v1 length
)
#: The hellos that follow: the same with the agreement bit (flags 7c).
HELLO = FIRST[:21] + b"\x7c" + FIRST[22:]

FIRST_FIELDS = BPDU(0x3C, bytes.fromhex("800002aabbccddee"), 0,
                    bytes.fromhex("800002aabbccddee"), b"\x80\x01", 0, 40, 4, 0)


class BPDUTests(SynchronousTestCase):
    """
    Building and parsing FSTP BPDUs.
    """

    def test_build(self) -> None:
        """
        The fields give vde_switch's bytes exactly.
        """
        self.assertEqual(len(FIRST), 53)
        self.assertEqual(buildBPDU(MAC, FIRST_FIELDS), FIRST)
        hello = BPDU(0x3C | AGREEMENT, FIRST_FIELDS.root, 0, FIRST_FIELDS.bridge, b"\x80\x01")
        self.assertEqual(buildBPDU(MAC, hello), HELLO)

    def test_parse(self) -> None:
        """
        The captured bytes give the fields.
        """
        self.assertEqual(parseBPDU(FIRST), FIRST_FIELDS)
        self.assertEqual(parseBPDU(HELLO).flags, 0x7C)

    def test_tagged(self) -> None:
        """
        The tagged form inserts C{81 00} and the VLAN (PCP 0) after the
        source MAC: 57 bytes; it parses back with C{tagged=True}.
        """
        frame = buildBPDU(MAC, FIRST_FIELDS, vlan=0x123)
        self.assertEqual(frame, FIRST[:12] + b"\x81\x00\x01\x23" + FIRST[12:])
        self.assertEqual(parseBPDU(frame, tagged=True), FIRST_FIELDS)

    def test_portIdentifier(self) -> None:
        """
        vde_switch's quirk: C{0x80 | (port >> 4)}, then the low byte.
        """
        self.assertEqual(portIdentifier(1), b"\x80\x01")
        self.assertEqual(portIdentifier(0x23), b"\x82\x23")
        self.assertEqual(portIdentifier(300), b"\x92\x2c")

    def test_littleEndianTimers(self) -> None:
        """
        Timers are little-endian whole seconds, the cost big-endian.
        """
        fields = BPDU(0, FIRST_FIELDS.root, 0x01020304, FIRST_FIELDS.bridge, b"\x80\x02",
                      age=0x0102, maxAge=40, hello=4, forwardDelay=0)
        frame = buildBPDU(MAC, fields)
        self.assertEqual(frame[30:34], b"\x01\x02\x03\x04")
        self.assertEqual(frame[44:46], b"\x02\x01")
        self.assertEqual(parseBPDU(frame).age, 0x0102)

    def test_shortFramesArePadded(self) -> None:
        """
        vde_switch pads every frame to 60 bytes before reading it, so a
        truncated BPDU reads as zeros past its end.
        """
        bpdu = parseBPDU(FIRST[:40])
        self.assertEqual(bpdu.root, FIRST_FIELDS.root)
        self.assertEqual(bpdu.bridge, bytes.fromhex("800002aabbcc0000"))
        self.assertEqual(bpdu.maxAge, 0)

    def test_refused(self) -> None:
        """
        Another version or type, or no room for the header, is malformed.
        """
        self.assertRaises(MalformedPacket, parseBPDU, FIRST[:19] + b"\x03" + FIRST[20:])
        self.assertRaises(MalformedPacket, parseBPDU, FIRST[:20] + b"\x00" + FIRST[21:])
        self.assertRaises(MalformedPacket, parseBPDU, FIRST[:13])
        self.assertRaises(MalformedPacket, parseBPDU, FIRST[:17], True)
        self.assertRaises(MalformedPacket, parseBPDU, b"")

    def test_address(self) -> None:
        """
        BPDUs go to the 802.1D bridge group address.
        """
        self.assertEqual(BPDU_ADDRESS, FIRST[:6])


class ScapyOracleTests(SynchronousTestCase):
    """
    scapy's 802.1D decoder reads vde_switch's BPDUs the same way, timers
    included: little-endian whole seconds below 256 have the same bytes as
    the standard's big-endian 1/256 s.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_decode(self) -> None:
        """
        Every field scapy decodes agrees with ours.
        """
        frame = buildBPDU(MAC, BPDU(0x7C, bytes.fromhex("800002aabbccddee"), 20000000,
                                    bytes.fromhex("8000020000000001"), b"\x80\x03",
                                    age=3, maxAge=40, hello=4, forwardDelay=0))
        packet = scapy.Ether(frame)
        stp = packet[scapy.STP]
        self.assertEqual(packet[scapy.LLC].dsap, 0x42)
        self.assertEqual((stp.proto, stp.version, stp.bpdutype, stp.bpduflags),
                         (0, 2, 2, 0x7C))
        self.assertEqual((stp.rootid, stp.rootmac), (0x8000, "02:aa:bb:cc:dd:ee"))
        self.assertEqual(stp.pathcost, 20000000)
        self.assertEqual((stp.bridgeid, stp.bridgemac), (0x8000, "02:00:00:00:00:01"))
        self.assertEqual(stp.portid, 0x8003)
        self.assertEqual((stp.age, stp.maxage, stp.hellotime, stp.fwddelay),
                         (3, 40, 4, 0))

    def test_encode(self) -> None:
        """
        A BPDU built by scapy parses to the same fields.
        """
        packet = (scapy.Dot3(dst="01:80:c2:00:00:00", src="02:aa:bb:cc:dd:ee")
                  / scapy.LLC(dsap=0x42, ssap=0x42, ctrl=3)
                  / scapy.STP(version=2, bpdutype=2, bpduflags=0x3C, rootid=0x8000,
                              rootmac="02:aa:bb:cc:dd:ee", pathcost=0, bridgeid=0x8000,
                              bridgemac="02:aa:bb:cc:dd:ee", portid=0x8001, age=0,
                              maxage=40, hellotime=4, fwddelay=0))
        frame = bytes(packet)
        self.assertEqual(parseBPDU(frame), FIRST_FIELDS)
        # scapy's 802.3 length (38) leaves out the v1 length byte that
        # vde_switch sends (39); every other byte is the same.
        self.assertEqual(frame[:12] + b"\x00\x27" + frame[14:] + b"\x00", FIRST)
