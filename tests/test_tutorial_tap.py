# -*- test-case-name: tests.test_tutorial_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The main job: C{bash bin/run} (C{twistd vdetutorial}) brings up the seed
tutorial's network, nc reaches each virtual host through its forward, and
Ctrl-C leaves nothing behind.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import time

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.util import shortTempDir
from vdetwist.tutorial.listener import PrintingListener
from vdetwist.tutorial.tap import Options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def freeBase(count: int = 3) -> int:
    """
    A base port with C{count} free ports after it, searched from a random
    start so that test processes running side by side (trial -j) do not
    pick the same ports, below the kernel's ephemeral range (32768 up), so
    that no outgoing connection takes one before the tutorial binds it.
    """
    start = random.SystemRandom().randrange(20000, 32000 - count)
    for base in [*range(start, 32000 - count, 17), *range(20000, start, 17)]:
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("0.0.0.0", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


class OptionsTests(SynchronousTestCase):
    """
    Refusals that tell the user what to do.
    """

    def test_portTaken(self) -> None:
        """
        A taken host port is a UsageError naming it and --base-port.
        """
        base = freeBase()
        s = socket.socket()
        s.bind(("0.0.0.0", base + 1))
        s.listen(1)
        self.addCleanup(s.close)
        e = self.assertRaises(usage.UsageError, Options().parseOptions,
                              ["--base-port", str(base)])
        self.assertIn("host port %d is taken" % (base + 1,), str(e))
        self.assertIn("--base-port", str(e))

    def test_addresses(self) -> None:
        """
        Hosts at .100 up, the gateway at .2, consecutive host ports.
        """
        o = Options()
        base = freeBase(2)
        directory = shortTempDir(self)
        o.parseOptions(["-n", "10.5.6.0", "--hosts", "2", "-b", str(base),
                        "--sock", os.path.join(directory, "vde"),
                        "--mgmt", os.path.join(directory, "mgmt")])
        self.assertEqual((o["addresses"], o["gateway"], o["ports"]),
                         (["10.5.6.100", "10.5.6.101"], "10.5.6.2", [base, base + 1]))


class ListenerTests(SynchronousTestCase):
    """
    The printing listener.
    """

    def test_lines(self) -> None:
        """
        Lines are printed with the host's address; a partial last line and
        the byte count at the end; overlong lines are cut, not buffered.
        """
        from twisted.internet.testing import StringTransport
        out = []
        p = PrintingListener(out.append)
        t = StringTransport(hostAddress=_Addr("10.0.0.100", 10000),
                            peerAddress=_Addr("10.0.0.2", 4000))
        p.makeConnection(t)
        p.dataReceived(b"foo\nba")
        p.dataReceived(b"r\nbaz")
        p.dataReceived(b"x" * 5000)
        p.connectionLost(None)
        self.assertEqual(out[:3], ["[10.0.0.100] connect to [10.0.0.100] from (UNKNOWN) "
                                   "[10.0.0.2] 4000", "[10.0.0.100] foo", "[10.0.0.100] bar"])
        self.assertEqual(len(out[3]), len("[10.0.0.100] ") + 4096)
        self.assertEqual(out[-1], "[10.0.0.100]  sent 0, rcvd 5011")


class _Addr:
    def __init__(self, host, port):
        self.host, self.port = host, port


class MainJobTests(SynchronousTestCase):
    """
    bin/run, as the README says.
    """

    def test_binRun(self) -> None:
        """
        bin/run prints how to connect; nc -N to each forwarded port shows
        its text at its own host; SIGINT stops it cleanly with no
        sockets left.
        """
        if shutil.which("nc") is None:
            raise self.skipTest("nc is not installed")
        directory = shortTempDir(self)
        base = freeBase()
        sock, mgmt = os.path.join(directory, "vde"), os.path.join(directory, "mgmt")
        process = subprocess.Popen(
            ["bash", os.path.join(ROOT, "bin", "run"), "--base-port", str(base),
             "--sock", sock, "--mgmt", mgmt],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, VDETWIST_LOG=os.path.join(directory, "log")),
            start_new_session=True)
        self.addCleanup(self._kill, process)
        lines = []
        deadline = time.monotonic() + 120
        while not any("Ctrl-C stops everything" in line for line in lines):
            self.assertLess(time.monotonic(), deadline, lines)
            line = process.stdout.readline().decode()
            self.assertTrue(line, lines)
            lines.append(line)
        self.assertIn("  try      nc -N localhost %d <<< hello\n" % (base,), lines)
        for i, text in enumerate([b"hello", b"hi there", b"foo\nbar\nbuzz"]):
            subprocess.run(["nc", "-N", "localhost", str(base + i)], input=text + b"\n",
                           check=True, timeout=20)
            expect = ["[192.168.77.10%d] %s\n" % (i, t.decode()) for t in text.split(b"\n")]
            got = []
            while len(got) < len(expect) + 2:
                line = process.stdout.readline().decode()
                self.assertTrue(line, got)
                if line.strip():
                    got.append(line)
            self.assertRegex(got[0], r"^\[192\.168\.77\.10%d\] connect to \[192\.168\.77\.10%d\] "
                             r"from \(UNKNOWN\) \[192\.168\.77\.2\] \d+$" % (i, i))
            self.assertEqual(got[1:-1], expect)
        os.killpg(process.pid, signal.SIGINT)
        # twistd stops cleanly, then exits by the signal, as shells expect.
        self.assertIn(process.wait(20), (0, -signal.SIGINT))
        self.assertFalse(os.path.exists(sock))
        self.assertFalse(os.path.exists(mgmt))

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
