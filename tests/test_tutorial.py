# -*- test-case-name: tests.test_tutorial -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Run docs/tutorial.txt exactly as written.

The document's convention: an indented line C{[N]$ COMMAND} is COMMAND typed
in terminal N; the indented lines after it, and later lines C{[N] TEXT}, are
what terminal N shows, in order (other lines may come between them).  C{...}
inside a line matches anything; a line that is only C{...} is decoration.
A line C{[N] ^C} is Ctrl-C pressed in terminal N: its command gets SIGINT
and must exit by itself.  A command that has not exited is left running (a
server) once the lines expected from it so far have appeared; everything is
stopped at the end with SIGINT, as Ctrl-C would.

The steps from the first C{vdetwist ns} command on need network namespaces
and a tap device (root, or unprivileged user namespaces); where this
machine has neither, the steps before it run and the rest is skipped,
saying why.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIAL = os.path.join(ROOT, "docs", "tutorial.txt")

_COMMAND = re.compile(r"^    \[(\d+)\]\$ (.*)$")
_OUTPUT = re.compile(r"^    \[(\d+)\] (.*)$")
_INDENTED = re.compile(r"^    (.*)$")
#: What an expected line C{[N] ^C} holds: Ctrl-C pressed in terminal N.
CTRL_C = "^C"


def parseTutorial(text: str) -> List[Tuple[str, int, str]]:
    """
    The steps of a tutorial document.

    @param text: the document.
    @return: C{("run", terminal, command)}, C{("expect", terminal,
        pattern)} and C{("interrupt", terminal, "")} steps in document
        order.
    """
    steps: List[Tuple[str, int, str]] = []
    current: Optional[int] = None
    for line in text.splitlines():
        command = _COMMAND.match(line)
        if command:
            current = int(command.group(1))
            steps.append(("run", current, command.group(2)))
            continue
        output = _OUTPUT.match(line)
        if output:
            current = None
            if output.group(2).strip() == CTRL_C:
                steps.append(("interrupt", int(output.group(1)), ""))
            else:
                steps.append(("expect", int(output.group(1)), output.group(2)))
            continue
        indented = _INDENTED.match(line)
        if indented and current is not None:
            if indented.group(1).strip() != "...":
                steps.append(("expect", current, indented.group(1)))
            continue
        if line.strip():
            current = None
    return steps


def patternFor(expected: str) -> "re.Pattern[str]":
    """
    A regex for one expected line, C{...} matching anything; indentation
    is not significant.

    @param expected: the line as documented.
    @return: the compiled pattern (matching a whole line).
    """
    parts = [re.escape(p) for p in expected.strip().split("...")]
    return re.compile(r"^\s*" + ".*".join(parts) + r"\s*$")


class Terminal:
    """
    One terminal: the command running in it and everything it printed.
    """

    def __init__(self, command: str, env: Dict[str, str], cwd: str) -> None:
        self.command = command
        self.lines: List[str] = []
        self.position = 0
        self.process = subprocess.Popen(
            ["bash", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in iter(self.process.stdout.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def expect(self, pattern: "re.Pattern[str]", timeout: float) -> bool:
        """
        Wait until a line after the last match matches.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while self.position < len(self.lines):
                line = self.lines[self.position]
                self.position += 1
                if pattern.match(line):
                    return True
            if self.process.poll() is not None and not self._reader.is_alive() \
                    and self.position >= len(self.lines):
                return False
            time.sleep(0.02)
        return False

    def interrupt(self) -> bool:
        """
        Ctrl-C, then wait; kill if it does not stop.

        @return: whether the command ended by itself (it was not killed).
        """
        stopped = True
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                stopped = False
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(5)
        self.process.stdout.close()
        return stopped


def _busy() -> Optional[str]:
    """
    Why the tutorial's fixed paths and ports cannot be used now, if so.
    """
    for path in ("/tmp/vde", "/tmp/mgmt"):
        if os.path.exists(path):
            return "%s exists (a switch from the tutorial is running?)" % (path,)
    for port in (30000, 30001, 30002):
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return "host port %d is taken" % (port,)
        finally:
            s.close()
    for tool in ("nc", "netcat", "bash"):
        if shutil.which(tool) is None:
            return "%s is not installed" % (tool,)
    for command in ("vdetwist", "twistd"):
        if not os.path.exists(os.path.join(os.path.dirname(sys.executable), command)):
            return ("the %s command is not installed beside %s: run the tests with the "
                    "virtualenv bin/setup makes (bash bin/test)" % (command, sys.executable))
    return None


def _viewsUnavailable() -> Optional[str]:
    """
    Why C{vdetwist ns} cannot make network views here, if so: it needs
    C{ip}, a tap device, and root or unprivileged user namespaces.
    """
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist"
    if os.geteuid() == 0:
        return None
    if not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return "/dev/net/tun is not readable and writable by this user"
    if shutil.which("unshare") is None:
        return "not root, and unshare (util-linux) is missing to check user namespaces"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "true"],
                           stdin=subprocess.DEVNULL, capture_output=True)
    if probe.returncode != 0:
        return "not root, and unprivileged user namespaces are not allowed (%s)" % (
            probe.stderr.decode("utf-8", "replace").strip(),)
    return None


class ParserTests(SynchronousTestCase):
    """
    The document convention itself.
    """

    def test_parse(self) -> None:
        """
        Commands, their output, later output and decoration are told apart.
        """
        text = ("Intro\n\n    [1]$ echo hi\n    hi\n    ...\n\nProse\n\n"
                "    [2] later ... line\n    not output of anyone\n\n    [2] ^C\n")
        self.assertEqual(parseTutorial(text), [
            ("run", 1, "echo hi"), ("expect", 1, "hi"), ("expect", 2, "later ... line"),
            ("interrupt", 2, "")])

    def test_pattern(self) -> None:
        """
        C{...} matches anything inside a line, the rest literally.
        """
        pattern = patternFor("connect to [192.168.77.100] from (UNKNOWN) [192.168.77.2] ...")
        self.assertTrue(pattern.match("connect to [192.168.77.100] from (UNKNOWN) [192.168.77.2] 4000"))
        self.assertFalse(pattern.match("connect to [192.168.77.101] from (UNKNOWN) [192.168.77.2] 4"))


class TutorialTests(SynchronousTestCase):
    """
    docs/tutorial.txt, run as written.
    """

    def test_tutorial(self) -> None:
        """
        Every documented command runs and every documented line appears in
        its terminal; stopping everything leaves no socket behind.
        """
        reason = _busy()
        if reason:
            raise self.skipTest(reason)
        with open(TUTORIAL) as f:
            steps = parseTutorial(f.read())
        self.assertGreater(len(steps), 20)
        bin = os.path.dirname(sys.executable)
        env = dict(os.environ, PATH=bin + os.pathsep + os.environ.get("PATH", ""),
                   PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
        terminals: Dict[int, Terminal] = {}
        cwd = self.mktemp()
        os.makedirs(cwd)
        skipped: Optional[str] = None
        try:
            for kind, number, text in steps:
                if kind == "run" and "vdetwist ns " in text and skipped is None:
                    viewsUnavailable = _viewsUnavailable()
                    if viewsUnavailable:
                        skipped = ("the steps from %r on need network views: %s" % (
                            text, viewsUnavailable))
                        break
                    skipped = ""
                if kind == "interrupt":
                    if not terminals[number].interrupt():
                        self.fail("terminal %d (%s) did not stop on Ctrl-C; it showed:\n%s" % (
                            number, terminals[number].command,
                            "\n".join(terminals[number].lines)))
                    continue
                if kind == "run":
                    previous = terminals.get(number)
                    if previous is not None:
                        previous.process.wait(30)
                        previous.interrupt()
                    terminals[number] = Terminal(text, env, cwd)
                    continue
                terminal = terminals[number]
                if not terminal.expect(patternFor(text), 30):
                    self.fail("terminal %d (%s) never showed %r; it showed:\n%s" % (
                        number, terminal.command, text, "\n".join(terminal.lines)))
        finally:
            for number in sorted(terminals, reverse=True):
                terminals[number].interrupt()
        for path in ("/tmp/vde", "/tmp/mgmt"):
            self.assertFalse(os.path.exists(path), "%s left behind" % (path,))
        if skipped:
            raise self.skipTest(skipped)
