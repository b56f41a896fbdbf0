# -*- test-case-name: tests.interop.test_cable_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark cables: TCP throughput between two kernel namespaces, each on its
own switch, the switches joined by a cable; beside the same namespaces on a
single switch (a direct port), for Debian's C tools and for vdetwist, in one
run (this machine is shared and noisy: only ratios within a run mean much).

    sudo python bench/cable.py [--rounds N] [--seconds S] [--only NAME,...]

Setups (each round runs all of them, in an order rotated per round):

  - C{c-direct}: both namespaces on one Debian C{vde_switch};
  - C{c-stream}: two C{vde_switch}es joined by C{dpipe vde_plug A = vde_plug
    B} (VDE stream framing over pipes, the classic local cable);
  - C{direct}: both namespaces on one C{twistd vdeswitch};
  - C{tcp}: two C{twistd vdeswitch}es, one dialling the other over a
    loopback TCP cable (C{--cable tcp:...} / C{--cable-listen tcp:...});
  - C{tls}: the same over mutual TLS (certificates made for the run).

Namespaces join their switch with Debian's C{vde_plug2tap}; C{iperf3 -c ...
-t S -J} runs from one to C{iperf3 -s} in the other; the rate is Gbit/s
as received.  It prints each measurement, the medians, and the ratios
against the C tools' stream cable and against our direct port.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import addPythonOption, freePort, implementation

#: The interpreter running our side (C{--python PATH}; this one by default).
PYTHON = sys.executable

SETUPS = ["c-direct", "c-stream", "direct", "tcp", "tls"]


class Cleanup:
    """
    A stack of cleanups, run in reverse on every path.
    """

    def __init__(self) -> None:
        """
        Set up the state.
        """
        self.calls: List[Callable[[], Any]] = []

    def __call__(self, function: Callable[..., Any], *args: Any) -> None:
        """
        Register C{function(*args)}.
        """
        self.calls.append(lambda: function(*args))

    def run(self) -> None:
        """
        Run everything registered, newest first, ignoring errors.
        """
        while self.calls:
            try:
                self.calls.pop()()
            except Exception as e:
                print("cleanup: %s" % (e,), file=sys.stderr)


def waitFor(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """
    Poll until C{condition()} is true.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def build(setup: str, directory: str, cleanup: Cleanup) -> "tuple[str, str]":
    """
    Start the switches of a setup.

    @return: the control directories the two namespaces plug into.
    """
    from tests.interop.netns import VdetwistSwitch
    from tests.vde.realswitch import RealVDESwitch

    def start(kind: Any, name: str, *args: str) -> Any:
        """
        Start a switch of C{kind}, stopped at cleanup.
        """
        switch = kind(os.path.join(directory, name))
        switch.python = PYTHON
        switch.start(list(args))
        cleanup(switch.stop)
        return switch

    if setup == "c-direct":
        s = start(RealVDESwitch, "c")
        return s.ctlDir, s.ctlDir
    if setup == "c-stream":
        a, b = start(RealVDESwitch, "ca"), start(RealVDESwitch, "cb")
        dpipe = subprocess.Popen(["dpipe", "vde_plug", a.ctlDir, "=", "vde_plug", b.ctlDir],
                                 stdin=subprocess.DEVNULL)
        cleanup(lambda: (dpipe.terminate(), dpipe.wait()))
        return a.ctlDir, b.ctlDir
    if setup == "direct":
        s = start(VdetwistSwitch, "v")
        return s.ctlDir, s.ctlDir
    port = freePort()
    if setup == "tcp":
        listen = ["--cable-listen", "tcp:%d:interface=127.0.0.1" % (port,)]
        dial = ["--cable", "tcp:127.0.0.1:%d" % (port,)]
    else:
        from tests.links.test_cable_tls import makePKI
        pki = makePKI(os.path.join(directory, "pki"))
        listen = ["--cable-listen", "tls:%d:interface=127.0.0.1:privateKey=%s:certKey=%s:"
                  "trustRoots=%s" % (port, pki["server.key"], pki["server.crt"], pki["ca1"])]
        dial = ["--cable", "tls:localhost:%d:certificate=%s:privateKey=%s:trustRoots=%s"
                % (port, pki["client.crt"], pki["client.key"], pki["ca1"])]
    a = start(VdetwistSwitch, "va", *listen)
    b = start(VdetwistSwitch, "vb", *dial)
    if not waitFor(lambda: "CONNECTED" in b.console("cable/print")):
        raise RuntimeError("the %s cable did not come up" % (setup,))
    return a.ctlDir, b.ctlDir


def measure(setup: str, seconds: float) -> float:
    """
    One iperf3 run over a setup.

    @return: Gbit/s received.
    """
    from tests.interop.netns import Namespace
    cleanup = Cleanup()
    directory = tempfile.mkdtemp(prefix="vtbc", dir="/tmp")
    cleanup(shutil.rmtree, directory, True)
    try:
        dirA, dirB = build(setup, directory, cleanup)
        a = Namespace(cleanup, directory)
        b = Namespace(cleanup, directory)
        a.plug(dirA, "10.91.0.1/24")
        b.plug(dirB, "10.91.0.2/24")
        server = a.popen("iperf3", "-s", "-1", "-B", "10.91.0.1",
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cleanup(lambda: (server.kill(), server.wait()))
        time.sleep(0.3)
        ping = lambda: b.exec("busybox", "ping", "-c", "1", "-W", "1", "10.91.0.1",  # noqa
                              check=False).returncode == 0
        if not waitFor(ping):
            raise RuntimeError("%s: no ping" % (setup,))
        output = b.exec("iperf3", "-c", "10.91.0.1", "-t", str(seconds), "-J",
                        timeout=seconds + 60).stdout
        report = json.loads(output)
        return report["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        cleanup.run()


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run the benchmark and print the report.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", default=",".join(SETUPS),
                        help="comma-separated setups (%s)" % (", ".join(SETUPS),))
    addPythonOption(parser, many=False)
    options = parser.parse_args(argv)
    global PYTHON
    PYTHON = options.python or sys.executable
    setups = [s for s in options.only.split(",") if s]
    for s in setups:
        if s not in SETUPS:
            parser.error("unknown setup %r" % (s,))
    results: Dict[str, List[float]] = {s: [] for s in setups}
    for round in range(options.rounds):
        order = setups[round % len(setups):] + setups[:round % len(setups)]
        for setup in order:
            rate = measure(setup, options.seconds)
            results[setup].append(rate)
            print("round %d %-9s %6.3f Gbit/s" % (round + 1, setup, rate), flush=True)
    medians = {s: statistics.median(v) for s, v in results.items()}
    print()
    print("medians (Gbit/s, min-max):")
    for s in setups:
        print("  %-9s %6.3f  (%.3f-%.3f)" % (s, medians[s], min(results[s]), max(results[s])))
    print("ratios:")
    for top, bottom in [("tcp", "c-stream"), ("tls", "c-stream"), ("tls", "tcp"),
                        ("tcp", "direct"), ("direct", "c-direct"), ("c-stream", "c-direct")]:
        if top in medians and bottom in medians and medians[bottom]:
            print("  %-9s / %-9s %5.2f" % (top, bottom, medians[top] / medians[bottom]))
    print("machine: %s, %d CPUs, Python %s, load %s" % (
        platform.platform(), os.cpu_count() or 0, platform.python_version(),
        " ".join("%.2f" % x for x in os.getloadavg())))
    print("command: %s" % (" ".join([sys.executable] + sys.argv),))
    print("our switches run on: %s (%s)" % (implementation(PYTHON), PYTHON))
    return 0


if __name__ == "__main__":
    sys.exit(main())
