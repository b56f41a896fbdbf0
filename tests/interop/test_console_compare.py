# -*- test-case-name: tests.interop.test_console_compare -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
One scripted history of clients and console commands, run against Debian's
C{vde_switch} (2.3.2+r586) and against ours, comparing the console text
byte for byte once the things that must differ are masked: pids, endpoint
IDs (file descriptors), ages and uptimes, socket paths and switch MACs.

The clients are Debian's C{vde_plug}, on an automatic port, on port 5, on
port 0, and a second one on port 1 sharing it; the console client is a raw C{AF_UNIX} stream socket that
collects each reply up to the prompt, and the asynchronous debug lines
(C{debug/add port}) the clients' arrivals and departures produce.

The history loads no plugin (C{plugin/add} of a library that exists,
such as Debian's C{dump}, loads it in r586; we load none).  It avoids our
deliberate differences (docs in
L{vdetwist.switch.console}): no C{hash/find} of an existing entry, no VLAN
4094, and access-control users that are not real user names (so r586's
C{getpwuid} quirk in C{Current User} cannot show).
"""

import difflib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Tuple

from twisted.python import log
from twisted.trial.unittest import SkipTest, TestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROMPT = b"\nvde$ "
END_OF_SESSION = b"9999 END OF SESSION"

#: Our switch without twistd: the control server and the console on a
#: reactor, as the tap wires them (used while C{twistd vdeswitch} cannot
#: start).
HELPER = """
import sys
from twisted.internet import reactor, task
from vdetwist.switch.switch import Switch
from vdetwist.switch.server import ControlServer
from vdetwist.switch.console import SwitchConsoleFactory
directory, mgmt = sys.argv[1], sys.argv[2]
switch = Switch()
control = ControlServer(reactor, switch, directory)
control.startService()
factory = SwitchConsoleFactory(switch, controlServer=control, mgmtPath=mgmt,
                               shutdown=reactor.stop, reactor=reactor)
reactor.listenUNIX(mgmt, factory, mode=0o600)
task.LoopingCall(switch.tick).start(1, now=False)
reactor.addSystemEventTrigger("before", "shutdown", control.stopService)
reactor.run()
"""


def waitFor(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """
    Poll until C{predicate()} is true.

    @param predicate: the condition.
    @param timeout: seconds.
    @return: whether it became true.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class ConsoleClient:
    """
    A raw console client: send a line, read up to the prompt; debug lines
    that arrive between commands are read separately.
    """

    def __init__(self, path: str) -> None:
        """
        @param path: the management socket.
        """
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.pending = b""

    def _recv(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return b""
        if not data:
            raise EOFError("console closed")
        return data

    def readUntil(self, ends: Tuple[bytes, ...], timeout: float = 10.0) -> bytes:
        """
        Read until the text received ends with one of C{ends}.

        @param ends: the endings.
        @param timeout: seconds.
        @return: the text.
        """
        deadline = time.monotonic() + timeout
        while not self.pending.endswith(ends):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no prompt after %r" % (self.pending[-300:],))
            try:
                self.pending += self._recv(left)
            except EOFError:
                break
        data, self.pending = self.pending, b""
        return data

    def command(self, line: str) -> bytes:
        """
        Run one command.

        @param line: the command.
        @return: its reply, prompt included.
        """
        self.sock.sendall(line.encode() + b"\n")
        return self.readUntil((PROMPT, END_OF_SESSION))

    def events(self, count: int, timeout: float = 10.0) -> bytes:
        """
        Read C{count} asynchronous lines, then make sure no more come for a
        moment.

        @param count: how many lines are expected.
        @param timeout: seconds.
        @return: the lines.
        """
        deadline = time.monotonic() + timeout
        while self.pending.count(b"\n") < count and time.monotonic() < deadline:
            self.pending += self._recv(max(0.01, deadline - time.monotonic()))
        self.pending += self._recv(0.3)
        data, self.pending = self.pending, b""
        return data

    def close(self) -> None:
        """
        Close the connection.
        """
        self.sock.close()


class History:
    """
    Run the scripted history against one switch and keep the transcript.

    @ivar transcript: the list of C{(step, text)} pairs.
    """

    def __init__(self, directory: str, mgmt: str, script: str) -> None:
        """
        @param directory: the switch's C{-s} directory.
        @param mgmt: its C{-M} socket.
        @param script: a file of commands for C{load}.
        """
        self.directory = directory
        self.mgmt = mgmt
        self.script = script
        self.transcript: List[Tuple[str, bytes]] = []
        self.plugs: List[subprocess.Popen] = []

    def plug(self, name: str, suffix: str) -> subprocess.Popen:
        """
        Start a C{vde_plug} whose stdin stays open until we close it.

        @param name: its description (C{-D}).
        @param suffix: the URL suffix, e.g. C{[5]}.
        @return: the process.
        """
        process = subprocess.Popen(
            ["vde_plug", "-D", name, "vde://%s%s" % (self.directory, suffix)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.plugs.append(process)
        return process

    def stopPlugs(self) -> None:
        """
        Kill whatever plugs are left.
        """
        for process in self.plugs:
            if process.poll() is None:
                process.kill()
            process.wait(5)
            if process.stdin is not None:
                process.stdin.close()

    def run(self) -> List[Tuple[str, bytes]]:
        """
        The history.

        @return: the transcript.
        """
        console = ConsoleClient(self.mgmt)
        record = self.transcript.append
        try:
            record(("banner", console.readUntil((PROMPT,))))

            def cmd(line: str) -> bytes:
                reply = console.command(line)
                record((line, reply))
                return reply

            for line in ["help", "showinfo", "ds/showinfo", "port/showinfo", "debug/list",
                         "debug/add port", "debug/add port", "debug/list port"]:
                cmd(line)

            self.plug("clientA", "")
            record(("plug A (auto)", console.events(3)))
            plugB = self.plug("clientB", "[5]")
            record(("plug B [5]", console.events(3)))
            self.plug("clientC", "[0]")
            record(("plug C [0]", console.events(3)))
            plugD = self.plug("clientD", "[1]")
            record(("plug D [1], sharing A's port", console.events(2)))

            for line in ["port/print", "port/allprint", "port/print 5", "port/print 2",
                         "vlan/create 10", "port/setvlan 5 10", "vlan/addport 10 1",
                         "vlan/print", "vlan/allprint", "vlan/print 10", "vlan/allprint 10",
                         "fstp/print", "fstp/showinfo", "fstp/setfstp 1", "fstp/showinfo",
                         "fstp/print", "fstp/setedge 0 1 1", "fstp/bonus 0 5 100",
                         "fstp/setedge 10 5 0x1", "fstp/print", "fstp/print 10",
                         "fstp/print 11", "fstp/print 9999", "fstp/setedge 0 1", "fstp/setedge x",
                         "fstp/bonus 11 1 1", "fstp/bonus 0 99 1", "fstp/setfstp 0",
                         "fstp/showinfo", "fstp/print", "fstp/setedge 0 1 0",
                         "plugin/add", "plugin/add nosuchplugin", "plugin/add   ", "plugin/del",
                         "plugin/del dump", "port/create 7"]:
                cmd(line)
            for line in ["port/allprint 7", "port/remove 7", "port/allprint 7",
                         "port/createauto", "port/allocatable 2 1", "port/setuser 2 12345",
                         "port/setgroup 2 54321", "port/allprint 2", "port/remove 2",
                         "hash/showinfo", "hash/setsize 100", "hash/setexpire 30",
                         "hash/setminper 5", "hash/setgcint 3", "hash/showinfo", "hash/print",
                         "hash/find 02:00:00:00:00:01", "debug/list",
                         "bogus", "port/print 99", "vlan/create 10", "vlan/create 10",
                         "vlan/create 0x20", "vlan/create 017", "vlan/remove 10",
                         "vlan/remove 017", "vlan/delport 10 5", "vlan/delport 10 1",
                         "port/remove 1", "port/remove 5", "port/setnumports 4",
                         "port/resetcounter", "port/epclose 5 99999", "helpport",
                         "showinfoXYZ", "  \t# comment", "", "plugin/list",
                         "load " + self.script, "load " + self.script + ".missing",
                         "vlan/allprint"]:
                cmd(line)

            # Kick client B by its endpoint ID (the fd, which differs).
            reply = cmd("port/print 5")
            match = re.search(rb"endpoint ID (\d+)", reply)
            assert match is not None, reply
            reply = console.command("port/epclose 5 %d" % (int(match.group(1)),))
            record(("port/epclose 5 <ID>", reply))
            plugB.wait(10)
            record(("B exited", b"%d" % (plugB.returncode is not None,)))

            # Client A leaves by itself (EOF on its stdin).
            plugA = self.plugs[0]
            assert plugA.stdin is not None
            plugA.stdin.close()
            plugA.wait(10)
            record(("A left", console.events(1)))
            cmd("port/print 1")
            assert plugD.stdin is not None
            plugD.stdin.close()
            plugD.wait(10)
            record(("D left", console.events(2)))

            for line in ["port/print", "port/allprint", "vlan/allprint", "debug/del port",
                         "debug/del port", "debug/del zz", "logout"]:
                cmd(line)
        finally:
            console.close()
            self.stopPlugs()

        # Another session stops the switch, which removes its sockets.
        console = ConsoleClient(self.mgmt)
        try:
            console.readUntil((PROMPT,))
            record(("shutdown", console.command("shutdown")))
        finally:
            console.close()
        gone = waitFor(lambda: not os.path.exists(self.mgmt)
                       and not os.path.exists(self.directory))
        record(("sockets removed", b"%d" % (gone,)))
        return self.transcript


def mask(text: bytes, directory: str, mgmt: str) -> str:
    """
    Mask what must differ between two switches.

    @param text: console text.
    @param directory: the switch's socket directory.
    @param mgmt: its management socket.
    @return: the masked text.
    """
    s = text.decode("utf-8", "replace")
    s = s.replace(mgmt, "<MGMT>").replace(directory, "<DIR>")
    s = re.sub(r"pid \d+ ", "pid <PID> ", s)
    s = re.sub(r"pid=\d+", "pid=<PID>", s)
    s = re.sub(r"00:ff(:[0-9a-f]{2}){4}", "00:ff:<MAC>", s)
    s = re.sub(r"uptime \d+", "uptime <N>", s)
    s = re.sub(r"age \d+", "age <N>", s)
    s = re.sub(r"endpoint ID \d+", "endpoint ID <ID>", s)
    s = re.sub(r"FD +\d+", "FD <ID>", s)
    return s


#: A script for C{load}: echoes, a blank line (1038 in r586), a comment,
#: C{logout} (a no-op in scripts), nested loads, configuration.
SCRIPT = """vlan/create 20
# a comment

port/create 9
port/setvlan 9 20
bogus
logout
load /nonexistent
vlan/print 20
port/allprint 9
port/remove 9
vlan/remove 20
"""

#: r586 commands we deliberately do not have: their lines are dropped from
#: the reference C{help} (none left: FSTP and the plugin commands are there).
UNIMPLEMENTED: Tuple[str, ...] = ()


#: vdetwist's own commands, dropped from our C{help} before comparing.
EXTENSIONS = ("port/capture", "port/nocapture", "port/stream", "hash/setmax", "hash/setportmax",
              "vlan/stream", "vlan/nocapture")

#: vdetwist's own lines, appended after r586's in C{hash/showinfo}: dropped
#: from ours before comparing.
SHOWINFO_EXTENSIONS = ("Entries ", "Max entries ", "Evicted (", "Not learned ")


def withoutUnimplemented(helpText: str) -> str:
    """
    r586's C{help} without the commands we deliberately lack.

    @param helpText: masked C{help} reply.
    @return: the same without those lines.
    """
    return "".join(line for line in helpText.splitlines(True)
                   if not line.startswith(UNIMPLEMENTED))


class ConsoleCompareTests(TestCase):
    """
    Our console against Debian's vde_switch, one history, same text.
    """

    def setUp(self) -> None:
        for tool in ("vde_switch", "vde_plug"):
            if shutil.which(tool) is None:
                raise SkipTest("%s is not installed (apt-get install vde-switch vdeplug)"
                               % (tool,))
        self.tmp = tempfile.mkdtemp(prefix="vtcons")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def _reference(self) -> Tuple[str, str]:
        """
        Start Debian's switch, daemonized, stopped by its pid at cleanup.

        @return: its directory and management socket.
        """
        directory = os.path.join(self.tmp, "ref")
        mgmt = os.path.join(self.tmp, "ref.mgmt")
        pidfile = os.path.join(self.tmp, "ref.pid")
        subprocess.run(["vde_switch", "-d", "-s", directory, "-M", mgmt, "-p", pidfile],
                       check=True, timeout=10, stdin=subprocess.DEVNULL)

        def stop() -> None:
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        self.addCleanup(stop)
        self.assertTrue(waitFor(lambda: os.path.exists(mgmt)), "vde_switch did not start")
        return directory, mgmt

    def _ours(self) -> Tuple[str, str]:
        """
        Start our switch: C{twistd -n vdeswitch} when it runs, else the
        in-test helper (same control server and console, no twistd).

        @return: its directory and management socket.
        """
        directory = os.path.join(self.tmp, "ours")
        mgmt = os.path.join(self.tmp, "ours.mgmt")
        env = dict(os.environ, PYTHONPATH=ROOT)
        commands = []
        twistd = shutil.which("twistd")
        if twistd is not None:
            commands.append([sys.executable, twistd, "-n", "--pidfile=",
                             "-l", os.path.join(self.tmp, "twistd.log"),
                             "vdeswitch", "-s", directory, "-M", mgmt])
        commands.append([sys.executable, "-c", HELPER, directory, mgmt])
        for command in commands:
            process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

            def stop(process: subprocess.Popen = process) -> None:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(10)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                if process.stderr is not None:
                    process.stderr.close()
            self.addCleanup(stop)
            if waitFor(lambda: os.path.exists(mgmt) or process.poll() is not None, 20):
                if process.poll() is None:
                    log.msg("our switch: %s" % (" ".join(command[:3]),))
                    return directory, mgmt
            log.msg("our switch did not start with %r: %r" % (
                command[:3], process.stderr.read()[-2000:] if process.stderr else b""))
        self.fail("our switch did not start")

    def test_sameTranscript(self) -> None:
        """
        The same history of clients and commands gives the same console
        text, masks apart, on Debian's vde_switch and on ours.
        """
        script = os.path.join(self.tmp, "script.rc")
        with open(script, "w") as f:
            f.write(SCRIPT)
        refDir, refMgmt = self._reference()
        ourDir, ourMgmt = self._ours()
        reference = History(refDir, refMgmt, script).run()
        ours = History(ourDir, ourMgmt, script).run()
        self.assertEqual([step for step, _ in ours], [step for step, _ in reference])
        differences = []
        for (step, refText), (_, ourText) in zip(reference, ours):
            expected = mask(refText, refDir, refMgmt)
            if step == "help":
                expected = withoutUnimplemented(expected)
            got = mask(ourText, ourDir, ourMgmt)
            if step.startswith("help"):
                got = "".join(line for line in got.splitlines(True)
                              if not line.startswith(EXTENSIONS))
            if step == "hash/showinfo":
                got = "".join(line for line in got.splitlines(True)
                              if not line.startswith(SHOWINFO_EXTENSIONS))
            if got != expected:
                differences.append("after %r:\n%s" % (step, "".join(difflib.unified_diff(
                    expected.splitlines(True), got.splitlines(True), "vde_switch", "ours"))))
        self.assertEqual(differences, [])
