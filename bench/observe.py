# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Does watching the switch slow it?  vdetwist's switch with C{--metrics} and
C{--web} in use (an event-stream client connected to C{/events} the whole
time, C{/metrics} scraped every second) against the same switch without
them, alternated in one run (this machine is shared and noisy, so only the
ratio of the medians means much).

    .venv/bin/python bench/observe.py [--rounds N] [--seconds S]   (as root)

Each round runs C{twistd -n vdeswitch} twice, plain and observed (the order
alternating between rounds), and measures on each the TCP throughput of
C{bench/switch.py}'s iperf3 test: two kernel network namespaces joined by
Debian's C{vde_plug2tap}, C{iperf3 -c -t S -J}, Gbit/s received.  The
observed run also reports how many scrapes and event-stream bytes it got,
so a run where the observers did not work does not pass for a fast one.

C{--idle S} measures instead the switch's own CPU time over S seconds
without traffic, plain and observed: what the observers cost the switch
process, free of the throughput's noise.

Results and the command: docs/performance.txt, section "Observe".
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import shutil
import threading
import time
from typing import Any, Callable, Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import freePort, loadAverage, machine  # noqa: E402
from bench.switch import iperfRun  # noqa: E402


def httpGet(port: int, path: str, timeout: float = 5.0) -> bytes:
    """
    A plain HTTP/1.0 GET on loopback.

    @param port: the TCP port.
    @param path: the path.
    @param timeout: seconds.
    @return: the whole response, headers included.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % (path.encode(),))
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


class Observers:
    """
    A scraper of C{/metrics} (once a second) and an event-stream client of
    C{/events}, in threads, until L{stop}.

    @ivar scrapes: successful scrapes.
    @ivar scrapeBytes: bytes of the last scrape.
    @ivar eventBytes: bytes the event stream delivered.
    """

    def __init__(self, metricsPort: int, webPort: int) -> None:
        """
        @param metricsPort: the C{--metrics} port.
        @param webPort: the C{--web} port.
        """
        self.metricsPort = metricsPort
        self.webPort = webPort
        self.scrapes = 0
        self.scrapeBytes = 0
        self.eventBytes = 0
        self.errors: List[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._scrape, daemon=True),
                         threading.Thread(target=self._events, daemon=True)]

    def start(self) -> None:
        """
        Start both threads; return once the event stream is connected.
        """
        self._connected = threading.Event()
        for thread in self._threads:
            thread.start()
        self._connected.wait(10)

    def _scrape(self) -> None:
        while not self._stop.is_set():
            try:
                response = httpGet(self.metricsPort, "/metrics")
                if b" 200 " in response.split(b"\r\n", 1)[0]:
                    self.scrapes += 1
                    self.scrapeBytes = len(response)
            except OSError as e:
                self.errors.append("scrape: %s" % (e,))
            self._stop.wait(1.0)

    def _events(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.webPort), timeout=2) as s:
                s.sendall(b"GET /events HTTP/1.1\r\nHost: localhost\r\n"
                          b"Accept: text/event-stream\r\n\r\n")
                self._connected.set()
                while not self._stop.is_set():
                    try:
                        data = s.recv(65536)
                    except socket.timeout:
                        continue
                    if not data:
                        self.errors.append("events: the server closed the stream")
                        return
                    self.eventBytes += len(data)
        except OSError as e:
            self.errors.append("events: %s" % (e,))
        finally:
            self._connected.set()

    def stop(self) -> None:
        """
        Stop both threads.
        """
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def oneRun(kind: str, directory: str, seconds: float, python: str) -> Dict[str, Any]:
    """
    Start the switch (observed or not), measure, stop.

    @param kind: C{plain} or C{observed}.
    @param directory: a fresh directory.
    @param seconds: the iperf3 duration.
    @param python: the interpreter running twistd.
    @return: C{gbps}, C{cpu}, and for C{observed} the observers' counts.
    """
    from tests.interop.netns import VdetwistSwitch
    switch = VdetwistSwitch(directory)
    switch.python = python
    extra: List[str] = []
    observers: Optional[Observers] = None
    if kind == "observed":
        metricsPort, webPort = freePort(), freePort()
        extra = ["--metrics", "tcp:%d:interface=127.0.0.1" % (metricsPort,),
                 "--web", "tcp:%d:interface=127.0.0.1" % (webPort,)]
    cleanups: List[Callable[[], None]] = []
    switch.start(extra)
    cleanups.append(switch.stop)
    try:
        if kind == "observed":
            observers = Observers(metricsPort, webPort)
            observers.start()
            cleanups.append(observers.stop)
        gbps, cpu = iperfRun(switch, seconds, cleanups)
        result: Dict[str, Any] = {"gbps": gbps, "cpu": cpu}
        if observers is not None:
            result.update(scrapes=observers.scrapes, scrapeBytes=observers.scrapeBytes,
                          eventBytes=observers.eventBytes, errors=observers.errors[:3])
        return result
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as e:
                print("cleanup failed: %s" % (e,), file=sys.stderr)


def idleRun(kind: str, directory: str, seconds: float, python: str) -> float:
    """
    The switch's CPU time per second without traffic.

    @param kind: C{plain} or C{observed}.
    @param directory: a fresh directory.
    @param seconds: how long to measure.
    @param python: the interpreter running twistd.
    @return: CPU milliseconds per second.
    """
    from bench.common import cpuSeconds
    from tests.interop.netns import VdetwistSwitch
    switch = VdetwistSwitch(directory)
    switch.python = python
    extra: List[str] = []
    if kind == "observed":
        metricsPort, webPort = freePort(), freePort()
        extra = ["--metrics", "tcp:%d:interface=127.0.0.1" % (metricsPort,),
                 "--web", "tcp:%d:interface=127.0.0.1" % (webPort,)]
    switch.start(extra)
    observers = None
    try:
        time.sleep(1.0)
        if kind == "observed":
            observers = Observers(metricsPort, webPort)
            observers.start()
        cpu0, t0 = cpuSeconds(switch.pid), time.monotonic()
        time.sleep(seconds)
        return (cpuSeconds(switch.pid) - cpu0) / (time.monotonic() - t0) * 1000
    finally:
        if observers is not None:
            observers.stop()
        switch.stop()


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run the rounds, print each measurement, the medians and the ratio.

    @param argv: the command line.
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rounds", type=int, default=6, help="rounds (default 6)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="iperf3 seconds per run (default 5)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter running twistd (default this one)")
    parser.add_argument("--idle", type=float, metavar="S",
                        help="measure the switch's CPU without traffic for S seconds instead")
    options = parser.parse_args(argv)
    if options.idle:
        top = tempfile.mkdtemp(prefix="vobs", dir="/tmp")
        try:
            for rnd in range(options.rounds):
                for kind in ("plain", "observed"):
                    ms = idleRun(kind, os.path.join(top, "%s%d" % (kind, rnd)), options.idle,
                                 options.python)
                    print("round %d %-9s switch CPU %.1f ms per second" % (rnd + 1, kind, ms),
                          flush=True)
        finally:
            shutil.rmtree(top, True)
        return 0
    from tests.interop.netns import missingTools
    reason = missingTools("vde_plug2tap", "iperf3", "ip")
    if reason:
        print("cannot run: " + reason, file=sys.stderr)
        return 2
    print("machine: %s; load before: %s" % (machine(), loadAverage()), flush=True)
    results: Dict[str, List[float]] = {"plain": [], "observed": []}
    top = tempfile.mkdtemp(prefix="vobs", dir="/tmp")
    try:
        for rnd in range(options.rounds):
            order = ["plain", "observed"] if rnd % 2 == 0 else ["observed", "plain"]
            for kind in order:
                got = oneRun(kind, os.path.join(top, "%s%d" % (kind, rnd)), options.seconds,
                             options.python)
                results[kind].append(got["gbps"])
                extra = ""
                if kind == "observed":
                    extra = "  scrapes %d (%d bytes each)  event-stream bytes %d%s" % (
                        got["scrapes"], got["scrapeBytes"], got["eventBytes"],
                        "  errors %s" % (got["errors"],) if got["errors"] else "")
                print("round %d %-9s %6.3f Gbit/s  switch CPU %.2f cores%s" % (
                    rnd + 1, kind, got["gbps"], got["cpu"], extra), flush=True)
    finally:
        shutil.rmtree(top, True)
    plain = statistics.median(results["plain"])
    observed = statistics.median(results["observed"])
    spread = [min(results["plain"]), max(results["plain"])]
    print("median plain %.3f Gbit/s (min %.3f max %.3f), observed %.3f Gbit/s "
          "(min %.3f max %.3f): observed/plain %.3f" % (
              plain, spread[0], spread[1], observed, min(results["observed"]),
              max(results["observed"]), observed / plain if plain else float("nan")))
    print("load after: %s; command: %s" % (
        loadAverage(), " ".join([os.path.relpath(sys.argv[0], ROOT)] + (argv or sys.argv[1:]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
