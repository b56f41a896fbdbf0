# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What every benchmark in bench/ reports about its run: the machine, its
load, a process's CPU time, and a free port; and which interpreters run
our side (C{--python PATH}, repeatable: CPython and PyPy side by side).
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from vdetwist.runtime import NURSERY_VARIABLE, PYPY_NURSERY  # noqa: E402


def stackEnvironment() -> Dict[str, str]:
    """
    The environment of our processes that run a TCP/IP stack (a virtual
    host, slirp, vdetwist cat): ours with C{PYTHONPATH} at the tree and the
    PyPy nursery those programs give themselves (vdetwist/runtime.py),
    which they miss when run as C{python -c ...} or a script.  CPython
    ignores it; a value set by the user is kept and measured.  Switches
    and relays keep PyPy's default, as the programs do.

    @return: the environment.
    """
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.setdefault(NURSERY_VARIABLE, PYPY_NURSERY)
    return env
#: The PyPy virtualenv bin/setup-pypy makes; a PyPy column is added when it
#: exists and no C{--python} is given.
PYPY = os.path.join(ROOT, ".venv-pypy", "bin", "pypy3")


def machine() -> str:
    """
    A one-line description of this machine.

    @return: CPUs, CPU model, kernel and Python.
    """
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "nproc %d (%s), Linux %s, Python %s (%s)" % (
        os.cpu_count() or 0, model, platform.release(), platform.python_version(),
        platform.python_implementation())


def loadAverage() -> str:
    """
    The 1, 5 and 15 minute load averages (other work on this shared machine
    skews absolute numbers; ratios measured side by side, less so).

    @return: e.g. C{"2.10 2.40 3.20"}.
    """
    return " ".join("%.2f" % x for x in os.getloadavg())


def cpuSeconds(pid: Optional[int], missing: float = 0.0) -> float:
    """
    A process's user plus system CPU time so far.

    @param pid: the process, or L{None}.
    @param missing: what to return when it cannot be read.
    @return: seconds.
    """
    if pid is None:
        return missing
    try:
        with open("/proc/%d/stat" % (pid,)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return missing
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def freePort() -> int:
    """
    A TCP port free on loopback right now.

    @return: the port.
    """
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def interpreterPath(path: str) -> str:
    """
    An interpreter given on the command line, usable from any directory:
    a path with a slash in it is made absolute (our side often runs in a
    directory of its own), a bare name is left to C{PATH}.

    @param path: what was given.
    @return: the path to run.
    """
    return os.path.abspath(path) if os.sep in path else path


def addPythonOption(parser: argparse.ArgumentParser, many: bool = True) -> None:
    """
    Add C{--python PATH}: the interpreter that runs our side.

    @param parser: the benchmark's parser.
    @param many: whether it may be repeated (one column per interpreter).
    """
    if many:
        parser.add_argument(
            "--python", action="append", metavar="PATH", type=interpreterPath,
            help="an interpreter to run our side with, one column each (repeat it); "
                 "default: this one, plus .venv-pypy/bin/pypy3 when bin/setup-pypy made it")
    else:
        parser.add_argument(
            "--python", metavar="PATH", default=None, type=interpreterPath,
            help="the interpreter to run our side with (default: this one; "
                 "e.g. .venv-pypy/bin/pypy3)")


def implementation(python: str) -> str:
    """
    An interpreter's implementation and version, e.g. C{PyPy 3.9.16}.

    @param python: its path.
    @return: the label.
    @raise SystemExit: when it does not run.
    """
    try:
        out = subprocess.run(
            [python, "-c", "import platform; print(platform.python_implementation(), "
                           "platform.python_version())"],
            capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        raise SystemExit("--python %s: cannot run it: %s" % (python, e))
    return out


def interpreters(given: Optional[List[str]]) -> List[Tuple[str, str]]:
    """
    The interpreters to run our side with.

    @param given: the C{--python} values, or L{None}; a relative path is
        made absolute, since our side runs in directories of its own.
    @return: C{(label, path)} pairs, e.g. C{("CPython 3.11.2",
        "/src/vdetwist/.venv/bin/python")}.
    """
    paths = [interpreterPath(p) for p in given or []]
    if not paths:
        paths = [sys.executable] + ([PYPY] if os.access(PYPY, os.X_OK) else [])
    return [(implementation(path), path) for path in paths]
