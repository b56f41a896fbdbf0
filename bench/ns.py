# -*- test-case-name: tests.interop.test_ns -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark C{vdetwist ns} against the two other ways of putting a kernel
network namespace on a VDE switch, side by side in one run through one
switch (vdetwist's, C{twistd -n vdeswitch}; this machine is shared and
noisy, so only the ratios mean much).

    sudo .venv/bin/python bench/ns.py [--rounds N] [--seconds S]

Each round measures, in an order that rotates from round to round, TCP
throughput (C{iperf3 -c ... -t S -J} from one view to C{iperf3 -s} in
the other; Gbit/s as received) between two views made by:

  - C{ns}: two C{vdetwist ns -s SW --ip ADDR -- iperf3 ...} (interface
    C{vd0}, the relay in each C{vdetwist ns} process);
  - C{plug2tap}: two C{ip netns} namespaces whose taps Debian's
    C{vde_plug2tap} joins to the switch;
  - C{vdens}: two Debian C{vdens SW sh -c 'ip ... vde0; iperf3 ...'}.

It also reads the switch's CPU time over each measurement, and, for
C{ns}, the CPU time of both relays (the C{vdetwist ns} processes).  It
prints every measurement, the medians, and the ratio of C{ns} to the
better of the two others, with the machine and the command line.
Everything made (views, namespaces, the switch) is removed on every path.

C{--profile DIR} runs the C{ns} views' relays under C{py-spy record}
(C{.venv/bin/pip install py-spy}) and leaves one collapsed-stack profile
per view in DIR (C{-f raw}: one line per stack with its sample count).

Results: docs/performance.txt, section "vdetwist ns".
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import cpuSeconds, loadAverage, machine

#: The kinds of view measured, in the first round's order.
KINDS = ["ns", "plug2tap", "vdens"]
#: What each kind is called in the report.
NAMES = {"ns": "vdetwist ns", "plug2tap": "vde_plug2tap", "vdens": "vdens (Debian)"}
SERVER, CLIENT = "10.77.0.2", "10.77.0.1"
ENV = dict(os.environ, PYTHONPATH=ROOT)
#: py-spy, in the virtualenv when installed there.
PYSPY = (os.path.join(os.path.dirname(sys.executable), "py-spy")
         if os.path.exists(os.path.join(os.path.dirname(sys.executable), "py-spy"))
         else "py-spy")

#: The client: retry until C{iperf3 -s} listens in the other view (the
#: views start in parallel), print the last report.
CLIENT_SCRIPT = """i=0
while :; do
    out=$(iperf3 -c %(server)s -t %(seconds)s -J) && { printf '%%s\\n' "$out"; exit 0; }
    i=$((i + 1))
    if [ $i -ge 100 ]; then printf '%%s\\n' "$out"; exit 1; fi
    sleep 0.1
done
"""


class _Views:
    """
    How to run a command in a configured view of one kind.

    @ivar kind: one of L{KINDS}.
    @ivar switch: the started switch.
    @ivar profile: a directory for py-spy flame graphs (C{ns} only), or L{None}.
    """

    def __init__(self, kind: str, switch: Any, cleanups: List[Callable[[], None]],
                 profile: Optional[str] = None) -> None:
        """
        @param kind: one of L{KINDS}.
        @param switch: the started switch.
        @param cleanups: where to register what must be undone.
        @param profile: see L{profile}.
        """
        self.kind = kind
        self.switch = switch
        self.cleanups = cleanups
        self.profile = profile
        self.count = 0

    def argv(self, address: str, command: List[str]) -> List[str]:
        """
        @param address: the view's C{ADDR/PREFIX}.
        @param command: what to run in it.
        @return: the argv that makes the view and runs C{command} there.
        """
        if self.kind == "ns":
            argv = [sys.executable, "-m", "vdetwist", "ns", "-s", self.switch.ctlDir,
                    "--ip", address, "--"] + command
            if self.profile:
                self.count += 1
                argv = [PYSPY, "record", "-r", "200", "-f", "raw", "-o",
                        os.path.join(self.profile, "ns-%s-%d.txt" % (
                            address.split("/")[0], self.count)), "--"] + argv
            return argv
        if self.kind == "vdens":
            return ["vdens", self.switch.ctlDir, "sh", "-c",
                    'ip link set vde0 up && ip addr add %s dev vde0 && exec "$@"' % (address,),
                    "sh"] + command
        from tests.interop.netns import Namespace
        namespace = Namespace(self.cleanups.append, self.switch.directory)
        namespace.plug(self.switch.ctlDir, address)
        return ["ip", "netns", "exec", namespace.name] + command


class _CPUSampler(threading.Thread):
    """
    Reads the CPU time of processes every L{INTERVAL} seconds while they
    run, keeping the last values (once reaped, /proc no longer has them).

    @ivar last: pid to the last CPU seconds read.
    """

    INTERVAL = 0.05

    def __init__(self, pids: List[int]) -> None:
        """
        @param pids: the processes.
        """
        super().__init__(daemon=True)
        self.pids = pids
        self.last: Dict[int, float] = {pid: 0.0 for pid in pids}
        self.stopped = threading.Event()

    def run(self) -> None:
        """
        Sample until stopped.
        """
        while not self.stopped.wait(self.INTERVAL):
            for pid in self.pids:
                value = cpuSeconds(pid, -1.0)
                if value >= 0:
                    self.last[pid] = value

    def total(self) -> float:
        """
        Stop sampling.

        @return: the CPU seconds of all the processes.
        """
        self.stopped.set()
        self.join()
        return sum(self.last.values())


def iperfRun(kind: str, switch: Any, seconds: float, cleanups: List[Callable[[], None]],
             profile: Optional[str]) -> Tuple[float, float, float]:
    """
    TCP throughput between two views of C{kind} on C{switch}.

    @param kind: one of L{KINDS}.
    @param switch: a started switch.
    @param seconds: the iperf3 duration.
    @param cleanups: where to register the views' removal.
    @param profile: a py-spy output directory, or L{None}.
    @return: C{(Gbit/s received, switch CPU cores, relay CPU cores)}; the
        relays' CPU is NaN but for C{ns}.
    """
    views = _Views(kind, switch, cleanups, profile)
    server = subprocess.Popen(views.argv(SERVER + "/24", ["iperf3", "-s", "-1", "-B", SERVER]),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    processes = [server]

    def killAll() -> None:
        """
        Kill and reap the views still running, with everything they
        started (each view leads its own process group: killing only the
        view left its iperf3 running when a run failed).
        """
        for p in processes:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    cleanups.append(killAll)
    client = subprocess.Popen(views.argv(CLIENT + "/24", ["sh", "-c", CLIENT_SCRIPT % {
        "server": SERVER, "seconds": seconds}]), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    processes.append(client)
    relays = _CPUSampler([server.pid, client.pid] if kind == "ns" and not profile else [])
    relays.start()
    cpu0, t0 = cpuSeconds(switch.pid, float("nan")), time.monotonic()
    # The switch's CPU is over the whole run (views starting, the client's
    # retries); the relays' is all they used, divided by the test's length.
    out, err = client.communicate(timeout=seconds + 60)
    elapsed = time.monotonic() - t0
    relayCPU = relays.total() if relays.pids else float("nan")
    switchCPU = cpuSeconds(switch.pid, float("nan")) - cpu0
    try:
        # Debian's vdens was seen not to exit after its command ended: the
        # server's report is not needed, what remains is killed now, so that
        # no view of this round still answers for its address in the next
        # (a leftover view without a server answered "connection refused").
        server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    killAll()
    try:
        report = json.loads(out)
    except ValueError:
        raise RuntimeError("%s: no iperf3 report: %s %s" % (
            kind, out.decode("utf-8", "replace")[-300:], err.decode("utf-8", "replace")[-300:]))
    if "error" in report:
        raise RuntimeError("%s: iperf3 failed: %s" % (kind, report["error"]))
    end = report["end"]["sum_received"]
    seconds = end["seconds"]
    return (end["bits_per_second"] / 1e9, switchCPU / elapsed,
            relayCPU / seconds if relays.pids else float("nan"))


def _terminated(signum: int, frame: Any) -> None:
    """
    SIGTERM: exit through the C{finally} blocks, so everything made is
    removed.

    @raise SystemExit: always.
    """
    raise SystemExit(128 + signum)


#: What is measured: key, label, format, unit.
METRICS = [
    ("gbps", "iperf3", "%6.3f", "Gbit/s"),
    ("cpuSwitch", "switch CPU (whole run)", "%4.2f", "cores"),
    ("cpuRelay", "ns relays' CPU (per test second)", "%4.2f", "cores"),
]


def benchmark(options: argparse.Namespace) -> int:
    """
    Run the rounds and print the results.

    @param options: the parsed command line.
    @return: the exit status.
    """
    from tests.interop.netns import VdetwistSwitch, missingTools
    kinds = options.kinds.split(",")
    reason = missingTools("iperf3", "ip", *(["vde_plug2tap"] if "plug2tap" in kinds else [])
                          + (["vdens"] if "vdens" in kinds else []))
    if reason:
        print("cannot run: " + reason, file=sys.stderr)
        return 2
    loadBefore = loadAverage()
    signal.signal(signal.SIGTERM, _terminated)
    results: Dict[str, Dict[str, List[float]]] = {k: {m[0]: [] for m in METRICS} for k in kinds}
    top = tempfile.mkdtemp(prefix="vbns", dir="/tmp")
    if options.profile:
        os.makedirs(options.profile, exist_ok=True)
    switch = VdetwistSwitch(os.path.join(top, "switch"))
    switch.start()
    try:
        for rnd in range(options.rounds):
            shift = rnd % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                cleanups: List[Callable[[], None]] = []
                try:
                    got = dict(zip(("gbps", "cpuSwitch", "cpuRelay"), iperfRun(
                        kind, switch, options.seconds, cleanups,
                        options.profile if kind == "ns" else None)))
                finally:
                    for cleanup in reversed(cleanups):
                        try:
                            cleanup()
                        except Exception as e:
                            print("cleanup failed: %s" % (e,), file=sys.stderr)
                for key, value in got.items():
                    results[kind][key].append(value)
                print("round %d %-9s " % (rnd + 1, kind) + "  ".join(
                    "%s %s" % (label, (fmt % (got[key],)).strip())
                    for key, label, fmt, unit in METRICS), flush=True)
    finally:
        switch.stop()
        shutil.rmtree(top, True)
    report(options, kinds, results, loadBefore)
    return 0


def report(options: argparse.Namespace, kinds: List[str],
           results: Dict[str, Dict[str, List[float]]], loadBefore: str) -> None:
    """
    Print the medians and the ratio of C{ns} to the better of the others.

    @param options: the command line.
    @param kinds: the kinds measured.
    @param results: per kind, per metric, the values of each round.
    @param loadBefore: the load averages before the run.
    """
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [
        os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT)
        else sys.executable] + [os.path.relpath(os.path.abspath(__file__), ROOT)]
        + sys.argv[1:]))
    print("machine: " + machine())
    print("load average before %s, after %s" % (loadBefore, loadAverage()))
    print("switch: twistd -n vdeswitch; rounds %d x %g s, order rotating; medians [min-max]:"
          % (options.rounds, options.seconds))
    print("%-40s" % ("",) + "".join("%24s" % (NAMES[k],) for k in kinds))
    for key, label, fmt, unit in METRICS:
        line = "%-40s" % ("%s (%s)" % (label, unit),)
        for k in kinds:
            values = [v for v in results[k][key] if v == v]
            cell = ("%s [%s-%s]" % tuple((fmt % (v,)).strip() for v in (
                statistics.median(values), min(values), max(values))) if values else "-")
            line += "%24s" % (cell,)
        print(line)
    others = [statistics.median(results[k]["gbps"]) for k in kinds
              if k != "ns" and results[k]["gbps"]]
    if "ns" in kinds and others and results["ns"]["gbps"]:
        ns = statistics.median(results["ns"]["gbps"])
        print("ratio vdetwist ns / the better of the others (median Gbit/s): %.2f"
              % (ns / max(others),))


def main(argv: Optional[List[str]] = None) -> int:
    """
    The command line.

    @param argv: the arguments (C{sys.argv[1:]} by default).
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="seconds per iperf3 test (default 5)")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help="the kinds measured, comma-separated (default %s)"
                        % (",".join(KINDS),))
    parser.add_argument("--profile", metavar="DIR",
                        help="run the ns relays under py-spy record; flame graphs in DIR")
    return benchmark(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
