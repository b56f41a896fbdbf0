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
file to its AAAA through C{fd00:77::3}.

TCP to an IPv6 server through the NAT waits for the stack's TCP over IPv6.
"""

import os
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import Namespace, VdetwistSwitch, missingTools
from tests.slirp.test_interop import SlirpProcess
from tests.util import shortTempDir

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
"""


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
        resolved through C{::3}.
        """
        directory = shortTempDir(self)
        hosts = os.path.join(directory, "hosts")
        with open(hosts, "w") as f:
            f.write("fd00:99::42 v6name.test\n")
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        slirp = SlirpProcess(directory)
        slirp.start(["-s", switch.ctlDir, "-n", "192.168.77.0", "--prefix6", "fd00:77::/64",
                     "--hosts", hosts])
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
