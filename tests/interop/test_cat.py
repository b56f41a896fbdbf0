# -*- test-case-name: tests.interop.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The listener side of the seed tutorial with C{vdetwist cat}: three
virtual hosts on 192.168.77.100-102 each run C{vdetwist cat -vv -l -p 10000};
clients are a kernel netcat in a namespace and a second C{vdetwist cat}.
"""

import os
import re
import subprocess
import sys

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
