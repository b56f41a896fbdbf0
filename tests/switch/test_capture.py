# -*- test-case-name: tests.switch.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for port capture (L{vdetwist.switch.capture}, C{port/capture} and
C{port/nocapture}), read back with our pcap reader and with scapy.
"""

import os
import re
import stat

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import Namespace, VdetwistSwitch, missingTools, transfer
from tests.switch.test_switch import BROADCAST, MAC1, MAC2, Recorder, frame
from tests.util import shortTempDir
from vdetwist.switch.capture import PortCapture
from vdetwist.switch.console import SwitchConsoleFactory
from vdetwist.switch.switch import Switch
from vdetwist.wire.pcap import readPcap


class CaptureTests(SynchronousTestCase):
    """
    Capturing one port of an in-memory switch.
    """

    def setUp(self) -> None:
        self.switch = Switch()
        self.hosts = [Recorder(), Recorder()]
        for host in self.hosts:
            self.switch.attach(host)
        self.path = os.path.join(shortTempDir(self), "c.pcap")
        self.clock = iter(range(1000, 2000)).__next__

    def test_bothDirections(self) -> None:
        """
        Frames into and out of the port are written in order, with the
        clock's timestamps; the file is 0600; other ports are not captured.
        """
        capture = PortCapture(self.path, clock=lambda: float(self.clock()))
        self.switch.startCapture(1, capture)
        a = frame(BROADCAST, MAC1, payload=b"a" * 46)
        b = frame(MAC1, MAC2, payload=b"b" * 46)
        self.hosts[0].transport.sendFrame(a)
        self.hosts[1].transport.sendFrame(b)
        self.assertIs(self.switch.stopCapture(1), capture)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        with open(self.path, "rb") as f:
            records = readPcap(f.read())
        self.assertEqual(records, [(1000.0, a), (1001.0, b)])
        self.assertEqual(self.hosts[1].frames, [a])
        self.assertEqual(self.hosts[0].frames, [b])
        from scapy.all import Ether, rdpcap
        packets = rdpcap(self.path)
        self.assertEqual([bytes(p) for p in packets], [a, b])
        self.assertEqual(packets[1][Ether].src, "02:00:00:00:00:02")

    def test_bound(self) -> None:
        """
        Past the size bound frames are counted, not written.
        """
        capture = PortCapture(self.path, maxBytes=24 + 2 * (16 + 60))
        self.switch.startCapture(2, capture)
        for _ in range(5):
            self.hosts[1].transport.sendFrame(frame(BROADCAST, MAC2))
        self.switch.stopCapture(2)
        self.assertEqual((capture.frames, capture.dropped), (2, 3))
        with open(self.path, "rb") as f:
            self.assertEqual(len(readPcap(f.read())), 2)

    def test_stopRestoresSend(self) -> None:
        """
        After the capture stops, frames still flow and nothing more is
        written.
        """
        capture = PortCapture(self.path)
        self.switch.startCapture(2, capture)
        self.switch.stopCapture(2)
        self.hosts[0].transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(len(self.hosts[1].frames), 1)
        self.assertEqual(capture.frames, 0)


class ConsoleCaptureTests(SynchronousTestCase):
    """
    The console commands.
    """

    def test_commands(self) -> None:
        """
        port/capture starts, port/nocapture stops and reports; errors: no
        such port (1006), out of range (1022), no capture running (1002),
        a file that cannot be created (1002), missing file name (1022).
        """
        switch = Switch()
        switch.attach(Recorder())
        session = SwitchConsoleFactory(switch).buildProtocol(None)
        directory = shortTempDir(self)
        path = os.path.join(directory, "p.pcap")
        self.assertEqual(session.runCommand("port/capture 1 " + path),
                         (0, "0000 DATA END WITH '.'\nPort 0001 capture to %s\n.\n"
                             "1000 Success\n" % (path,)))
        rv, text = session.runCommand("port/nocapture 1")
        self.assertEqual(rv, 0)
        self.assertIn("Port 0001 capture to %s: 0 frames, 0 not written" % (path,), text)
        for line, code in [("port/nocapture 1", 2), ("port/capture 5 " + path, 6),
                           ("port/capture 99 " + path, 22),
                           ("port/capture 1 /nonexistent/dir/x.pcap", 2),
                           ("port/capture 1", 22)]:
            self.assertEqual(session.runCommand(line)[0], code, line)


class LiveCaptureTests(SynchronousTestCase):
    """
    A capture started from the console while traffic flows, on
    C{twistd vdeswitch} with kernel stacks.
    """

    skip = missingTools("vde_plug2tap", "ip")

    def test_captureWhileTrafficFlows(self) -> None:
        """
        The file holds exactly the frames the console reports, every one a
        well-formed Ethernet frame scapy decodes with valid IPv4 and TCP
        checksums or ARP.
        """
        from scapy.all import ARP, IP, TCP, Ether, rdpcap
        directory = shortTempDir(self)
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        a, b = Namespace(self.addCleanup, directory), Namespace(self.addCleanup, directory)
        a.plug(switch.ctlDir, "10.79.0.1/24")
        b.plug(switch.ctlDir, "10.79.0.2/24")
        path = os.path.join(directory, "live.pcap")
        self.assertIn("1000 Success", switch.console("port/capture 1 " + path))
        sent, received = transfer(a, b, 2 * 1000 * 1000)
        self.assertEqual(sent, received)
        report = switch.console("port/nocapture 1")
        frames = int(re.search(r": (\d+) frames, 0 not written", report).group(1))
        packets = rdpcap(path)
        self.assertEqual(len(packets), frames)
        self.assertGreater(frames, 1000)
        for packet in packets:
            self.assertIn(Ether, packet)
            if IP in packet:
                checked = Ether(bytes(packet))
                checked[IP].chksum = None
                if TCP in checked:
                    checked[TCP].chksum = None
                rebuilt = Ether(bytes(checked))
                self.assertEqual(rebuilt[IP].chksum, packet[IP].chksum)
                if TCP in packet:
                    # The kernels' TCP may write a zero sum's checksum as
                    # 0xffff where scapy writes 0: the same value in one's
                    # complement (RFC 1624), and it happens about once in
                    # 65,535 segments.
                    computed = rebuilt[TCP].chksum
                    self.assertIn(packet[TCP].chksum,
                                  (computed, 0xFFFF) if computed == 0 else (computed,))
            else:
                self.assertTrue(ARP in packet or packet[Ether].type == 0x86dd, packet.summary())
