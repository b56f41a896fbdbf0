# -*- test-case-name: tests.scripts.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for live capture: C{port/stream} (L{vdetwist.switch.capture.StreamCapture})
and C{vdetwist capture SOCK PORT} piped to tshark, against the tutorial's
network run as a user runs it.
"""

import errno
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.observe.test_metrics import byName, samples
from tests.observe.tutorial import Tutorial, freePort, httpGet
from vdetwist.switch.capture import StreamCapture
from vdetwist.wire.pcap import readPcap

VDETWIST = os.path.join(os.path.dirname(sys.executable), "vdetwist")


def console(path: str, command: str) -> str:
    """
    Run one console command on a management socket and return the reply.
    """
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    data = b""
    try:
        while not data.endswith(b"\nvde$ "):
            data += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\nvde$ "):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data.decode()


class StreamCaptureTests(SynchronousTestCase):
    """
    The stream on a fake transport.
    """

    def test_frames(self) -> None:
        """
        A pcap header, then one record per frame, readable as pcap.
        """
        transport = StringTransport()
        stream = StreamCapture(transport, clock=lambda: 1000.5)
        stream.start()
        stream(b"\x01" * 60)
        stream(b"\x02" * 1514)
        records = readPcap(transport.value())
        self.assertEqual([(t, bytes(f)) for t, f in records],
                         [(1000.5, b"\x01" * 60), (1000.5, b"\x02" * 1514)])
        self.assertEqual(stream.frames, 2)

    def test_pausedDrops(self) -> None:
        """
        While the transport has paused it, frames are counted, not written;
        they flow again after resume.
        """
        transport = StringTransport()
        stream = StreamCapture(transport)
        stream.start()
        stream.pauseProducing()
        before = len(transport.value())
        for _ in range(1000):
            stream(b"\x00" * 1500)
        self.assertEqual((len(transport.value()), stream.dropped), (before, 1000))
        stream.resumeProducing()
        stream(b"\x00" * 60)
        self.assertEqual(stream.frames, 1)

    def test_readerGone(self) -> None:
        """
        When the connection goes, the stop callback runs once.
        """
        stopped = []
        stream = StreamCapture(StringTransport(), stopped=stopped.append)
        stream.stopProducing()
        stream.stopProducing()
        self.assertEqual(stopped, [stream])
        stream(b"\x00" * 60)
        self.assertEqual(stream.dropped, 1)


class _Receiver:
    """
    Records the frames a port sends.
    """

    def __init__(self) -> None:
        self.frames = []

    def frameReceived(self, frame: bytes) -> None:
        self.frames.append(frame)


class _Capture:
    """
    A capture recording its frames.
    """

    def __init__(self) -> None:
        self.frames = []
        self.closed = False

    def __call__(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True


def _frame(source: int, payload: bytes = b"x" * 46, tag: bytes = b"") -> bytes:
    """
    A broadcast frame from a locally administered MAC, tagged with C{tag}.
    """
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00" + bytes([source]) + tag + b"\x08\x00" + payload


class VLANCaptureTests(SynchronousTestCase):
    """
    L{Switch.startVLANCapture}: every frame admitted into a VLAN, and
    nothing on the forwarding path while no VLAN is captured.
    """

    def setUp(self) -> None:
        from vdetwist.switch.switch import Switch
        self.switch = Switch(numports=8)
        self.receivers = [_Receiver() for _ in range(3)]
        self.ports = [self.switch.attach(r, "host %d" % (i,))
                      for i, r in enumerate(self.receivers)]
        self.switch.createVLAN(20)
        self.switch.addTaggedPort(20, 3)

    def test_vlan(self) -> None:
        """
        Frames entering VLAN 0 (untagged on their port) go to VLAN 0's
        capture, frames tagged 20 on a port carrying it to VLAN 20's, each
        as it entered; frames are forwarded as before.
        """
        zero, twenty = _Capture(), _Capture()
        self.switch.startVLANCapture(0, zero)
        self.switch.startVLANCapture(20, twenty)
        untagged = _frame(1)
        tagged = _frame(3, tag=b"\x81\x00\x00\x14")
        self.ports[0].sendFrame(untagged)
        self.ports[2].sendFrame(tagged)
        # Tagged with a VLAN its port does not carry: dropped, not captured.
        self.ports[1].sendFrame(_frame(2, tag=b"\x81\x00\x00\x15"))
        self.assertEqual((zero.frames, twenty.frames), ([untagged], [tagged]))
        self.assertEqual(self.receivers[1].frames, [untagged])
        self.assertEqual(self.switch.vlanDrops, 1)

    def test_noCostWhenOff(self) -> None:
        """
        The capturing path is on the instance only while a VLAN is
        captured; in-process attachments are given the path in force; the
        capture is closed when stopped.
        """
        from vdetwist.switch.switch import Switch
        self.assertNotIn("frameFromPort", self.switch.__dict__)
        capture = _Capture()
        self.switch.startVLANCapture(0, capture)
        self.assertIn("frameFromPort", self.switch.__dict__)
        self.assertIs(self.ports[0]._forward, self.switch.frameFromPort)
        self.assertIs(self.switch.stopVLANCapture(0), capture)
        self.assertTrue(capture.closed)
        self.assertNotIn("frameFromPort", self.switch.__dict__)
        self.assertEqual(self.ports[0]._forward, self.switch.frameFromPort)
        self.assertEqual(self.switch.frameFromPort.__func__, Switch.frameFromPort)
        self.assertIsNone(self.switch.stopVLANCapture(0))
        self.ports[0].sendFrame(_frame(1))
        self.assertEqual(capture.frames, [])

    def test_withFSTP(self) -> None:
        """
        FSTP turned on or off while a VLAN is captured keeps the capture;
        stopping the capture leaves FSTP's path in force.
        """
        capture = _Capture()
        self.switch.startVLANCapture(0, capture)
        self.switch.setFSTP(True)
        self.ports[0].sendFrame(_frame(1))
        self.assertEqual(len(capture.frames), 1)
        self.switch.stopVLANCapture(0)
        self.assertEqual(self.switch.frameFromPort, self.switch._frameFromPortFSTP)
        self.switch.startVLANCapture(0, capture)
        self.switch.setFSTP(False)
        self.ports[0].sendFrame(_frame(1))
        self.assertEqual(len(capture.frames), 2)

    def test_unknownVLAN(self) -> None:
        """
        A VLAN that does not exist cannot be captured.
        """
        from vdetwist.switch.switch import SwitchError
        e = self.assertRaises(SwitchError, self.switch.startVLANCapture, 30, _Capture())
        self.assertEqual(e.errno, errno.ENXIO)


class TargetTests(SynchronousTestCase):
    """
    C{vdetwist capture}'s PORT argument, and C{cable:ID} resolved through
    C{cable/print} on a scripted console.
    """

    def test_parse(self) -> None:
        """
        C{N}, C{port:N}, C{vlan:N}, C{cable:ID}; anything else is a usage
        error.
        """
        from twisted.python import usage

        from vdetwist.scripts.capture import parseTarget
        self.assertEqual([parseTarget(t) for t in ("3", "port:4", "vlan:20", "cable:1")],
                         [("port", 3), ("port", 4), ("vlan", 20), ("cable", 1)])
        for bad in ("x", "vlan:", "vlan:x", "hub:1", "-1"):
            self.assertRaises(usage.UsageError, parseTarget, bad)

    def scriptedConsole(self, replies: dict) -> tuple:
        """
        A console on a Unix socket that answers each command line from
        C{replies} (C{command: (lines, result)}), then streams C{b"PCAP"}
        after a C{*/stream} reply.

        @return: the socket path and the list of commands it got.
        """
        path = os.path.join(self.mktemp() + ".sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        self.addCleanup(server.close)
        got = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"VDE switch V.2.3.3\n\nvde$ ")
                data = b""
                while True:
                    while b"\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                    line, data = data.split(b"\n", 1)
                    command = line.decode()
                    got.append(command)
                    lines, result = replies.get(command, ([], "1022 Invalid argument"))
                    text = ""
                    if lines:
                        text = "0000 DATA END WITH '.'\n" + "".join(
                            l + "\n" for l in lines) + ".\n"
                    conn.sendall((text + result + "\n\nvde$ ").encode())
                    if command.split()[0].endswith("/stream") and result.startswith("1000"):
                        conn.sendall(b"PCAP")
                        return
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        return path, got

    def test_cable(self) -> None:
        """
        C{cable:ID} asks C{cable/print ID} and streams the port of the
        cable's connection.
        """
        from vdetwist.scripts.capture import startStream
        path, got = self.scriptedConsole({
            "cable/print 2": (["Cable 0002 dial     up unix:/tmp/x",
                               " peer unix:/tmp/x port 0005",
                               " IN:  pkts          1          bytes                   60",
                               " OUT: pkts          1          bytes                   60 "
                               "drops 0"], "1000 Success"),
            "port/stream 5": ([], "1000 Success")})
        sock, first = startStream(path, 2, "cable")
        # The stream's first bytes may come with the reply or after it.
        stream = first
        sock.settimeout(10)
        while len(stream) < 4:
            chunk = sock.recv(4096)
            if not chunk:
                break
            stream += chunk
        sock.close()
        self.assertEqual((got, stream), (["cable/print 2", "port/stream 5"], b"PCAP"))

    def test_cableNotConnected(self) -> None:
        """
        A cable without a connected port: a clear error, no stream asked.
        """
        from vdetwist.scripts.capture import CaptureError, startStream
        path, got = self.scriptedConsole({
            "cable/print 1": (["Cable 0001 dial     connecting unix:/tmp/x",
                               " last error: refused"], "1000 Success")})
        e = self.assertRaises(CaptureError, startStream, path, 1, "cable")
        self.assertIn("cable 1 is not connected", str(e))
        self.assertEqual(got, ["cable/print 1"])

    def test_vlan(self) -> None:
        """
        C{vlan:N} asks C{vlan/stream N}; a refusal is the switch's reason.
        """
        from vdetwist.scripts.capture import CaptureError, startStream
        path, got = self.scriptedConsole({"vlan/stream 20": ([], "1006 No such device")})
        e = self.assertRaises(CaptureError, startStream, path, 20, "vlan")
        self.assertIn("No such device (vlan/stream 20)", str(e))


class CaptureCommandTests(SynchronousTestCase):
    """
    C{vdetwist capture} against C{twistd vdetutorial}.
    """

    def setUp(self) -> None:
        self.metricsPort = freePort()
        self.tutorial = Tutorial(self, ["--metrics", "tcp:%d:interface=127.0.0.1"
                                        % (self.metricsPort,)])

    def metrics(self) -> dict:
        status, body = httpGet("http://127.0.0.1:%d/metrics" % (self.metricsPort,))
        self.assertEqual(status, 200)
        return samples(body.decode())

    def hostSegments(self, parsed: dict) -> float:
        host = "192.168.77.100"
        return (byName(parsed, "vdetwist_host_tcp_received_segments_total", host=host)[0][1]
                + byName(parsed, "vdetwist_host_tcp_sent_segments_total", host=host)[0][1])

    def waitFor(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            self.assertLess(time.monotonic(), deadline, what)
            time.sleep(0.05)

    def capturing(self, port: int) -> bool:
        rows = byName(self.metrics(), "vdetwist_port_capturing", port=str(port))
        return bool(rows and rows[0][1] == 1)

    def transfer(self, size: int) -> None:
        """
        Send C{size} bytes through the first forward (to 192.168.77.100)
        and wait until the forward relayed them all and the connection
        ended.
        """
        before = self.forwardBytes()
        s = socket.create_connection(("127.0.0.1", self.tutorial.base), timeout=60)
        self.addCleanup(s.close)
        block = b"z" * 65536
        sent = 0
        while sent < size:
            chunk = block[:size - sent]
            s.sendall(chunk)
            sent += len(chunk)
        s.shutdown(socket.SHUT_WR)
        self.waitFor(lambda: self.forwardBytes() - before >= size, "the transfer")
        self.waitFor(lambda: byName(self.metrics(), "vdetwist_slirp_forward_active_connections",
                                    host_port=str(self.tutorial.base))[0][1] == 0,
                     "the connection's end")

    def forwardBytes(self) -> float:
        return byName(self.metrics(), "vdetwist_slirp_forward_bytes_total",
                      host_port=str(self.tutorial.base), direction="to_guest")[0][1]

    def test_tshark(self) -> None:
        """
        During a 5 MB transfer, C{vdetwist capture MGMT 2 | tshark -r -}
        reads every TCP segment the host on port 2 sent and received, and
        no malformed packet.
        """
        if shutil.which("tshark") is None:
            raise self.skipTest("tshark is not installed (apt-get install tshark)")
        capture = subprocess.Popen([VDETWIST, "capture", self.tutorial.mgmt, "2"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, capture)
        tshark = subprocess.Popen(["tshark", "-l", "-r", "-", "-T", "fields",
                                   "-e", "frame.protocols"],
                                  stdin=capture.stdout, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        capture.stdout.close()
        self.addCleanup(self.reap, tshark)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(tshark.stdout.readline, b"")))
        reader.start()
        self.waitFor(lambda: self.capturing(2), "the capture's start")
        before = self.hostSegments(self.metrics())
        # tshark takes a while to start reading: a small transfer first,
        # until it has printed a packet.
        self.transfer(1000)
        self.waitFor(lambda: lines, "tshark's first packet")
        self.transfer(5 * 1000 * 1000)
        segments = self.hostSegments(self.metrics()) - before
        reply = console(self.tutorial.mgmt, "port/nocapture 2")
        self.assertIn("1000 Success", reply)
        self.assertRegex(reply, r"Port 0002 capture to \(live stream\): \d+ frames, 0 not written")
        self.assertEqual(tshark.wait(120), 0, tshark.stderr.read())
        reader.join(30)
        self.assertEqual(capture.wait(30), 0, capture.stderr.read())
        protocols = [line.decode().strip() for line in lines]
        tcp = [p for p in protocols if ":tcp" in p]
        self.assertEqual([p for p in protocols if "malformed" in p], [])
        self.assertGreater(segments, 3400)
        self.assertEqual(len(tcp), segments)

    def test_stalledReader(self) -> None:
        """
        A reader that does not read loses frames (counted) while the
        switch's memory stays flat during a 20 MB transfer; killing it
        ends the capture.
        """
        if platform.python_implementation() == "PyPy":
            raise SkipTest("PyPy's JIT and collector grow its RSS by some 20 MB under "
                           "the first load on their own; the bound is checked on CPython")
        capture = subprocess.Popen([VDETWIST, "capture", self.tutorial.mgmt, "2"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, capture)
        self.waitFor(lambda: self.capturing(2), "the capture's start")
        self.transfer(2 * 1000 * 1000)
        rss = self.tutorial.rss()
        self.transfer(20 * 1000 * 1000)
        growth = self.tutorial.rss() - rss
        # 20 MB went by while nobody read: a capture that kept the frames
        # would grow by that much.
        self.assertLess(growth, 8 * 1024, "RSS grew by %d kB" % (growth,))
        rows = byName(self.metrics(), "vdetwist_port_capture_dropped_frames", port="2")
        self.assertGreater(rows[0][1], 1000)
        capture.kill()
        capture.wait()
        # The switch notices when it next writes to the stream.
        self.transfer(100000)
        self.waitFor(lambda: not self.capturing(2), "the capture's end")

    def test_vlan(self) -> None:
        """
        C{vdetwist capture MGMT vlan:0} streams every frame entering VLAN
        0 during a transfer: each TCP segment of the host on port 2 once;
        C{vlan/nocapture 0} ends it and says how many frames it sent,
        which is what the stream holds.
        """
        path = self.mktemp()
        with open(path, "wb") as out:
            capture = subprocess.Popen([VDETWIST, "capture", self.tutorial.mgmt, "vlan:0"],
                                       stdout=out, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, capture)
        self.waitFor(lambda: byName(self.metrics(), "vdetwist_vlan_capturing",
                                    vlan="0")[0][1] == 1, "the capture's start")
        before = self.hostSegments(self.metrics())
        self.transfer(200000)
        segments = self.hostSegments(self.metrics()) - before
        reply = console(self.tutorial.mgmt, "vlan/nocapture 0")
        self.assertIn("1000 Success", reply)
        match = re.search(r"VLAN 0000 capture to \(live stream\): (\d+) frames, 0 not written",
                          reply)
        self.assertIsNotNone(match, reply)
        self.assertEqual(capture.wait(30), 0, capture.stderr.read())
        with open(path, "rb") as f:
            records = readPcap(f.read())
        self.assertEqual(len(records), int(match.group(1)))
        host = bytes([192, 168, 77, 100])
        tcp = [f for _, f in records
               if bytes(f[12:14]) == b"\x08\x00" and f[23] == 6
               and host in (bytes(f[26:30]), bytes(f[30:34]))]
        self.assertGreater(segments, 100)
        self.assertGreaterEqual(len(tcp), segments)

    def test_refused(self) -> None:
        """
        A port that does not exist: the switch's reason, exit status 1.
        """
        result = subprocess.run([VDETWIST, "capture", self.tutorial.mgmt, "30"],
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"No such device or address", result.stderr)
        self.assertEqual(result.stdout, b"")
        result = subprocess.run([VDETWIST, "capture", self.tutorial.mgmt + ".nope", "2"],
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 1)

    @staticmethod
    def reap(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
