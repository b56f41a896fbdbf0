# -*- test-case-name: tests.interop.test_stack_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's user-space stack against a Linux kernel stack: a namespace
joined by vde_plug2tap and a virtual host (L{tests.interop.vhost}, its own
process) on the same switch, Debian's vde_switch and ours.
"""

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, Namespace, VdetwistSwitch, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")
MB = 1000 * 1000
VHOST = "10.78.0.100"

SEND = r"""
import hashlib, random, socket, sys
size = int(sys.argv[2]); rnd = random.Random(size); h = hashlib.sha256()
c = socket.create_connection((sys.argv[1], 5001), timeout=60)
left = size
while left:
    chunk = rnd.randbytes(min(left, 1 << 16)); h.update(chunk); c.sendall(chunk); left -= len(chunk)
c.shutdown(socket.SHUT_WR)
answer = b""
while True:
    d = c.recv(100)
    if not d: break
    answer += d
print("%d %s" % (size, h.hexdigest())); print(answer.decode().strip())
"""

RECEIVE = r"""
import hashlib, socket, sys
c = socket.create_connection((sys.argv[1], 5002), timeout=60)
c.sendall(sys.argv[2].encode() + b"\n"); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 16)
    if not d: break
    h.update(d); n += len(d)
print("%d %s" % (n, h.hexdigest()))
"""

SEQUENTIAL = r"""
import socket, sys
ok = 0
for i in range(int(sys.argv[2])):
    c = socket.create_connection((sys.argv[1], 5003), timeout=10)
    msg = b"ping %d\n" % i
    c.sendall(msg); got = b""
    while len(got) < len(msg):
        d = c.recv(100)
        if not d: break
        got += d
    c.close()
    ok += got == msg
print(ok)
"""

CONCURRENT = r"""
import selectors, socket, sys
n = int(sys.argv[2]); socks = []
for i in range(n):
    s = socket.socket(); s.setblocking(False); s.connect_ex((sys.argv[1], 5003)); socks.append(s)
sel = selectors.DefaultSelector()
for i, s in enumerate(socks):
    sel.register(s, selectors.EVENT_WRITE, i)
pending = {}; done = 0; import time; deadline = time.time() + 60
while done < n and time.time() < deadline:
    for key, ev in sel.select(1):
        s, i = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE:
            s.send(b"conn %05d" % i); pending[i] = b""
            sel.modify(s, selectors.EVENT_READ, i)
        else:
            d = s.recv(100)
            pending[i] += d
            if pending[i] == b"conn %05d" % i:
                done += 1; sel.unregister(s); s.close()
print(done)
"""


def expectedSource(size: int) -> str:
    """
    The line the RECEIVE script prints for an intact transfer of C{size}
    bytes from the virtual host's source service.
    """
    rnd, h, left = random.Random(size), hashlib.sha256(), size
    while left:
        chunk = rnd.randbytes(min(left, 65536))
        h.update(chunk)
        left -= len(chunk)
    return "%d %s" % (size, h.hexdigest())


class StackInteropMixin:
    """
    A kernel stack and a vdetwist virtual host on one switch.
    """

    switchClass = RealVDESwitch

    def setUp(self) -> None:
        directory = shortTempDir(self)
        self.switch = self.switchClass(os.path.join(directory, "s"))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        self.web = os.path.join(directory, "www")
        os.mkdir(self.web)
        with open(os.path.join(self.web, "index.html"), "w") as f:
            f.write("served by a vdetwist virtual host\n")
        self.vhost = subprocess.Popen(
            [sys.executable, "-m", "tests.interop.vhost", self.switch.ctlDir, VHOST + "/24",
             "--web", self.web],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(self._stopVhost)
        self.assertEqual(self.vhost.stdout.readline().strip(), b"ready")
        self.kernel = Namespace(self.addCleanup, directory)
        self.kernel.plug(self.switch.ctlDir, "10.78.0.1/24")

    def _stopVhost(self) -> None:
        if self.vhost.poll() is None:
            self.vhost.kill()
        self.vhost.wait()
        self.vhost.stdout.close()

    def script(self, source: str, *args: str, timeout: float = 120) -> str:
        return self.kernel.exec(sys.executable, "-c", source, VHOST, *args,
                                timeout=timeout).stdout.decode().strip()

    def test_bulkBothWays(self) -> None:
        """
        50 MB from the kernel to the virtual host and 50 MB back, intact.
        """
        sent, received = self.script(SEND, str(50 * MB)).splitlines()
        self.assertEqual(sent, received)
        self.assertEqual(self.script(RECEIVE, str(50 * MB)), expectedSource(50 * MB))

    def test_manyConnections(self) -> None:
        """
        1,000 sequential short connections, then 200 concurrent ones, all
        echoed.
        """
        self.assertEqual(self.script(SEQUENTIAL, "1000"), "1000")
        self.assertEqual(self.script(CONCURRENT, "200"), "200")

    def test_pingAndCurl(self) -> None:
        """
        The virtual host answers ICMP echo, and curl fetches a page from
        its web server.
        """
        ping = shutil.which("busybox")
        if ping is None:
            raise self.skipTest("busybox (for ping) is not installed")
        result = self.kernel.exec("busybox", "ping", "-c", "3", "-W", "2", VHOST, check=False)
        self.assertIn(b"3 packets received", result.stdout)
        if shutil.which("curl") is None:
            raise self.skipTest("curl is not installed")
        page = self.kernel.exec("curl", "-s", "-m", "10", "http://%s:8080/" % (VHOST,))
        self.assertEqual(page.stdout, b"served by a vdetwist virtual host\n")


class DebianSwitchStackTests(StackInteropMixin, SynchronousTestCase):
    """
    On Debian's vde_switch (the virtual host uses the VDE control protocol).
    """

    skip = SKIP or SKIP_REASON


class VdetwistSwitchStackTests(StackInteropMixin, SynchronousTestCase):
    """
    On vdetwist's switch.
    """

    skip = SKIP
    switchClass = VdetwistSwitch


class LossyLinkTests(SynchronousTestCase):
    """
    TCP between a kernel stack and a virtual host through Debian's
    wirefilter with 5% loss, 2% duplication and 20 ms delay each way: Debian's
    vde_switch on the kernel's side, vdetwist's on the virtual host's.
    """

    skip = SKIP or SKIP_REASON or missingTools("wirefilter")

    def test_lossyTransfersIntact(self) -> None:
        """
        10 MB cross intact in both directions, and the virtual host's TCP
        counters show the retransmissions it made.
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
        vhost = subprocess.Popen(
            [sys.executable, "-m", "tests.interop.vhost", far.ctlDir, VHOST + "/24"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(lambda: (vhost.kill(), vhost.wait(), vhost.stdout.close()))
        self.assertEqual(vhost.stdout.readline().strip(), b"ready")
        kernel = Namespace(self.addCleanup, directory)
        kernel.plug(near.ctlDir, "10.78.0.1/24")
        run = lambda source, *args: kernel.exec(  # noqa: E731
            sys.executable, "-c", source, VHOST, *args, timeout=240).stdout.decode().strip()
        sent, received = run(SEND, str(10 * MB)).splitlines()
        self.assertEqual(sent, received)
        self.assertEqual(run(RECEIVE, str(10 * MB)), expectedSource(10 * MB))
        vhost.send_signal(signal.SIGUSR1)
        counters = {}
        for line in iter(vhost.stdout.readline, b"end\n"):
            name, _, value = line.decode().strip().partition("=")
            counters[name] = int(value)
        self.assertGreater(counters["proto6.retransmissions"], 0)
        self.assertGreater(counters["proto6.outOfOrderSegments"], 0)


def _killPidfile(pidfile: str) -> None:
    """
    Kill the process named by a pid file.
    """
    try:
        with open(pidfile) as f:
            os.kill(int(f.read().strip()), 9)
    except (OSError, ValueError):
        pass


class TwistdWebTests(SynchronousTestCase):
    """
    Any Twisted server on a virtual IP: C{twistd web --listen vde:...}.
    """

    skip = SKIP

    def test_curlFromNamespace(self) -> None:
        """
        curl in a kernel namespace fetches a page that C{twistd -n web
        --listen "vde:sock=...:ip=...:port=8080"} serves, on our switch.
        """
        if shutil.which("curl") is None:
            raise self.skipTest("curl is not installed")
        directory = shortTempDir(self)
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        site = os.path.join(directory, "site")
        os.mkdir(site)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("hello from twistd web on a virtual host\n")
        web = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
             "--pidfile=", "web", "--listen",
             "vde:sock=%s:ip=%s/24:port=8080" % (switch.ctlDir, VHOST), "--path", site],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=directory, env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(lambda: (web.kill(), web.wait()))
        kernel = Namespace(self.addCleanup, directory)
        kernel.plug(switch.ctlDir, "10.78.0.1/24")
        page = b""
        for _ in range(50):
            page = kernel.exec("curl", "-s", "-m", "5", "http://%s:8080/" % (VHOST,),
                               check=False).stdout
            if page:
                break
            time.sleep(0.2)
        self.assertEqual(page, b"hello from twistd web on a virtual host\n")
