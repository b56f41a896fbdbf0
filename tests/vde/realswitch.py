# -*- test-case-name: tests.vde.test_plug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Run Debian's C{vde_switch} (vde2 2.3.2+r586) in a private directory for
interop tests, and talk to its management console.

Usage::

    switch = RealVDESwitch(self.mktemp())
    switch.start(["-n", "8"])
    self.addCleanup(switch.stop)
    connect to "vde://" + switch.ctlDir ...
    reply = switch.console("port/print")

The switch is started as the docs say it must be in tests: daemonised
(C{-d}) with a pidfile (C{-p}), and stopped by that pid.  Everything here
blocks (briefly: the switch is another process and answers at once), which
is acceptable in test set-up and assertions.

L{SKIP_REASON} is L{None} when the binary is present, otherwise a string
to use as a trial C{skip}.
"""

import os
import re
import signal
import socket
import subprocess
import time
from typing import Optional, Sequence

#: Where Debian installs the switch.
VDE_SWITCH = "/usr/bin/vde_switch"

#: A trial skip reason when the switch is missing, else None.
SKIP_REASON: Optional[str] = (
    None if os.access(VDE_SWITCH, os.X_OK)
    else "%s is not installed (apt-get install vde-switch)" % (VDE_SWITCH,))

#: The console prompt that ends every reply.
PROMPT = b"\nvde$ "

_ENDPOINT = re.compile(
    r"^Port (\d+) .*?$|^\s+-- endpoint ID (\d+) module (.{12}): (.*)$", re.M)


def _alive(pid: int) -> bool:
    """
    Whether a process exists and is not a zombie.  The daemonised switch is
    not our child, so once it exits it may stay a zombie until whoever
    adopted it reaps it; that counts as gone.

    @param pid: the process id.
    @return: C{True} while it runs.
    """
    try:
        with open("/proc/%d/stat" % (pid,), "rb") as f:
            stat = f.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    # The state follows the parenthesised command name.
    return stat[stat.rindex(b")") + 2:][:1] not in (b"Z", b"X")


class RealVDESwitch:
    """
    One Debian C{vde_switch} process in a private directory.

    @ivar directory: the private directory holding everything.
    @ivar ctlDir: the switch directory (C{-s}); plugs connect to
        C{vde://<ctlDir>}.
    @ivar mgmtPath: the management socket (C{-M}).
    @ivar pidPath: the pidfile (C{-p}).
    @ivar pid: the switch's pid once started, else L{None}.
    """

    def __init__(self, directory: str) -> None:
        """
        @param directory: a directory for the switch's files; created if
            missing.  Keep it short: socket paths must fit 107 bytes.
        """
        self.directory = os.path.abspath(directory)
        self.ctlDir = os.path.join(self.directory, "sw")
        self.mgmtPath = os.path.join(self.directory, "mgmt")
        self.pidPath = os.path.join(self.directory, "pid")
        self.pid: Optional[int] = None

    def start(self, extraArgs: Sequence[str] = (), timeout: float = 5.0) -> None:
        """
        Start the switch and wait until its control and management sockets
        answer.

        @param extraArgs: more command-line options, e.g. C{["-n", "8"]}.
        @param timeout: how long to wait for it, in seconds.
        @raise RuntimeError: when it does not start.
        """
        os.makedirs(self.directory, exist_ok=True)
        command = [VDE_SWITCH, "-d", "-s", self.ctlDir, "-M", self.mgmtPath,
                   "-p", self.pidPath, *extraArgs]
        result = subprocess.run(command, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (
                " ".join(command), result.returncode,
                result.stderr.decode("utf-8", "replace")))
        deadline = time.monotonic() + timeout
        while True:
            if self.pid is None:
                self.pid = self._readPid()
            if self.pid is not None and self._answers(
                    os.path.join(self.ctlDir, "ctl")) and self._answers(self.mgmtPath):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("vde_switch in %s did not come up" % (self.directory,))
            time.sleep(0.01)

    def _readPid(self) -> Optional[int]:
        """
        Read the pidfile.

        @return: the pid, or L{None} if the file is not written yet.
        """
        try:
            with open(self.pidPath) as f:
                text = f.read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    @staticmethod
    def _answers(path: str) -> bool:
        """
        Whether a UNIX stream socket accepts connections.

        @param path: the socket path.
        @return: C{True} when C{connect} succeeds.
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            return False
        finally:
            s.close()
        return True

    def running(self) -> bool:
        """
        Whether the switch process is alive.

        @return: C{True} while it runs.
        """
        return self.pid is not None and _alive(self.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """
        Stop the switch by its pid (SIGTERM, SIGKILL after C{timeout}) and
        wait until it is gone.  Safe to call twice.

        @param timeout: how long to wait for a clean exit, in seconds.
        """
        if self.pid is None:
            self.pid = self._readPid()
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.005)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def console(self, command: str, timeout: float = 5.0) -> str:
        """
        Run one management command and return its reply.

        @param command: the command line, without newline, e.g.
            C{"port/print"}.
        @param timeout: socket timeout in seconds.
        @return: the reply text, everything the switch wrote before the next
            prompt: e.g. C{"0000 DATA END WITH '.'\\n...\\n.\\n1000 Success\\n"}.
        @raise OSError: when the console cannot be reached or times out.
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.mgmtPath)
            self._readUntilPrompt(s, b"")
            s.sendall(command.encode("utf-8") + b"\n")
            reply = self._readUntilPrompt(s, b"")
        finally:
            s.close()
        return reply[:-len(PROMPT)].decode("utf-8", "replace")

    @staticmethod
    def _readUntilPrompt(s: socket.socket, buffer: bytes) -> bytes:
        """
        Read until the buffer ends with the prompt.

        @param s: the console socket.
        @param buffer: bytes already read.
        @return: everything read, ending with L{PROMPT}.
        @raise OSError: on EOF or timeout.
        """
        while not buffer.endswith(PROMPT):
            data = s.recv(65536)
            if not data:
                raise ConnectionError("vde_switch console closed: %r" % (buffer,))
            buffer += data
        return buffer

    def endpoints(self) -> list[tuple[int, int, str]]:
        """
        The active endpoints, from C{port/print}.

        @return: C{(port, endpointID, description)} for each endpoint.
        """
        result = []
        port = -1
        for match in _ENDPOINT.finditer(self.console("port/print")):
            if match.group(1) is not None:
                port = int(match.group(1))
            else:
                result.append((port, int(match.group(2)), match.group(4)))
        return result
