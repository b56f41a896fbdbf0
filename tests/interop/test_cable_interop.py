# -*- test-case-name: tests.interop.test_cable_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Cables as users run them: C{twistd vdeswitch} processes joined by TCP and
mutual-TLS cables, kernel stacks in network namespaces behind them (Debian's
vde_plug2tap), Debian's vde_switch joined through C{socat} and C{vde_plug}
in stream mode, a Linux kernel vxlan device, and link emulation measured
with ping and iperf3 (one-sided bounds only: an emulated delay is a floor
on the round trip, an emulated bandwidth a ceiling on the rate).

Everything listens on loopback or inside namespaces the tests make.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from typing import Callable, List, Sequence

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.interop.netns import (
    ROOT, Namespace, VdetwistSwitch, missingTools, run, transfer, uniqueName)
from tests.util import shortTempDir
from vdetwist.extras import hasExtra, missingExtra
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_plug", "ip")
if SKIP is None and not (shutil.which("ping") or shutil.which("busybox")):
    SKIP = "neither ping nor busybox is installed"

#: Debian's ping (iputils) or busybox's.
PING = ["ping", "-n"] if shutil.which("ping") else ["busybox", "ping"]

MB = 1000 * 1000


#: Broadcast UDP datagrams as fast as possible, for a minute at most.
FLOOD = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
data = b"f" * 1400; end = time.time() + 60
while time.time() < end:
    for _ in range(100):
        try:
            s.sendto(data, (sys.argv[1], 9))
        except OSError:
            time.sleep(0.001)
"""


#: C{ethtool -K IFNAME tx off}, without ethtool: C{SIOCETHTOOL} with
#: C{ETHTOOL_STXCSUM} (0x17) and a C{struct ethtool_value} of 0.
TX_CHECKSUM_OFF = r"""
import array, fcntl, socket, struct, sys
value = array.array("B", struct.pack("=II", 0x17, 0))
ifreq = struct.pack("16sP", sys.argv[1].encode(), value.buffer_info()[0])
fcntl.ioctl(socket.socket(), 0x8946, ifreq)
"""


def freePort() -> int:
    """
    A TCP port free on loopback right now.

    @return: the port.
    """
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def waitFor(condition: Callable[[], bool], timeout: float = 15.0,
            interval: float = 0.1) -> bool:
    """
    Poll until C{condition()} is true.

    @return: whether it became true in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def closedByPeer(s: socket.socket, timeout: float = 5.0) -> bool:
    """
    Read (and discard: flooded frames may come first) until the peer
    closes or resets the connection.

    @return: whether it did within C{timeout} seconds.
    """
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return True


def pings(source: Namespace, address: str) -> bool:
    """
    Whether one ping from C{source} to C{address} is answered within a
    second.
    """
    return source.exec(*PING, "-c", "1", "-W", "1", address,
                       check=False).returncode == 0


def rtts(source: Namespace, address: str, count: int = 5) -> List[float]:
    """
    Round-trip times in milliseconds of C{count} pings.
    """
    output = source.exec(*PING, "-c", str(count), "-i", "0.2", "-W", "3", address,
                         check=False, timeout=60).stdout.decode()
    return [float(t) for t in re.findall(r"time=([0-9.]+) ms", output)]


class NetnsVdetwistSwitch(VdetwistSwitch):
    """
    C{twistd -n vdeswitch} run inside a network namespace (its sockets in
    the file system stay reachable from everywhere).
    """

    def __init__(self, directory: str, namespace: str) -> None:
        """
        Set up the state.
        """
        VdetwistSwitch.__init__(self, directory)
        self.namespace = namespace

    def start(self, extraArgs: Sequence[str] = (), timeout: float = 15.0) -> None:
        """
        Start it in the namespace and wait for its sockets.
        """
        os.makedirs(self.directory, exist_ok=True)
        self.logPath = os.path.join(self.directory, "twistd.log")
        command = ["ip", "netns", "exec", self.namespace, sys.executable, "-c",
                   "from twisted.scripts.twistd import run; run()",
                   "-n", "--pidfile", self.pidPath, "--logfile", self.logPath,
                   "vdeswitch", "-s", self.ctlDir, "-M", self.mgmtPath, *extraArgs]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env=dict(os.environ, PYTHONPATH=ROOT),
                                        cwd=self.directory)
        if not waitFor(lambda: self.process.poll() is not None or (
                self._answers(os.path.join(self.ctlDir, "ctl"))
                and self._answers(self.mgmtPath)), timeout, 0.02) \
                or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("vdeswitch in %s did not come up: %s" % (
                self.namespace, open(self.logPath).read()[-2000:]))
        self.pid = self.process.pid


class CableInteropTests(SynchronousTestCase):
    """
    vdetwist switches joined by cables, kernel stacks behind them.
    """

    skip = SKIP

    def switch(self, name: str, *args: str) -> VdetwistSwitch:
        """
        Start C{twistd vdeswitch} with C{args}; stopped at cleanup.
        """
        switch = VdetwistSwitch(os.path.join(self.directory, name))
        switch.start(list(args))
        self.addCleanup(switch.stop)
        return switch

    def log(self, switch: VdetwistSwitch) -> str:
        """
        What the switch logged so far.
        """
        with open(switch.logPath) as f:
            return f.read()

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.directory = shortTempDir(self)

    def tlsArgs(self, port: int) -> "tuple[List[str], List[str], dict]":
        """
        Mutual TLS options: the listening switch's and a dialling one's.
        """
        from tests.links.test_cable_tls import makePKI
        pki = makePKI(os.path.join(self.directory, "pki"))
        listen = ["--cable-listen", "tls:%d:interface=127.0.0.1:privateKey=%s:certKey=%s:"
                  "trustRoots=%s" % (port, pki["server.key"], pki["server.crt"], pki["ca1"])]
        dial = ["--cable", "tls:localhost:%d:certificate=%s:privateKey=%s:trustRoots=%s"
                % (port, pki["client.crt"], pki["client.key"], pki["ca1"])]
        return listen, dial, pki

    def test_tlsCableCarriesAndReconnects(self) -> None:
        """
        Two switches, each dialling a middle one over mutual TLS, carry 20
        MB intact between the namespaces behind them; peers with a
        certificate from another CA or none are refused with the reason
        logged; when the middle switch is killed and restarted, both
        cables come back by themselves and traffic resumes.
        """
        port = freePort()
        listen, dial, pki = self.tlsArgs(port)
        middle = self.switch("m", *listen)
        a = self.switch("a", *dial)
        b = self.switch("b", *dial)
        nsA = Namespace(self.addCleanup, self.directory)
        nsB = Namespace(self.addCleanup, self.directory)
        nsA.plug(a.ctlDir, "10.81.0.1/24")
        nsB.plug(b.ctlDir, "10.81.0.2/24")
        self.assertTrue(waitFor(lambda: pings(nsA, "10.81.0.2")), "no ping across TLS cables")
        printed = a.console("cable/print")
        self.assertIn("CONNECTED", printed)
        self.assertIn("TLS identity CN=switch-a", printed)
        sent, received = transfer(nsA, nsB, 20 * MB, timeout=180)
        self.assertEqual(sent, received)
        self.assertTrue(sent.startswith("%d " % (20 * MB,)))

        for who, extra in [("rogue", ":certificate=%s:privateKey=%s" % (
                pki["rogue.crt"], pki["rogue.key"])), ("none", "")]:
            self.switch(who, "--cable", "tls:localhost:%d%s:trustRoots=%s"
                        % (port, extra, pki["ca1"]))
        self.assertTrue(waitFor(lambda: "certificate verify failed" in self.log(middle)
                                and "peer did not return a certificate" in self.log(middle)),
                        self.log(middle)[-3000:])
        self.assertEqual(middle.console("cable/print").count("CONNECTED"), 2)

        middle.stop()
        self.assertFalse(pings(nsA, "10.81.0.2"))
        middle.start(listen)
        self.assertTrue(waitFor(lambda: pings(nsA, "10.81.0.2"), 20),
                        "traffic did not resume after the restart")
        sent, received = transfer(nsA, nsB, 2 * MB, port=5002)
        self.assertEqual(sent, received)

    if not hasExtra("tls"):
        test_tlsCableCarriesAndReconnects.skip = str(missingExtra("tls"))  # type: ignore[attr-defined]

    def test_badInputDropsOnlyThatCable(self) -> None:
        """
        Garbage, a bad length, and a peer that connects and stalls while
        the switch floods it: each is dropped with a logged reason, while a
        working cable keeps carrying traffic.
        """
        port = freePort()
        a = self.switch("a", "--cable-listen", "tcp:%d:interface=127.0.0.1" % (port,))
        b = self.switch("b", "--cable", "tcp:127.0.0.1:%d" % (port,))
        nsA = Namespace(self.addCleanup, self.directory)
        nsB = Namespace(self.addCleanup, self.directory)
        nsA.plug(a.ctlDir, "10.82.0.1/24")
        nsB.plug(b.ctlDir, "10.82.0.2/24")
        self.assertTrue(waitFor(lambda: pings(nsA, "10.82.0.2")))
        for junk in [b"GET / HTTP/1.0\r\n\r\n", b"\x00\x14" + b"\x01" * 20 + b"\xff\xff",
                     b"\x00\x05hello"]:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(junk)
            self.assertTrue(closedByPeer(s), junk)
            s.close()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        self.addCleanup(stalled.close)
        # Flood broadcasts through switch A (they reach the stalled cable)
        # until it is dropped for not reading.
        flood = nsB.popen(sys.executable, "-c", FLOOD, "10.82.0.255",
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (flood.kill(), flood.wait()))
        self.assertTrue(waitFor(lambda: "stopped reading" in self.log(a), 30),
                        self.log(a)[-2000:])
        flood.kill()
        flood.wait()
        text = self.log(a)
        self.assertIn("bad frame length 18245", text)
        self.assertIn("bad frame length 65535", text)
        self.assertIn("runt frame of 5 bytes", text)
        self.assertTrue(waitFor(lambda: pings(nsA, "10.82.0.2")))
        self.assertIn("CONNECTED", b.console("cable/print"))

    def test_linkEmulationMeasured(self) -> None:
        """
        A delay set on a cable from the console is a floor on ping's round
        trip; full loss stops pings; a bandwidth is a ceiling on iperf3's
        rate; clearing them restores the link.
        """
        if missingTools("iperf3"):
            raise SkipTest("iperf3 is not installed")
        port = freePort()
        a = self.switch("a", "--cable-listen", "tcp:%d:interface=127.0.0.1" % (port,))
        b = self.switch("b", "--cable", "tcp:127.0.0.1:%d" % (port,), "--link", "delay=LR60")
        nsA = Namespace(self.addCleanup, self.directory)
        nsB = Namespace(self.addCleanup, self.directory)
        nsA.plug(a.ctlDir, "10.83.0.1/24")
        nsB.plug(b.ctlDir, "10.83.0.2/24")
        self.assertTrue(waitFor(lambda: pings(nsA, "10.83.0.2")))
        times = rtts(nsA, "10.83.0.2")
        self.assertTrue(times and min(times) >= 60, times)
        self.assertIn("delay LR 60 RL 0", b.console("link/print 1"))
        self.assertIn("1000 Success", b.console("link/delay 1 150"))
        times = rtts(nsA, "10.83.0.2")
        self.assertTrue(times and min(times) >= 300, times)
        self.assertIn("1000 Success", b.console("link/loss 1 LR100"))
        self.assertFalse(pings(nsA, "10.83.0.2"))
        self.assertIn("1000 Success", b.console("link/clear 1"))
        self.assertTrue(waitFor(lambda: pings(nsA, "10.83.0.2")))

        limit = 256 * 1024
        self.assertIn("1000 Success", b.console("link/bandwidth 1 256K"))
        server = nsA.popen("iperf3", "-s", "-1", "-B", "10.83.0.1",
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (server.kill(), server.wait()))
        self.assertTrue(waitFor(lambda: ":5201 " in nsA.exec(
            "ss", "-Hltn", check=False).stdout.decode()), "iperf3 -s is not listening")
        report = json.loads(nsB.exec("iperf3", "-c", "10.83.0.1", "-t", "3", "-J",
                                     timeout=60).stdout)
        rate = report["end"]["sum_received"]["bits_per_second"] / 8
        self.assertLessEqual(rate, limit * 1.1)
        self.assertGreater(rate, limit * 0.3)

    def test_triangleLoopGuarded(self) -> None:
        """
        Three switches cabled in a triangle (a loop) with kernel stacks on
        two of them: the loop guard blocks exactly one cable, and ping and
        a TCP transfer work instead of a broadcast storm.
        """
        ports = [freePort() for _ in range(3)]
        switches = [self.switch(
            name, "--cable-listen", "tcp:%d:interface=127.0.0.1" % (ports[i],),
            "--cable", "tcp:127.0.0.1:%d" % (ports[(i + 1) % 3],))
            for i, name in enumerate("abc")]
        nsA = Namespace(self.addCleanup, self.directory)
        nsB = Namespace(self.addCleanup, self.directory)
        nsA.plug(switches[0].ctlDir, "10.87.0.1/24")
        nsB.plug(switches[1].ctlDir, "10.87.0.2/24")
        blocked = lambda: sum(s.console("cable/print").count("BLOCKED")  # noqa: E731
                              for s in switches)
        self.assertTrue(waitFor(lambda: blocked() >= 1))
        self.assertTrue(waitFor(lambda: pings(nsA, "10.87.0.2")))
        sent, received = transfer(nsA, nsB, 2 * MB, port=5004)
        self.assertEqual(sent, received)
        # Still exactly one blocked after the traffic: no second switch
        # blocked the same loop (a block holds for 30 s or more).
        self.assertEqual(blocked(), 1, [s.console("cable/print") for s in switches])

    def test_vdePlugStreamInterop(self) -> None:
        """
        Debian's vde_switch joined to ours through socat and vde_plug in
        stream mode: kernel stacks behind each exchange traffic.
        """
        if missingTools("vde_switch", "socat"):
            raise SkipTest(missingTools("vde_switch", "socat"))
        if SKIP_REASON:
            raise SkipTest(SKIP_REASON)
        port = freePort()
        ours = self.switch("ours", "--cable-listen", "tcp:%d:interface=127.0.0.1" % (port,))
        debian = RealVDESwitch(os.path.join(self.directory, "debian"))
        debian.start()
        self.addCleanup(debian.stop)
        socat = subprocess.Popen(["socat", "TCP:127.0.0.1:%d" % (port,),
                                  "EXEC:vde_plug %s" % (debian.ctlDir,)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (socat.kill(), socat.wait()))
        nsA = Namespace(self.addCleanup, self.directory)
        nsB = Namespace(self.addCleanup, self.directory)
        nsA.plug(ours.ctlDir, "10.84.0.1/24")
        nsB.plug(debian.ctlDir, "10.84.0.2/24")
        self.assertTrue(waitFor(lambda: pings(nsA, "10.84.0.2")))
        sent, received = transfer(nsB, nsA, 5 * MB)
        self.assertEqual(sent, received)


class KernelVXLANTests(SynchronousTestCase):
    """
    Our VXLAN port against the Linux kernel's vxlan device.
    """

    skip = SKIP

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.directory = shortTempDir(self)
        probe = uniqueName("vtx")
        result = run("ip", "link", "add", probe, "type", "vxlan", "id", "1", "dstport", "4789",
                     "local", "127.0.0.1", check=False)
        if result.returncode != 0:
            raise SkipTest("the kernel cannot make vxlan devices: %s"
                           % (result.stderr.decode().strip(),))
        run("ip", "link", "del", probe)

    def test_kernelVXLAN(self) -> None:
        """
        A namespace behind our switch and a kernel vxlan device in another
        namespace, the two VTEPs joined by a veth pair, exchange pings and
        a TCP transfer.
        """
        underlay = Namespace(self.addCleanup, self.directory)
        kernel = Namespace(self.addCleanup, self.directory)
        host = Namespace(self.addCleanup, self.directory)
        veth, peer = uniqueName("vtv"), uniqueName("vtp")
        run("ip", "link", "add", veth, "netns", underlay.name, "type", "veth",
            "peer", "name", peer, "netns", kernel.name)
        underlay.exec("ip", "addr", "add", "10.85.0.1/24", "dev", veth)
        underlay.exec("ip", "link", "set", veth, "up")
        kernel.exec("ip", "addr", "add", "10.85.0.2/24", "dev", peer)
        kernel.exec("ip", "link", "set", peer, "up")
        kernel.exec("ip", "link", "add", "vx42", "type", "vxlan", "id", "42", "dstport", "4789",
                    "remote", "10.85.0.1", "local", "10.85.0.2", "dev", peer)
        # Over a veth pair nothing completes checksums the kernel leaves to
        # "hardware", so the inner TCP checksums would reach our socket
        # unfinished: have the kernel compute them (ethtool -K vx42 tx off).
        kernel.exec(sys.executable, "-c", TX_CHECKSUM_OFF, "vx42")
        kernel.exec("ip", "addr", "add", "10.86.0.2/24", "dev", "vx42")
        kernel.exec("ip", "link", "set", "vx42", "up")
        switch = NetnsVdetwistSwitch(os.path.join(self.directory, "sw"), underlay.name)
        switch.start(["--vxlan", "10.85.0.1:4789,42,10.85.0.2"])
        self.addCleanup(switch.stop)
        host.plug(switch.ctlDir, "10.86.0.1/24", mtu=1450)
        kernel.address = "10.86.0.2"
        self.assertTrue(waitFor(lambda: pings(host, "10.86.0.2")),
                        open(switch.logPath).read()[-2000:])
        sent, received = transfer(host, kernel, 5 * MB)
        self.assertEqual(sent, received)
        sent, received = transfer(kernel, host, 5 * MB, port=5003)
        self.assertEqual(sent, received)
        self.assertIn("vxlan", switch.console("cable/print"))


class VXVDEInteropTests(SynchronousTestCase):
    """
    Our vxvde port and Debian's C{vde_plug vxvde://} on one multicast
    segment (inside a namespace whose loopback carries multicast).
    """

    skip = SKIP or SKIP_REASON or missingTools("vde_switch")

    def test_vdePlugVXVDE(self) -> None:
        """
        A namespace behind our switch (vxvde port) and one behind Debian's
        vde_switch (joined to vxvde:// by vde_plug URL1 URL2) ping each
        other and carry a TCP transfer.
        """
        directory = shortTempDir(self)
        segment = Namespace(self.addCleanup, directory)
        segment.exec("ip", "link", "set", "lo", "multicast", "on")
        segment.exec("ip", "route", "add", "224.0.0.0/4", "dev", "lo")
        ours = NetnsVdetwistSwitch(os.path.join(directory, "ours"), segment.name)
        ours.start(["--vxvde", "239.0.0.1:14789,1"])
        self.addCleanup(ours.stop)
        debian = RealVDESwitch(os.path.join(directory, "debian"))
        debian.start()
        self.addCleanup(debian.stop)
        plug = segment.popen("vde_plug", "vxvde://239.0.0.1", debian.ctlDir,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (plug.terminate(), plug.wait()))
        nsA = Namespace(self.addCleanup, directory)
        nsB = Namespace(self.addCleanup, directory)
        nsA.plug(ours.ctlDir, "10.88.0.1/24")
        nsB.plug(debian.ctlDir, "10.88.0.2/24")
        self.assertTrue(waitFor(lambda: pings(nsA, "10.88.0.2")),
                        open(ours.logPath).read()[-2000:])
        sent, received = transfer(nsA, nsB, 2 * MB, port=5005)
        self.assertEqual(sent, received)
        self.assertIn("vxvde", ours.console("cable/print"))
