# -*- test-case-name: tests.interop.test_jumbo -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark jumbo frames between vdetwist's own parts: two C{vdetwist cat}
virtual hosts, given no C{--mtu}, move C{--size} MiB of random bytes
through one switch (C{cat -l > /dev/null} and C{cat -N < FILE}), on

  - vdetwist's switch started with C{--mtu 9000} (the hosts take 9000);
  - vdetwist's switch without C{--mtu} (the hosts stay at 1500);
  - Debian's vde_switch (the hosts stay at 1500),

alternating from round to round, in one run (this machine is shared and
noisy: compare the ratios).  No root needed.

    .venv/bin/python bench/jumbo.py [--rounds 5] [--size 256] [--python PATH]

The time runs from starting the sending cat (its start-up, about 0.4 s
on CPython, included) to the listener's exit after the last byte.  The
switch and both hosts run on C{--python}.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import addPythonOption, implementation, loadAverage, machine, stackEnvironment

#: The switches, in the order of the first round: key, label.
SWITCHES = [("jumbo", "vdetwist switch --mtu 9000"),
            ("ours", "vdetwist switch (1500)"),
            ("debian", "Debian vde_switch (1500)")]


def startSwitch(key: str, python: str, directory: str) -> None:
    """
    Start a switch as a daemon with its pid in C{directory/pid}.

    @param key: which (L{SWITCHES}).
    @param python: the interpreter of ours.
    @param directory: where its socket directory and pid file go.
    """
    sw, pid = os.path.join(directory, "sw"), os.path.join(directory, "pid")
    if key == "debian":
        command = ["vde_switch", "-d", "-s", sw, "-p", pid]
    else:
        command = [python, "-m", "vdetwist", "switch", "-d", "-s", sw, "-p", pid]
        if key == "jumbo":
            command += ["--mtu", "9000"]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=ROOT), timeout=30)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(sw, "ctl")):
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not start" % (key,))
        time.sleep(0.05)


def stopSwitch(directory: str) -> None:
    """
    Stop the switch whose pid file is in C{directory}, and wait for it.

    @param directory: as given to L{startSwitch}.
    """
    path = os.path.join(directory, "pid")
    try:
        with open(path) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    if os.path.exists(path):
        os.unlink(path)


def transfer(python: str, directory: str, data: str) -> float:
    """
    One transfer between two C{vdetwist cat}s on the switch in
    C{directory}.

    @param python: the interpreter.
    @param directory: the switch's.
    @param data: the file sent.
    @return: the seconds it took.
    """
    sw = os.path.join(directory, "sw")
    env = stackEnvironment()
    cat = [python, "-m", "vdetwist", "cat", "-s", sw]
    listener = subprocess.Popen(cat + ["--ip", "10.9.0.1/24", "-v", "-l", "-p", "10000"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, cwd=ROOT, env=env)
    try:
        listener.stderr.readline()  # type: ignore[union-attr]
        with open(data, "rb") as source:
            start = time.monotonic()
            subprocess.run(cat + ["--ip", "10.9.0.2/24", "-N", "-w", "20", "10.9.0.1",
                                  "10000"], stdin=source, stdout=subprocess.DEVNULL,
                           check=True, cwd=ROOT, env=env, timeout=600)
        listener.wait(600)
        return time.monotonic() - start
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
        listener.stderr.close()  # type: ignore[union-attr]


def main(argv: Optional[List[str]] = None) -> int:
    """
    The command line.

    @param argv: the arguments (C{sys.argv[1:]} by default).
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--size", type=int, default=256, help="MiB sent (default 256)")
    addPythonOption(parser, many=False)
    options = parser.parse_args(argv)
    python = options.python or sys.executable
    if shutil.which("vde_switch") is None:
        print("cannot run: vde_switch is not installed", file=sys.stderr)
        return 2
    load = loadAverage()
    top = tempfile.mkdtemp(prefix="vjb", dir="/tmp")
    seconds: Dict[str, List[float]] = {key: [] for key, _ in SWITCHES}
    size = options.size << 20
    try:
        data = os.path.join(top, "data")
        with open(data, "wb") as f:
            for _ in range(options.size):
                f.write(os.urandom(1 << 20))
        for rnd in range(options.rounds):
            shift = rnd % len(SWITCHES)
            for key, label in SWITCHES[shift:] + SWITCHES[:shift]:
                directory = os.path.join(top, key)
                os.makedirs(directory, exist_ok=True)
                startSwitch(key, python, directory)
                try:
                    took = transfer(python, directory, data)
                finally:
                    stopSwitch(directory)
                seconds[key].append(took)
                print("round %d  %-28s %6.2f s  %7.1f Mbit/s" % (
                    rnd + 1, label, took, size * 8 / took / 1e6), flush=True)
    finally:
        shutil.rmtree(top, True)
    print()
    print("command: " + " ".join([os.path.relpath(sys.executable, ROOT)
                                  if sys.executable.startswith(ROOT) else sys.executable,
                                  "bench/jumbo.py"] + (argv if argv is not None
                                                       else sys.argv[1:])))
    print("machine: " + machine())
    print("our side runs on: %s (%s)" % (implementation(python), python))
    print("load average (1 min) at start %s, at end %s" % (load, loadAverage()))
    print("%d MiB from vdetwist cat to vdetwist cat, medians of %d rounds:" % (
        options.size, options.rounds))
    medians = {key: statistics.median(values) for key, values in seconds.items()}
    for key, label in SWITCHES:
        print("  %-28s %6.2f s  %7.1f Mbit/s  x%.2f of Debian's" % (
            label, medians[key], size * 8 / medians[key] / 1e6,
            medians["debian"] / medians[key]))
    print("  MTU 9000 / MTU 1500 through our switch: x%.2f" % (
        medians["ours"] / medians["jumbo"],))
    return 0


if __name__ == "__main__":
    sys.exit(main())
