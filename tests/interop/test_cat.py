# -*- test-case-name: tests.interop.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The listener side of the seed tutorial with C{vdetwist cat}: three
virtual hosts on 192.168.77.100-102 each run C{vdetwist cat -vv -l -p 10000};
clients are a kernel netcat in a namespace and a second C{vdetwist cat}.
Then C{-u} and C{-z} against Debian's netcat-openbsd in a namespace, both
ways.
"""

import os
import re
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, Namespace, VdetwistSwitch, missingTools
from tests.util import shortTempDir

SKIP = missingTools("vde_plug2tap", "nc", "ip")


def vdetwistCat(*args: str, **kwargs) -> subprocess.Popen:
    """
    Start C{vdetwist cat ARGS} as a user would (python -m vdetwist).
    """
    return subprocess.Popen([sys.executable, "-m", "vdetwist", "cat", *args],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), **kwargs)


class TutorialListenerTests(SynchronousTestCase):
    """
    The seed tutorial's netcat listeners, played by vdetwist cat.
    """

    skip = SKIP

    def test_threeListeners(self) -> None:
        """
        Each listener prints netcat's messages and exactly the lines its
        own client sent, then exits 0; the switch shows the ports; the
        client's --pcap file holds what it sent.
        """
        directory = shortTempDir(self)
        switch = VdetwistSwitch(os.path.join(directory, "s"))
        switch.start()
        self.addCleanup(switch.stop)
        listeners = []
        for host in (100, 101, 102):
            p = vdetwistCat("-s", switch.ctlDir, "--ip", "192.168.77.%d/24" % (host,),
                            "--gw", "192.168.77.2", "-vv", "-l", "-p", "10000",
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
            self.addCleanup(self._reap, p)
            listeners.append(p)
        for p in listeners:
            self.assertEqual(p.stderr.readline(), b"listening on [any] 10000 ...\n")
        kernel = Namespace(self.addCleanup, directory)
        kernel.plug(switch.ctlDir, "192.168.77.50/24")
        ports = switch.console("port/print")
        self.assertEqual(len(re.findall(r"^Port \d{4} .*ACTIVE", ports, re.M)), 4, ports)

        kernel.exec("nc", "-N", "-w", "10", "192.168.77.100", "10000",
                    input=b"foo\nbar\nbaz\n", timeout=30)
        pcap = os.path.join(directory, "client.pcap")
        client = vdetwistCat("-s", switch.ctlDir, "--ip", "192.168.77.60/24", "-N",
                             "--pcap", pcap,
                             "192.168.77.101", "10000", stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = client.communicate(b"foo\nbar\nbaz\n", timeout=30)
        self.assertEqual(client.returncode, 0, err)
        from scapy.all import TCP, rdpcap
        payload = b"".join(bytes(p[TCP].payload) for p in rdpcap(pcap)
                           if TCP in p and p[TCP].dport == 10000)
        self.assertEqual(payload, b"foo\nbar\nbaz\n")
        kernel.exec("nc", "-N", "-w", "10", "192.168.77.102", "10000",
                    input=b"foo\nbar\nbuzz\n", timeout=30)

        for p, host, peer, text in [
                (listeners[0], 100, "192.168.77.50", b"foo\nbar\nbaz\n"),
                (listeners[1], 101, "192.168.77.60", b"foo\nbar\nbaz\n"),
                (listeners[2], 102, "192.168.77.50", b"foo\nbar\nbuzz\n")]:
            out, err = p.communicate(timeout=30)
            self.assertEqual(out, text)
            self.assertEqual(p.returncode, 0)
            self.assertRegex(err.decode(), r"^connect to \[192\.168\.77\.%d\] from \(UNKNOWN\) "
                             r"\[%s\] \d+\n sent 0, rcvd %d\n$" % (host, re.escape(peer),
                                                                   len(text)))

    @staticmethod
    def _reap(p: subprocess.Popen) -> None:
        if p.poll() is None:
            p.kill()
        p.communicate()


def waitForSocket(namespace: Namespace, kind: str, port: int, timeout: float = 10.0) -> None:
    """
    Wait until a kernel socket in C{namespace} is bound to C{port}.

    @param kind: C{"t"} for TCP listeners, C{"u"} for UDP sockets.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = namespace.exec("ss", "-Hln" + kind, "sport", "= :%d" % (port,)).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError("nothing bound to %s port %d" % (kind, port))


class UDPAndProbeTests(SynchronousTestCase):
    """
    C{vdetwist cat -u} and C{-z} with netcat-openbsd in a kernel namespace
    as the peer.
    """

    skip = SKIP or missingTools("ss")

    def setUp(self) -> None:
        self.directory = shortTempDir(self)
        self.switch = VdetwistSwitch(os.path.join(self.directory, "s"))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        self.kernel = Namespace(self.addCleanup, self.directory)
        self.kernel.plug(self.switch.ctlDir, "192.168.77.50/24")

    def start(self, *args: str) -> subprocess.Popen:
        p = vdetwistCat("-s", self.switch.ctlDir, *args, stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, p)
        return p

    def kernelNetcat(self, *args: str) -> subprocess.Popen:
        p = self.kernel.popen("nc", *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        self.addCleanup(self.reap, p)
        return p

    @staticmethod
    def reap(p: subprocess.Popen) -> None:
        """
        Stop a process we started (by its pid) and close its pipes.
        """
        if p.poll() is None:
            p.kill()
        p.wait()
        for pipe in (p.stdin, p.stdout, p.stderr):
            if pipe is not None:
                pipe.close()

    def test_udpListener(self) -> None:
        """
        A kernel C{nc -u} client's datagrams come out of C{vdetwist cat -u
        -l}, which names the client with C{-v} and answers it with its
        standard input.
        """
        ours = self.start("--ip", "192.168.77.100/24", "-u", "-v", "-l", "-p", "10001")
        self.assertEqual(ours.stderr.readline(), b"listening on [any] 10001 ...\n")
        theirs = self.kernelNetcat("-u", "-p", "40001", "192.168.77.100", "10001")
        theirs.stdin.write(b"hello from the kernel\n")
        theirs.stdin.flush()
        self.assertEqual(ours.stdout.readline(), b"hello from the kernel\n")
        self.assertEqual(ours.stderr.readline(),
                         b"connect to [192.168.77.100] from (UNKNOWN) [192.168.77.50] 40001\n")
        ours.stdin.write(b"hello from vdetwist\n")
        ours.stdin.flush()
        self.assertEqual(theirs.stdout.readline(), b"hello from vdetwist\n")

    def test_udpClient(self) -> None:
        """
        C{vdetwist cat -u HOST PORT} sends a kernel C{nc -u -l} one datagram
        per line written and prints its answers; C{-q 0} ends it with status
        0 at the end of its input.
        """
        theirs = self.kernelNetcat("-u", "-l", "-p", "10002")
        waitForSocket(self.kernel, "u", 10002)
        ours = self.start("--ip", "192.168.77.101/24", "-u", "-q", "1",
                          "192.168.77.50", "10002")
        ours.stdin.write(b"first line\n")
        ours.stdin.flush()
        self.assertEqual(theirs.stdout.readline(), b"first line\n")
        theirs.stdin.write(b"an answer\n")
        theirs.stdin.flush()
        self.assertEqual(ours.stdout.readline(), b"an answer\n")
        ours.stdin.write(b"second line\n")
        ours.stdin.close()
        self.assertEqual(theirs.stdout.readline(), b"second line\n")
        self.assertEqual(ours.wait(10), 0)

    def test_zeroTCP(self) -> None:
        """
        C{-z -v} against a kernel listener: 0 and netcat-openbsd's line;
        against a closed port: 1 and its failure line; the kernel's own
        C{nc -z -v} says the same.
        """
        theirs = self.kernelNetcat("-l", "-p", "10003")
        waitForSocket(self.kernel, "t", 10003)
        ours = self.start("--ip", "192.168.77.102/24", "-z", "-v", "192.168.77.50", "10003")
        out, err = ours.communicate(timeout=30)
        self.assertEqual((ours.returncode, out, err),
                         (0, b"", b"Connection to 192.168.77.50 10003 port [tcp/*] succeeded!\n"))
        # The kernel listener saw a connection come and go.
        self.assertEqual(theirs.wait(10), 0)
        ours = self.start("--ip", "192.168.77.102/24", "-z", "-v", "192.168.77.50", "10004")
        out, err = ours.communicate(timeout=30)
        self.assertEqual((ours.returncode, err), (1, b"vdetwist cat: connect to 192.168.77.50 "
                                                     b"port 10004 (tcp) failed: Connection refused\n"))
        kernel = self.kernel.exec("nc", "-z", "-v", "192.168.77.50", "10004", check=False)
        self.assertEqual((kernel.returncode, kernel.stderr),
                         (1, b"nc: connect to 192.168.77.50 port 10004 (tcp) failed: "
                             b"Connection refused\n"))

    def test_zeroUDP(self) -> None:
        """
        C{-z -u -v}: 0 and netcat-openbsd's line when a kernel socket is
        bound (it receives the probes), 1 and silence when the kernel
        answers port unreachable.
        """
        theirs = self.kernelNetcat("-u", "-l", "-p", "10005")
        waitForSocket(self.kernel, "u", 10005)
        ours = self.start("--ip", "192.168.77.103/24", "-z", "-u", "-v",
                          "192.168.77.50", "10005")
        out, err = ours.communicate(timeout=30)
        self.assertEqual((ours.returncode, err),
                         (0, b"Connection to 192.168.77.50 10005 port [udp/*] succeeded!\n"))
        self.assertEqual(theirs.stdout.read(4), b"XXXX")
        ours = self.start("--ip", "192.168.77.103/24", "-z", "-u", "-v",
                          "192.168.77.50", "10006")
        out, err = ours.communicate(timeout=30)
        self.assertEqual((ours.returncode, out, err), (1, b"", b""))
