# -*- test-case-name: tests.interop.test_reattach -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Issue 10, criterion 3, as a user would see it: kill and restart
C{twistd -n vdeswitch} under a C{vdetwist cat -l -k}, a C{twistd web
--listen vde:...} and a C{twistd slirp} with forwards.  Within 10 s of the
restart each serves again, and a bulk TCP transfer (host client, slirp
forward, a virtual host running C{vdetwist cat -l}) that was running
during a 2 s outage completes intact.

Every part is a real process talking over the switch's real sockets; the
results are decided by events (bytes arriving, answers), polled with
bounded deadlines.  The 2 s outage itself is a deliberate sleep.
"""

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import List, Optional

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, VdetwistSwitch
from tests.slirp.test_interop import SlirpProcess, freePorts
from tests.util import shortTempDir

#: The bulk transfer's size: more than the socket buffers on its path hold,
#: so it is still running when the switch goes.
BULK_SIZE = 24 * 1024 * 1024
#: Seconds each part has to serve again after the switch is back.
SERVE_AGAIN = 10.0


def _twistd(*args: str) -> List[str]:
    """
    The command line of C{twistd -n ARGS} from this checkout.

    @param args: twistd's arguments after C{-n}.
    @return: the argv.
    """
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
            *args]


class _Reader(threading.Thread):
    """
    Reads a process's standard output to its end, keeping the last 64 KiB
    for searching.
    """

    def __init__(self, stream) -> None:
        threading.Thread.__init__(self, daemon=True)
        self.stream = stream
        self.tail = b""
        self.lock = threading.Lock()
        self.start()

    def run(self) -> None:
        while True:
            data = self.stream.read1(1 << 16)
            if not data:
                return
            with self.lock:
                self.tail = (self.tail + data)[-65536:]

    def contains(self, needle: bytes) -> bool:
        """
        @return: whether C{needle} is in the last 64 KiB read.
        """
        with self.lock:
            return needle in self.tail


def _waitFor(predicate, timeout: float, what: str) -> float:
    """
    Poll C{predicate} until true, or fail after C{timeout} seconds.

    @param predicate: a callable returning a true value when done.
    @param timeout: seconds.
    @param what: what is waited for, for the failure message.
    @return: the monotonic time it became true.
    @raise AssertionError: on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.05)


class ReattachTests(SynchronousTestCase):
    """
    Everything attached to a switch comes back when the switch does.
    """

    def setUp(self) -> None:
        self.directory = shortTempDir(self)
        self.switch = VdetwistSwitch(os.path.join(self.directory, "s"))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        self.env = dict(os.environ, PYTHONPATH=ROOT)
        self.catPort, self.webPort, self.bulkPort = freePorts(3)

    def _spawn(self, argv: List[str], stdin=subprocess.DEVNULL,
               stdout=subprocess.DEVNULL) -> subprocess.Popen:
        """
        Start a process from the checkout; killed at cleanup.
        """
        process = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                   stderr=subprocess.PIPE, env=self.env, cwd=self.directory)
        self.addCleanup(self._reap, process)
        return process

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        """
        Stop a process if it still runs, and wait for it.
        """
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def _cat(self, address: str, *args: str) -> subprocess.Popen:
        """
        C{vdetwist cat} on a virtual host at C{address}, output piped.
        """
        return self._spawn([sys.executable, "-m", "vdetwist", "cat", "-s", self.switch.ctlDir,
                            "--ip", address + "/24", "--gw", "192.168.77.2", *args],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _sendLine(self, line: bytes) -> bool:
        """
        One short connection through slirp's forward to the C{cat -l -k}.

        @return: whether it was sent and closed cleanly.
        """
        try:
            with socket.create_connection(("127.0.0.1", self.catPort), timeout=2) as c:
                c.sendall(line)
                c.shutdown(socket.SHUT_WR)
                c.settimeout(2)
                return c.recv(1) == b""
        except OSError:
            return False

    def _fetch(self) -> Optional[bytes]:
        """
        The web site's index through slirp's forward, or L{None}.
        """
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/index.html" % (self.webPort,),
                                        timeout=2) as answer:
                return answer.read()
        except OSError:
            return None

    def test_restart(self) -> None:
        """
        Kill the switch during a bulk transfer and start it again 2 s
        later: the C{cat -l -k}, the web server and slirp's forwards serve
        again within 10 s, and the transfer completes with every byte.
        """
        www = os.path.join(self.directory, "www")
        os.mkdir(www)
        page = b"<p>served over vde</p>\n"
        with open(os.path.join(www, "index.html"), "wb") as f:
            f.write(page)
        keeper = self._cat("192.168.77.100", "-l", "-k", "-p", "10000")
        keeperOut = _Reader(keeper.stdout)
        # The sink writes to a file: cat's standard output is nonblocking
        # (Twisted's StandardIO makes it so) and a pipe read slower than
        # the transfer fills would refuse its writes.
        sinkPath = os.path.join(self.directory, "bulk.out")
        with open(sinkPath, "wb") as sinkFile:
            sink = self._spawn([sys.executable, "-m", "vdetwist", "cat", "-s",
                                self.switch.ctlDir, "--ip", "192.168.77.102/24", "--gw",
                                "192.168.77.2", "-l", "-p", "10002"],
                               stdin=subprocess.PIPE, stdout=sinkFile)

        def received() -> int:
            return os.path.getsize(sinkPath)
        self._spawn(_twistd(
            "--pidfile=", "--logfile", os.path.join(self.directory, "web.log"), "web",
            "--listen", "vde:sock=%s:ip=192.168.77.101/24:gw=192.168.77.2:port=8080"
            % (self.switch.ctlDir,), "--path", www))
        slirp = SlirpProcess(self.directory)
        slirp.start(["-s", self.switch.ctlDir, "-n", "192.168.77.0",
                     "-L%d:192.168.77.100:10000" % (self.catPort,),
                     "-L%d:192.168.77.101:8080" % (self.webPort,),
                     "-L%d:192.168.77.102:10002" % (self.bulkPort,)])
        self.addCleanup(slirp.stop)
        # Everything serves before the outage.
        _waitFor(lambda: self._sendLine(b"before\n") and keeperOut.contains(b"before\n"),
                 20, "cat -l -k before the outage")
        _waitFor(lambda: self._fetch() == page, 20, "the web page before the outage")

        # The bulk transfer, from a host client through the forward.
        rnd = random.Random(10)
        sent = hashlib.sha256()
        outcome: List[object] = []

        def send() -> None:
            try:
                with socket.create_connection(("127.0.0.1", self.bulkPort), timeout=60) as c:
                    left = BULK_SIZE
                    while left:
                        chunk = rnd.randbytes(min(left, 1 << 16))
                        sent.update(chunk)
                        c.sendall(chunk)
                        left -= len(chunk)
                    c.shutdown(socket.SHUT_WR)
                    c.recv(1)
                outcome.append("done")
            except OSError as e:
                outcome.append(e)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        self.addCleanup(sender.join, 5)
        _waitFor(lambda: received() >= 1 << 20, 30, "the transfer's first MiB")

        # The outage: the switch is killed and comes back 2 s later.
        self.switch.stop()
        self.assertLess(received(), BULK_SIZE, "the transfer ended before the outage")
        time.sleep(2.0)
        self.switch.start()
        restarted = time.monotonic()

        _waitFor(lambda: self._sendLine(b"after\n") and keeperOut.contains(b"after\n"),
                 SERVE_AGAIN, "cat -l -k to serve again")
        _waitFor(lambda: self._fetch() == page,
                 max(0.0, SERVE_AGAIN - (time.monotonic() - restarted)),
                 "the web page to be served again")

        # The transfer that was running completes, intact.
        _waitFor(lambda: outcome, 120, "the transfer to complete")
        self.assertEqual(outcome, ["done"])
        self.assertEqual(sink.wait(30), 0)
        with open(sinkPath, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual((received(), got), (BULK_SIZE, sent.hexdigest()))
        self.assertIn("went away; reconnecting", slirp.log())
        self.assertIn("reattached to switch", slirp.log())
        self.assertIsNone(keeper.poll())
