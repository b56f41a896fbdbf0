# -*- test-case-name: tests.slirp.test_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{twistd slirp} as a user runs it, with Linux kernel hosts in network
namespaces (joined by Debian's C{vde_plug2tap}) as guests, on Debian's
C{vde_switch} and on vdetwist's own switch: the seed tutorial's three
port forwards, each reaching its own guest (Debian's slirpvde sends them
all to one), half-close, refused forwards, DHCP with busybox's udhcpc,
DNS from the host's hosts file, and outbound NAT.

These need root, C{ip netns}, C{/dev/net/tun} and Debian's vde tools, and
skip with the reason otherwise.  Traffic goes only to loopback and to
namespaces the tests create.
"""

import os
import re
import socket
import subprocess
import sys
import time
from typing import List, Optional, Sequence

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import (
    ROOT,
    Namespace,
    VdetwistSwitch,
    missingTools,
    routedNamespace,
    run,
    uniqueName,
)
from tests.util import shortTempDir
from tests.vde.realswitch import RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")

#: A one-connection server for a namespace: greets with its name, reads
#: until the client's FIN, then answers with what it read and closes;
#: prints the peer and the bytes read.
LISTENER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(5)
print("ready", flush=True)
c, peer = s.accept()
c.sendall(b"hello from " + sys.argv[1].encode() + b"\n")
data = b""
while True:
    d = c.recv(65536)
    if not d: break
    data += d
c.sendall(b"got " + str(len(data)).encode() + b"\n"); c.close()
print(peer[0], repr(data), flush=True)
"""


def freePorts(count: int) -> List[int]:
    """
    Host TCP ports free right now on 127.0.0.1.

    @param count: how many.
    @return: the ports.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SlirpProcess:
    """
    C{twistd -n slirp ...} in a subprocess.

    @ivar logPath: twistd's log.
    @ivar mgmtPath: the console socket.
    """

    def __init__(self, directory: str) -> None:
        """
        @param directory: where its files go.
        """
        self.directory = directory
        self.logPath = os.path.join(directory, "slirp.log")
        self.outPath = os.path.join(directory, "slirp.out")
        self.mgmtPath = os.path.join(directory, "slirp.mgmt")
        self.process: Optional[subprocess.Popen] = None

    def start(self, args: Sequence[str], timeout: float = 15.0) -> None:
        """
        Start it and wait for its console to answer and its startup text.

        @param args: the slirp options.
        @param timeout: seconds.
        """
        env = dict(os.environ, PYTHONPATH=ROOT)
        command = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                   "-n", "--pidfile=", "--logfile", self.logPath, "slirp",
                   "-M", self.mgmtPath, *args]
        self.out = open(self.outPath, "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.out,
                                        stderr=subprocess.STDOUT, env=env, cwd=self.directory)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("twistd slirp exited %d: %s %s" % (
                    self.process.returncode, self.output(), self.log()))
            if b"Starting slirpvde" in self.output().encode():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("twistd slirp did not start: " + self.log())
            time.sleep(0.05)

    def output(self) -> str:
        """
        @return: its stdout so far.
        """
        with open(self.outPath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log(self) -> str:
        """
        @return: its log so far.
        """
        try:
            with open(self.logPath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def console(self, command: str, timeout: float = 5.0) -> str:
        """
        Run one console command.

        @param command: the command.
        @param timeout: seconds.
        @return: the reply, up to and including its result line.
        """
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(self.mgmtPath)
            buffer = b""
            while not buffer.endswith(b"$ "):
                buffer += s.recv(4096)
            s.sendall(command.encode() + b"\n")
            reply = b""
            while not reply.endswith(b"$ "):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return reply.decode()
        finally:
            s.close()

    def stop(self) -> None:
        """
        SIGTERM and reap.
        """
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.out.close()


class SlirpInteropMixin:
    """
    The slirp behaviours, written once; subclasses choose the switch.
    """

    switchClass = RealVDESwitch

    def setUp(self) -> None:
        """
        A switch in a fresh directory.
        """
        self.directory = shortTempDir(self)
        self.switch = self.switchClass(os.path.join(self.directory, "s"))
        self.switch.start()
        self.addCleanup(self.switch.stop)

    def startSlirp(self, *args: str) -> SlirpProcess:
        """
        Start slirp on the switch; stopped at cleanup.
        """
        slirp = SlirpProcess(self.directory)
        slirp.start(["-s", self.switch.ctlDir, *args])
        self.addCleanup(slirp.stop)
        return slirp

    def guest(self, address: str, gateway: str = "192.168.77.2") -> Namespace:
        """
        A kernel host on the switch.
        """
        ns = Namespace(self.addCleanup, self.directory)
        ns.plug(self.switch.ctlDir, address, gateway=gateway)
        return ns

    def startListener(self, ns: Namespace, name: str, port: int = 10000) -> subprocess.Popen:
        """
        Run L{LISTENER} in a namespace; killed at cleanup.
        """
        process = ns.popen(sys.executable, "-c", LISTENER, name, str(port),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, process)
        self.assertEqual(process.stdout.readline().strip(), b"ready")
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

    def exchange(self, port: int, data: bytes, timeout: float = 10.0) -> bytes:
        """
        Connect to a host port, send C{data}, half-close, read to EOF.

        @return: what came back.
        """
        c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    return reply
                reply += chunk
        finally:
            c.close()

    def test_tutorial(self) -> None:
        """
        The seed tutorial: three kernel hosts at .100, .101 and .102 each
        listen on 10000; slirp forwards three host ports to them; each
        host's listener gets its own client's lines from the gateway
        address, each client its own host's answers (half-close carried
        both ways), and the switch shows four ports.
        """
        ports = freePorts(3)
        names = ["umview100", "umview101", "umview102"]
        guests, listeners = [], []
        for i in range(3):
            ns = self.guest("192.168.77.%d/24" % (100 + i,))
            guests.append(ns)
            listeners.append(self.startListener(ns, names[i]))
        slirp = self.startSlirp("-n", "192.168.77.0", *[
            "-L%d:192.168.77.%d:10000" % (ports[i], 100 + i) for i in range(3)])
        self.assertIn("redir TCP   =%d:192.168.77.100:10000" % (ports[0],), slirp.output())
        endpoints = self.switch.console("port/print")
        self.assertEqual(endpoints.count("ACTIVE"), 4, endpoints)
        lines = [b"foo\nbar\nbaz\n", b"foo\nbar\nbaz\n", b"foo\nbar\nbuzz\n"]
        for i in range(3):
            reply = self.exchange(ports[i], lines[i])
            self.assertEqual(reply, b"hello from %s\ngot %d\n" % (
                names[i].encode(), len(lines[i])))
            out, _ = listeners[i].communicate(timeout=10)
            self.assertEqual(out.decode().split(None, 1), ["192.168.77.2", repr(lines[i]) + "\n"])
        table = slirp.console("fwd/print")
        self.assertIn("1000 Success", table)
        for i in range(3):
            self.assertRegex(table, r"tcp +0\.0\.0\.0:%d +192\.168\.77\.%d:10000 +1 +0 +0 +%d +%d"
                             % (ports[i], 100 + i, len(lines[i]), len(
                                 b"hello from %s\ngot %d\n" % (names[i].encode(), len(lines[i])))))

    def test_halfCloseFromGuest(self) -> None:
        """
        C{nc -N} in a guest sends its banner and half-closes; the host
        client reads the banner and the EOF, then still sends its answer,
        which the guest's nc receives (the guest-to-host half-close is
        carried across the forward); C{nc -N} on the host does the same
        the other way.
        """
        if missingTools("nc"):
            raise self.skipTest("netcat (nc) is not installed")
        [port] = freePorts(1)
        ns = self.guest("192.168.77.100/24")
        outPath = os.path.join(self.directory, "nc.out")
        server = ns.popen("sh", "-c", "printf 'banner\\n' | timeout 20 nc -N -l 10000 > %s"
                          % (outPath,), stderr=subprocess.PIPE)
        self.addCleanup(self._reap, server)
        self.startSlirp("-n", "192.168.77.0", "-L%d:192.168.77.100:10000" % (port,))
        deadline = time.monotonic() + 10
        while True:
            listening = ns.exec("ss", "-ltn").stdout
            if b":10000" in listening or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            got = b""
            while True:
                chunk = c.recv(100)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, b"banner\n")
            c.sendall(b"answer after your EOF\n")
        finally:
            c.close()
        server.wait(15)
        with open(outPath, "rb") as f:
            self.assertEqual(f.read(), b"answer after your EOF\n")
        listener = self.startListener(ns, "second")
        result = run("sh", "-c", "printf 'question\\n' | timeout 10 nc -N 127.0.0.1 %d" % (port,),
                     timeout=15)
        self.assertEqual(result.stdout, b"hello from second\ngot 9\n")
        out, _ = listener.communicate(timeout=10)
        self.assertTrue(out.endswith(repr(b"question\n").encode() + b"\n"), out)

    def test_udpForward(self) -> None:
        """
        C{-U} forwards host datagrams to a guest's UDP echo server, and
        the answers come back to each host client.
        """
        [port] = freePorts(1)
        ns = self.guest("192.168.77.100/24")
        echo = ns.popen(sys.executable, "-c", (
            "import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5353))\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    d, a = s.recvfrom(2048); s.sendto(b'echo ' + d + b' from ' + a[0].encode(), a)\n"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        slirp = self.startSlirp("-n", "192.168.77.0", "-U%d:192.168.77.100:5353" % (port,))
        self.assertIn("redir UDP   =%d:192.168.77.100:5353" % (port,), slirp.output())
        for name in (b"one", b"two"):
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.settimeout(1.0)
            try:
                answer = b""
                for _ in range(5):
                    c.sendto(name, ("127.0.0.1", port))
                    try:
                        answer = c.recv(2048)
                        break
                    except socket.timeout:
                        continue
                self.assertEqual(answer, b"echo " + name + b" from 192.168.77.2")
            finally:
                c.close()
        self.assertRegex(slirp.console("fwd/print"),
                         r"udp +0\.0\.0\.0:%d +192\.168\.77\.100:5353 +2 +2 " % (port,))

    def test_exitsWhenPortClosed(self) -> None:
        """
        slirp exits when the operator closes its port (C{port/epclose})
        while the switch runs on, as slirpvde does.
        """
        slirp = self.startSlirp()
        [(port, endpointID)] = [(p, e) for (p, e, description) in self.switch.endpoints()
                                if "slirp" in description]
        self.switch.console("port/epclose %d %d" % (port, endpointID))
        assert slirp.process is not None
        self.assertEqual(slirp.process.wait(15), 0)
        self.assertIn("the switch closed the connection", slirp.log())

    def test_reattachesWhenSwitchRestarts(self) -> None:
        """
        When the switch goes away slirp says so and keeps running; when
        the switch is back, slirp attaches to it again.  (Unlike slirpvde,
        which exits.)
        """
        slirp = self.startSlirp()
        self.switch.stop()
        self._waitForLog(slirp, "went away; reconnecting")
        assert slirp.process is not None
        self.assertIsNone(slirp.process.poll())
        self.switch.start()
        self._waitForLog(slirp, "reattached to switch")
        self.assertIsNone(slirp.process.poll())
        self.assertTrue([d for (p, e, d) in self.switch.endpoints() if "slirp" in d])

    def _waitForLog(self, slirp: SlirpProcess, text: str, timeout: float = 15.0) -> None:
        """
        Wait until C{text} is in slirp's log.

        @param slirp: the process.
        @param text: what to look for.
        @param timeout: seconds before failing.
        """
        deadline = time.monotonic() + timeout
        while text not in slirp.log():
            if time.monotonic() > deadline:
                self.fail("%r not logged: %s" % (text, slirp.log()))
            time.sleep(0.05)

    def test_tutorialWithVirtualHosts(self) -> None:
        """
        The tutorial with three C{vdetwist cat -l} virtual hosts instead of
        kernel namespaces: each receives its own client's lines, and the
        switch shows four ports.
        """
        ports = freePorts(3)
        env = dict(os.environ, PYTHONPATH=ROOT)
        cats = []
        for i in range(3):
            cat = subprocess.Popen(
                [sys.executable, "-m", "vdetwist", "cat", "-s", self.switch.ctlDir,
                 "--ip", "192.168.77.%d/24" % (100 + i,), "--gw", "192.168.77.2",
                 "-l", "-p", "10000"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env)
            self.addCleanup(self._reap, cat)
            cats.append(cat)
        self.startSlirp("-n", "192.168.77.0", *[
            "-L%d:192.168.77.%d:10000" % (ports[i], 100 + i) for i in range(3)])
        deadline = time.monotonic() + 15
        while self.switch.console("port/print").count("ACTIVE") < 4:
            self.assertLess(time.monotonic(), deadline, "the virtual hosts did not attach")
            time.sleep(0.1)
        lines = [b"foo\nbar\nbaz\n", b"foo\nbar\nbaz\n", b"foo\nbar\nbuzz\n"]
        for i in range(3):
            c = socket.create_connection(("127.0.0.1", ports[i]), timeout=10)
            c.sendall(lines[i])
            c.shutdown(socket.SHUT_WR)
            try:
                while c.recv(100):
                    pass
            except OSError:
                pass
            c.close()
        for i in range(3):
            try:
                out, err = cats[i].communicate(timeout=10)
            except subprocess.TimeoutExpired:
                cats[i].kill()
                out, err = cats[i].communicate()
            self.assertEqual(out, lines[i], err)

    def test_refusedForwardClosesPromptly(self) -> None:
        """
        A forward to a guest port nobody listens on gives the host client
        a prompt close (or reset), not a hang.
        """
        [port] = freePorts(1)
        self.guest("192.168.77.100/24")
        self.startSlirp("-n", "192.168.77.0", "-L%d:192.168.77.100:9" % (port,))
        started = time.monotonic()
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            try:
                self.assertEqual(c.recv(10), b"")
            except ConnectionResetError:
                pass
        finally:
            c.close()
        self.assertLess(time.monotonic() - started, 8)

    def test_consoleForwardAtRuntime(self) -> None:
        """
        While a connection flows through one forward, C{fwd/add} with host
        port 0 allocates a second that reaches the guest too; C{conn/print}
        and C{fwd/print} show both; C{fwd/del} of the first stops it
        accepting while its live connection goes on.
        """
        [first] = freePorts(1)
        ns = self.guest("192.168.77.100/24")
        echo = ns.popen(sys.executable, "-c", ECHO, "10000", stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
        self.addCleanup(self._reap, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        slirp = self.startSlirp("-n", "192.168.77.0", "-L127.0.0.1:%d:192.168.77.100:10000"
                                % (first,))

        def roundTrip(c: socket.socket, data: bytes) -> None:
            c.sendall(data)
            got = b""
            while len(got) < len(data):
                got += c.recv(100)
            self.assertEqual(got, data)

        live = socket.create_connection(("127.0.0.1", first), timeout=10)
        self.addCleanup(live.close)
        roundTrip(live, b"before")
        reply = slirp.console("fwd/add tcp 127.0.0.1:0:192.168.77.100:10000")
        self.assertIn("1000 Success", reply)
        second = int(reply.split("127.0.0.1:")[1].split()[0])
        other = socket.create_connection(("127.0.0.1", second), timeout=10)
        self.addCleanup(other.close)
        roundTrip(other, b"through the new one")
        connections = slirp.console("conn/print")
        self.assertIn("127.0.0.1:%d -> 192.168.77.100:10000" % (live.getsockname()[1],),
                      connections)
        self.assertIn("127.0.0.1:%d -> 192.168.77.100:10000" % (other.getsockname()[1],),
                      connections)
        self.assertRegex(slirp.console("fwd/print"),
                         r"tcp +127\.0\.0\.1:%d +192\.168\.77\.100:10000 +1 +1 +0 +6 +6"
                         % (first,))
        self.assertIn("1000 Success", slirp.console("fwd/del tcp 127.0.0.1:%d" % (first,)))
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ("127.0.0.1", first), 5)
        roundTrip(live, b"after fwd/del")

    def test_dhcpAndDNS(self) -> None:
        """
        busybox udhcpc in a namespace gets an address from the pool, the
        router and the DNS server; a DNS query to .3 is answered (for
        C{localhost}, from the host's hosts file), over UDP and over TCP.
        """
        if missingTools("busybox"):
            raise self.skipTest("busybox is not installed")
        slirp = self.startSlirp("-D")
        ns = Namespace(self.addCleanup, self.directory)
        ns.exec("vde_plug2tap", "-s", self.switch.ctlDir, "-d", "-P", ns.pidPath, ns.tap)
        deadline = time.monotonic() + 5
        while ns.exec("ip", "link", "show", ns.tap, check=False).returncode != 0:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        ns.exec("ip", "link", "set", ns.tap, "up")
        script = os.path.join(self.directory, "udhcpc.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n[ \"$1\" = bound ] && echo \"LEASE $ip $router $dns\"\nexit 0\n")
        os.chmod(script, 0o755)
        result = ns.exec("busybox", "udhcpc", "-i", ns.tap, "-n", "-q", "-f", "-t", "5",
                         "-s", script, timeout=30, check=False)
        output = result.stdout.decode()
        self.assertIn("LEASE 10.0.2.15 10.0.2.2 10.0.2.3", output,
                      output + result.stderr.decode())
        self.assertIn("bound", slirp.console("dhcp/print"))
        ns.exec("ip", "addr", "add", "10.0.2.15/24", "dev", ns.tap)
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x09localhost\x00\x00\x01\x00\x01")
        answer = ns.exec(sys.executable, "-c", (
            "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
            "s.settimeout(5); s.sendto(bytes.fromhex(sys.argv[1]), ('10.0.2.3', 53));"
            "print(s.recv(512).hex())"), query.hex(), timeout=15).stdout.decode().strip()
        data = bytes.fromhex(answer)
        self.assertEqual(data[:2], b"\x12\x34")
        self.assertEqual(data[3] & 0x0F, 0)
        self.assertIn(socket.inet_aton("127.0.0.1"), data)
        overTCP = ns.exec(sys.executable, "-c", (
            "import socket,sys; q=bytes.fromhex(sys.argv[1]);"
            "s=socket.create_connection(('10.0.2.3', 53), timeout=5);"
            "s.sendall(len(q).to_bytes(2, 'big') + q); d=b''\n"
            "while len(d) < 2 or len(d) < 2 + int.from_bytes(d[:2], 'big'):\n"
            "    d += s.recv(512)\n"
            "print(d[2:].hex())"), query.hex(), timeout=15).stdout.decode().strip()
        self.assertEqual(bytes.fromhex(overTCP), data)

    def test_outboundNAT(self) -> None:
        """
        A guest reaches a TCP server in another namespace through the NAT
        (the host routes to it over a veth pair); a connection to an
        address nobody answers there fails with "no route to host" (the
        gateway's ICMP host unreachable); the host's loopback is reachable
        through the gateway address only with C{--allow-host-loopback}.
        """
        subnet = "10.%d.%d" % (200 + os.getpid() % 50, len(uniqueName("vto")) % 250)
        outside = routedNamespace(self.addCleanup, subnet + ".1/24", subnet + ".2/24")
        server = subprocess.Popen(
            ["ip", "netns", "exec", outside, sys.executable, "-c", LISTENER, "outside", "10000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, server)
        self.assertEqual(server.stdout.readline().strip(), b"ready")
        loopback = socket.socket()
        loopback.bind(("127.0.0.1", 0))
        loopback.listen(1)
        self.addCleanup(loopback.close)
        slirp = self.startSlirp("-n", "192.168.77.0")
        ns = self.guest("192.168.77.100/24")
        client = (
            "import socket,sys\n"
            "c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)\n"
            "c.sendall(b'out'); c.shutdown(socket.SHUT_WR)\n"
            "d = b''\n"
            "while True:\n"
            "    x = c.recv(100)\n"
            "    if not x: break\n"
            "    d += x\n"
            "print(d.decode(), end='')\n")
        result = ns.exec(sys.executable, "-c", client, subnet + ".2", "10000",
                         timeout=20, check=False)
        self.assertEqual(result.stdout, b"hello from outside\ngot 3\n", result.stderr)
        out, _ = server.communicate(timeout=10)
        self.assertTrue(out.startswith(subnet.encode() + b".1 "), out)
        unreachable = ns.exec(sys.executable, "-c", client, subnet + ".3", "10000",
                              timeout=30, check=False)
        self.assertIn(b"No route to host", unreachable.stderr)
        refused = ns.exec(sys.executable, "-c", client, "192.168.77.2",
                          str(loopback.getsockname()[1]), timeout=20, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(b"Connection refused", refused.stderr)
        info = slirp.console("showinfo")
        self.assertIn("host loopback denied", info)
        # The switch port's counters: the exchanges above went through it.
        counts = re.search(r"^vde frames in (\d+) out (\d+) drops (\d+)$", info, re.M)
        self.assertIsNotNone(counts, info)
        self.assertGreater(int(counts.group(1)), 5, info)
        self.assertGreater(int(counts.group(2)), 5, info)
        slirp.stop()
        slirp = self.startSlirp("-n", "192.168.77.0", "--allow-host-loopback")

        def accept() -> None:
            c, _ = loopback.accept()
            c.sendall(b"hello from loopback\n")
            c.recv(100)
            c.close()
        import threading
        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        allowed = ns.exec(sys.executable, "-c", client, "192.168.77.2",
                          str(loopback.getsockname()[1]), timeout=20, check=False)
        thread.join(10)
        self.assertEqual(allowed.stdout, b"hello from loopback\n", allowed.stderr)


class SlirpOnDebianSwitchTests(SlirpInteropMixin, SynchronousTestCase):
    """
    slirp on Debian's vde_switch.
    """

    if SKIP:
        skip = SKIP


class SlirpOnVdetwistSwitchTests(SlirpInteropMixin, SynchronousTestCase):
    """
    slirp on vdetwist's switch (C{twistd vdeswitch} in a subprocess).
    """

    switchClass = VdetwistSwitch
    if SKIP:
        skip = SKIP


#: A non-blocking echo server for a namespace: echoes every connection,
#: carries the client's half-close back, serves until killed.
ECHO = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4096); s.setblocking(False)
sel.register(s, selectors.EVENT_READ, None)
print("ready", flush=True)
state = {}
while True:
    for key, events in sel.select():
        sock = key.fileobj
        if sock is s:
            try:
                c, _ = s.accept()
            except BlockingIOError:
                continue
            c.setblocking(False)
            state[c] = [bytearray(), False]
            sel.register(c, selectors.EVENT_READ, None)
            continue
        buf, eof = state[sock]
        if events & selectors.EVENT_READ and not eof and len(buf) < 1 << 20:
            try:
                d = sock.recv(1 << 16)
            except ConnectionError:
                d = None
            if d is None:
                sel.unregister(sock); sock.close(); del state[sock]; continue
            if d:
                buf += d
            else:
                state[sock][1] = eof = True
        if buf:
            try:
                n = sock.send(buf)
                del buf[:n]
            except BlockingIOError:
                pass
            except ConnectionError:
                sel.unregister(sock); sock.close(); del state[sock]; continue
        if eof and not buf:
            sel.unregister(sock); sock.close(); del state[sock]; continue
        sel.modify(sock, (selectors.EVENT_WRITE if buf else 0) |
                   (selectors.EVENT_READ if not eof and len(buf) < 1 << 20 else 0) or
                   selectors.EVENT_READ, None)
"""


#: An echo server on a virtual host (a C{vde:} server endpoint with the
#: default backlog), carrying the client's half-close back: the server of
#: issue 10 item 7.  Prints "ready" once listening.
VDE_ECHO = r"""
import sys
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from zope.interface import implementer

@implementer(IHalfCloseableProtocol)
class Echo(Protocol):
    def dataReceived(self, data):
        self.transport.write(data)
    def readConnectionLost(self):
        self.transport.loseConnection()
    def writeConnectionLost(self):
        pass

def failed(reason):
    print("failed", reason.getErrorMessage(), flush=True)
    reactor.stop()

serverFromString(reactor, sys.argv[1]).listen(Factory.forProtocol(Echo)).addCallbacks(
    lambda port: print("ready", flush=True), failed)
reactor.run()
"""


def residentKiB(pid: int) -> int:
    """
    @param pid: a process.
    @return: its resident set size in KiB (VmRSS).
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % (pid,))


def waitForCount(path: str, count: int, timeout: float = 30.0) -> int:
    """
    Wait until a directory (a process's fd table) holds at most C{count}
    entries, or the timeout passes.

    @return: the number of entries at the end.
    """
    deadline = time.monotonic() + timeout
    while len(os.listdir(path)) > count and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(os.listdir(path))


def settledCount(path: str, timeout: float = 10.0) -> int:
    """
    The number of entries of a directory (a process's fd table) once it
    has stopped changing: the same in two looks 0.2 s apart (sockets of
    connections that just ended are closed asynchronously).

    @return: the number.
    """
    deadline = time.monotonic() + timeout
    count = len(os.listdir(path))
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = len(os.listdir(path))
        if now == count:
            break
        count = now
    return count


def waitIdle(slirp: "SlirpProcess", port: int, timeout: float = 30.0) -> str:
    """
    Wait until the forward on host port C{port} has no live relay (its
    C{fwd/print} line shows 0 active).

    @return: the last C{fwd/print} output.
    """
    import re
    deadline = time.monotonic() + timeout
    while True:
        table = slirp.console("fwd/print")
        match = re.search(r"tcp +127\.0\.0\.1:%d +\S+ +\d+ +(\d+) " % (port,), table)
        if (match and match.group(1) == "0") or time.monotonic() > deadline:
            return table
        time.sleep(0.1)


def echoClients(port: int, count: int, size: int, timeout: float = 120.0) -> int:
    """
    Open C{count} connections at once to a host port, send C{size} bytes
    on each, half-close, and read the echo back.

    @return: the number of connections whose echo was intact.
    """
    import random
    import selectors
    sel = selectors.DefaultSelector()
    payloads = {}
    conns = {}
    for i in range(count):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        payloads[c] = random.Random(i).randbytes(size)
        conns[c] = [0, bytearray()]
        sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
    intact = 0
    deadline = time.monotonic() + timeout
    while conns and time.monotonic() < deadline:
        for key, events in sel.select(1.0):
            c = key.fileobj
            sent, got = conns[c]
            payload = payloads[c]
            if events & selectors.EVENT_WRITE and sent < size:
                try:
                    sent += c.send(payload[sent:sent + (1 << 16)])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    sent = size
                conns[c][0] = sent
                if sent >= size:
                    try:
                        c.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    sel.modify(c, selectors.EVENT_READ)
            if events & selectors.EVENT_READ:
                try:
                    d = c.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    d = b""
                if d:
                    got += d
                else:
                    intact += bytes(got) == payload
                    sel.unregister(c)
                    c.close()
                    del conns[c]
    for c in conns:
        c.close()
    return intact


class SlirpLoadTests(SynchronousTestCase):
    """
    Many concurrent forwarded connections (issue 4, done-when 2), on
    Debian's vde_switch.
    """

    if SKIP:
        skip = SKIP

    def test_concurrentEcho(self) -> None:
        """
        1,000 concurrent connections through one forward to an echo server
        in a namespace, 100 KB each, all come back intact; afterwards
        slirp's descriptors are back to their baseline and its tables are
        empty.
        """
        directory = shortTempDir(self)
        switch = RealVDESwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        ns = Namespace(self.addCleanup, directory)
        ns.plug(switch.ctlDir, "192.168.77.100/24", gateway="192.168.77.2")
        ns.exec("sysctl", "-q", "-w", "net.core.somaxconn=4096", check=False)
        echo = ns.popen(sys.executable, "-c", ECHO, "10000", stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
        self.addCleanup(SlirpInteropMixin._reap, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        [port] = freePorts(1)
        slirp = SlirpProcess(directory)
        slirp.start(["-s", switch.ctlDir, "-n", "192.168.77.0",
                     "-L127.0.0.1:%d:192.168.77.100:10000" % (port,)])
        self.addCleanup(slirp.stop)
        fdDir = "/proc/%d/fd" % (slirp.process.pid,)
        self.assertEqual(echoClients(port, 1, 1000), 1)
        waitIdle(slirp, port)
        baseline = settledCount(fdDir)
        count = int(os.environ.get("SLIRP_LOAD_CONNECTIONS", "1000"))
        self.assertEqual(echoClients(port, count, 100 * 1000, timeout=300), count)
        deadline = time.monotonic() + 30
        while len(os.listdir(fdDir)) > baseline and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(len(os.listdir(fdDir)), baseline)
        table = slirp.console("fwd/print")
        self.assertRegex(table, r"tcp +127\.0\.0\.1:%d +192\.168\.77\.100:10000 +%d +0 +0 "
                         % (port, count + 1))

    def test_virtualEchoTenRuns(self) -> None:
        """
        Issue 10 item 7 and done-when 4: 1,000 concurrent connections of
        10 KB each through a forward to an echo server on a C{vde:}
        endpoint (a user-space stack with the default backlog), ten runs
        in a row: every echo comes back intact (no guest connection is
        given up while the burst waits in the echo server's SYN queue),
        slirp's descriptors are back at their baseline after each run, and
        its resident memory does not grow after the first run.
        """
        directory = shortTempDir(self)
        switch = RealVDESwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        env = dict(os.environ, PYTHONPATH=ROOT)
        echo = subprocess.Popen(
            [sys.executable, "-c", VDE_ECHO,
             "vde:sock=%s:ip=192.168.77.100/24:gw=192.168.77.2:port=10000" % (switch.ctlDir,)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.addCleanup(SlirpInteropMixin._reap, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        [port] = freePorts(1)
        slirp = SlirpProcess(directory)
        slirp.start(["-s", switch.ctlDir, "-n", "192.168.77.0",
                     "-L127.0.0.1:%d:192.168.77.100:10000" % (port,)])
        self.addCleanup(slirp.stop)
        fdDir = "/proc/%d/fd" % (slirp.process.pid,)
        self.assertEqual(echoClients(port, 1, 1000), 1)
        waitIdle(slirp, port)
        baseline = settledCount(fdDir)
        runs = int(os.environ.get("SLIRP_LOAD_RUNS", "10"))
        count = int(os.environ.get("SLIRP_LOAD_CONNECTIONS", "1000"))
        resident = []
        for attempt in range(runs):
            self.assertEqual((attempt, echoClients(port, count, 10 * 1000, timeout=120)),
                             (attempt, count))
            self.assertEqual((attempt, waitForCount(fdDir, baseline)), (attempt, baseline))
            resident.append(residentKiB(slirp.process.pid))
        if runs >= 10:
            # RSS follows the bursts' peak concurrency, a high-water mark the
            # allocator keeps, which a busy machine reaches over the first
            # runs (seen: 71, 73, 78, 78, 79, 85, 86, 86, 86, 86 MB).  A leak
            # goes on growing through the last five: one of 2 KB a
            # connection (2 MB a run) passes the bound by the last run.
            self.assertLess(resident[-1], max(resident[:5]) * 1.1, resident)
        table = slirp.console("fwd/print")
        self.assertRegex(table, r"tcp +127\.0\.0\.1:%d +192\.168\.77\.100:10000 +%d +0 +0 "
                         % (port, runs * count + 1))
