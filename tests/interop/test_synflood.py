# -*- test-case-name: tests.interop.test_synflood -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A SYN flood at a C{vdetwist cat -l -k} listener (issue 10, done-when 1):
20,000 SYNs from random source ports, sent with a raw socket from a kernel
namespace on the same virtual LAN, from an address nobody owns (as a
spoofing attacker sends them: the SYN-ACKs go nowhere).  A kernel peer in
the namespace connects during and right after the flood, every time (SYN
cookies answer it when the SYN queue is full), and the listener's memory
stays bounded.

Needs root, C{ip netns}, C{/dev/net/tun} and Debian's vde tools; skips
with the reason otherwise.  Traffic goes only to the namespace and the
virtual addresses the test makes.
"""

import os
import subprocess
import sys
import threading
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, Namespace, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")

#: Sends COUNT SYNs from SOURCE (random ports and ISNs, MSS option) to
#: DESTINATION:PORT with a raw socket, while answering ARP for SOURCE on
#: DEVICE with a made-up MAC (nothing else answers for it: the kernel
#: neither owns the address nor accepts frames for that MAC) and counting
#: the distinct ports that got a SYN-ACK; prints "SENT ANSWERED".
FLOOD = r"""
import random, socket, struct, sys, threading, time
destination, source, port, count, device = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                            int(sys.argv[4]), sys.argv[5])
FAKE = bytes.fromhex("02feedc0ffee")
packet = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
packet.bind((device, 0))
packet.settimeout(0.2)
answered = set()
done = []
def sniff():
    while not done:
        try:
            frame = packet.recv(2048)
        except socket.timeout:
            continue
        kind = frame[12:14]
        if kind == b"\x08\x06" and frame[20:22] == b"\x00\x01" and frame[38:42] == socket.inet_aton(source):
            reply = (frame[6:12] + FAKE + b"\x08\x06" + frame[14:20] + b"\x00\x02" + FAKE
                     + frame[38:42] + frame[22:28] + frame[28:32])
            packet.send(reply)
        elif kind == b"\x08\x00" and frame[23] == 6 and frame[30:34] == socket.inet_aton(source):
            tcp = 14 + (frame[14] & 15) * 4
            if frame[tcp + 13] & 0x12 == 0x12:
                answered.add(struct.unpack_from("!H", frame, tcp + 2)[0])
sniffer = threading.Thread(target=sniff)
sniffer.start()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
S, D = socket.inet_aton(source), socket.inet_aton(destination)
def checksum(b):
    total = int.from_bytes(b, "big") % 0xFFFF
    return (~total) & 0xFFFF or 0xFFFF
rng = random.Random()
sent = 0
for i in range(count):
    tcp = bytearray(struct.pack("!HHIIBBHHHBBH", rng.randint(1024, 65535), port,
                                rng.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0, 2, 4, 1460))
    tcp[16:18] = struct.pack("!H", checksum(S + D + struct.pack("!BBH", 0, 6, len(tcp)) + tcp))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, S, D)
    while True:
        try:
            s.sendto(ip + bytes(tcp), (destination, 0))
            sent += 1
            break
        except OSError:
            time.sleep(0.001)
    if i % 100 == 99:
        time.sleep(0.002)
time.sleep(3)
done.append(True)
sniffer.join()
print(sent, len(answered), flush=True)
"""

#: Connects to HOST:PORT, sends MESSAGE and closes; exits non-zero on failure.
CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
c.sendall(sys.argv[3].encode() + b"\n")
# Half-close and wait for the listener's end of the conversation: a
# connection the listener never took (reset) fails here, not silently.
c.shutdown(socket.SHUT_WR)
while c.recv(4096):
    pass
c.close()
"""


def residentKiB(pid: int) -> int:
    """
    @param pid: a process.
    @return: its resident set size in KiB.
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class SYNFloodTests(SynchronousTestCase):
    """
    A SYN flood never denies a legitimate peer.
    """

    if SKIP:
        skip = SKIP

    def test_floodSurvived(self) -> None:
        """
        20,000 SYNs from random ports: kernel connections made during the
        flood and right after it all get through and deliver their line;
        the listener's resident memory grows by less than 64 MiB.
        """
        directory = shortTempDir(self)
        switch = RealVDESwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        outPath = os.path.join(directory, "cat.out")
        errPath = os.path.join(directory, "cat.err")
        out = open(outPath, "wb")
        self.addCleanup(out.close)
        err = open(errPath, "wb")
        self.addCleanup(err.close)
        listener = subprocess.Popen(
            [sys.executable, "-m", "vdetwist", "cat", "-v", "-s", switch.ctlDir,
             "--ip", "192.168.77.100/24", "-l", "-k", "-p", "10000"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stdin=subprocess.DEVNULL,
            stdout=out, stderr=err)
        self.addCleanup(self._reap, listener)
        deadline = time.monotonic() + 15
        while b"listening" not in open(errPath, "rb").read():
            self.assertIsNone(listener.poll(), open(errPath).read())
            self.assertLess(time.monotonic(), deadline, "cat did not start listening")
            time.sleep(0.05)
        ns = Namespace(self.addCleanup, directory)
        ns.plug(switch.ctlDir, "192.168.77.50/24")

        def connect(message: str) -> None:
            result = ns.exec(sys.executable, "-c", CLIENT, "192.168.77.100", "10000",
                             message, timeout=60, check=False)
            with open(errPath, "rb") as f:
                listenerSaid = f.read()[-1500:]
            self.assertEqual(result.returncode, 0, (message, result.stderr, listenerSaid))

        connect("before")
        before = residentKiB(listener.pid)
        flood = ns.popen(sys.executable, "-c", FLOOD, "192.168.77.100", "192.168.77.200",
                         "10000", "20000", ns.tap, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        self.addCleanup(self._reap, flood)
        during = []
        errors = []

        def clients() -> None:
            while flood.poll() is None:
                message = "during %d" % (len(during),)
                try:
                    connect(message)
                except Exception as e:
                    errors.append(e)
                    return
                during.append(message)
        thread = threading.Thread(target=clients)
        thread.start()
        sent, floodErrors = flood.communicate(timeout=300)
        thread.join(120)
        sent, answered = map(int, sent.split())
        self.assertEqual(sent, 20000, floodErrors)
        # Far more flood SYNs were answered than the SYN queue can hold
        # (1,024): the rest got SYN cookies, and no state.
        self.assertGreater(answered, 2 * 1024)
        self.assertEqual(errors, [])
        self.assertGreater(len(during), 0)
        connect("after")
        expected = ["before", *during, "after"]
        deadline = time.monotonic() + 30
        while True:
            with open(outPath) as f:
                received = f.read().splitlines()
            if sorted(received) == sorted(expected) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(sorted(received), sorted(expected))
        self.assertIsNone(listener.poll())
        self.assertLess(residentKiB(listener.pid) - before, 64 * 1024)

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
