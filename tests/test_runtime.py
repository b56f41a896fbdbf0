# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.runtime}: PyPy's nursery for vdetwist's programs.
"""

import os
import subprocess
import sys
import tempfile
import time
import platform
from typing import Dict, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.runtime import NURSERY_VARIABLE, PYPY_NURSERY, tuneInterpreter


class TuneInterpreterTests(SynchronousTestCase):
    """
    L{tuneInterpreter} re-executes a vdetwist program on PyPy once, with
    the nursery set, and does nothing anywhere else.
    """

    def call(self, argv: List[str], environ: Dict[str, str],
             implementation: str = "PyPy") -> Tuple[bool, List[Tuple[str, List[str]]]]:
        calls: List[Tuple[str, List[str]]] = []
        result = tuneInterpreter(argv, environ, implementation, "/usr/bin/pypy3",
                                 lambda path, args: calls.append((path, args)))
        return result, calls

    def test_pypyProgram(self) -> None:
        """
        C{vdetwist} and C{twistd} on PyPy without the variable set it and
        re-execute the same command line under the same interpreter.
        """
        for program in ("/venv/bin/vdetwist", "twistd"):
            environ: Dict[str, str] = {"PATH": "/bin"}
            result, calls = self.call([program, "-n", "slirp", "-s", "/tmp/x"], environ)
            self.assertTrue(result)
            self.assertEqual(environ, {"PATH": "/bin", NURSERY_VARIABLE: PYPY_NURSERY})
            self.assertEqual(calls, [("/usr/bin/pypy3",
                                      ["/usr/bin/pypy3", program, "-n", "slirp", "-s", "/tmp/x"])])

    def test_userValueKept(self) -> None:
        """
        A nursery the user chose is kept, and nothing is re-executed (so a
        re-executed program does not loop).
        """
        environ = {NURSERY_VARIABLE: "4MB"}
        self.assertEqual(self.call(["vdetwist", "cat"], environ), (False, []))
        self.assertEqual(environ, {NURSERY_VARIABLE: "4MB"})

    def test_notPyPyOrNotOurs(self) -> None:
        """
        On CPython, and for any other program (trial running the tests,
        a user's script calling makeService), nothing happens.
        """
        for argv, implementation in [(["vdetwist", "cat"], "CPython"),
                                     (["/x/twisted/trial/__main__.py"], "PyPy"),
                                     (["myscript.py"], "PyPy"), ([], "PyPy")]:
            environ: Dict[str, str] = {}
            self.assertEqual(self.call(argv, environ, implementation), (False, []))
            self.assertEqual(environ, {})


class ProgramTests(SynchronousTestCase):
    """
    Which installed programs ask for the nursery: the environment a
    running C{vdetwist switch} has, read from C{/proc}, does not have it
    (a switch keeps PyPy's cache-sized default), and only the
    subcommands that run a stack are listed.
    """

    def test_stackCommands(self) -> None:
        """
        C{vdetwist cat} and C{vdetwist slirp} run a TCP/IP stack; the
        switch, plug, ns, term and capture do not.
        """
        from vdetwist.scripts.main import STACK_COMMANDS, SUBCOMMANDS
        self.assertEqual(sorted(STACK_COMMANDS), ["cat", "slirp"])
        self.assertTrue(set(STACK_COMMANDS) <= set(SUBCOMMANDS))

    def test_runningSwitch(self) -> None:
        program = os.path.join(os.path.dirname(sys.executable), "vdetwist")
        if not os.path.exists(program):
            raise self.skipTest("no vdetwist program beside %s" % (sys.executable,))
        directory = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, directory)
        environ = dict(os.environ)
        environ.pop(NURSERY_VARIABLE, None)
        process = subprocess.Popen(
            [program, "switch", "-s", os.path.join(directory, "sw")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=environ)
        try:
            # The switch prints vde_switch's prompt once it runs; by then any
            # re-execution has happened.
            process.stdin.write(b"showinfo\n")
            process.stdin.flush()
            process.stdout.read1(4096)
            with open("/proc/%d/environ" % (process.pid,), "rb") as f:
                variables = f.read().split(b"\0")
        finally:
            process.stdin.close()
            process.wait(30)
            process.stdout.close()
            process.stderr.close()
        self.assertFalse([v for v in variables if v.startswith(NURSERY_VARIABLE.encode())])

    def test_catOnPyPy(self) -> None:
        """
        On PyPy, C{vdetwist cat} (a TCP/IP stack) runs with the nursery
        set, once it has re-executed itself.
        """
        if platform.python_implementation() != "PyPy":
            raise self.skipTest("the re-execution happens on PyPy only")
        program = os.path.join(os.path.dirname(sys.executable), "vdetwist")
        if not os.path.exists(program):
            raise self.skipTest("no vdetwist program beside %s" % (sys.executable,))
        from tests.interop.netns import VdetwistSwitch
        from tests.util import shortTempDir
        switch = VdetwistSwitch(os.path.join(shortTempDir(self), "sw"))
        switch.start()
        self.addCleanup(switch.stop)
        environ = dict(os.environ)
        environ.pop(NURSERY_VARIABLE, None)
        process = subprocess.Popen(
            [program, "cat", "-s", switch.ctlDir, "--ip", "10.250.0.1/24", "-l", "-p", "10000"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=environ)

        def stop() -> None:
            process.kill()
            process.wait()
            process.stdin.close()
        self.addCleanup(stop)
        wanted = ("%s=%s" % (NURSERY_VARIABLE, PYPY_NURSERY)).encode()
        deadline = time.monotonic() + 30
        while True:
            with open("/proc/%d/environ" % (process.pid,), "rb") as f:
                if wanted in f.read().split(b"\0"):
                    break
            self.assertIsNone(process.poll(), "vdetwist cat exited")
            self.assertLess(time.monotonic(), deadline, "never re-executed with the nursery")
            time.sleep(0.05)

