# -*- test-case-name: tests.wire.test_pcap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.pcap}.
"""

import io
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.pcap import PcapWriter, readPcap

FRAME = bytes.fromhex("ffffffffffff5254001234560806") + bytes(46)


class PcapTests(SynchronousTestCase):
    """
    Tests for L{PcapWriter} and L{readPcap}.
    """

    def test_globalHeader(self) -> None:
        """
        The global header is magic a1b2c3d4, version 2.4, zone 0, sigfigs
        0, the snaplen and link type 1, in native order (libpcap's
        pcap_dump_open layout).
        """
        f = io.BytesIO()
        PcapWriter(f, snaplen=1518)
        expected = (0xA1B2C3D4).to_bytes(4, sys.byteorder) + (2).to_bytes(2, sys.byteorder) \
            + (4).to_bytes(2, sys.byteorder) + bytes(8) + (1518).to_bytes(4, sys.byteorder) \
            + (1).to_bytes(4, sys.byteorder)
        self.assertEqual(f.getvalue(), expected)

    def test_records(self) -> None:
        """
        Records round-trip with their timestamps; frames over the snaplen
        are stored truncated with their original length.
        """
        f = io.BytesIO()
        w = PcapWriter(f, snaplen=64)
        w.writeFrame(FRAME, 1700000000.25)
        w.writeFrame(FRAME + bytes(100), 1700000001.9999999)
        self.assertEqual(w.frames, 2)
        records = readPcap(f.getvalue())
        self.assertEqual(records[0], (1700000000.25, FRAME))
        self.assertAlmostEqual(records[1][0], 1700000002.0)
        self.assertEqual(records[1][1], (FRAME + bytes(100))[:64])
        orig = int.from_bytes(f.getvalue()[24 + 16 + 60 + 12:24 + 16 + 60 + 16], sys.byteorder)
        self.assertEqual(orig, 160)

    def test_malformed(self) -> None:
        """
        Bad magic and truncated records are refused.
        """
        f = io.BytesIO()
        PcapWriter(f).writeFrame(FRAME, 0)
        data = f.getvalue()
        self.assertRaises(MalformedPacket, readPcap, b"\0" * 24)
        self.assertRaises(MalformedPacket, readPcap, data[:-1])
        self.assertRaises(MalformedPacket, readPcap, data[:30])

    def test_scapyReads(self) -> None:
        """
        scapy (an independent reader) reads our file.
        """
        if scapy is None:
            raise self.skipTest(SKIP_REASON)
        fd, path = tempfile.mkstemp(suffix=".pcap")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            PcapWriter(f).writeFrame(FRAME, 12.5)
        packets = scapy.rdpcap(path)
        self.assertEqual(bytes(packets[0]), FRAME)
        self.assertEqual(float(packets[0].time), 12.5)

    def test_tcpdumpReads(self) -> None:
        """
        tcpdump reads our file and decodes an ARP frame.
        """
        tcpdump = shutil.which("tcpdump")
        if tcpdump is None:
            raise self.skipTest("tcpdump is not installed")
        arp = bytes.fromhex(
            "ffffffffffff5254001234560806" "0001080006040001" "525400123456" "0a00020f"
            "000000000000" "0a000202")
        fd, path = tempfile.mkstemp(suffix=".pcap")
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, "wb") as f:
            PcapWriter(f).writeFrame(arp, 1.0)
        out = subprocess.run([tcpdump, "-n", "-r", path], capture_output=True, text=True)
        self.assertIn("Request who-has 10.0.2.2 tell 10.0.2.15", out.stdout)
