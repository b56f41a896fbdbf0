# -*- test-case-name: tests.interop.test_dhcp_client -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist cat --dhcp} as a user runs it, behind Debian's C{slirpvde -D}
on Debian's C{vde_switch}, and behind vdetwist's C{twistd -n slirp -D} on
vdetwist's switch and on Debian's: the cat reports the lease slirp gives
(address, router, DNS), listens on the leased address, and a host client
reaches it through a slirp port forward (C{-L}).

These need Debian's vde tools (C{vde_switch}, C{slirpvde}) and skip with
the reason otherwise.  Traffic stays on loopback and the test's switch.
"""

import os
import select
import socket
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, VdetwistSwitch, missingTools
from tests.slirp.test_interop import SlirpProcess, freePorts
from tests.util import shortTempDir
from tests.vde.realswitch import RealVDESwitch

LEASE = "vdetwist cat: DHCP: 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3"


class _Lines:
    """
    Read a child's stream line by line, waiting on it with C{select} up
    to a deadline (never a fixed sleep).
    """

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buffer = b""
        self.seen = b""

    def readline(self, timeout: float) -> str:
        """
        The next line, without its newline.

        @raise AssertionError: none came in C{timeout} seconds, or the
            stream ended.
        """
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError("no line within %g s; so far: %r" % (timeout, self.seen))
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise AssertionError("the stream ended; so far: %r" % (self.seen,))
            self.buffer += chunk
            self.seen += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")


class DHCPCatMixin:
    """
    The behaviour, written once; subclasses start a switch and a slirp
    with DHCP on it and a TCP forward from a host port to 10.0.2.15.
    """

    def startSwitchAndSlirp(self, directory: str, hostPort: int, guestPort: int) -> str:
        """
        Start the switch and slirp (stopped at cleanup).

        @return: the switch's directory for C{-s}.
        """
        raise NotImplementedError()

    def cat(self, *args: str) -> subprocess.Popen:
        """
        Start C{vdetwist cat ARGS}; killed at cleanup.
        """
        process = subprocess.Popen(
            [sys.executable, "-m", "vdetwist", "cat", *args], cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, process)
        return process

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        """
        Kill a process if it still runs, and wait for it.
        """
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def test_leaseAndForward(self) -> None:
        """
        C{vdetwist cat --dhcp -v -l -p PORT} prints slirp's lease (the
        first pool address, slirp as router and its DNS address), listens,
        and a host client's bytes reach it through slirp's forward to the
        leased address; the cat then exits 0 with them on its output.
        """
        directory = shortTempDir(self)
        hostPort, guestPort = freePorts(1)[0], 10000
        switch = self.startSwitchAndSlirp(directory, hostPort, guestPort)
        cat = self.cat("-s", switch, "--dhcp", "--dhcp-wait", "30", "-v", "-l", "-p",
                       str(guestPort))
        err = _Lines(cat.stderr)
        self.assertEqual(err.readline(40), LEASE)
        self.assertEqual(err.readline(10), "listening on [any] %d ..." % (guestPort,))
        client = socket.create_connection(("127.0.0.1", hostPort), timeout=15)
        try:
            client.sendall(b"through the lease\n")
            client.shutdown(socket.SHUT_WR)
            self.assertEqual(client.recv(100), b"")
        finally:
            client.close()
        self.assertRegex(err.readline(10),
                         r"^connect to \[10\.0\.2\.15\] from \(UNKNOWN\) \[10\.0\.2\.2\] \d+$")
        out, rest = cat.communicate(timeout=15)
        self.assertEqual((cat.returncode, out), (0, b"through the lease\n"), rest)


class DebianSlirpvdeTests(DHCPCatMixin, SynchronousTestCase):
    """
    Behind Debian's C{slirpvde -D} on Debian's C{vde_switch}.
    """

    skip = missingTools("vde_switch", "slirpvde")

    def startSwitchAndSlirp(self, directory: str, hostPort: int, guestPort: int) -> str:
        """
        C{vde_switch -d} and C{slirpvde -D -q -s SW -L ...} in the
        foreground.
        """
        switch = RealVDESwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        slirp = subprocess.Popen(
            ["slirpvde", "-D", "-q", "-s", switch.ctlDir,
             "-L", "%d:10.0.2.15:%d" % (hostPort, guestPort)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, slirp)
        return switch.ctlDir


class OurSlirpTests(DHCPCatMixin, SynchronousTestCase):
    """
    Behind C{twistd -n slirp -s SW -D} on vdetwist's switch.
    """

    switchClass = VdetwistSwitch

    def startSwitchAndSlirp(self, directory: str, hostPort: int, guestPort: int) -> str:
        """
        The switch, and C{twistd -n slirp -D -L ...}.
        """
        switch = self.switchClass(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        slirp = SlirpProcess(directory)
        slirp.start(["-s", switch.ctlDir, "-D", "-L",
                     "%d:10.0.2.15:%d" % (hostPort, guestPort)])
        self.addCleanup(slirp.stop)
        self.assertIn("dhcp_start  =10.0.2.15", slirp.output())
        return switch.ctlDir


class OurSlirpOnDebianSwitchTests(OurSlirpTests):
    """
    Behind C{twistd -n slirp -D} on Debian's C{vde_switch}.
    """

    skip = missingTools("vde_switch")
    switchClass = RealVDESwitch

