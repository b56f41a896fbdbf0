# -*- test-case-name: tests.scripts.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for live capture: C{port/stream} (L{vdetwist.switch.capture.StreamCapture})
and C{vdetwist capture SOCK PORT} piped to tshark, against the tutorial's
network run as a user runs it.
"""

import os
import platform
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
