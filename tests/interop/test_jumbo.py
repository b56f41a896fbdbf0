# -*- test-case-name: tests.interop.test_jumbo -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Jumbo frames between vdetwist's parts, with real processes: two
C{vdetwist cat} virtual hosts given no C{--mtu} exchange bulk data in
9000-byte frames through vdetwist's switch started with C{--mtu 9000},
and in 1500-byte frames through Debian's vde_switch (which truncates
anything longer); C{vdetwist ns} gives its tap the switch's MTU the same
way (that part needs root and C{ip}).
"""

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from typing import List

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.interop.netns import ROOT, VdetwistSwitch, startProcess
from tests.interop.test_ns import freePorts
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

ENV = dict(os.environ, PYTHONPATH=ROOT)
VDETWIST = [sys.executable, "-m", "vdetwist"]
#: The bulk data sent: 2 MB that compress badly.
DATA = b"".join(hashlib.sha256(b"%d" % (i,)).digest() for i in range(65536))


def frameLengths(path: str) -> List[int]:
    """
    The lengths of the frames in a pcap file (the classic format, as
    L{vdetwist.wire.pcap} writes it).

    @param path: the file.
    @return: each frame's captured length, in order.
    """
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    order = "<" if magic == b"\xd4\xc3\xb2\xa1" else ">"
    offset, lengths = 24, []
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack_from(order + "IIII", data, offset)
        lengths.append(captured)
        offset += 16 + captured
    return lengths


class _JumboMixin:
    """
    The same parts on one switch; subclasses say which switch and what
    frames they expect.

    @cvar largest: the longest frame expected (an Ethernet header and the
        MTU the parts default to).
    """

    largest: int

    def startSwitch(self, directory: str):
        """
        Start the switch.
        """
        raise NotImplementedError()

    def setUp(self) -> None:
        """
        Start the switch.
        """
        self.dir = shortTempDir(self)
        self.switch = self.startSwitch(self.dir)
        self.addCleanup(self.switch.stop)

    def start(self, *argv: str, **kwargs) -> subprocess.Popen:
        """
        Start a process with our PYTHONPATH; killed at cleanup.
        """
        kwargs.setdefault("cwd", ROOT)
        return startProcess(self.addCleanup, argv, ENV, **kwargs)

    def test_bulkTCP(self) -> None:
        """
        2 MB from one C{vdetwist cat} to another (neither given C{--mtu})
        arrive intact, in frames as long as the switch path allows: the
        listener's capture shows data frames of exactly L{largest} bytes and
        none longer.
        """
        listener, output, pcap = self.listen("received")
        client = self.start(*VDETWIST, "cat", "-s", self.switch.ctlDir,
                            "--ip", "192.168.78.2/24", "-N", "-w", "20", "192.168.78.1",
                            "10000", stdin=subprocess.PIPE)
        out, err = client.communicate(DATA, timeout=120)
        self.assertEqual(client.returncode, 0, err)
        self.assertReceived(listener, output, pcap)

    def listen(self, name: str):
        """
        Start C{vdetwist cat -l} (no C{--mtu}) at 192.168.78.1 port 10000,
        its output to a file, its frames captured.

        @param name: names the files.
        @return: the process, the output file, and the capture's path.
        """
        pcap = os.path.join(self.dir, name + ".pcap")
        output = open(os.path.join(self.dir, name), "w+b")
        self.addCleanup(output.close)
        listener = self.start(*VDETWIST, "cat", "-s", self.switch.ctlDir,
                              "--ip", "192.168.78.1/24", "--pcap", pcap, "-v", "-l", "-p",
                              "10000", stdout=output)
        self.assertEqual(listener.stderr.readline(), b"listening on [any] 10000 ...\n")
        return listener, output, pcap

    def assertReceived(self, listener: subprocess.Popen, output, pcap: str) -> None:
        """
        The listener ends well, having received L{DATA} in frames of at
        most L{largest} bytes, most of it in frames of exactly that.
        """
        _, err = listener.communicate(timeout=60)
        self.assertEqual(listener.returncode, 0, err)
        output.seek(0)
        received = output.read()
        self.assertEqual(hashlib.sha256(received).hexdigest(),
                         hashlib.sha256(DATA).hexdigest())
        lengths = frameLengths(pcap)
        self.assertEqual(max(lengths), self.largest)
        self.assertGreater(lengths.count(self.largest) * (self.largest - 54), len(DATA) // 2)

    def test_slirpForward(self) -> None:
        """
        2 MB from a host socket through C{twistd slirp}'s port forward
        (neither slirp nor the listener given C{--mtu}) reach the virtual
        host in frames as long as the switch path allows.
        """
        listener, output, pcap = self.listen("forwarded")
        [port] = freePorts(1)
        self.start(sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                   "-n", "--pidfile", os.path.join(self.dir, "slirp.pid"),
                   "--logfile", os.path.join(self.dir, "slirp.log"), "slirp",
                   "-s", self.switch.ctlDir, "-n", "192.168.78.0", "--no-ipv6",
                   "-L", "%d:192.168.78.1:10000" % (port,))
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with sock:
            sock.sendall(DATA)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        self.assertReceived(listener, output, pcap)

    def test_namespaceTap(self) -> None:
        """
        C{vdetwist ns} without C{--mtu} gives its interface the switch's
        MTU.
        """
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise SkipTest("vdetwist ns needs root and ip")
        view = self.start(*VDETWIST, "ns", "-s", self.switch.ctlDir, "--",
                          "ip", "-o", "link", "show", "vd0")
        out, err = view.communicate(timeout=60)
        self.assertEqual(view.returncode, 0, err)
        self.assertIn(b" mtu %d " % (self.largest - 14,), out)


class VdetwistSwitchJumboTests(_JumboMixin, SynchronousTestCase):
    """
    vdetwist's switch started with C{--mtu 9000}: the parts default to
    9000-byte frames.
    """

    largest = 9014

    def startSwitch(self, directory: str) -> VdetwistSwitch:
        """
        C{twistd -n vdeswitch --mtu 9000}.
        """
        switch = VdetwistSwitch(directory)
        switch.start(["--mtu", "9000"])
        return switch


class VdetwistSwitchDefaultTests(_JumboMixin, SynchronousTestCase):
    """
    vdetwist's switch without C{--mtu}: the parts stay at 1500.
    """

    largest = 1514

    def startSwitch(self, directory: str) -> VdetwistSwitch:
        """
        C{twistd -n vdeswitch}.
        """
        switch = VdetwistSwitch(directory)
        switch.start()
        return switch


class DebianSwitchTests(_JumboMixin, SynchronousTestCase):
    """
    Debian's vde_switch: the parts stay at 1500, so nothing is truncated.
    """

    skip = SKIP_REASON
    largest = 1514

    def startSwitch(self, directory: str) -> RealVDESwitch:
        """
        C{vde_switch -d}.
        """
        switch = RealVDESwitch(directory)
        switch.start()
        return switch
