# -*- test-case-name: tests.interop.test_lifecycle -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Components start, log and stop as services should: JSON logs through
C{twistd --logger vdetwist.logs.json}, and SIGTERM to any component leaves
no socket, pid file or directory behind and gives its peers a clean close.
"""

import io
import os
import signal
import subprocess
import sys
import time

from twisted.logger import eventsFromJSONLogFile
from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, missingTools
from tests.util import shortTempDir

SKIP = missingTools("vde_plug")
#: twistd stops its services on SIGTERM, then exits by the signal (so its
#: parent sees why), or 0.
STOPPED = (0, -signal.SIGTERM)
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def waitFor(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class LifecycleTests(SynchronousTestCase):
    """
    The switch, slirp and a virtual host under SIGTERM, with JSON logs.
    """

    skip = SKIP

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=ROOT, **kwargs.pop("env", {}))
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(list(args), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env, cwd=self.dir, **kwargs)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        return p

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.sock = os.path.join(self.dir, "sw")
        self.mgmt = os.path.join(self.dir, "mgmt")
        self.pid = os.path.join(self.dir, "sw.pid")
        self.log = os.path.join(self.dir, "log.json")
        self.switch = self.start(*TWISTD, "-n", "--pidfile", self.pid, "--logger",
                                 "vdetwist.logs.json", "vdeswitch", "-s", self.sock,
                                 "-M", self.mgmt, env={"VDETWIST_JSON_LOG": self.log})
        self.assertTrue(waitFor(lambda: os.path.exists(self.mgmt)))

    def events(self):
        with open(self.log) as f:
            return list(eventsFromJSONLogFile(io.StringIO(f.read())))

    def test_switchJSONLogAndSIGTERM(self) -> None:
        """
        A vde_plug joining is logged as a JSON event with its port and
        description; SIGTERM closes the plug's connection (it exits) and
        removes the sockets, the directory and the pid file.
        """
        plug = self.start("vde_plug", "-D", "jsonprobe", "vde://" + self.sock,
                          stdin=subprocess.PIPE)
        self.assertTrue(waitFor(lambda: any(
            e.get("descr", "").startswith("jsonprobe") for e in self.events())))
        up = [e for e in self.events() if e.get("descr", "").startswith("jsonprobe")][0]
        self.assertEqual(up["port"], 1)
        self.switch.send_signal(signal.SIGTERM)
        self.assertIn(self.switch.wait(10), STOPPED)
        self.assertIsNotNone(plug.wait(10))
        for path in (self.sock, self.mgmt, self.pid):
            self.assertFalse(os.path.exists(path), path)

    def test_slirpAndHostSIGTERM(self) -> None:
        """
        SIGTERM to slirp and to a vdetwist cat host ends them, frees their
        switch ports (the switch sees the control streams close) and
        leaves no pid file; then the switch stops clean too.  slirp's
        --pcap file holds its frames (its gratuitous ARP at least).
        """
        slirpPid = os.path.join(self.dir, "slirp.pid")
        pcap = os.path.join(self.dir, "slirp.pcap")
        slirp = self.start(*TWISTD, "-n", "--pidfile", slirpPid, "slirp", "-s", self.sock,
                           "-n", "10.80.0.0", "-L", "0:10.80.0.100:10000", "--pcap", pcap)
        host = self.start(sys.executable, "-m", "vdetwist", "cat", "-s", self.sock, "--ip",
                          "10.80.0.100/24", "-l", "-p", "10000", stdin=subprocess.PIPE)
        active = lambda: self.console("port/print").count("ACTIVE")  # noqa: E731
        self.assertTrue(waitFor(lambda: active() == 2))
        host.send_signal(signal.SIGTERM)
        slirp.send_signal(signal.SIGTERM)
        self.assertIsNotNone(host.wait(10))
        self.assertIn(slirp.wait(10), STOPPED)
        self.assertTrue(waitFor(lambda: active() == 0))
        self.assertFalse(os.path.exists(slirpPid))
        self.switch.send_signal(signal.SIGTERM)
        self.assertIn(self.switch.wait(10), STOPPED)
        self.assertEqual(sorted(os.listdir(self.dir)), ["log.json", "slirp.pcap"])
        from scapy.all import ARP, rdpcap
        self.assertTrue(any(ARP in p and p[ARP].psrc == "10.80.0.2" for p in rdpcap(pcap)))

    def console(self, command: str) -> str:
        from tests.vde.realswitch import RealVDESwitch
        helper = RealVDESwitch(self.dir)
        helper.mgmtPath = self.mgmt
        return helper.console(command)
