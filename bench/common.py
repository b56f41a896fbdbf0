# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What every benchmark in bench/ reports about its run: the machine, its
load, a process's CPU time, and a free port.
"""

import os
import platform
import socket
from typing import Optional


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
