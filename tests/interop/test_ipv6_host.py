# -*- test-case-name: tests.interop.test_ipv6_host -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A dual-stack virtual host against a Linux kernel over IPv6, as a user
runs them: a namespace joined by C{vde_plug2tap} to C{twistd -n
vdeswitch} with fd00:77::1/64, and C{vdetwist cat -s SW --ip6
fd00:77::100/64 -l -p 10000}: ping6, 20 MB each way, 5 MB each way
through Debian's wirefilter (5 % loss, 2 % duplication, 20 ms delay), and
C{twistd web --listen "vde:...:ip6=..."} fetched by C{curl -6}.
"""

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from typing import Optional

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, Namespace, VdetwistSwitch, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

SKIP = missingTools("vde_plug2tap", "ip")
PING = ["ping"] if shutil.which("ping") else ["busybox", "ping"] if shutil.which(
    "busybox") else None
MB = 1000 * 1000
US = "fd00:77::100"
KERNEL = "fd00:77::1/64"
#: The MAC of every C{vdetwist cat} here: one listener follows another on
#: the same address, and the kernel's neighbor entry stays right.
MAC = "02:00:00:77:01:00"

#: Kernel side: send SIZE pseudo-random bytes to [HOST]:PORT, half-close,
#: wait for the close, print "size sha256".
SOURCE = r"""
import hashlib, random, socket, sys
size = int(sys.argv[3]); rnd = random.Random(size); h = hashlib.sha256()
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
left = size
while left:
    chunk = rnd.randbytes(min(left, 1 << 16)); h.update(chunk); c.sendall(chunk); left -= len(chunk)
c.shutdown(socket.SHUT_WR)
while c.recv(1 << 16):
    pass
c.close()
print(size, h.hexdigest(), flush=True)
"""

#: Kernel side: connect to [HOST]:PORT and read to the end, print
#: "size sha256".
DRAIN = r"""
import hashlib, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 16)
    if not d: break
    h.update(d); n += len(d)
c.close()
print(n, h.hexdigest(), flush=True)
"""


def randomFile(path: str, size: int) -> str:
    """
    Write C{size} pseudo-random bytes to C{path}.

    @return: C{"size sha256"}.
    """
    rnd, h, left = random.Random(size), hashlib.sha256(), size
    with open(path, "wb") as f:
        while left:
            chunk = rnd.randbytes(min(left, 1 << 16))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return "%d %s" % (size, h.hexdigest())


def fileDigest(path: str) -> str:
    """
    @return: C{"size sha256"} of a file.
    """
    with open(path, "rb") as f:
        data = f.read()
    return "%d %s" % (len(data), hashlib.sha256(data).hexdigest())


class IPv6HostMixin:
    """
    Helpers: a kernel namespace with an IPv6 address and C{vdetwist cat}
    processes on a switch.
    """

    def kernelOn(self, switchDir: str, directory: str) -> Namespace:
        """
        Plug a namespace with fd00:77::1/64 into a switch and wait for its
        DAD.

        @return: the namespace.
        """
        kernel = Namespace(self.addCleanup, directory)  # type: ignore[attr-defined]
        kernel.plug(switchDir, KERNEL)
        deadline = time.monotonic() + 10
        while kernel.exec("ip", "-6", "addr", "show", "tentative").stdout.strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel's DAD did not finish")
            time.sleep(0.05)
        return kernel

    def cat(self, switchDir: str, port: int, stdin: Optional[str] = None,
            stdout: Optional[str] = None, *extra: str) -> subprocess.Popen:
        """
        Start C{vdetwist cat -v -s SW --ip6 fd00:77::100/64 -l -p PORT} and
        wait until it listens (after its DAD).

        @param switchDir: the switch.
        @param port: the port.
        @param stdin: a file for its standard input (else nothing).
        @param stdout: a file for its standard output (else discarded).
        @return: the process.
        """
        inFile = open(stdin, "rb") if stdin else subprocess.DEVNULL
        outFile = open(stdout, "wb") if stdout else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "vdetwist", "cat", "-v", "-s", switchDir,
             "--ip6", US + "/64", "--mac", MAC, *extra, "-l", "-p", str(port)],
            stdin=inFile, stdout=outFile, stderr=subprocess.PIPE,
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
        for f in (inFile, outFile):
            if f is not subprocess.DEVNULL:
                f.close()

        def reap() -> None:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stderr.close()
        self.addCleanup(reap)  # type: ignore[attr-defined]
        line = process.stderr.readline()
        if b"listening on" not in line:
            raise RuntimeError("vdetwist cat did not listen: %r" % (line,))
        return process

    def bothWays(self, switchDir: str, kernel: Namespace, directory: str, size: int,
                 timeout: float) -> None:
        """
        C{size} bytes from the kernel to C{vdetwist cat} and back, intact.
        """
        received = os.path.join(directory, "received")
        cat = self.cat(switchDir, 10000, stdout=received)
        sent = kernel.exec(sys.executable, "-c", SOURCE, US, "10000", str(size),
                           timeout=timeout).stdout.decode().strip()
        self.assertEqual(cat.wait(timeout), 0)  # type: ignore[attr-defined]
        self.assertEqual(fileDigest(received), sent)  # type: ignore[attr-defined]
        source = os.path.join(directory, "source")
        expected = randomFile(source, size)
        cat = self.cat(switchDir, 10001, source, None, "-N")
        drained = kernel.exec(sys.executable, "-c", DRAIN, US, "10001",
                              timeout=timeout).stdout.decode().strip()
        self.assertEqual(drained, expected)  # type: ignore[attr-defined]
        self.assertEqual(cat.wait(timeout), 0)  # type: ignore[attr-defined]


class KernelIPv6Tests(IPv6HostMixin, SynchronousTestCase):
    """
    C{vdetwist cat} over IPv6 with a kernel on C{twistd -n vdeswitch}.
    """

    skip = SKIP

    def setUp(self) -> None:
        """
        Our switch and a kernel namespace on it.
        """
        self.directory = shortTempDir(self)
        self.switch = VdetwistSwitch(os.path.join(self.directory, "s"))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        self.kernel = self.kernelOn(self.switch.ctlDir, self.directory)

    def test_ping6(self) -> None:
        """
        The kernel's C{ping -6} to the virtual host is answered.
        """
        if PING is None:
            raise self.skipTest("neither ping nor busybox is installed")
        self.cat(self.switch.ctlDir, 10000)
        result = self.kernel.exec(*PING, "-6", "-c", "3", "-W", "3", US, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, rb"\b3 (packets )?received")

    def test_bulkBothWays(self) -> None:
        """
        20 MB from the kernel to C{vdetwist cat} and 20 MB back over IPv6,
        intact.
        """
        self.bothWays(self.switch.ctlDir, self.kernel, self.directory, 20 * MB, 240)


class LossyIPv6Tests(IPv6HostMixin, SynchronousTestCase):
    """
    Through Debian's wirefilter with 5 % loss, 2 % duplication and 20 ms
    delay: Debian's vde_switch on the kernel's side, ours on the virtual
    host's.
    """

    skip = SKIP or SKIP_REASON or missingTools("wirefilter", "vde_switch")

    def test_lossyBothWays(self) -> None:
        """
        5 MB each way over IPv6, intact.
        """
        directory = shortTempDir(self)
        near = RealVDESwitch(os.path.join(directory, "a"))
        near.start()
        self.addCleanup(near.stop)
        far = VdetwistSwitch(os.path.join(directory, "b"))
        far.start()
        self.addCleanup(far.stop)
        pidfile = os.path.join(directory, "wf.pid")
        subprocess.run(["wirefilter", "-v", "%s:%s" % (near.ctlDir, far.ctlDir),
                        "-l", "5", "-D", "2", "-d", "20", "--daemon", "--pidfile", pidfile],
                       check=True, stdin=subprocess.DEVNULL, timeout=10)
        self.addCleanup(_killPidfile, pidfile)
        kernel = self.kernelOn(near.ctlDir, directory)
        self.bothWays(far.ctlDir, kernel, directory, 5 * MB, 300)


class TwistdWebIPv6Tests(SynchronousTestCase):
    """
    C{twistd web --listen "vde:...:ip6=..."} fetched by C{curl -6}.
    """

    skip = SKIP or missingTools("curl")

    def test_curl6(self) -> None:
        """
        curl in a kernel namespace fetches over IPv6 a page that C{twistd
        -n web --listen "vde:sock=...:ip6=fd00\\:77\\:\\:50/64:port=8080"}
        serves on our switch.
        """
        directory = shortTempDir(self)
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        site = os.path.join(directory, "site")
        os.mkdir(site)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("hello over IPv6 from twistd web on a virtual host\n")
        web = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
             "--pidfile=", "web", "--listen",
             "vde:sock=%s:ip6=fd00\\:77\\:\\:50/64:port=8080" % (switch.ctlDir,),
             "--path", site],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=directory, env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(lambda: (web.kill(), web.wait()))
        kernel = Namespace(self.addCleanup, directory)
        kernel.plug(switch.ctlDir, KERNEL)
        page = b""
        for _ in range(100):
            page = kernel.exec("curl", "-6", "-s", "-m", "5", "http://[fd00:77::50]:8080/",
                               check=False).stdout
            if page:
                break
            time.sleep(0.2)
        self.assertEqual(page, b"hello over IPv6 from twistd web on a virtual host\n")


def _killPidfile(pidfile: str) -> None:
    """
    Kill the process named by a pid file.
    """
    try:
        with open(pidfile) as f:
            os.kill(int(f.read().strip()), 9)
    except (OSError, ValueError):
        pass
