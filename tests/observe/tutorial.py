# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The tutorial's network (C{twistd vdetutorial}) in a subprocess, as a user
starts it, for the observe tests.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, List, Optional, Tuple

from tests.test_tutorial_tap import freeBase
from tests.util import shortTempDir


def freePort() -> int:
    """
    A TCP port free on 127.0.0.1 now.
    """
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def httpGet(url: str, headers: Optional[dict] = None, method: str = "GET",
            data: Optional[bytes] = None, timeout: float = 10) -> Tuple[int, bytes]:
    """
    One HTTP request with urllib.

    @return: the status and body.
    """
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Tutorial:
    """
    C{twistd -n vdetutorial} with extra options, stopped at cleanup.

    @ivar sock: the switch's directory.
    @ivar mgmt: its console.
    @ivar base: the first forwarded host port.
    """

    def __init__(self, testCase: Any, extra: List[str], hosts: int = 3) -> None:
        directory = shortTempDir(testCase)
        self.directory = directory
        self.sock = os.path.join(directory, "vde")
        self.mgmt = os.path.join(directory, "mgmt")
        self.base = freeBase(hosts)
        self.log = os.path.join(directory, "log")
        self.reader: Optional[threading.Thread] = None
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        self.process = subprocess.Popen(
            [twistd, "-n", "--pidfile=", "--logfile=" + self.log, "vdetutorial",
             "--sock", self.sock, "--mgmt", self.mgmt, "--base-port", str(self.base),
             "--hosts", str(hosts)] + extra,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        testCase.addCleanup(self.stop)
        deadline = time.monotonic() + 60
        lines = []
        while not any("Ctrl-C stops everything" in line for line in lines):
            if time.monotonic() > deadline:
                raise AssertionError("the tutorial did not start: %r" % (lines,))
            line = self.process.stdout.readline().decode()
            if not line:
                raise AssertionError("the tutorial exited: %r %s" % (lines, self.logText()))
            lines.append(line)
        self.output = lines
        # The virtual hosts print what they receive: keep reading, so a
        # full pipe never blocks the network.
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        """
        Read the output until it ends.
        """
        for line in iter(self.process.stdout.readline, b""):
            if len(self.output) < 10000:
                self.output.append(line.decode(errors="replace"))

    def logText(self) -> str:
        """
        The log so far.
        """
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def rss(self) -> int:
        """
        The process's resident set size, in kB.
        """
        with open("/proc/%d/status" % (self.process.pid,)) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        """
        SIGINT, then SIGKILL if it does not stop.
        """
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.reader is not None:
            self.reader.join(10)
        self.process.stdout.close()
