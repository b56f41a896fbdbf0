# -*- test-case-name: tests.switch.test_server -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark vdetwist's switch against Debian's C{vde_switch}, side by side in
one run (this machine is shared and noisy, so only the ratio means much).

    sudo .venv/bin/python bench/switch.py [--rounds N] [--seconds S]

Each round starts each switch in turn (C first in even rounds, ours first in
odd ones) and measures, on that switch:

  1. TCP throughput: two kernel network namespaces, each joined to the
     switch by Debian's C{vde_plug2tap}, C{iperf3 -c ... -t S -J} from one to
     C{iperf3 -s} in the other; Gbit/s as received.
  2. Small-frame forwarding: two raw VDE datagram clients (a handshake on
     C{DIR/ctl}, then one datagram per frame); one blasts 64-byte frames at
     the other's learned MAC for S seconds, the other counts what arrives;
     frames per second forwarded.  The switch is pinned to a CPU of its own
     and the clients (which use C{sendmmsg}/C{recvmmsg}, so they cost far
     less per frame than a switch) share the other, so the rate is the
     switch's on one core.  The switch's CPU time in the window is read
     from C{/proc} too, giving frames per switch CPU-second: the capacity
     measure least disturbed by other load on the machine.

Ours runs once per interpreter given with C{--python PATH} (repeatable),
each in a column of its own beside the C switch's; without C{--python},
with this interpreter and, when bin/setup-pypy made C{.venv-pypy}, PyPy.

Both tests also report the cores the switch used.  It prints every
measurement, the medians per switch, the ratios ours/C, the machine and the
command line.  Everything it makes (namespaces, taps,
processes, sockets) is removed on every path.

Our switch runs as a user runs it, C{twistd -n vdeswitch} (L{VdetwistSwitch});
C{--launcher direct} (the fallback when twistd cannot start it) runs
L{vdetwist.switch.server.ControlServer} on the default reactor in a small
launcher (C{--serve}), which can also profile it (C{--profile FILE}).

Internal modes, used by the benchmark itself: C{--serve DIR} (the direct
launcher), C{--client send|recv} (the small-frame clients).

Results, the machine they came from and what changed them: docs/performance.txt,
section "Switch".
"""

import argparse
import ctypes
import errno
import json
import os
import shlex
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
from bench.common import addPythonOption, cpuSeconds, interpreters, machine

#: The frame size of the small-frame test (bytes per datagram).
SMALL_FRAME = 64
#: Seconds the small-frame receiver waits before it starts counting.
WARMUP = 0.5
#: Niceness of the small-frame clients: the receiver first, the sender
#: fills the time left.
RECEIVER_NICE = -10
SENDER_NICE = 10
#: Seconds between the small-frame receiver's announcements of its MAC.
ANNOUNCE = 0.1
#: The MACs of the small-frame clients (locally administered).
SENDER_MAC = bytes.fromhex("0200000000a1")
RECEIVER_MAC = bytes.fromhex("0200000000b2")
#: An EtherType for local experiments (IEEE 802 local experimental 1).
ETHERTYPE = b"\x88\xb5"


# -- the small-frame clients (run in their own processes) --------------


def vdeConnect(ctlDir: str, clientPath: str,
               description: str) -> Tuple[socket.socket, socket.socket]:
    """
    Join a VDE switch as a raw datagram client: bind a datagram socket, send
    the v3 request on C{DIR/ctl}, connect to the socket the switch names.

    @param ctlDir: the switch directory.
    @param clientPath: where to bind our datagram socket.
    @param description: the port description.
    @return: C{(control, data)}; keep C{control} open while using C{data}.
    @raise RuntimeError: when the switch refuses.
    """
    from vdetwist.vde.control import REQ_NEW_CONTROL, ControlRequest, parseReply
    data = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    data.bind(clientPath)
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    control.settimeout(10)
    control.connect(os.path.join(ctlDir, "ctl"))
    control.sendall(ControlRequest(version=3, requestType=REQ_NEW_CONTROL, port=0,
                                   path=clientPath.encode(), description=description).encode())
    reply = b""
    while len(reply) < 110:
        chunk = control.recv(110 - len(reply))
        if not chunk:
            raise RuntimeError("switch closed the control stream (refused)")
        reply += chunk
    path = parseReply(reply)
    if path is None:
        raise RuntimeError("unusable reply %r" % (reply,))
    data.connect(path)
    return control, data


class _IOVec(ctypes.Structure):
    """
    C{struct iovec}.
    """

    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    """
    C{struct msghdr} (Linux, 64-bit layout by ctypes' alignment).
    """

    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    """
    C{struct mmsghdr}.
    """

    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


#: Frames per sendmmsg/recvmmsg call in the clients.
CLIENT_BATCH = 64
MSG_WAITFORONE = 0x10000


class MultiMessage:
    """
    C{sendmmsg}/C{recvmmsg} through ctypes, so the small-frame clients pay
    one system call and no interpreter work per frame: the clients must be
    much cheaper than the switches they measure.

    @ivar buffers: the frame buffers, one per message.
    @ivar messages: the C{mmsghdr} array.
    """

    def __init__(self, fd: int, size: int, count: int = CLIENT_BATCH,
                 fill: bytes = b"") -> None:
        """
        @param fd: the connected datagram socket's descriptor.
        @param size: bytes per buffer.
        @param count: messages per call.
        @param fill: initial content of every buffer (the frame to send).
        """
        libc = ctypes.CDLL(None, use_errno=True)
        self._sendmmsg = libc.sendmmsg
        self._recvmmsg = libc.recvmmsg
        self._recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint,
                                   ctypes.c_int, ctypes.c_void_p]
        self._sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        self.fd = fd
        self.count = count
        self.buffers = [ctypes.create_string_buffer(fill.ljust(size, b"\0"), size)
                        for _ in range(count)]
        self.iovecs = (_IOVec * count)()
        self.messages = (_MMsgHdr * count)()
        for i in range(count):
            self.iovecs[i].base = ctypes.addressof(self.buffers[i])
            self.iovecs[i].length = size
            self.messages[i].hdr.iov = ctypes.pointer(self.iovecs[i])
            self.messages[i].hdr.iovlen = 1
        self._address = ctypes.addressof(self.messages)

    def send(self) -> int:
        """
        Send every buffer (blocking until the first can go).

        @return: messages sent.
        @raise OSError: on an error.
        """
        n = self._sendmmsg(self.fd, self._address, self.count, 0)
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return n

    def receive(self) -> int:
        """
        Receive up to C{count} messages, waiting for the first only.

        @return: messages received.
        @raise OSError: on an error other than EINTR (EINTR returns 0, so a
            signal handler runs).
        """
        n = self._recvmmsg(self.fd, self._address, self.count, MSG_WAITFORONE, None)
        if n < 0:
            e = ctypes.get_errno()
            if e == errno.EINTR:
                return 0
            raise OSError(e, os.strerror(e))
        return n


class _Done(Exception):
    """
    Raised by the alarm that ends a client's loop.
    """


def _alarm(signum: int, frame: Any) -> None:
    """
    End the client's loop.
    """
    raise _Done()


def clientMain(role: str, ctlDir: str, seconds: float, switchPID: Optional[int] = None) -> None:
    """
    One small-frame client; prints one JSON line with its result.

    The receiver announces its MAC with one broadcast frame, prints
    C{ready}, then counts frames for C{seconds} after a warm-up; the sender
    sends 64-byte frames to the receiver's MAC as fast as the switch takes
    them (blocking sends: the switch's queue paces it).

    @param role: C{send} or C{recv}.
    @param ctlDir: the switch directory.
    @param seconds: the measuring window.
    @param switchPID: the switch's pid, whose CPU time the receiver reads
        at both ends of its window.
    """
    clientPath = os.path.join(tempfile.mkdtemp(prefix="vb", dir="/tmp"), role)
    try:
        control, data = vdeConnect(ctlDir, clientPath, "bench " + role)
        signal.signal(signal.SIGALRM, _alarm)
        if role == "recv":
            _receive(data, seconds, switchPID)
        else:
            _send(data, seconds)
        control.close()
        data.close()
    finally:
        shutil.rmtree(os.path.dirname(clientPath), True)


def _receive(data: socket.socket, seconds: float, switchPID: Optional[int]) -> None:
    """
    Count arriving frames in a window of C{seconds} that opens L{WARMUP}
    seconds after the first frame; print the rate, and the switch's CPU
    time in the window.

    The receiver repeats its MAC every L{ANNOUNCE} seconds, as a real host
    would keep sending: C{vde_switch} flushes its whole MAC table when a
    port is added (the sender's), and would otherwise flood every frame.

    @param data: the connected datagram socket.
    @param seconds: the window.
    @param switchPID: the switch's pid.
    """
    data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    learn = (b"\xff" * 6 + RECEIVER_MAC + ETHERTYPE).ljust(SMALL_FRAME, b"\0")
    data.send(learn)
    print("ready", flush=True)
    recv = MultiMessage(data.fileno(), 2048).receive
    clock = time.monotonic
    n = 0
    signal.setitimer(signal.ITIMER_REAL, seconds + WARMUP + 30)
    try:
        while not n:
            n = recv()
        opens = clock() + WARMUP
        closes = opens + seconds
        n0 = t0 = None
        announce = 0.0
        while True:
            n += recv()
            now = clock()
            if now >= announce:
                data.send(learn)
                announce = now + ANNOUNCE
            if t0 is None:
                if now >= opens:
                    n0, t0 = n, now
                    cpu0 = cpuSeconds(switchPID, float("nan"))
                    signal.setitimer(signal.ITIMER_REAL, seconds + 2)
            elif now >= closes:
                break
    except _Done:
        now = clock()
    signal.setitimer(signal.ITIMER_REAL, 0)
    if t0 is None:
        print(json.dumps({"rate": 0.0, "frames": n, "cpu": float("nan")}), flush=True)
    else:
        print(json.dumps({"rate": (n - n0) / (now - t0), "frames": n - n0,
                          "cpu": (cpuSeconds(switchPID, float("nan")) - cpu0) / (now - t0)}), flush=True)


def _send(data: socket.socket, seconds: float) -> None:
    """
    Send small frames to the receiver until its window (L{WARMUP} plus
    C{seconds}) has surely closed; print how many.

    @param data: the connected datagram socket.
    @param seconds: the receiver's window.
    """
    data.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    frame = (RECEIVER_MAC + SENDER_MAC + ETHERTYPE).ljust(SMALL_FRAME, b"\x5a")
    send = MultiMessage(data.fileno(), len(frame), fill=frame).send
    clock = time.monotonic
    ends = clock() + WARMUP + seconds + 1.0
    n = 0
    signal.setitimer(signal.ITIMER_REAL, WARMUP + seconds + 10)
    try:
        while clock() < ends:
            n += send()
    except (_Done, OSError):
        pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(json.dumps({"sent": n}), flush=True)


# -- the direct launcher ---------------------------------------------


def serveMain(ctlDir: str, profile: Optional[str]) -> None:
    """
    Run our switch on the default reactor until SIGTERM: the control server
    and the 1-second tick, as C{twistd vdeswitch} wires them.

    @param ctlDir: the switch directory.
    @param profile: write cProfile statistics here at exit, if given.
    """
    from twisted.application.internet import TimerService
    from twisted.internet import reactor

    from vdetwist.switch.server import ControlServer
    from vdetwist.switch.switch import Switch

    switch = Switch()
    server = ControlServer(reactor, switch, ctlDir)
    ticker = TimerService(1, switch.tick)
    ticker.clock = reactor
    server.startService()
    ticker.startService()
    reactor.addSystemEventTrigger("before", "shutdown", ticker.stopService)
    reactor.addSystemEventTrigger("before", "shutdown", server.stopService)
    print("reactor", type(reactor).__module__, file=sys.stderr, flush=True)
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.runcall(reactor.run)
        profiler.dump_stats(profile)
    else:
        reactor.run()


class DirectSwitch:
    """
    Our switch in the direct launcher (C{bench/switch.py --serve}), with the
    start/stop API of L{tests.vde.realswitch.RealVDESwitch}.

    @ivar ctlDir: the switch directory.
    """

    def __init__(self, directory: str, profile: Optional[str] = None,
                 python: str = sys.executable) -> None:
        """
        @param directory: a private directory for its files.
        @param profile: a cProfile output file, if profiling.
        @param python: the interpreter to run it with.
        """
        self.python = python
        self.directory = directory
        self.ctlDir = os.path.join(directory, "sw")
        self.profile = profile
        self.process: Optional[subprocess.Popen] = None
        self.pid: Optional[int] = None

    def start(self, timeout: float = 10.0) -> None:
        """
        Start the launcher and wait until its control socket answers.

        @param timeout: seconds.
        @raise RuntimeError: when it does not come up.
        """
        from tests.vde.realswitch import RealVDESwitch
        os.makedirs(self.directory, exist_ok=True)
        command = [self.python, os.path.abspath(__file__), "--serve", self.ctlDir]
        if self.profile:
            command += ["--profile", self.profile]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        env=dict(os.environ, PYTHONPATH=ROOT))
        deadline = time.monotonic() + timeout
        while not RealVDESwitch._answers(os.path.join(self.ctlDir, "ctl")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("direct launcher did not come up")
            time.sleep(0.02)
        self.pid = self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        """
        SIGTERM (the reactor shuts down cleanly, writing any profile), wait,
        SIGKILL if needed.  Safe to call twice.

        @param timeout: seconds before SIGKILL.
        """
        process, self.process, self.pid = self.process, None, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the benchmark ---------------------------------------------------


def makeSwitch(kind: str, directory: str, launcher: str, profile: Optional[str],
               python: str = sys.executable) -> Any:
    """
    Start one switch.

    @param kind: C{c} (Debian's vde_switch) or C{ours}.
    @param directory: a fresh private directory.
    @param launcher: C{twistd} or C{direct}, for ours.
    @param profile: cProfile output for the direct launcher.
    @param python: the interpreter running ours.
    @return: the started switch (has C{ctlDir} and C{stop()}).
    """
    if kind == "c":
        from tests.vde.realswitch import RealVDESwitch
        switch = RealVDESwitch(directory)
        switch.start()
        return switch
    if launcher == "twistd":
        from tests.interop.netns import VdetwistSwitch
        switch = VdetwistSwitch(directory)
        switch.python = python
        switch.start()
        return switch
    switch = DirectSwitch(directory, profile, python)
    switch.start()
    return switch


def iperfRun(switch: Any, seconds: float,
             cleanups: List[Callable[[], None]]) -> Tuple[float, float, int]:
    """
    TCP throughput between two namespaces joined to C{switch}.

    @param switch: a started switch.
    @param seconds: the iperf3 duration.
    @param cleanups: where to register the namespaces' removal.
    @return: C{(Gbit/s received, switch CPU cores used meanwhile, the
        sender's retransmissions)}.
    """
    from tests.interop.netns import Namespace
    server = Namespace(cleanups.append, switch.directory)
    client = Namespace(cleanups.append, switch.directory)
    server.plug(switch.ctlDir, "10.77.0.2/24")
    client.plug(switch.ctlDir, "10.77.0.1/24")
    iperfServer = server.popen("iperf3", "-s", "-1", "-B", server.address,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def killServer() -> None:
        """
        Kill and reap C{iperf3 -s}.
        """
        if iperfServer.poll() is None:
            iperfServer.kill()
        iperfServer.wait()
    cleanups.append(killServer)
    # The first attempts also wait for ARP and for iperf3 -s to listen.
    deadline = time.monotonic() + 10
    while True:
        cpu0, t0 = cpuSeconds(switch.pid, float("nan")), time.monotonic()
        result = client.exec("iperf3", "-c", server.address, "-t", str(seconds), "-J",
                             timeout=seconds + 30, check=False)
        cpu = (cpuSeconds(switch.pid, float("nan")) - cpu0) / (time.monotonic() - t0)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            report = {"error": result.stdout.decode("utf-8", "replace")[-300:]}
        if "error" not in report:
            return (report["end"]["sum_received"]["bits_per_second"] / 1e9, cpu,
                    report["end"]["sum_sent"].get("retransmits", 0))
        if time.monotonic() > deadline or "connect" not in report["error"]:
            raise RuntimeError("iperf3 failed: %s" % (report["error"],))
        time.sleep(0.2)


def pinProcess(pid: Optional[int], cpus: set) -> None:
    """
    Set the CPU affinity of every thread of a process.

    @param pid: the process, or L{None} (nothing to do).
    @param cpus: the CPUs allowed.
    """
    if pid is None:
        return
    try:
        tasks = os.listdir("/proc/%d/task" % (pid,))
    except OSError:
        return
    for tid in tasks:
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def smallFrameRun(switch: Any, seconds: float,
                  cleanups: List[Callable[[], None]]) -> Tuple[float, float]:
    """
    64-byte frames forwarded per second between two raw datagram clients.

    The switch gets a CPU of its own and the clients share the others, the
    receiver at a high priority (it must drain everything the switch
    forwards, or the switch drops frames it did forward) and the sender at
    a low one (it only fills the time left): so the rate measured is the
    switch's, on one core, and not how the scheduler shares two cores
    between three busy processes.

    @param switch: a started switch.
    @param seconds: the measuring window.
    @param cleanups: where to register the clients' removal.
    @return: C{(frames per second received, switch CPU cores used)}.
    """
    base = [sys.executable, os.path.abspath(__file__), "--seconds", str(seconds),
            "--ctl", switch.ctlDir, "--switch-pid", str(switch.pid), "--client"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    processes = []
    allCPUs = os.sched_getaffinity(0)
    switchCPUs, clientCPUs = allCPUs, allCPUs
    if len(allCPUs) >= 2:
        switchCPUs = {max(allCPUs)}
        clientCPUs = allCPUs - switchCPUs
        pinProcess(switch.pid, switchCPUs)
        cleanups.append(lambda: pinProcess(switch.pid, allCPUs))

    def client(niceness: int) -> Callable[[], None]:
        """
        A C{preexec_fn} putting a client on the clients' CPUs at a
        niceness.
        """
        def prepare() -> None:
            """
            Set the child's CPUs and niceness.
            """
            os.sched_setaffinity(0, clientCPUs)
            os.nice(niceness)
        return prepare

    def killAll() -> None:
        """
        Kill and reap the clients.
        """
        for p in processes:
            if p.poll() is None:
                p.kill()
            p.wait()
    cleanups.append(killAll)
    receiver = subprocess.Popen(base + ["recv"], stdout=subprocess.PIPE, env=env,
                                stdin=subprocess.DEVNULL, preexec_fn=client(RECEIVER_NICE))
    processes.append(receiver)
    if receiver.stdout.readline().strip() != b"ready":
        raise RuntimeError("small-frame receiver did not start")
    sender = subprocess.Popen(base + ["send"], stdout=subprocess.PIPE, env=env,
                              stdin=subprocess.DEVNULL, preexec_fn=client(SENDER_NICE))
    processes.append(sender)
    got = json.loads(receiver.communicate(timeout=seconds + 60)[0])
    sender.communicate(timeout=seconds + 60)
    return got["rate"], got["cpu"]


#: What is measured, in print order: key, label, format, unit.
METRICS = [
    ("gbps", "iperf3", "%6.3f", "Gbit/s"),
    ("cpuI", "switch CPU in iperf3", "%4.2f", "cores"),
    ("cpg", "switch CPU per iperf3 Gbit/s", "%4.2f", "cores"),
    ("retr", "iperf3 retransmissions", "%5.0f", "segments"),
    ("fps", "64-byte forwarded", "%7.0f", "frames/s"),
    ("cpuS", "switch CPU in 64-byte", "%4.2f", "cores"),
    ("fpc", "64-byte per switch CPU-second", "%7.0f", "frames"),
]


def _terminated(signum: int, frame: Any) -> None:
    """
    SIGTERM: exit through the C{finally} blocks, so everything made is
    removed.

    @raise SystemExit: always.
    """
    raise SystemExit(128 + signum)


def benchmark(options: argparse.Namespace) -> int:
    """
    Run the rounds and print the results.

    @param options: the parsed command line.
    @return: the exit status.
    """
    from tests.interop.netns import missingTools
    reason = missingTools("vde_switch", "vde_plug2tap", "iperf3", "ip")
    if reason:
        print("cannot run: " + reason, file=sys.stderr)
        return 2
    # One column for Debian's switch, one for ours per interpreter.
    pythons = dict(("ours%d" % (i,), p) for i, p in enumerate(options.pythons))
    kinds = ["c"] * (options.only != "ours") + list(pythons) * (options.only != "c")
    launcher = options.launcher
    options.loadBefore = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, _terminated)
    results: Dict[str, Dict[str, List[float]]] = {
        k: {m[0]: [] for m in METRICS} for k in kinds}
    top = tempfile.mkdtemp(prefix="vbench", dir="/tmp")
    try:
        for rnd in range(options.rounds):
            order = kinds if rnd % 2 == 0 else kinds[::-1]
            for kind in order:
                directory = os.path.join(top, "%s%d" % (kind, rnd))
                cleanups: List[Callable[[], None]] = []
                got: Dict[str, float] = {}
                python = pythons.get(kind, ("", sys.executable))[1]
                try:
                    try:
                        switch = makeSwitch(kind[:4], directory, launcher, options.profile,
                                            python)
                    except RuntimeError as e:
                        if kind == "c" or launcher != "twistd":
                            raise
                        print("twistd vdeswitch did not start (%s); using --launcher direct"
                              % (str(e).strip().splitlines()[-1],), flush=True)
                        launcher = "direct"
                        switch = makeSwitch(kind[:4], directory, launcher, options.profile,
                                            python)
                    cleanups.append(switch.stop)
                    if not options.no_iperf:
                        got["gbps"], got["cpuI"], got["retr"] = iperfRun(
                            switch, options.seconds, cleanups)
                        got["cpg"] = got["cpuI"] / got["gbps"] if got["gbps"] else float("nan")
                    if not options.no_small:
                        got["fps"], got["cpuS"] = smallFrameRun(switch, options.seconds, cleanups)
                        got["fpc"] = got["fps"] / got["cpuS"] if got["cpuS"] else float("nan")
                    for key, value in got.items():
                        results[kind][key].append(value)
                    print("round %d %-30s " % (rnd + 1, columnName(kind, pythons, launcher))
                          + "  ".join(
                        "%s %s" % (label, fmt % (got[key],)) for key, label, fmt, unit
                        in METRICS if key in got), flush=True)
                finally:
                    for cleanup in reversed(cleanups):
                        try:
                            cleanup()
                        except Exception as e:
                            print("cleanup failed: %s" % (e,), file=sys.stderr)
    finally:
        shutil.rmtree(top, True)
    report(options, kinds, results, launcher)
    return 0


def columnName(kind: str, pythons: Dict[str, Tuple[str, str]], launcher: str) -> str:
    """
    A switch's column heading.

    @param kind: C{c} or C{oursN}.
    @param pythons: per C{oursN}, the interpreter's label and path.
    @param launcher: how ours ran.
    @return: e.g. C{"vdetwist PyPy 3.9 (twistd)"}.
    """
    if kind == "c":
        return "vde_switch (C)"
    implementation, version = (pythons[kind][0].split() + ["", ""])[:2]
    return "vdetwist %s %s (%s)" % (implementation, ".".join(version.split(".")[:2]), launcher)


def report(options: argparse.Namespace, kinds: List[str],
           results: Dict[str, Dict[str, List[float]]], launcher: str) -> None:
    """
    Print the medians and the ratios.

    @param options: the command line.
    @param kinds: the switches measured.
    @param results: per switch, per metric key, the values of each round.
    @param launcher: how ours ran.
    """
    pythons = dict(("ours%d" % (i,), p) for i, p in enumerate(options.pythons))
    names = {k: columnName(k, pythons, launcher) for k in kinds}
    ours = [k for k in kinds if k != "c"]
    ratios = ours if "c" in kinds else []
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [
        os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT)
        else sys.executable] + [os.path.relpath(os.path.abspath(__file__), ROOT)]
        + sys.argv[1:]))
    print("machine: " + machine())
    print("load average (1 min) before %.2f, after %.2f (this run's own load is about 2)"
          % (getattr(options, "loadBefore", float("nan")), os.getloadavg()[0]))
    print("rounds %d x %g s, switches alternating; medians [min-max]:"
          % (options.rounds, options.seconds))
    print("%-38s" % ("",) + "".join("%32s" % (names[k],) for k in kinds)
          + "".join("%12s" % (names[k].split()[1] + "/C",) for k in ratios))
    for key, label, fmt, unit in METRICS:
        medians = {k: statistics.median(results[k][key]) for k in kinds if results[k][key]}
        if not medians:
            continue
        line = "%-38s" % ("%s (%s)" % (label, unit),)
        for k in kinds:
            values = results[k][key]
            cell = ("%s [%s-%s]" % tuple(
                (fmt % (v,)).strip() for v in (medians[k], min(values), max(values)))
                if values else "-")
            line += "%32s" % (cell,)
        for k in ratios:
            line += ("%12.2f" % (medians[k] / medians["c"],)
                     if medians.get("c") and k in medians else "%12s" % ("-",))
        print(line)


def main(argv: Optional[List[str]] = None) -> int:
    """
    The command line.

    @param argv: the arguments (C{sys.argv[1:]} by default).
    @return: the exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="seconds per measurement (default 5)")
    parser.add_argument("--only", choices=["c", "ours"],
                        help="measure Debian's switch only, or ours only")
    addPythonOption(parser)
    parser.add_argument("--launcher", choices=["twistd", "direct"], default="twistd",
                        help="how to run our switch (default twistd vdeswitch)")
    parser.add_argument("--profile", help="direct launcher: write cProfile stats here")
    parser.add_argument("--no-iperf", action="store_true", help="skip the iperf3 test")
    parser.add_argument("--no-small", action="store_true", help="skip the 64-byte test")
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=["send", "recv"], help=argparse.SUPPRESS)
    parser.add_argument("--ctl", help=argparse.SUPPRESS)
    parser.add_argument("--switch-pid", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve:
        serveMain(options.serve, options.profile)
        return 0
    if options.client:
        clientMain(options.client, options.ctl, options.seconds, options.switch_pid)
        return 0
    options.pythons = interpreters(options.python)
    return benchmark(options)


if __name__ == "__main__":
    sys.exit(main())
