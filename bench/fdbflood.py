# -*- test-case-name: tests.interop.test_fdb_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Throughput before and after a MAC-table flood, side by side in one run
(issue 10 done criterion 6: "its throughput is within noise of before the
flood").

    sudo .venv/bin/python bench/fdbflood.py [--seconds S] [--rounds N]
                                            [--switch vdetwist|debian]
                                            [--setup 'hash/setportmax 0']

On one switch (vdetwist's as a user runs it, C{twistd -n vdeswitch}, or
Debian's C{vde_switch}), with kernel namespaces joined by C{vde_plug2tap}:
a client A, a host B and a flooder C.  Each round measures, with C{iperf3
-c -t S} from A:

  1. A to B before any flood;
  2. after C floods 20,000 random source MACs: A to a host L that joins
     only now, and A to B again (B was idle during the flood).

It also counts, in C, the frames addressed to L during step 2's transfer to
L (0 when L was learned).  Everything it makes is removed on every path.
The interop test (tests/interop/test_fdb_interop.py) checks the same
scenario without timings.

Measured on the shared 2-core build machine (nproc 2, AMD EPYC, Linux 6.18,
Python 3.11.7), C{--seconds 4}, Gbit/s per round:

  default bounds (--rounds 3):     before A->B 0.686 0.818 0.569
                                   after: A->late 0.623 0.562 0.721,
                                          A->B    0.645 0.495 0.808
                                   frames to late in the third namespace: 0 0 0
  --setup 'hash/setportmax 0':     before A->B 0.869 0.895
                                   after: A->late 0.830 0.889, A->B 0.661 0.809
                                   frames to late: 0 0 (3,619 table evictions)

Before the change, the report of issue 10 item 11 measured 28 % of the
throughput after the flood and 56,736 frames to the late host in the third
namespace.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import machine  # noqa: E402


def iperf(client, server, seconds: float) -> float:
    """
    TCP throughput from one namespace to another.

    @return: Gbit/s received.
    """
    iperfServer = server.popen("iperf3", "-s", "-1", "-B", server.address,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            result = client.exec("iperf3", "-c", server.address, "-t", str(seconds), "-J",
                                 timeout=seconds + 30, check=False)
            try:
                report = json.loads(result.stdout)
            except ValueError:
                report = {"error": result.stdout.decode("utf-8", "replace")[-300:]}
            if "error" not in report:
                return report["end"]["sum_received"]["bits_per_second"] / 1e9
            if time.monotonic() > deadline or "connect" not in report["error"]:
                raise RuntimeError("iperf3 failed: %s" % (report["error"],))
            time.sleep(0.2)
    finally:
        if iperfServer.poll() is None:
            iperfServer.kill()
        iperfServer.wait()


def oneRound(switchName: str, setup: List[str], seconds: float, seed: int) -> dict:
    """
    One switch, one flood, three measurements.
    """
    import tempfile
    from tests.interop.netns import Namespace, VdetwistSwitch
    from tests.interop.test_fdb_interop import (
        CONTROL_FRAMES, FLOOD_SOURCES, LATE_MAC, finishCounter, flood, plugWithMAC,
        startCounter)
    from tests.vde.realswitch import RealVDESwitch

    cleanups: List[Callable[[], None]] = []
    directory = tempfile.mkdtemp(prefix="vtfl", dir="/tmp")
    try:
        switch = (VdetwistSwitch if switchName == "vdetwist" else RealVDESwitch)(directory)
        switch.start()
        cleanups.append(switch.stop)
        for command in setup:
            switch.console(command)
        a = Namespace(cleanups.append, directory)
        a.plug(switch.ctlDir, "10.79.0.1/24")
        c = Namespace(cleanups.append, directory)
        c.plug(switch.ctlDir, "10.79.0.3/24")
        b = Namespace(cleanups.append, directory)
        b.plug(switch.ctlDir, "10.79.0.2/24")
        result = {"before": iperf(a, b, seconds)}
        flood(c, FLOOD_SOURCES, seed)
        result["info"] = switch.console("hash/showinfo")
        late = Namespace(cleanups.append, directory)
        counter = startCounter(c, LATE_MAC)
        plugWithMAC(late, switch.ctlDir, "10.79.0.4/24", LATE_MAC)
        result["late"] = iperf(a, late, seconds)
        counts = finishCounter(counter, a)
        result["flooded"] = counts["watched"]
        result["controlSeen"] = "%d/%d" % (counts["control"], CONTROL_FRAMES)
        result["afterB"] = iperf(a, b, seconds)
        return result
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as e:
                print("cleanup failed: %r" % (e,), file=sys.stderr)
        import shutil
        shutil.rmtree(directory, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--switch", choices=("vdetwist", "debian"), default="vdetwist")
    parser.add_argument("--setup", action="append", default=[],
                        help="a console command run at start (repeatable)")
    options = parser.parse_args()
    print(machine())
    print("command:", " ".join(sys.argv))
    rows = []
    for i in range(options.rounds):
        r = oneRound(options.switch, options.setup, options.seconds, seed=i + 1)
        rows.append(r)
        print("round %d: before A->B %.3f Gbit/s | after flood: A->late %.3f Gbit/s, "
              "A->B %.3f Gbit/s | frames to late seen by the third namespace: %d "
              "(control %s)" % (i + 1, r["before"], r["late"], r["afterB"], r["flooded"],
                                r["controlSeen"]), flush=True)
    print("last hash/showinfo after the flood:\n" + rows[-1]["info"])
    for key in ("before", "late", "afterB"):
        print("median %-7s %.3f Gbit/s" % (key, statistics.median(r[key] for r in rows)))


if __name__ == "__main__":
    main()
