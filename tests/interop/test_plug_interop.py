# -*- test-case-name: tests.interop.test_plug_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist plug} with Debian's tools: a C{dpipe} cable between two
switches made of our plug at one end and Debian's C{vde_plug} at the other
(both arrangements), carrying 20 MB between Linux kernel stacks in two
network namespaces; our plug's frames read by Debian's vde_plug; the ends
of a plug (end of input, kicked by the switch, no switch, a child); the
ptp://, cmd:// and tap:// URLs, and -d/-p.

The switches are Debian's C{vde_switch}, so only the plug is under test.
"""

import os
import shutil
import subprocess
import sys
import time
from typing import List

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT, Namespace, missingTools, transfer
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

MB = 1000 * 1000

#: Our plug as a user runs it.
PLUG = [sys.executable, "-m", "vdetwist", "plug"]

#: A 60-byte broadcast frame (EtherType 0x88b5, local experimental) with
#: its 2-byte big-endian length header: what vde_plug reads on stdin.
FRAME = (b"\xff\xff\xff\xff\xff\xff"   # destination: broadcast
         b"\x02\x00\x00\x00\x00\x01"   # source: a local MAC
         b"\x88\xb5"                   # EtherType: local experimental
         + b"0" * 46)                  # payload to the 60-byte minimum
STREAM_FRAME = b"\x00\x3c" + FRAME


def plugEnvironment() -> dict:
    """
    The environment for running C{python -m vdetwist} from this checkout.
    """
    return dict(os.environ, PYTHONPATH=ROOT)


class _SwitchesMixin:
    """
    Switches in private directories, stopped at cleanup: Debian's unless
    C{switchClass} says otherwise.
    """

    switchClass: type = RealVDESwitch

    def makeSwitch(self) -> RealVDESwitch:
        """
        Start a Debian vde_switch.
        """
        switch = self.switchClass(shortTempDir(self))  # type: ignore[arg-type]
        switch.start()
        self.addCleanup(switch.stop)  # type: ignore[attr-defined]
        return switch

    def reap(self, process: subprocess.Popen) -> None:
        """
        Stop a process we started (by its pid) and wait for it.
        """
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def waitFor(self, predicate, timeout: float = 10.0) -> bool:
        """
        Poll a condition.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


class PlugStreamTests(_SwitchesMixin, SynchronousTestCase):
    """
    Our plug's stream, its description and its ends, with Debian's switch
    and vde_plug (no namespaces, no root needed).
    """

    if SKIP_REASON:
        skip = SKIP_REASON
    elif shutil.which("vde_plug") is None:
        skip = "vde_plug is not installed (apt-get install vdeplug)"

    def test_framesBothWays(self) -> None:
        """
        A frame written to our plug's standard input comes out of Debian's
        vde_plug's standard output, length header included, and the other
        way round.
        """
        switch = self.makeSwitch()
        url = "vde://" + switch.ctlDir
        ours = subprocess.Popen(PLUG + [url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=plugEnvironment())
        self.addCleanup(self.reap, ours)
        theirs = subprocess.Popen(["vde_plug", url], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.addCleanup(self.reap, theirs)
        self.assertTrue(self.waitFor(lambda: len(switch.endpoints()) == 2), switch.endpoints())
        ours.stdin.write(STREAM_FRAME)
        ours.stdin.flush()
        self.assertEqual(theirs.stdout.read(62), STREAM_FRAME)
        reply = STREAM_FRAME[:8] + b"\x02\x00\x00\x00\x00\x02" + STREAM_FRAME[14:]
        theirs.stdin.write(reply)
        theirs.stdin.flush()
        self.assertEqual(ours.stdout.read(62), reply)
        ours.stdin.close()
        self.assertEqual(ours.wait(10), 0)
        theirs.stdin.close()
        theirs.wait(10)

    def test_description(self) -> None:
        """
        The switch shows our plug as it shows vde_plug:
        C{vdeplug: user=NAME pid=PID}; C{-D} changes the first word.
        """
        switch = self.makeSwitch()
        url = "vde://" + switch.ctlDir
        plain = subprocess.Popen(PLUG + [url], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, env=plugEnvironment())
        self.addCleanup(self.reap, plain)
        named = subprocess.Popen(PLUG + ["-D", "cable7", url], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, env=plugEnvironment())
        self.addCleanup(self.reap, named)
        self.assertTrue(self.waitFor(lambda: len(switch.endpoints()) == 2))
        descriptions = sorted(d for _, _, d in switch.endpoints())
        import pwd
        user = pwd.getpwuid(os.geteuid()).pw_name
        self.assertEqual(descriptions, sorted([
            "vdeplug: user=%s pid=%d" % (user, plain.pid),
            "cable7 user=%s pid=%d" % (user, named.pid)]))

    def test_kicked(self) -> None:
        """
        C{port/epclose} ends our plug with status 0 (as vde_plug) and a
        message saying the switch closed the connection.
        """
        switch = self.makeSwitch()
        plug = subprocess.Popen(PLUG + ["vde://" + switch.ctlDir], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=plugEnvironment())
        self.addCleanup(self.reap, plug)
        # The switch lists the endpoint as soon as it replies; the plug has
        # finished its handshake once it unlinked its own socket path.  A
        # kick before that is a failed open (exit 1), not a kick.
        ownPath = ".%05d-" % (plug.pid,)
        self.assertTrue(self.waitFor(lambda: len(switch.endpoints()) == 1 and not any(
            name.startswith(ownPath) for name in os.listdir(switch.ctlDir))))
        [(port, endpoint, _)] = switch.endpoints()
        self.assertIn("1000 Success", switch.console("port/epclose %d %d" % (port, endpoint)))
        self.assertEqual(plug.wait(10), 0)
        self.assertIn(b"closed the control connection", plug.stderr.read())

    def test_noSwitch(self) -> None:
        """
        With no switch at the URL, our plug says C{vde_open URL: reason}
        and exits 1, as vde_plug does.
        """
        url = "vde://" + os.path.join(shortTempDir(self), "none")
        result = subprocess.run(PLUG + [url], stdin=subprocess.DEVNULL,
                                capture_output=True, env=plugEnvironment(), timeout=20)
        theirs = subprocess.run(["vde_plug", url], stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=20)
        self.assertEqual((result.returncode, theirs.returncode), (1, 1))
        self.assertTrue(result.stderr.startswith(b"vde_open " + url.encode() + b": "),
                        result.stderr)
        self.assertIn(b"No such file or directory", result.stderr)

    def test_childCarriesFrames(self) -> None:
        """
        C{vdetwist plug URL = vde_plug URL2} joins two switches: a frame
        sent by a vde_plug on the first arrives at a vde_plug on the
        second.  Ending the child's peer plug ends our plug too.
        """
        one, two = self.makeSwitch(), self.makeSwitch()
        cable = subprocess.Popen(PLUG + ["vde://" + one.ctlDir, "=", "vde_plug",
                                         "vde://" + two.ctlDir],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 env=plugEnvironment())
        self.addCleanup(self.reap, cable)
        self.assertTrue(self.waitFor(lambda: len(one.endpoints()) == 1 and len(two.endpoints()) == 1))
        listener = subprocess.Popen(["vde_plug", "vde://" + two.ctlDir], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        self.addCleanup(self.reap, listener)
        sender = subprocess.Popen(["vde_plug", "vde://" + one.ctlDir], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)
        self.addCleanup(self.reap, sender)
        self.assertTrue(self.waitFor(lambda: len(two.endpoints()) == 2 and len(one.endpoints()) == 2))
        sender.stdin.write(STREAM_FRAME)
        sender.stdin.flush()
        self.assertEqual(listener.stdout.read(62), STREAM_FRAME)
        # Kick the child (Debian's vde_plug) off the second switch: it exits,
        # and our plug follows.
        [(port, endpoint, _)] = [e for e in two.endpoints() if "pid=%d" % (listener.pid,) not in e[2]]
        two.console("port/epclose %d %d" % (port, endpoint))
        self.assertEqual(cable.wait(10), 0)
        self.assertTrue(self.waitFor(lambda: len(one.endpoints()) == 1))


    def test_twoSwitchesJoined(self) -> None:
        """
        C{vdetwist plug URL1 URL2} joins two switches with no stream: a
        frame crosses, and kicking one end ends the plug with status 0.
        """
        one, two = self.makeSwitch(), self.makeSwitch()
        cable = subprocess.Popen(PLUG + ["vde://" + one.ctlDir, "vde://" + two.ctlDir],
                                 stdin=subprocess.DEVNULL, env=plugEnvironment())
        self.addCleanup(self.reap, cable)
        self.assertTrue(self.waitFor(lambda: len(one.endpoints()) == 1 and len(two.endpoints()) == 1))
        listener = subprocess.Popen(["vde_plug", "vde://" + two.ctlDir], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        self.addCleanup(self.reap, listener)
        sender = subprocess.Popen(["vde_plug", "vde://" + one.ctlDir], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)
        self.addCleanup(self.reap, sender)
        self.assertTrue(self.waitFor(lambda: len(two.endpoints()) == 2 and len(one.endpoints()) == 2))
        sender.stdin.write(STREAM_FRAME)
        sender.stdin.flush()
        self.assertEqual(listener.stdout.read(62), STREAM_FRAME)
        [(port, endpoint, _)] = [e for e in one.endpoints() if "pid=%d" % (cable.pid,) in e[2]]
        one.console("port/epclose %d %d" % (port, endpoint))
        self.assertEqual(cable.wait(10), 0)
        # Seen failing once in CI (2026-12-05): say what switch two still
        # holds, and whether the listening vde_plug is alive.
        self.assertTrue(self.waitFor(lambda: len(two.endpoints()) == 1),
                        "switch two: %r; listener exit status: %r" % (
                            two.endpoints(), listener.poll()))


class DpipeCableTests(_SwitchesMixin, SynchronousTestCase):
    """
    Two Debian switches joined by C{dpipe}, our plug at one end and
    Debian's vde_plug at the other, carry 20 MB of TCP between kernel
    stacks intact.
    """

    switchClass = RealVDESwitch

    skip = SKIP_REASON or missingTools("vde_plug2tap", "vde_plug", "dpipe", "ip")

    def cable(self, left: List[str], right: List[str]) -> None:
        """
        Join two new switches with C{dpipe LEFT = RIGHT} and check 20 MB
        crossing it from a namespace on the first to one on the second, and
        back.

        @param left: the command at the first switch, C{{one}} for its URL.
        @param right: the command at the second, C{{two}} for its URL.
        """
        one, two = self.makeSwitch(), self.makeSwitch()
        urls = {"one": "vde://" + one.ctlDir, "two": "vde://" + two.ctlDir}
        command = (["dpipe"] + [a.format(**urls) for a in left] + ["="]
                   + [a.format(**urls) for a in right])
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env=plugEnvironment())
        self.addCleanup(self.reap, process)
        self.assertTrue(self.waitFor(
            lambda: len(one.endpoints()) == 1 and len(two.endpoints()) == 1),
            (one.endpoints(), two.endpoints()))
        directory = shortTempDir(self)
        a = Namespace(self.addCleanup, directory)
        b = Namespace(self.addCleanup, directory)
        a.plug(one.ctlDir, "10.77.0.1/24")
        b.plug(two.ctlDir, "10.77.0.2/24")
        sent, received = transfer(a, b, 20 * MB, timeout=30)
        self.assertEqual(sent, received)
        self.assertEqual(sent.split()[0], str(20 * MB))
        sent, received = transfer(b, a, 20 * MB, port=5002, timeout=30)
        self.assertEqual(sent, received)

    def test_oursOnTheLeft(self) -> None:
        """
        C{dpipe vdetwist plug SW1 = vde_plug SW2}.
        """
        self.cable(PLUG + ["{one}"], ["vde_plug", "{two}"])

    def test_oursOnTheRight(self) -> None:
        """
        C{dpipe vde_plug SW1 = vdetwist plug SW2}.
        """
        self.cable(["vde_plug", "{one}"], PLUG + ["{two}"])

    def test_oursAtBothEnds(self) -> None:
        """
        C{dpipe vdetwist plug SW1 = vdetwist plug SW2}.
        """
        self.cable(PLUG + ["{one}"], PLUG + ["{two}"])


class DpipeCableOnVdetwistTests(DpipeCableTests):
    """
    The same cables between two of vdetwist's switches.
    """

    @property
    def switchClass(self) -> type:  # type: ignore[override]
        """
        The switch to run.
        """
        from tests.interop.netns import VdetwistSwitch
        return VdetwistSwitch


class PlugURLTests(_SwitchesMixin, SynchronousTestCase):
    """
    vdeplug4's other URL forms, each met by Debian's vde_plug speaking the
    same URL, and C{-d}/C{-p}.
    """

    if SKIP_REASON:
        skip = SKIP_REASON
    elif shutil.which("vde_plug") is None:
        skip = "vde_plug is not installed (apt-get install vdeplug)"

    def popen(self, command: List[str]) -> subprocess.Popen:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=plugEnvironment())
        self.addCleanup(self.reapAndClose, process)
        return process

    def reapAndClose(self, process: subprocess.Popen) -> None:
        self.reap(process)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()

    def exchange(self, one: subprocess.Popen, two: subprocess.Popen) -> None:
        """
        A frame written to each plug's standard input comes out of the
        other's standard output.
        """
        one.stdin.write(STREAM_FRAME)
        one.stdin.flush()
        self.assertEqual(two.stdout.read(62), STREAM_FRAME)
        reply = STREAM_FRAME[:8] + b"\x02\x00\x00\x00\x00\x02" + STREAM_FRAME[14:]
        two.stdin.write(reply)
        two.stdin.flush()
        self.assertEqual(one.stdout.read(62), reply)

    def ptp(self, oursFirst: bool) -> None:
        directory = shortTempDir(self)
        url = "ptp://" + os.path.join(directory, "link")
        first = self.popen(PLUG + [url] if oursFirst else ["vde_plug", url])
        self.assertTrue(self.waitFor(lambda: os.path.exists(os.path.join(directory, "link"))))
        second = self.popen(["vde_plug", url] if oursFirst else PLUG + [url])
        self.assertTrue(self.waitFor(lambda: os.path.exists(os.path.join(directory, "link+"))))
        self.exchange(first, second)
        ours = first if oursFirst else second
        ours.stdin.close()
        self.assertEqual(ours.wait(10), 0)
        self.assertFalse(os.path.exists(os.path.join(directory, "link" if oursFirst else "link+")))

    def test_ptpOursFirst(self) -> None:
        """
        C{vdetwist plug ptp://PATH} then C{vde_plug ptp://PATH}: frames
        both ways; at the end of its input ours exits 0 and removes PATH.
        """
        self.ptp(True)

    def test_ptpTheirsFirst(self) -> None:
        """
        C{vde_plug ptp://PATH} then C{vdetwist plug ptp://PATH}.
        """
        self.ptp(False)

    def test_cmd(self) -> None:
        """
        C{vdetwist plug vde://SW1 cmd://"vde_plug vde://SW2"} joins two
        switches: a frame from a vde_plug on one reaches a vde_plug on the
        other; the command ending ends our plug with vdeplug4's message.
        """
        one, two = self.makeSwitch(), self.makeSwitch()
        cable = self.popen(PLUG + ["vde://" + one.ctlDir, "cmd://vde_plug vde://" + two.ctlDir])
        self.assertTrue(self.waitFor(lambda: len(one.endpoints()) == 1 and len(two.endpoints()) == 1))
        sender = self.popen(["vde_plug", "vde://" + one.ctlDir])
        listener = self.popen(["vde_plug", "vde://" + two.ctlDir])
        self.assertTrue(self.waitFor(lambda: len(two.endpoints()) == 2 and len(one.endpoints()) == 2))
        self.exchange(sender, listener)
        [(port, endpoint, _)] = [e for e in two.endpoints()
                                 if "pid=%d" % (listener.pid,) not in e[2]]
        two.console("port/epclose %d %d" % (port, endpoint))
        self.assertEqual(cable.wait(10), 0)
        self.assertIn(b"VDE terminated: cmd://vde_plug vde://" + two.ctlDir.encode(),
                      cable.stderr.read())

    def test_cmdStream(self) -> None:
        """
        C{vdetwist plug cmd://"vde_plug vde://SW"}: our standard input and
        output carry the command's frames.
        """
        switch = self.makeSwitch()
        ours = self.popen(PLUG + ["cmd://vde_plug vde://" + switch.ctlDir])
        theirs = self.popen(["vde_plug", "vde://" + switch.ctlDir])
        self.assertTrue(self.waitFor(lambda: len(switch.endpoints()) == 2))
        self.exchange(ours, theirs)

    def test_daemon(self) -> None:
        """
        C{-d -p PIDFILE} returns 0 once attached, leaving a daemon whose
        pid is in the file; SIGTERM ends it and removes the file.  When the
        switch is missing, C{-d} returns 1 with vde_plug's message and no
        pid file is left.
        """
        one, two = self.makeSwitch(), self.makeSwitch()
        pidPath = os.path.join(shortTempDir(self), "plug.pid")
        result = subprocess.run(PLUG + ["-d", "-p", pidPath, "vde://" + one.ctlDir,
                                        "vde://" + two.ctlDir],
                                stdin=subprocess.DEVNULL, capture_output=True,
                                env=plugEnvironment(), timeout=20)
        self.assertEqual((result.returncode, result.stderr), (0, b""))
        with open(pidPath) as f:
            pid = int(f.read())
        self.addCleanup(self._kill, pid)
        self.assertEqual(len(one.endpoints()), 1)
        self.assertEqual(len(two.endpoints()), 1)
        self.assertIn("pid=%d" % (pid,), one.endpoints()[0][2])
        os.kill(pid, 15)
        self.assertTrue(self.waitFor(lambda: not os.path.exists(pidPath)))
        self.assertTrue(self.waitFor(lambda: not one.endpoints()))

        missing = "vde://" + os.path.join(shortTempDir(self), "none")
        result = subprocess.run(PLUG + ["-d", "-p", pidPath, missing, "vde://" + two.ctlDir],
                                stdin=subprocess.DEVNULL, capture_output=True,
                                env=plugEnvironment(), timeout=20)
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith(b"vde_open " + missing.encode() + b": "),
                        result.stderr)
        self.assertIn(b"No such file or directory", result.stderr)
        self.assertEqual(result.stderr.count(b"\n"), 1)
        self.assertFalse(os.path.exists(pidPath))

    @staticmethod
    def _kill(pid: int) -> None:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


class TapURLTests(_SwitchesMixin, SynchronousTestCase):
    """
    C{vdetwist plug tap://IFNAME vde://SW} in a namespace joins its tap to
    a switch: the kernel behind the tap talks TCP with a kernel behind
    vde_plug2tap.
    """

    skip = SKIP_REASON or missingTools("vde_plug2tap", "ip")

    def test_tapToSwitch(self) -> None:
        """
        1 MB crosses intact each way; SIGTERM ends the plug and its tap
        goes.
        """
        switch = self.makeSwitch()
        directory = shortTempDir(self)
        other = Namespace(self.addCleanup, directory)
        other.plug(switch.ctlDir, "10.78.0.2/24")
        ours = Namespace(self.addCleanup, directory)
        tap = ours.tap
        plug = ours.popen(*PLUG, "tap://" + tap, "vde://" + switch.ctlDir,
                          stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=plugEnvironment())
        self.addCleanup(self.reap, plug)
        self.assertTrue(self.waitFor(
            lambda: ours.exec("ip", "link", "show", tap, check=False).returncode == 0))
        ours.exec("ip", "addr", "add", "10.78.0.1/24", "dev", tap)
        ours.exec("ip", "link", "set", tap, "up")
        self.assertTrue(self.waitFor(lambda: len(switch.endpoints()) == 2))
        ours.address = "10.78.0.1"
        for sender, receiver in ((ours, other), (other, ours)):
            sent, received = transfer(sender, receiver, MB, timeout=30)
            self.assertEqual(sent, received)
            self.assertEqual(sent.split()[0], str(MB))
        plug.terminate()
        self.assertEqual(plug.wait(10), 0)
        self.assertTrue(self.waitFor(
            lambda: ours.exec("ip", "link", "show", tap, check=False).returncode != 0))
