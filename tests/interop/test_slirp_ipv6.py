# -*- test-case-name: tests.interop.test_slirp_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The Linux kernel as an IPv6 guest of C{twistd -n slirp}: a namespace with
no static address, joined by C{vde_plug2tap} to vdetwist's switch behind
C{twistd -n slirp -s SW -n 192.168.77.0 --prefix6 fd00:77::/64}, configures
a global address by SLAAC from slirp's router advertisements and a default
route through its link-local address, sees the RDNSS option (read with a
raw ICMPv6 socket in the namespace: no rdisc6 here), pings C{fd00:77::2}
(a raw ICMPv6 echo: no ping here) and resolves a name of slirp's hosts
file to its AAAA through C{fd00:77::3}, and reaches an IPv6 TCP server
through the NAT: one in another namespace that the host routes to over
a veth pair, and one on the host's C{::1}, through C{fd00:77::2} with
C{--allow-host-loopback} (no traffic leaves the machine).

The seed tutorial over IPv6 (L{Tutorial6OnDebianSwitchTests},
L{Tutorial6OnVdetwistSwitchTests}): three hosts C{fd00:77::100-102}
listening on 10000, slirp forwarding three host ports to them with
C{-L PORT:[fd00:77::10N]:10000}, C{nc -N localhost PORT} from the host
reaching each; the hosts are virtual (C{vdetwist cat --ip6}) or kernel
namespaces (C{nodad} static addresses, default route through C{::2}).
"""

import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
from typing import List, Sequence

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import (ROOT, Namespace, VdetwistSwitch, missingTools,
                                 routedNamespace, uniqueName)
from tests.slirp.test_interop import SlirpProcess, freePorts
from tests.util import shortTempDir
from tests.vde.realswitch import RealVDESwitch

GATEWAY_LINK_LOCAL = "fe80::5055:c0ff:fea8:4d02"

#: Run in the namespace: C{ra IFACE}, C{ping ADDR}, C{aaaa SERVER NAME}.
PROBE = r"""
import socket, struct, sys, select, time
cmd = sys.argv[1]
def wait(sock, accept, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], deadline - time.monotonic())
        if r:
            data, addr = sock.recvfrom(65535)
            if accept(data, addr):
                return data, addr
    raise SystemExit("timed out")
if cmd == "ra":
    index = socket.if_nametoindex(sys.argv[2])
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ("ff02::2", 0, 0, index))
    data, addr = wait(s, lambda d, a: d[0] == 134)
    at, found = 16, []
    while at + 2 <= len(data) and data[at + 1]:
        kind, length = data[at], data[at + 1] * 8
        if kind == 25:
            for o in range(at + 8, at + length, 16):
                found.append(socket.inet_ntop(socket.AF_INET6, data[o:o + 16]))
        at += length
    print(addr[0].split("%")[0], " ".join(found))
elif cmd == "ping":
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x7777, 1) + b"vdetwist", (sys.argv[2], 0))
    data, addr = wait(s, lambda d, a: d[0] == 129 and d[4:6] == b"\x77\x77")
    print(addr[0], data[8:].decode())
elif cmd == "aaaa":
    name = b"".join(bytes([len(p)]) + p for p in sys.argv[3].encode().split(b".")) + b"\0"
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.sendto(struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name
             + struct.pack("!HH", 28, 1), (sys.argv[2], 53))
    data, addr = wait(s, lambda d, a: d[:2] == b"\x42\x42")
    answers = struct.unpack_from("!H", data, 6)[0]
    print(addr[0], answers, " ".join(socket.inet_ntop(socket.AF_INET6, data[i:i + 16])
          for i in range(len(data) - 16, len(data) - 16 * answers - 1, -16)))
elif cmd == "tcp":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
    c.sendall(b"from the namespace\n"); c.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = c.recv(65536)
        if not d: break
        reply += d
    print(reply.decode().strip())
"""

#: A one-connection IPv6 server for a namespace (as the IPv4 tutorial's
#: listener): greets with its name, reads to the client's FIN, answers
#: with the count and closes; prints the peer and the bytes read.
LISTENER6 = r"""
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[2]))); s.listen(5)
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


def loopbackServer(testCase: SynchronousTestCase) -> "tuple[int, List[str]]":
    """
    A one-connection TCP server on the host's C{::1}, in a thread: reads
    a line, answers with the peer's address, closes.

    @return: its port, and the list the peer address is put in.
    """
    server = socket.socket(socket.AF_INET6)
    server.bind(("::1", 0))
    server.listen(1)
    server.settimeout(30)
    testCase.addCleanup(server.close)
    peers: List[str] = []

    def serve() -> None:
        try:
            c, peer = server.accept()
        except OSError:
            return
        with c:
            c.settimeout(10)
            data = b""
            while not data.endswith(b"\n"):
                chunk = c.recv(100)
                if not chunk:
                    break
                data += chunk
            peers.append(peer[0])
            c.sendall(b"served " + data)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    testCase.addCleanup(thread.join, 10)
    return server.getsockname()[1], peers



def outsideServer(testCase: SynchronousTestCase) -> "tuple[str, subprocess.Popen]":
    """
    A namespace the host routes to over a veth pair, with an IPv6 prefix
    of its own (a ULA made for the test, no DAD on either side), running
    L{LISTENER6} on port 10000: a TCP server the NAT reaches from the
    host.

    @return: the server's address and its process (L{LISTENER6} prints
        the peer and the bytes read when the connection ends).
    """
    prefix = "fd00:88:%x:%x" % (os.getpid() & 0xFFFF, int(uniqueName().rsplit("x", 1)[1]) & 0xFFFF)
    outside = routedNamespace(testCase.addCleanup, prefix + "::1/64", prefix + "::2/64")
    inside = ("ip", "netns", "exec", outside)
    server = subprocess.Popen([*inside, sys.executable, "-c", LISTENER6, "outside", "10000"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    testCase.addCleanup(Tutorial6Mixin._reap, server)
    testCase.assertEqual(server.stdout.readline().strip(), b"ready")
    return prefix + "::2", server


class KernelGuestTests(SynchronousTestCase):
    """
    A kernel namespace configured only by our router advertisements.
    """

    skip = missingTools("vde_plug2tap", "ip")

    def probe(self, namespace: Namespace, *args: str) -> str:
        """
        Run L{PROBE} in the namespace.

        @return: its output line.
        """
        return namespace.exec(sys.executable, "-c", PROBE, *args,
                              timeout=30).stdout.decode().strip()

    def test_slaacPingAndDNS(self) -> None:
        """
        SLAAC from our RA, RDNSS seen, the gateway pinged, an AAAA
        resolved through C{::3}, a TCP server in another namespace reached
        through the NAT (which connects from the host: the server sees the
        host's veth address), and a TCP server on the host's C{::1}
        reached through the NAT as C{[fd00:77::2]:PORT}
        (C{--allow-host-loopback}): the NAT connects on the host first,
        then answers the namespace's SYN.
        """
        port, peers = loopbackServer(self)
        outsideAddress, outside = outsideServer(self)
        directory = shortTempDir(self)
        hosts = os.path.join(directory, "hosts")
        with open(hosts, "w") as f:
            f.write("fd00:99::42 v6name.test\n")
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        slirp = SlirpProcess(directory)
        slirp.start(["-s", switch.ctlDir, "-n", "192.168.77.0", "--prefix6", "fd00:77::/64",
                     "--hosts", hosts, "--allow-host-loopback"])
        self.addCleanup(slirp.stop)
        namespace = Namespace(self.addCleanup, directory)
        namespace.exec("vde_plug2tap", "-s", switch.ctlDir, "-d", "-P", namespace.pidPath,
                       namespace.tap)
        deadline = time.monotonic() + 5
        while namespace.exec("ip", "link", "show", namespace.tap, check=False).returncode:
            self.assertLess(time.monotonic(), deadline, "no tap")
            time.sleep(0.02)
        namespace.exec("ip", "link", "set", namespace.tap, "up")
        # SLAAC: a global address in the prefix, DAD done (the kernel
        # solicits routers when the link comes up).
        deadline = time.monotonic() + 30
        while True:
            shown = namespace.exec("ip", "-6", "addr", "show", "dev", namespace.tap,
                                   check=False).stdout.decode()
            if "inet6 fd00:77::" in shown and "tentative" not in shown:
                break
            self.assertLess(time.monotonic(), deadline, "no SLAAC address: " + shown
                            + slirp.log())
            time.sleep(0.1)
        route = namespace.exec("ip", "-6", "route", "show", "default").stdout.decode()
        self.assertIn("via " + GATEWAY_LINK_LOCAL, route)
        self.assertEqual(self.probe(namespace, "ra", namespace.tap),
                         GATEWAY_LINK_LOCAL + " fd00:77::3")
        self.assertEqual(self.probe(namespace, "ping", "fd00:77::2"), "fd00:77::2 vdetwist")
        self.assertEqual(self.probe(namespace, "aaaa", "fd00:77::3", "v6name.test"),
                         "fd00:77::3 1 fd00:99::42")
        self.assertEqual(self.probe(namespace, "tcp", outsideAddress, "10000"),
                         "hello from outside\ngot 19")
        out, _ = outside.communicate(timeout=10)
        peer, read = out.decode().split(None, 1)
        self.assertEqual(ipaddress.ip_address(peer),
                         ipaddress.ip_address(outsideAddress) - 1)
        self.assertEqual(read, "b'from the namespace\\n'\n")
        self.assertEqual(self.probe(namespace, "tcp", "fd00:77::2", str(port)),
                         "served from the namespace")
        self.assertEqual(peers, ["::1"])


class Tutorial6Mixin:
    """
    The seed tutorial over IPv6, written once; subclasses choose the
    switch.
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

    def startSlirp(self, ports: List[int], forwards: Sequence[str] = ()) -> SlirpProcess:
        """
        slirp on the switch forwarding C{ports[N]} to C{[fd00:77::10N]:10000}
        (and C{forwards}).
        """
        slirp = SlirpProcess(self.directory)
        slirp.start(["-s", self.switch.ctlDir, "-n", "192.168.77.0", "--prefix6",
                     "fd00:77::/64", *forwards] + [
                         "-L%d:[fd00:77::%d]:10000" % (ports[i], 100 + i)
                         for i in range(len(ports))])
        self.addCleanup(slirp.stop)
        if ports:
            self.assertIn("redir TCP   =%d:[fd00:77::100]:10000" % (ports[0],),
                          slirp.output())
        return slirp

    def kernelHost(self, address: str) -> Namespace:
        """
        A kernel namespace at C{address}/64 (no DAD), default route
        through C{fd00:77::2}.
        """
        ns = Namespace(self.addCleanup, self.directory)
        ns.exec("vde_plug2tap", "-s", self.switch.ctlDir, "-d", "-P", ns.pidPath, ns.tap)
        deadline = time.monotonic() + 5
        while ns.exec("ip", "link", "show", ns.tap, check=False).returncode:
            self.assertLess(time.monotonic(), deadline, "no tap")
            time.sleep(0.02)
        ns.exec("ip", "-6", "addr", "add", address + "/64", "dev", ns.tap, "nodad")
        ns.exec("ip", "link", "set", ns.tap, "up")
        ns.exec("ip", "-6", "route", "add", "default", "via", "fd00:77::2")
        return ns

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

    def nc(self, port: int, data: bytes) -> bytes:
        """
        C{nc -N localhost PORT} from the host with C{data} on its input.

        @return: what it printed.
        """
        result = subprocess.run(["nc", "-N", "localhost", str(port)], input=data,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return result.stdout

    def waitForPorts(self, count: int) -> None:
        """
        Wait until the switch shows C{count} active ports.
        """
        deadline = time.monotonic() + 15
        while self.switch.console("port/print").count("ACTIVE") < count:
            self.assertLess(time.monotonic(), deadline, "not all attached")
            time.sleep(0.1)

    def test_virtualHosts(self) -> None:
        """
        Three C{vdetwist cat --ip6 fd00:77::10N/64 -l -p 10000}: each gets
        its own host client's lines through the forward.
        """
        ports = freePorts(3)
        env = dict(os.environ, PYTHONPATH=ROOT)
        cats = []
        for i in range(3):
            cat = subprocess.Popen(
                [sys.executable, "-m", "vdetwist", "cat", "-s", self.switch.ctlDir,
                 "--ip6", "fd00:77::%d/64" % (100 + i,), "-l", "-p", "10000"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env)
            self.addCleanup(self._reap, cat)
            cats.append(cat)
        self.startSlirp(ports)
        self.waitForPorts(4)
        lines = [b"foo\nbar\nbaz\n", b"foo\nbar\nbaz\n", b"foo\nbar\nbuzz\n"]
        for i in range(3):
            self.nc(ports[i], lines[i])
        for i in range(3):
            try:
                out, err = cats[i].communicate(timeout=15)
            except subprocess.TimeoutExpired:
                cats[i].kill()
                out, err = cats[i].communicate()
            self.assertEqual(out, lines[i], err)

    def test_kernelHosts(self) -> None:
        """
        Three kernel namespaces at C{fd00:77::10N/64} (no DAD, default
        route through C{fd00:77::2}) listening on 10000: each listener gets
        its own host client's lines from C{fd00:77::2}, each client its own
        host's answers.
        """
        ports = freePorts(3)
        names = ["umview100", "umview101", "umview102"]
        listeners = []
        for i in range(3):
            ns = self.kernelHost("fd00:77::%d" % (100 + i,))
            listener = ns.popen(sys.executable, "-c", LISTENER6, names[i], "10000",
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.addCleanup(self._reap, listener)
            self.assertEqual(listener.stdout.readline().strip(), b"ready")
            listeners.append(listener)
        self.startSlirp(ports)
        self.waitForPorts(4)
        lines = [b"foo\nbar\nbaz\n", b"foo\nbar\nbaz\n", b"foo\nbar\nbuzz\n"]
        for i in range(3):
            reply = self.nc(ports[i], lines[i])
            self.assertEqual(reply, b"hello from %s\ngot %d\n" % (
                names[i].encode(), len(lines[i])))
            out, _ = listeners[i].communicate(timeout=10)
            self.assertEqual(out.decode().split(None, 1),
                             ["fd00:77::2", repr(lines[i]) + "\n"])


    def test_udpForward(self) -> None:
        """
        C{-U PORT:[fd00:77::100]:5353} forwards host datagrams to a kernel
        guest's IPv6 UDP echo server (from C{fd00:77::2}), and the answers
        come back to each host client.
        """
        [port] = freePorts(1)
        ns = self.kernelHost("fd00:77::100")
        echo = ns.popen(sys.executable, "-c", (
            "import socket\n"
            "s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::', 5353))\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    d, a = s.recvfrom(2048); s.sendto(b'echo ' + d + b' from ' + a[0].encode(), a)\n"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        slirp = self.startSlirp([], ["-U%d:[fd00:77::100]:5353" % (port,)])
        self.assertIn("redir UDP   =%d:[fd00:77::100]:5353" % (port,), slirp.output())
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
                self.assertEqual(answer, b"echo " + name + b" from fd00:77::2")
            finally:
                c.close()


_SKIP6 = missingTools("vde_plug2tap", "vde_switch", "ip", "nc")


class Tutorial6OnDebianSwitchTests(Tutorial6Mixin, SynchronousTestCase):
    """
    The IPv6 tutorial on Debian's vde_switch.
    """

    if _SKIP6:
        skip = _SKIP6


class Tutorial6OnVdetwistSwitchTests(Tutorial6Mixin, SynchronousTestCase):
    """
    The IPv6 tutorial on vdetwist's switch.
    """

    switchClass = VdetwistSwitch
    if _SKIP6:
        skip = _SKIP6
