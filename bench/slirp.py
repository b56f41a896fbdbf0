# -*- test-case-name: tests.slirp.test_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark vdetwist's slirp port forwards against libslirp's, on the same
Debian C{vde_switch}, alternating in one run (this machine is shared and
noisy: only ratios within a run mean much).

    sudo .venv/bin/python bench/slirp.py [--rounds N] [--seconds S]
        [--conn-seconds S] [--parallel P] [--profile DIR]

One Debian C{vde_switch}; one kernel network namespace at 192.168.77.100/24
(gateway 192.168.77.2) joined to it by Debian's C{vde_plug2tap}, running
C{iperf3 -s} on port 5201 and a tiny TCP echo server on port 7.  Each round
starts each slirp in turn (ours first in rounds 1, 3, ..., libslirp first in
rounds 2, 4, ...; only one is on the switch at a time, as both answer ARP for
.2, and the guest's neighbour entries are flushed in between):

  - ours: C{twistd -n slirp -s DIR -n 192.168.77.0 -L P:192.168.77.100:5201
    -L Q:192.168.77.100:7};
  - libslirp: C{vde_plug vde://DIR
    'slirp:///v4/addr=192.168.77.2/tcpfwd=P:192.168.77.100:5201,Q:192.168.77.100:7'}.

and a third session, C{ours6}, is our slirp again forwarding to the
guest's IPv6 address (C{--prefix6 fd00:77::/64 -L P:[fd00:77::100]:5201
-L Q:[fd00:77::100]:7}; the guest also has fd00:77::100/64, its iperf3 and
echo servers listen there too), so IPv6 is measured beside IPv4 in the same
run.  Each session measures through its slirp, from the host:

  1. C{up}: C{iperf3 -c 127.0.0.1 -p P -t S -J}, host to guest;
  2. C{down}: the same with C{-R}, guest to host;
  3. C{conn}: forwarded connections per second: for C{--conn-seconds}
     (default S), P clients in parallel each connect to C{127.0.0.1:Q},
     send one byte, wait for its echo from the guest, and close (so each
     counted connection went all the way to the guest and back).  Failed
     connections are counted by reason, and the rate until the first
     failure is reported beside the rate over the whole test.

Rates are Gbit/s as received; beside them the slirp process's CPU (cores,
from C{/proc}), its CPU per Gbit/s or per completed connection, and the
machine's busy share (C{/proc/stat}) over each test.  Losses on the way
are counted too: in C{up}, the guest's out-of-order arrivals (its
C{TcpExtTCPOFOQueue}, from C{nstat}) for every slirp, and our slirp's
retransmissions per 1000 segments sent (its console's C{tcp/print}, over
C{-M}); in C{down}, the guest's retransmissions per 1000 segments sent.  It prints every
measurement, the medians with min-max, the ratios ours/libslirp, the
machine and the command.  With C{--profile DIR} it also samples our slirp
with py-spy (200 Hz, non-blocking) during the first round's tests (both
sessions, IPv4 and IPv6 guest: DIR/TEST.txt and DIR/6TEST.txt), keeps
the raw collapsed stacks in DIR and prints the top functions.  Everything it
makes (switch, namespace, tap, processes, sockets) is removed on every path,
SIGTERM included.

Internal mode, used by the benchmark itself: C{--echo ADDR PORT} (the echo
server in the namespace).
"""

import argparse
import errno
import json
import os
import platform
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from bench.common import (addPythonOption, implementation, loadAverage, cpuSeconds, freePort,
                          stackEnvironment)

#: The interpreter running our side (C{--python PATH}; this one by default).
PYTHON = sys.executable

#: The virtual network, the guest and the gateway.
NETWORK = "192.168.77.0"
GUEST = "192.168.77.100"
GATEWAY = "192.168.77.2"
#: The guest's IPv6 address, in our slirp's C{--prefix6}.
PREFIX6, GUEST6 = "fd00:77::/64", "fd00:77::100"
#: The guest's iperf3 and echo ports.
IPERF_PORT = 5201
ECHO_PORT = 7
#: The slirps, in the order of rounds 1, 3, ...: ours forwarding to the
#: guest's IPv4 address, libslirp, ours forwarding to its IPv6 address.
KINDS = ["ours", "libslirp", "ours6"]
#: The tests, in the order run on each slirp (C{--tests} picks some).
TESTS = ["up", "down", "conn"]
#: Extra options for our slirp's command line (C{--slirp-option}).
SLIRP_OPTIONS: List[str] = []
#: What the report shows, and how.
MEASURES = ["up Gbit/s", "down Gbit/s", "conn/s", "conn first", "up cores", "down cores",
            "conn cores", "up per", "down per", "conn per", "up busy", "down busy", "conn busy",
            "up ofo", "up rexmit", "up drops", "up acks", "up rto", "down rexmit"]
LABELS = {
    "up Gbit/s": "host->guest (Gbit/s)",
    "down Gbit/s": "guest->host (Gbit/s)",
    "conn/s": "connections/s",
    "conn first": "conn/s until a failure",
    "up cores": "slirp CPU, host->guest",
    "down cores": "slirp CPU, guest->host",
    "conn cores": "slirp CPU, connections",
    "up per": "cores per Gbit/s, h->g",
    "down per": "cores per Gbit/s, g->h",
    "conn per": "CPU-ms per connection",
    "up busy": "machine busy, h->g",
    "down busy": "machine busy, g->h",
    "conn busy": "machine busy, conn",
    "up ofo": "guest out-of-order, h->g",
    "up rexmit": "slirp rexmit/1000, h->g",
    "up drops": "slirp send drops, h->g",
    "up acks": "frames in per out, h->g",
    "up rto": "slirp RTOs, h->g",
    "down rexmit": "guest rexmit/1000, g->h",
}


class Cleanup:
    """
    A stack of cleanups, run in reverse on every path.

    @ivar calls: the registered cleanups, oldest first.
    """

    def __init__(self) -> None:
        """
        Nothing registered yet.
        """
        self.calls: List[Callable[[], Any]] = []

    def __call__(self, function: Callable[..., Any], *args: Any) -> None:
        """
        Register C{function(*args)}.

        @param function: what to call.
        @param args: its arguments.
        """
        self.calls.append(lambda: function(*args))

    def run(self) -> None:
        """
        Run everything registered, newest first, reporting errors.
        """
        while self.calls:
            try:
                self.calls.pop()()
            except Exception as e:
                print("cleanup: %s" % (e,), file=sys.stderr)


# -- the echo server (runs in the namespace) ---------------------------


def echoMain(address: str, port: int) -> None:
    """
    A single-threaded TCP echo server: echo what arrives, close on EOF.

    @param address: the address to listen on.
    @param port: the port.
    """
    listener = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(1024)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                for _ in range(64):
                    try:
                        connection, _ = listener.accept()
                    except BlockingIOError:
                        break
                    connection.setblocking(False)
                    selector.register(connection, selectors.EVENT_READ, True)
                continue
            connection = key.fileobj
            try:
                data = connection.recv(65536)
                if data:
                    connection.send(data)
                    continue
            except OSError:
                pass
            selector.unregister(connection)
            connection.close()


# -- measurements ------------------------------------------------------


def machineBusy() -> Tuple[float, float]:
    """
    The machine's busy and total CPU time so far, from C{/proc/stat}.

    @return: (busy jiffies, total jiffies), over all CPUs.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return float(total - idle), float(total)


def guestCounters(namespace: Any) -> Dict[str, int]:
    """
    The guest kernel's SNMP counters, absolute (C{nstat -asz}: no history
    kept or updated).

    @param namespace: the guest's namespace.
    @return: counter name to value (empty when C{nstat} fails).
    """
    result = namespace.exec("nstat", "-asz", check=False)
    counters: Dict[str, int] = {}
    output = result.stdout.decode() if isinstance(result.stdout, bytes) else (result.stdout or "")
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].isdigit():
            counters[fields[0]] = int(fields[1])
    return counters


def consoleCommand(path: str, command: str, timeout: float = 5.0) -> List[str]:
    """
    Run one command on a vdetwist console (vde_switch's framing) and
    return its data lines.

    @param path: the console's unix socket.
    @param command: the command line.
    @param timeout: seconds.
    @return: the lines between C{0000 DATA END WITH '.'} and C{.}.
    @raise OSError: no console, or it did not answer in time.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        data = b""
        while not re.search(rb"\n1\d\d\d [^\n]*\n", data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    lines = data.decode("utf-8", "replace").splitlines()
    # The reply's first line follows the prompt ("vde$ 0000 DATA ...").
    starts = [i for i, line in enumerate(lines) if line.endswith("0000 DATA END WITH '.'")]
    if not starts or "." not in lines[starts[0]:]:
        return []
    start = starts[0] + 1
    return lines[start:lines.index(".", start)]


def slirpTCPCounters(path: str) -> Dict[str, int]:
    """
    Our slirp's TCP counters, IPv4 and IPv6 added (C{tcp/print}).

    @param path: its console's socket.
    @return: counter name to value (empty when the console is not there).
    """
    counters: Dict[str, int] = {}
    try:
        lines = consoleCommand(path, "tcp/print")
    except OSError:
        return counters
    for line in lines[1:]:
        fields = line.split()
        if len(fields) == 3:
            counters[fields[0]] = sum(int(x) for x in fields[1:] if x.isdigit())
    return counters


def slirpPortCounters(path: str) -> Dict[str, int]:
    """
    Our slirp's switch port counters (C{showinfo}'s C{vde frames} line).

    @param path: its console's socket.
    @return: C{portIn}, C{portOut}, C{portDrops} (empty when not there).
    """
    try:
        lines = consoleCommand(path, "showinfo")
    except OSError:
        return {}
    for line in lines:
        fields = line.split()
        if fields[:3] == ["vde", "frames", "in"] and len(fields) == 8:
            return {"portIn": int(fields[3]), "portOut": int(fields[5]),
                    "portDrops": int(fields[7])}
    return {}


def iperf(port: int, seconds: float, reverse: bool) -> float:
    """
    One iperf3 run from the host through a forward.

    @param port: the forward's host port.
    @param seconds: the test length.
    @param reverse: guest to host (C{-R}) instead of host to guest.
    @return: Gbit/s received.
    @raise RuntimeError: iperf3 failed.
    """
    command = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J"]
    if reverse:
        command.append("-R")
    result = subprocess.run(command, capture_output=True, timeout=seconds + 30,
                            stdin=subprocess.DEVNULL)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError("iperf3 printed no JSON (%d): %s" % (
            result.returncode, result.stderr.decode("utf-8", "replace")))
    if "error" in report:
        raise RuntimeError("iperf3: %s" % (report["error"],))
    return float(report["end"]["sum_received"]["bits_per_second"]) / 1e9


def connections(port: int, seconds: float, parallel: int,
                timeout: float = 5.0) -> Tuple[float, Dict[str, int]]:
    """
    Forwarded connections per second: C{parallel} clients, each in a loop
    connecting to C{127.0.0.1:port}, sending one byte, waiting for its
    echo and closing.

    @param port: the forward's host port.
    @param seconds: how long to run.
    @param parallel: clients in flight.
    @param timeout: seconds before a connection counts as failed.
    @return: (completed connections per second, failures by reason);
        after a failure, C{_before} and C{_beforeSeconds} say how many
        connections completed before the first one and when it came.
    """
    selector = selectors.DefaultSelector()
    started: Dict[socket.socket, float] = {}
    failed: Dict[str, int] = {}
    done = 0

    firstFailure: List[float] = []

    def fail(reason: str) -> None:
        if not failed:
            firstFailure.extend([done, time.monotonic() - begin])
        failed[reason] = failed.get(reason, 0) + 1

    def open_() -> None:
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            raise OSError(err, os.strerror(err))
        started[s] = time.monotonic()
        selector.register(s, selectors.EVENT_WRITE, "connecting")

    def finish(s: socket.socket) -> None:
        selector.unregister(s)
        del started[s]
        s.close()

    begin = time.monotonic()
    end = begin + seconds
    for _ in range(parallel):
        open_()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for key, _ in selector.select(min(0.1, end - now)):
            s = key.fileobj
            if key.data == "connecting":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail("connect: " + errno.errorcode.get(err, str(err)))
                    finish(s)
                    open_()
                    continue
                try:
                    s.send(b"x")
                except OSError as e:
                    fail("send: " + errno.errorcode.get(e.errno or 0, str(e)))
                    finish(s)
                    open_()
                    continue
                selector.modify(s, selectors.EVENT_READ, "echo")
            else:
                try:
                    data = s.recv(16)
                except OSError as e:
                    data = errno.errorcode.get(e.errno or 0, str(e)).encode()
                if data == b"x":
                    done += 1
                else:
                    fail("echo: " + (data.decode("ascii", "replace") or "EOF"))
                finish(s)
                open_()
        now = time.monotonic()
        for s, t in list(started.items()):
            if now - t > timeout:
                fail("timeout")
                finish(s)
                open_()
    elapsed = time.monotonic() - begin
    for s in list(started):
        finish(s)
    selector.close()
    if firstFailure:
        failed["_before"], failed["_beforeSeconds"] = firstFailure
    return done / elapsed, failed


# -- the slirps --------------------------------------------------------


class Slirp:
    """
    One slirp process on the switch, with forwards to the guest's iperf3
    and echo ports.

    @ivar kind: C{"ours"}, C{"libslirp"} or C{"ours6"}.
    @ivar iperfPort: the host port forwarded to the guest's iperf3.
    @ivar echoPort: the host port forwarded to the guest's echo server.
    @ivar process: the process while it runs.
    """

    def __init__(self, kind: str, switchDir: str, directory: str,
                 iperfPort: int, echoPort: int) -> None:
        """
        @param kind: C{"ours"}, C{"libslirp"} or C{"ours6"} (ours,
            forwarding to the guest's IPv6 address).
        @param switchDir: the switch's directory.
        @param directory: where logs go.
        @param iperfPort: the host port for iperf3.
        @param echoPort: the host port for the echo server.
        """
        self.kind = kind
        self.switchDir = switchDir
        self.directory = directory
        self.iperfPort = iperfPort
        self.echoPort = echoPort
        self.process: Optional[subprocess.Popen] = None

    @property
    def mgmt(self) -> str:
        """
        Our slirp's console socket (C{-M}).
        """
        return os.path.join(self.directory, "%s.mgmt" % (self.kind,))

    def command(self) -> List[str]:
        """
        The command line that starts it.

        @return: the argv.
        """
        guest = "[%s]" % (GUEST6,) if self.kind == "ours6" else GUEST
        iperf = "%d:%s:%d" % (self.iperfPort, guest, IPERF_PORT)
        echo = "%d:%s:%d" % (self.echoPort, guest, ECHO_PORT)
        if self.kind in ("ours", "ours6"):
            return [PYTHON, "-c", "from twisted.scripts.twistd import run; run()",
                    "-n", "--pidfile", "", "--logfile",
                    os.path.join(self.directory, "slirp.log"),
                    "slirp", "-q", "-s", self.switchDir, "-n", NETWORK,
                    "--prefix6", PREFIX6, "-M", self.mgmt, "-L", iperf, "-L", echo
                    ] + SLIRP_OPTIONS
        return ["vde_plug", "vde://" + self.switchDir,
                "slirp:///v4/addr=%s/tcpfwd=%s,%s" % (GATEWAY, iperf, echo)]

    @property
    def pid(self) -> Optional[int]:
        """
        The process id while it runs.
        """
        return self.process.pid if self.process is not None else None

    def start(self, timeout: float = 15.0) -> None:
        """
        Start it and wait until both host ports listen.

        @param timeout: seconds.
        @raise RuntimeError: it exited or did not listen in time.
        """
        env = stackEnvironment()
        log = open(os.path.join(self.directory, "%s.stderr" % (self.kind,)), "ab")
        try:
            self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, env=env,
                                            cwd=self.directory)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not all(listening(port) for port in (self.iperfPort, self.echoPort)):
            if self.process.poll() is not None:
                raise RuntimeError("%s slirp exited %d (see %s)" % (
                    self.kind, self.process.returncode, self.directory))
            if time.monotonic() > deadline:
                raise RuntimeError("%s slirp did not listen" % (self.kind,))
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """
        SIGTERM, wait, SIGKILL if needed.  Safe to call twice.

        @param timeout: seconds before SIGKILL.
        """
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def listening(port: int) -> bool:
    """
    Whether a TCP socket listens on a loopback port, from
    C{/proc/net/tcp} (connecting would make a forwarded connection).

    @param port: the port.
    @return: C{True} when one is in LISTEN state.
    """
    suffix = ":%04X" % (port,)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(suffix) and fields[3] == "0A":
                return True
    return False


def echoWorks(port: int, timeout: float = 1.0) -> bool:
    """
    Whether one byte comes back through the echo forward.

    @param port: the echo forward's host port.
    @param timeout: seconds.
    @return: C{True} when the echo arrived.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"x")
            return s.recv(16) == b"x"
    except OSError:
        return False


def profile(pid: int, seconds: float, path: str) -> subprocess.Popen:
    """
    Start py-spy sampling a process.

    @param pid: the process.
    @param seconds: how long.
    @param path: the raw (collapsed stacks) output file.
    @return: the py-spy process.
    """
    pyspy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    return subprocess.Popen([pyspy, "record", "--nonblocking", "-d", str(int(seconds)),
                             "-r", "200", "--format", "raw", "-o", path, "-p", str(pid)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def topFunctions(path: str, count: int = 15) -> List[Tuple[float, float, str]]:
    """
    The functions with the most samples on top of the stack (self time)
    in a py-spy raw profile, lines of one function counted together.

    @param path: the file.
    @param count: how many.
    @return: (share of samples on top, share of samples anywhere in the
        stack, function) triples, most self time first.
    """
    own: Dict[str, int] = {}
    inclusive: Dict[str, int] = {}
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not n.isdigit():
                continue
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            own[frames[-1]] = own.get(frames[-1], 0) + int(n)
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + int(n)
            total += int(n)
    ranked = sorted(own.items(), key=lambda item: -item[1])[:count]
    return [(n / total, inclusive[name] / total, name) for name, n in ranked] if total else []


# -- the run -----------------------------------------------------------


def session(slirp: Slirp, namespace: Any, options: argparse.Namespace, round: int,
            results: Dict[str, Dict[str, List[float]]]) -> None:
    """
    Start one slirp, run the tests through it, stop it.

    @param slirp: the slirp.
    @param namespace: the guest's namespace.
    @param options: the command line.
    @param round: the round number (from 0).
    @param results: where measurements go, by kind then measure.
    """
    # The guest's neighbour entry for .2 is the previous slirp's MAC.
    namespace.exec("ip", "neigh", "flush", "dev", namespace.tap, check=False)
    slirp.start()
    try:
        deadline = time.monotonic() + 15
        while not echoWorks(slirp.echoPort):
            if time.monotonic() > deadline:
                raise RuntimeError("%s: no echo through the forward" % (slirp.kind,))
            time.sleep(0.2)
        mine = results[slirp.kind]
        for test in TESTS:
            spy = None
            if options.profile and slirp.kind != "libslirp" and round == 0:
                spy = profile(slirp.pid, options.seconds, os.path.join(
                    options.profile, "%s%s.txt" % (slirp.kind[4:], test)))
            ours = slirp.kind != "libslirp"
            guestBefore = guestCounters(namespace)
            tcpBefore = slirpTCPCounters(slirp.mgmt) if ours else {}
            if ours:
                tcpBefore.update(slirpPortCounters(slirp.mgmt))
            before, start = cpuSeconds(slirp.pid), time.monotonic()
            busyBefore, totalBefore = machineBusy()
            if test == "conn":
                rate, failures = connections(slirp.echoPort, options.conn_seconds,
                                             options.parallel)
                firstDone = failures.pop("_before", None)
                firstSeconds = failures.pop("_beforeSeconds", None)
                mine["conn/s"].append(rate)
                mine["conn failures"].append(sum(failures.values()))
                mine["conn first"].append(firstDone / firstSeconds if firstDone else rate)
                text = "%8.0f conn/s" % (rate,)
                if failures:
                    text += " (failed: %s; the first after %d connections in %.1f s)" % (
                        ", ".join("%s %d" % item for item in sorted(failures.items())),
                        firstDone, firstSeconds)
            else:
                rate = iperf(slirp.iperfPort, options.seconds, test == "down")
                mine[test + " Gbit/s"].append(rate)
                text = "%8.3f Gbit/s" % (rate,)
            cores = (cpuSeconds(slirp.pid) - before) / (time.monotonic() - start)
            busyAfter, totalAfter = machineBusy()
            busy = (busyAfter - busyBefore) / max(1.0, totalAfter - totalBefore)
            guest = guestCounters(namespace)
            tcp = slirpTCPCounters(slirp.mgmt) if ours else {}
            if ours:
                tcp.update(slirpPortCounters(slirp.mgmt))

            def delta(after: Dict[str, int], before: Dict[str, int], name: str) -> int:
                return after.get(name, 0) - before.get(name, 0)
            if test == "up":
                mine["up ofo"].append(delta(guest, guestBefore, "TcpExtTCPOFOQueue"))
                text += ", guest out-of-order %d" % (mine["up ofo"][-1],)
                sent = delta(tcp, tcpBefore, "segmentsSent")
                if sent > 0:
                    mine["up rexmit"].append(
                        1000.0 * delta(tcp, tcpBefore, "retransmissions") / sent)
                    text += ", retransmitted %.1f/1000" % (mine["up rexmit"][-1],)
                    mine["up rto"].append(delta(tcp, tcpBefore, "retransmissionTimeouts"))
                    text += ", RTOs %d, TLPs %d, fast/RACK recoveries %d/%d" % (
                        mine["up rto"][-1], delta(tcp, tcpBefore, "tailLossProbes"),
                        delta(tcp, tcpBefore, "fastRetransmits"),
                        delta(tcp, tcpBefore, "rackLosses"))
                if "portDrops" in tcp:
                    mine["up drops"].append(delta(tcp, tcpBefore, "portDrops"))
                    text += ", send drops %d" % (mine["up drops"][-1],)
                    framesOut = delta(tcp, tcpBefore, "portOut")
                    if framesOut > 0:
                        mine["up acks"].append(delta(tcp, tcpBefore, "portIn") / framesOut)
                        text += ", frames in/out %.2f" % (mine["up acks"][-1],)
            elif test == "down":
                sent = delta(guest, guestBefore, "TcpOutSegs")
                if sent > 0:
                    mine["down rexmit"].append(
                        1000.0 * delta(guest, guestBefore, "TcpRetransSegs") / sent)
                    text += ", guest retransmitted %.1f/1000" % (mine["down rexmit"][-1],)
            mine[test + " cores"].append(cores)
            # CPU per unit of work: cores per Gbit/s, or CPU-ms per connection.
            mine[test + " per"].append(cores / rate * (1000 if test == "conn" else 1)
                                       if rate else float("inf"))
            mine[test + " busy"].append(busy)
            if spy is not None:
                try:
                    spy.wait(30)
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
            print("round %d %-8s %-4s %s, slirp %.2f cores, machine %.0f%% busy" % (
                round + 1, slirp.kind, test, text, cores, 100 * busy), flush=True)
            time.sleep(0.5)
    finally:
        slirp.stop()


def benchmark(options: argparse.Namespace) -> Dict[str, Dict[str, List[float]]]:
    """
    Build the switch and the guest, then run the rounds.

    @param options: the command line.
    @return: the measurements, by kind then measure.
    """
    from tests.interop.netns import Namespace
    from tests.vde.realswitch import RealVDESwitch

    cleanup = Cleanup()
    results: Dict[str, Dict[str, List[float]]] = {
        kind: {m: [] for m in MEASURES + ["conn failures"]}
        for kind in KINDS}
    directory = tempfile.mkdtemp(prefix="vtbs", dir="/tmp")
    cleanup(shutil.rmtree, directory, True)
    try:
        switch = RealVDESwitch(os.path.join(directory, "c"))
        switch.start()
        cleanup(switch.stop)
        guest = Namespace(cleanup, directory)
        guest.plug(switch.ctlDir, GUEST + "/24", gateway=GATEWAY)
        guest.exec("ip", "-6", "addr", "add", GUEST6 + "/64", "dev", guest.tap, "nodad")
        guest.exec("ip", "-6", "route", "add", "default", "via", PREFIX6.split("/")[0] + "2")
        for address in (GUEST, GUEST6):
            server = guest.popen("iperf3", "-s", "-B", address, "-p", str(IPERF_PORT),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cleanup(lambda server=server: (server.kill(), server.wait()))
            echo = guest.popen(sys.executable, os.path.abspath(__file__), "--echo", address,
                               str(ECHO_PORT), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            cleanup(lambda echo=echo: (echo.kill(), echo.wait()))
            if echo.stdout.readline().strip() != b"ready":
                raise RuntimeError("the echo server did not start")
        slirps = {kind: Slirp(kind, switch.ctlDir, directory, freePort(), freePort())
                  for kind in KINDS}
        for slirp in slirps.values():
            cleanup(slirp.stop)
        print("ours:     %s" % (" ".join(slirps["ours"].command()[3:]),))
        print("libslirp: %s" % (" ".join(slirps["libslirp"].command()),))
        print("ours6:    %s" % (" ".join(slirps["ours6"].command()[3:]),))
        print("load average at start: %s" % (loadAverage(),), flush=True)
        kinds = [kind for kind in KINDS if kind != "ours6" or not options.no_ipv6]
        for round in range(options.rounds):
            order = kinds if round % 2 == 0 else kinds[::-1]
            for kind in order:
                session(slirps[kind], guest, options, round, results)
    finally:
        cleanup.run()
    return results


def report(options: argparse.Namespace, results: Dict[str, Dict[str, List[float]]]) -> None:
    """
    Print the medians, min-max and ratios.

    @param options: the command line.
    @param results: the measurements.
    """
    ours, lib, ours6 = results["ours"], results["libslirp"], results["ours6"]
    print()
    print("%-26s %-24s %-24s %-24s %-14s %s" % (
        "median [min-max]", "vdetwist slirp", "libslirp", "vdetwist, IPv6 guest",
        "ours/libslirp", "IPv6/IPv4"))
    for measure in MEASURES:
        if not ours[measure]:
            continue
        fmt = ("%.0f" if measure in ("conn/s", "conn first", "up ofo", "up drops", "up rto")
               else "%.3f" if "Gbit" in measure else "%.2f")
        cells = []
        for values in (ours[measure], lib[measure], ours6[measure]):
            cells.append((fmt + " [" + fmt + "-" + fmt + "]") % (
                statistics.median(values), min(values), max(values)) if values else "-")
        a = statistics.median(ours[measure])
        c = statistics.median(ours6[measure]) if ours6[measure] else 0
        b = statistics.median(lib[measure]) if lib[measure] else 0
        print("%-26s %-24s %-24s %-24s %-14s %s" % (
            LABELS[measure], cells[0], cells[1], cells[2], "%.2f" % (a / b) if b else "-",
            "%.2f" % (c / a) if a and c else "-"))
    for kind in KINDS:
        failures = sum(results[kind]["conn failures"])
        if failures:
            print("%s: %d connections failed" % (kind, failures))
    print("machine: %s, %d CPUs, Python %s, load average at end %s" % (
        platform.platform(), os.cpu_count() or 0, platform.python_version(), loadAverage()))
    print("command: %s" % (" ".join([sys.executable] + sys.argv),))
    print("our slirp runs on: %s (%s)" % (implementation(PYTHON), PYTHON))
    if options.profile:
        for kind, test in [(kind, test) for kind in ("", "6") for test in TESTS]:
            path = os.path.join(options.profile, "%s%s.txt" % (kind, test))
            if os.path.exists(path):
                print("\nour slirp%s during %s, top functions by own samples (%s):" % (
                    " (IPv6 guest)" if kind else "", test, path))
                print("   self  total")
                for share, inclusive, name in topFunctions(path):
                    print("  %5.1f%% %5.1f%%  %s" % (100 * share, 100 * inclusive, name))


def _terminated(signum: int, frame: Any) -> None:
    """
    SIGTERM: leave through the cleanups.

    @param signum: the signal.
    @param frame: the frame.
    """
    raise KeyboardInterrupt()


def main(argv: Optional[List[str]] = None) -> int:
    """
    Parse the command line and run the benchmark (or an internal mode).

    @param argv: the arguments.
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds; each runs both slirps (default 4)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="seconds per test (default 5)")
    parser.add_argument("--conn-seconds", type=float, default=None,
                        help="seconds of the connection test (default: --seconds)")
    parser.add_argument("--parallel", type=int, default=4,
                        help="connections in flight in the connection test (default 4)")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy our slirp in round 1's tests into DIR")
    parser.add_argument("--tests", default=",".join(TESTS),
                        help="which tests, comma-separated (default %s)" % (",".join(TESTS),))
    parser.add_argument("--no-ipv6", action="store_true",
                        help="skip our slirp forwarding to the guest's IPv6 address")
    parser.add_argument("--slirp-option", action="append", default=[], metavar="OPT",
                        help="add OPT to our slirp's command line (repeat for more), "
                             "e.g. --slirp-option=--tcp-sndbuf=262144")
    parser.add_argument("--echo", nargs=2, metavar=("ADDR", "PORT"), help=argparse.SUPPRESS)
    addPythonOption(parser, many=False)
    options = parser.parse_args(argv)
    global PYTHON
    PYTHON = options.python or sys.executable
    TESTS[:] = [test for test in options.tests.split(",") if test]
    unknown = set(TESTS) - {"up", "down", "conn"}
    if unknown or not TESTS:
        parser.error("--tests: pick from up, down, conn")
    SLIRP_OPTIONS[:] = options.slirp_option
    if options.echo:
        echoMain(options.echo[0], int(options.echo[1]))
        return 0
    from tests.interop.netns import missingTools
    reason = missingTools("vde_switch", "vde_plug", "vde_plug2tap", "iperf3")
    if reason:
        print("cannot run: %s" % (reason,), file=sys.stderr)
        return 2
    if options.conn_seconds is None:
        options.conn_seconds = options.seconds
    if options.profile:
        os.makedirs(options.profile, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminated)
    try:
        results = benchmark(options)
    except KeyboardInterrupt:
        print("interrupted (everything started was stopped and removed)", file=sys.stderr)
        return 130
    report(options, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
