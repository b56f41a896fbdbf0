# -*- test-case-name: tests.interop.test_stack_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark vdetwist's user-space TCP/IP stack (a "virtual host") against
the Linux kernel's, side by side in one run (this machine is shared and
noisy, so only the ratios mean much).

    sudo .venv/bin/python bench/stack.py [--rounds N] [--seconds S]

Part 1, on one Debian C{vde_switch} at MTU 1500: two kernel network
namespaces (each joined by Debian's C{vde_plug2tap}) and one virtual host
process (this script's C{--vhost} mode, attached with L{vdetwist.vde.plug}).
Each round measures, in an order that rotates from round to round:

  - kernel -> kernel: C{iperf3 -c -t S -J} from one namespace to
    C{iperf3 -s} in the other (Mbit/s received);
  - kernel -> vhost: a client in a namespace writes for S seconds to the
    virtual host's sink, half-closes and waits for the sink's byte count;
    Mbit/s = bytes counted by the sink / (connect .. count received);
  - vhost -> kernel: a client in a namespace asks the virtual host's source
    for S seconds of data and counts it; Mbit/s = bytes / (first byte ..
    EOF).

and the same two virtual-host transfers over IPv6 (C{kernel -> vhost
IPv6}, C{vhost -> kernel IPv6}: the namespace at C{fd00:79::1}, the
virtual host, dual-stack, at C{fd00:79::10}), with the virtual host's CPU
use (cores) in each transfer.  Then:

  - connections per second: a client in a namespace connects to the
    virtual host's echo port, sends one byte, reads it back and closes,
    sequentially, for S seconds;
  - memory per idle connection: a fresh virtual host; a client opens
    C{--warm} connections, the host's VmRSS is read, then C{--idle} more,
    and VmRSS is read again after a pause; the difference divided by
    C{--idle}.

Part 2 repeats the three transfers at MTU 9000 (taps and virtual host)
through vdetwist's own switch (C{twistd -n vdeswitch}), because Debian's
vde_switch truncates frames at 1518 bytes, with the namespaces joined by
vdeplug4's C{vde_plug vde://DIR tap://NAME}, because vde_plug2tap reads
into a 2048-byte buffer; kernel -> kernel is measured through the same
switch, so the ratios compare like with like, but the absolute numbers
include our (Python) switch's cost in every direction.

C{--jumbo} runs, instead of both parts, the three transfers twice through
vdetwist's switch: started without C{--mtu} (namespaces by C{vde_plug2tap}
at 1500) and with C{--mtu 9000} (namespaces by C{vde_plug tap://} at 9000);
the virtual host is given no MTU and takes the switch's (docs/switch.txt,
"Jumbo frames"; it prints the MTU it took on standard error); the switch
runs on C{--python} too.  It prints the
gain of 9000 over 1500 per transfer: throughput, and the virtual host's CPU
per Gbit/s.

C{-v} prints the virtual host's counters (plug drops, TCP
retransmissions, ...) changed by each transfer.  C{--micro} only prints
the CPU cost per packet of the stack's layers, IPv4 and IPv6, in this
process (no root, no I/O but a socket pair), the steadiest before/after
measure of an optimisation on a shared machine.

With C{--profile DIR}, py-spy samples the virtual host during the first
round's transfers (which then run slower; ratios of such a run are not
representative) and the top functions by own time and by total time are
printed; the raw collapsed stacks are left in DIR.

Internal modes, used by the benchmark itself: C{--vhost SOCK ADDR/PREFIX}
(the virtual host process) and C{--kclient MODE ...} (the clients run
inside a namespace).
"""

import argparse
import json
import os
import resource
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
from bench.common import (addPythonOption, implementation, machine, loadAverage, cpuSeconds,
                          stackEnvironment)

#: The interpreter running our side (C{--python PATH}; this one by default).
PYTHON = sys.executable

#: The virtual host's service ports.
SINK_PORT, SOURCE_PORT, ECHO_PORT = 5001, 5002, 5003
#: The addresses on the benchmark LAN.
KERNEL_A, KERNEL_B, VHOST = "10.79.0.1", "10.79.0.2", "10.79.0.10"
#: The IPv6 addresses of the first namespace and the virtual host.
KERNEL_A6, VHOST6 = "fd00:79::1", "fd00:79::10"
#: The virtual host's congestion control (C{--vhost-cc}); L{None} for the
#: default.
VHOST_CC: Optional[str] = None
#: TCP settings of the virtual host (C{--vhost-tcp NAME=VALUE}), for
#: experiments.
VHOST_TCP: List[str] = []

#: The size of the client's writes and reads, and of the source's writes.
CHUNK = 1 << 16


# -- the virtual host (its own process) --------------------------------


def parseTCPSettings(texts: List[str]) -> Dict[str, Any]:
    """
    Parse C{NAME=VALUE} settings (values as Python literals, else text).

    @param texts: the settings.
    @return: name to value.
    @raise ValueError: one without C{=}.
    """
    import ast
    settings: Dict[str, Any] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError("--vhost-tcp wants NAME=VALUE, not %r" % (text,))
        try:
            settings[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[name] = value
    return settings


def vhostMain(sock: str, address: str, mtu: Optional[int], cc: Optional[str] = None,
              tcp: Optional[List[str]] = None) -> None:
    """
    Attach a virtual host to the switch at C{sock} and serve a sink, a
    timed source and an echo until killed.  Prints "ready" once listening.

    @param sock: the switch directory.
    @param address: C{ADDR/PREFIX}.
    @param mtu: the host's MTU; L{None} for the switch's (printed on
        standard error once listening).
    @param cc: the congestion control of its connections (a
        L{TCPConfig.congestionControl} value); L{None} for the default.
    @param tcp: more L{TCPConfig} settings, C{NAME=VALUE}.
    """
    if cc is not None:
        from tests.interop.vhost import useCongestionControl
        useCongestionControl(cc)
    if tcp:
        from tests.interop.vhost import useTCPSettings
        useTCPSettings(parseTCPSettings(tcp))
    from twisted.internet import protocol, reactor
    from twisted.internet.defer import gatherResults
    from twisted.internet.interfaces import IHalfCloseableProtocol
    from zope.interface import implementer

    from vdetwist.stack.endpoints import VDEServerEndpoint

    payload = b"\xa5" * CHUNK

    @implementer(IHalfCloseableProtocol)
    class Sink(protocol.Protocol):
        """
        Count bytes until EOF, then answer the count.
        """

        count = 0

        def dataReceived(self, data: bytes) -> None:
            """
            Count.
            """
            self.count += len(data)

        def readConnectionLost(self) -> None:
            """
            Answer the count and close.
            """
            self.transport.write(b"%d\n" % (self.count,))
            self.transport.loseConnection()

        def writeConnectionLost(self) -> None:
            """
            Nothing to do.
            """

    class Source(protocol.Protocol):
        """
        Read "<seconds>\\n", then send as fast as the connection takes it
        for that long, and close.
        """

        buffer = b""
        deadline: Optional[float] = None
        paused = False

        def dataReceived(self, data: bytes) -> None:
            """
            Start once the request line is complete.
            """
            if self.deadline is not None:
                return
            self.buffer += data
            if b"\n" in self.buffer:
                self.deadline = reactor.seconds() + float(self.buffer.split(b"\n")[0])
                self.transport.registerProducer(self, True)
                self.resumeProducing()

        def resumeProducing(self) -> None:
            """
            Write until paused or out of time.
            """
            self.paused = False
            write = self.transport.write
            while not self.paused and self.deadline is not None:
                if reactor.seconds() >= self.deadline:
                    self.deadline = None
                    self.transport.unregisterProducer()
                    self.transport.loseConnection()
                    return
                write(payload)

        def pauseProducing(self) -> None:
            """
            Stop writing.
            """
            self.paused = True

        def stopProducing(self) -> None:
            """
            Stop for good.
            """
            self.paused = True
            self.deadline = None

    class Echo(protocol.Protocol):
        """
        Echo.
        """

        def dataReceived(self, data: bytes) -> None:
            """
            Send it back.
            """
            self.transport.write(data)

    services = [(SINK_PORT, Sink), (SOURCE_PORT, Source), (ECHO_PORT, Echo)]
    ds = [VDEServerEndpoint(reactor, sock, address, port, mtu=mtu, backlog=1024,
                            address6=VHOST6 + "/64").listen(protocol.Factory.forProtocol(p)) for port, p in services]

    def failed(f: Any) -> None:
        """
        Report and stop.
        """
        print("failed: %s" % (f.getErrorMessage(),), flush=True)
        reactor.stop()
    def ready(_: Any) -> None:
        """
        Say which MTU the host has, and that it listens.
        """
        from vdetwist.stack.endpoints import registry
        for host in registry.attached():
            print("virtual host MTU %d" % (host.host.ip.mtu,), file=sys.stderr, flush=True)
        print("ready", flush=True)
    gatherResults(ds).addCallbacks(ready, failed)

    def counters() -> None:
        """
        Print the host's, its TCP layer's and its plug's counters as one
        JSON line on standard output.
        """
        from vdetwist.stack.endpoints import registry
        result: Dict[str, int] = {}
        for shared in list(registry._hosts.values()):
            stack = shared._result
            result.update(stack.host.counters())
            for name, layer in (("tcp.", stack.tcp), ("tcp6.", getattr(stack.host, "tcp6", None))):
                if layer is None:
                    continue
                tcp = layer.counters
                result.update({name + k: v for k, v in (tcp() if callable(tcp) else tcp).items()})
            plug = stack.attachment
            for name in ("framesIn", "framesOut", "drops", "inputDrops", "receiveErrors"):
                result["plug." + name] = getattr(plug, name, 0)
        print(json.dumps(result), flush=True)
    signal.signal(signal.SIGUSR1, lambda *a: reactor.callFromThread(counters))
    signal.signal(signal.SIGTERM, lambda *a: reactor.callFromThread(reactor.stop))
    reactor.run()


# -- the kernel-side clients (run inside a namespace) ------------------


def kclientMain(mode: str, host: str, seconds: float, count: int, warm: int) -> None:
    """
    One kernel-side client; prints one JSON line of results.

    @param mode: C{send}, C{recv}, C{conns} or C{idle}.
    @param host: the virtual host's address.
    @param seconds: the duration.
    @param count: for C{idle}, how many connections to measure.
    @param warm: for C{idle}, how many to open first.
    """
    if mode == "send":
        buffer = b"\x5a" * (4 * CHUNK)
        s = socket.create_connection((host, SINK_PORT), timeout=30)
        start = time.monotonic()
        end = start + seconds
        while time.monotonic() < end:
            s.sendall(buffer)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while not reply.endswith(b"\n"):
            data = s.recv(100)
            if not data:
                break
            reply += data
        elapsed = time.monotonic() - start
        s.close()
        print(json.dumps({"bytes": int(reply), "seconds": elapsed}), flush=True)
    elif mode == "recv":
        s = socket.create_connection((host, SOURCE_PORT), timeout=30)
        s.sendall(b"%g\n" % (seconds,))
        buffer = bytearray(4 * CHUNK)
        total = 0
        first = None
        while True:
            n = s.recv_into(buffer)
            if not n:
                break
            if first is None:
                first = time.monotonic()
            total += n
        elapsed = time.monotonic() - (first or time.monotonic())
        s.close()
        print(json.dumps({"bytes": total, "seconds": elapsed}), flush=True)
    elif mode == "conns":
        done = 0
        start = time.monotonic()
        end = start + seconds
        while time.monotonic() < end:
            s = socket.create_connection((host, ECHO_PORT), timeout=10)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                raise RuntimeError("echo failed")
            s.close()
            done += 1
        print(json.dumps({"connections": done, "seconds": time.monotonic() - start}),
              flush=True)
    elif mode == "idle":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = warm + count + 64
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
        held = []

        def open_(n: int) -> None:
            """
            Open C{n} echo connections and check each one works.
            """
            for _ in range(n):
                s = socket.create_connection((host, ECHO_PORT), timeout=10)
                s.sendall(b"x")
                if s.recv(1) != b"x":
                    raise RuntimeError("echo failed")
                held.append(s)
        open_(warm)
        print(json.dumps({"open": len(held)}), flush=True)
        sys.stdin.readline()
        open_(count)
        print(json.dumps({"open": len(held)}), flush=True)
        sys.stdin.readline()
        for s in held:
            s.close()
    else:
        raise SystemExit("unknown client mode %r" % (mode,))


# -- in-process per-packet costs (--micro) -----------------------------


def _best(run: Callable[[], int], repeats: int = 5) -> float:
    """
    The least CPU time per item over some repeats of C{run}.

    @param run: does the work, returns the number of items.
    @return: microseconds of CPU per item.
    """
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        n = run()
        best = min(best, (time.process_time() - t0) / n * 1e6)
    return best


def microMain(mtu: int) -> None:
    """
    Print the CPU cost per packet of the virtual host's layers, measured
    in this process without any I/O, for IPv4 and for IPv6: the receive
    path below TCP (interface, IP), the send path below TCP (IP, ARP or
    Neighbor Discovery, interface), a whole TCP transfer between two
    virtual hosts on an in-memory wire; and the VDE plug's datagram I/O on
    a socket pair.  Lower is better; these are the before/after numbers
    of the stack's optimisations, steadier on a shared machine than the
    throughput of part 1.

    @param mtu: the MTU of the frames.
    """
    from twisted.internet import protocol, task
    from zope.interface import implementer

    from vdetwist.interfaces import IFrameProtocol
    from vdetwist.stack.host import VirtualHost
    from vdetwist.testing import MemoryWire, ethernetFrame, ipv4Frame
    from vdetwist.vde.plug import VDEPlug
    from vdetwist.wire.addr6 import parseIPv6
    from vdetwist.wire.ethernet import ETHERTYPE_IPV6
    from vdetwist.wire.ipv6 import HEADER as IPV6_HEADER

    N = 20000
    sent: List[bytes] = []

    class NullTransport:
        """
        An L{IFrameTransport} that keeps the last frame.
        """

        def sendFrame(self, frame: bytes) -> None:
            """
            Keep it.
            """
            sent[:] = [frame]

        def loseConnection(self) -> None:
            """
            Nothing.
            """

    class NullTCP:
        """
        Counts what the IP layer delivers as protocol 6.
        """

        count = 0

        def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                           datagram: bytes) -> None:
            """
            Count it.
            """
            self.count += 1

        def errorReceived(self, *args: Any) -> None:
            """
            Nothing.
            """

    def belowTCP(six: bool) -> Tuple[float, float, bytes]:
        """
        The receive and send paths below TCP of one family.

        @param six: IPv6 rather than IPv4.
        @return: (us per frame received, us per datagram sent, a received
            frame for the plug's measures).
        """
        clock = task.Clock()
        peerMAC = bytes.fromhex("02000000aa01")
        host = VirtualHost(clock, "10.79.0.10/24", mtu=mtu,
                           addresses6=["fd00:79::10/64"], dadTransmits=0)
        host.interface.makeConnection(NullTransport())
        null = NullTCP()
        if six:
            ip: Any = host.ip6
            peer, address = parseIPv6("fd00:79::1"), parseIPv6("fd00:79::10")
            header = 40
        else:
            ip = host.ip
            peer, address = bytes([10, 79, 0, 1]), host.address
            header = 20
        ip.registerProtocol(6, null)
        payload = (bytes(range(256)) * (mtu // 256 + 1))[:mtu - header]
        if six:
            frame = ethernetFrame(host.mac, peerMAC, ETHERTYPE_IPV6, IPV6_HEADER.pack(
                0x60000000, len(payload), 6, 64, peer, address) + payload)
        else:
            frame = ipv4Frame(host.mac, peerMAC, peer, address, 6, payload)
        frameReceived = host.interface.frameReceived

        def receive() -> int:
            """
            Receive N frames.
            """
            for _ in range(N):
                frameReceived(frame)
            return N
        rx = _best(receive)
        assert null.count >= N, null.count
        if six:
            host.nd.cache.learn(peer, peerMAC, clock.seconds())
            host.nd.cache.confirm(peer, clock.seconds())
        else:
            host.arp.cache.update(peer, peerMAC, clock.seconds())
        sendPacket = ip.sendPacket

        def send() -> int:
            """
            Send N datagrams.
            """
            for _ in range(N):
                sendPacket(6, address, peer, payload)
            return N
        del sent[:]
        tx = _best(send)
        assert len(sent[0]) == mtu + 14, len(sent[0])
        return rx, tx, frame

    def transfer(six: bool, spent: Optional[List[float]] = None) -> int:
        """
        Move 8 MB from one virtual host to another on an in-memory wire.

        @param six: over IPv6 rather than IPv4.
        @param spent: if given, the time each host spends handling the
            frames it receives (everything it does but run its timers) is
            added to C{spent[0]} (the sending host) and C{spent[1]} (the
            receiving host), and the whole transfer's to C{spent[2]}, in
            seconds of C{time.perf_counter} (C{time.process_time} costs a
            system call, too much to call twice per frame).
        @return: the number of data segments.
        """
        clock = task.Clock()
        wire = MemoryWire(record=False)
        hosts = []
        for i in (1, 2):
            h = VirtualHost(clock, "10.79.0.%d/24" % (i,), mac="02:00:00:00:bb:0%d" % (i,),
                            mtu=mtu, addresses6=["fd00:79::%d/64" % (i,)],
                            dadTransmits=0)
            wire.attach(h.interface)
            hosts.append(h)
            if spent is not None:
                def timed(frame: bytes, inner: Callable[[bytes], None] = h.interface.frameReceived,
                          index: int = i - 1, clock: Callable[[], float] = time.perf_counter,
                          ) -> None:
                    """
                    Deliver a frame, timing the host's work.
                    """
                    start = clock()
                    inner(frame)
                    spent[index] += clock() - start  # type: ignore[index]
                h.interface.frameReceived = timed  # type: ignore[method-assign]
        size = 8 << 20
        got = [0]

        class Receiver(protocol.Protocol):
            """
            Counts.
            """

            def dataReceived(self, data: bytes) -> None:
                """
                Count.
                """
                got[0] += len(data)

        class Sender(protocol.Protocol):
            """
            Writes C{size} bytes.
            """

            def connectionMade(self) -> None:
                """
                Write it all.
                """
                chunk = b"\x5a" * CHUNK
                for _ in range(size // CHUNK):
                    self.transport.write(chunk)
        if six:
            hosts[1].tcp6.listen(5001, protocol.Factory.forProtocol(Receiver))
            hosts[0].tcp6.connect(parseIPv6("fd00:79::2"), 5001,
                                  protocol.Factory.forProtocol(Sender))
        else:
            hosts[1].tcp.listen(5001, protocol.Factory.forProtocol(Receiver))
            hosts[0].tcp.connect(hosts[1].address, 5001,
                                 protocol.Factory.forProtocol(Sender))
        start = time.perf_counter()
        for _ in range(100000):
            wire.pump()
            if got[0] >= size:
                break
            clock.advance(0.0001)
        if spent is not None:
            spent[2] += time.perf_counter() - start
        assert got[0] == size, got[0]
        return size // (mtu - (72 if six else 52))

    def split(six: bool, total: float) -> Tuple[float, float]:
        """
        The sending and the receiving host's shares of a transfer: the
        fractions of its wall-clock time each spent on its frames (in the
        run where they add up to the most, the one least disturbed by
        other processes), times its CPU time.

        @param six: over IPv6 rather than IPv4.
        @param total: the transfer's CPU time per data segment.
        @return: microseconds per data segment for each host.
        """
        best = (0.0, 0.0)
        for _ in range(3):
            spent = [0.0, 0.0, 0.0]
            transfer(six, spent)
            if spent[0] + spent[1] > sum(best) * spent[2]:
                best = (spent[0] / spent[2], spent[1] / spent[2])
        return best[0] * total, best[1] * total

    rx4, tx4, frame = belowTCP(False)
    rx6, tx6, _ = belowTCP(True)
    tcp4 = _best(lambda: transfer(False), 3)
    tcp6 = _best(lambda: transfer(True), 3)
    sender4, receiver4 = split(False, tcp4)
    sender6, receiver6 = split(True, tcp6)

    # The plug's datagram I/O.
    clock = task.Clock()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setblocking(False)
    b.setblocking(False)

    @implementer(IFrameProtocol)
    class Sink:
        """
        Counts frames.
        """

        count = 0

        def frameReceived(self, frame: bytes) -> None:
            """
            Count.
            """
            self.count += 1
    sink = Sink()
    plug = VDEPlug(clock, a, None, sink, None, "", "", "", "")  # type: ignore[arg-type]
    plug._reading = True
    wireFrame = frame

    def plugSend() -> int:
        """
        Send frames through the plug, draining the other end.
        """
        before = plug.framesOut
        for _ in range(N // 8):
            for _ in range(8):
                plug.sendFrame(wireFrame)
            try:
                while True:
                    b.recv(16384)
            except BlockingIOError:
                pass
        return plug.framesOut - before
    plug.sendFrame(wireFrame)
    plugTx = _best(plugSend)

    def plugReceive() -> int:
        """
        Fill the plug's socket from the other end, let it drain.
        """
        count = 0
        for _ in range(N // 8):
            for _ in range(8):
                b.send(wireFrame)
            plug._readFrames()
            count += 8
        return count
    recvBefore = sink.count
    plugRx = _best(plugReceive)
    assert sink.count > recvBefore
    a.close()
    b.close()
    print("CPU per packet, MTU %d (best of 5; this process, no I/O except the plug):" % (mtu,))
    print("  receive below TCP (interface, IPv4)        %6.2f us/frame" % (rx4,))
    print("  send below TCP (IPv4, ARP, interface)      %6.2f us/datagram" % (tx4,))
    print("  TCP transfer, both hosts, all layers       %6.2f us/data segment" % (tcp4,))
    print("    of which the sending host                %6.2f us/data segment" % (sender4,))
    print("    of which the receiving host              %6.2f us/data segment" % (receiver4,))
    print("  receive below TCP (interface, IPv6)        %6.2f us/frame" % (rx6,))
    print("  send below TCP (IPv6, ND, interface)       %6.2f us/datagram" % (tx6,))
    print("  TCP transfer over IPv6, both hosts         %6.2f us/data segment" % (tcp6,))
    print("    of which the sending host                %6.2f us/data segment" % (sender6,))
    print("    of which the receiving host              %6.2f us/data segment" % (receiver6,))
    print("  plug sendFrame (send syscall)              %6.2f us/frame" % (plugTx,))
    print("  plug receive (recv syscall + delivery)     %6.2f us/frame" % (plugRx,))


# -- the benchmark ---------------------------------------------------


class Failed(Exception):
    """
    A measurement could not be made.
    """


def procStatus(pid: int, field: str) -> int:
    """
    A kB field of C{/proc/PID/status}.

    @param pid: the process.
    @param field: e.g. C{VmRSS}.
    @return: its value in kB.
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise Failed("no %s for %d" % (field, pid))


class VirtualHostProcess:
    """
    This script's C{--vhost} mode as a subprocess.

    @ivar process: the subprocess.
    @ivar pid: its pid.
    """

    def __init__(self, switchDir: str, address: str, mtu: Optional[int]) -> None:
        """
        Start it and wait for "ready".

        @param switchDir: the switch directory.
        @param address: C{ADDR/PREFIX}.
        @param mtu: its MTU; L{None} for the switch's.
        @raise Failed: when it does not come up.
        """
        self.process = subprocess.Popen(
            [PYTHON, os.path.abspath(__file__), "--vhost", switchDir, address]
            + ([] if mtu is None else ["--mtu", str(mtu)])
            + ([] if VHOST_CC is None else ["--vhost-cc", VHOST_CC])
            + [arg for setting in VHOST_TCP for arg in ("--vhost-tcp", setting)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=stackEnvironment())
        self.pid = self.process.pid
        line = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        if line != b"ready":
            self.stop()
            raise Failed("virtual host did not start: %r" % (line,))

    def counters(self) -> Dict[str, int]:
        """
        Ask the host for its counters (SIGUSR1) and read them.

        @return: counter name to value.
        """
        import select
        os.kill(self.pid, signal.SIGUSR1)
        stdout = self.process.stdout  # type: ignore[union-attr]
        if not select.select([stdout], [], [], 10)[0]:
            raise Failed("the virtual host did not report its counters")
        line = stdout.readline()
        return json.loads(line) if line else {}

    def stop(self) -> None:
        """
        SIGTERM, wait, SIGKILL if needed.  Safe to call twice.
        """
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def client(namespace: Any, mode: str, seconds: float, timeout: float,
           extra: Tuple[str, ...] = (), host: str = VHOST) -> Dict[str, Any]:
    """
    Run one kernel-side client in C{namespace} to completion.

    @param namespace: a L{tests.interop.netns.Namespace}.
    @param mode: C{send}, C{recv} or C{conns}.
    @param seconds: the duration.
    @param timeout: seconds before giving up.
    @param extra: more arguments.
    @param host: the virtual host's address (its IPv6 one for IPv6).
    @return: its JSON result.
    """
    result = namespace.exec(sys.executable, os.path.abspath(__file__), "--kclient", mode,
                            "--host", host, "--seconds", str(seconds), *extra,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise Failed("client %s failed: %s" % (
            mode, result.stderr.decode("utf-8", "replace")[-500:]))
    return json.loads(result.stdout)


def iperf(sender: Any, receiver: Any, seconds: float) -> Tuple[float, int]:
    """
    Kernel to kernel throughput with iperf3 (C{iperf3 -s} already runs in
    C{receiver}).

    @param sender: the client's namespace.
    @param receiver: the server's namespace.
    @param seconds: the duration.
    @return: Mbit/s received, and the sender's retransmitted segments.
    """
    deadline = time.monotonic() + 10
    while True:
        result = sender.exec("iperf3", "-c", receiver.address, "-t", str(seconds), "-J",
                             timeout=seconds + 30, check=False)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            report = {"error": result.stdout.decode("utf-8", "replace")[-300:]}
        if "error" not in report:
            return (report["end"]["sum_received"]["bits_per_second"] / 1e6,
                    report["end"]["sum_sent"].get("retransmits", 0))
        if time.monotonic() > deadline or "connect" not in report["error"]:
            raise Failed("iperf3 failed: %s" % (report["error"],))
        time.sleep(0.2)


class Profiler:
    """
    py-spy sampling a process while a measurement runs.

    @ivar directory: where the raw profiles go.
    """

    def __init__(self, directory: str) -> None:
        """
        @param directory: where the raw profiles go (created).
        """
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable),
                                                          "py-spy")

    def start(self, pid: int, name: str) -> Tuple[subprocess.Popen, str]:
        """
        Start sampling.

        @param pid: the process.
        @param name: the profile's name.
        @return: the py-spy process and its output path.
        """
        path = os.path.join(self.directory, name + ".txt")
        spy = subprocess.Popen([self.spy, "record", "--pid", str(pid), "--rate", "250",
                                "--format", "raw", "--output", path, "--nonblocking"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return spy, path

    def finish(self, running: Tuple[subprocess.Popen, str], title: str) -> None:
        """
        Stop sampling and print the top functions.

        @param running: what L{start} returned.
        @param title: a heading.
        """
        spy, path = running
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(20)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            print("profile %s: no output" % (title,))
            return
        printProfile(lines, title)


def printProfile(lines: List[str], title: str, top: int = 18) -> None:
    """
    Summarise collapsed stacks (C{frame;frame;... count}): the functions
    with the most samples on top of the stack (own time) and on the stack
    (total time).

    @param lines: the collapsed stacks.
    @param title: a heading.
    @param top: how many functions to print.
    """
    own: Dict[str, int] = {}
    total: Dict[str, int] = {}
    samples = idle = 0
    for line in lines:
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        n = int(number)
        frames = [shortFrame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        if frames[-1].startswith("EPollReactor.doPoll "):
            # Waiting in epoll_wait: py-spy --nonblocking cannot tell idle
            # from busy, so leave these samples out.
            idle += n
            continue
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    print("\nprofile of the virtual host, %s (%d busy samples, %d in epoll_wait)" % (
        title, samples, idle))
    if not samples:
        return
    print("   own%  function")
    for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print("  %5.1f  %s" % (100.0 * n / samples, frame))
    print("  incl%  function (vdetwist only)")
    ours = [(f, n) for f, n in total.items() if "vdetwist/" in f]
    for frame, n in sorted(ours, key=lambda kv: -kv[1])[:top]:
        print("  %5.1f  %s" % (100.0 * n / samples, frame))


def shortFrame(frame: str) -> str:
    """
    Shorten a py-spy frame C{func (path:line)} to C{func (pkg/file.py)}.

    @param frame: the frame.
    @return: the shorter text.
    """
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("vdetwist/", "twisted/", "bench/"):
        if path.startswith(marker):
            break
        if "/" + marker in path:
            path = marker + path.split("/" + marker, 1)[1]
            break
    else:
        path = os.path.basename(path)
    return "%s (%s)" % (name, path)


def plugNamespace(namespace: Any, switchDir: str, address: str, mtu: int) -> None:
    """
    Join a namespace to the switch at C{mtu}: Debian's C{vde_plug2tap} for
    MTU 1500 (as the interop tests do), vdeplug4's C{vde_plug vde://DIR
    tap://NAME} above it, because vde_plug2tap reads frames into a
    2048-byte buffer.  Either is stopped by the namespace's pidfile.

    @param namespace: a L{tests.interop.netns.Namespace}.
    @param switchDir: the switch directory.
    @param address: C{ADDR/PREFIX}.
    @param mtu: the tap's MTU.
    """
    if mtu <= 1500:
        namespace.plug(switchDir, address, mtu=mtu)
        return
    namespace.exec("vde_plug", "-d", "-p", namespace.pidPath, "vde://" + switchDir,
                   "tap://" + namespace.tap)
    deadline = time.monotonic() + 5
    while namespace.exec("ip", "link", "show", namespace.tap, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise Failed("tap %s did not appear" % (namespace.tap,))
        time.sleep(0.02)
    namespace.exec("ip", "addr", "add", address, "dev", namespace.tap)
    namespace.exec("ip", "link", "set", namespace.tap, "mtu", str(mtu), "up")
    namespace.address = address.split("/")[0]


def tapPackets(namespace: Any) -> Tuple[int, int]:
    """
    The packets a namespace's tap has received and sent (C{ip -s link}).

    @param namespace: a L{tests.interop.netns.Namespace}.
    @return: C{(received, sent)}.
    """
    shown = json.loads(namespace.exec("ip", "-s", "-j", "link", "show", "dev",
                                      namespace.tap).stdout)
    stats = shown[0]["stats64"]
    return stats["rx"]["packets"], stats["tx"]["packets"]


#: The virtual host's counters C{--verbose} prints (changes per transfer).
VERBOSE_COUNTERS = {
    "plug.framesIn", "plug.framesOut", "plug.drops", "plug.inputDrops",
    "tcp.segmentsReceived", "tcp.segmentsSent", "tcp.retransmissions",
    "tcp.retransmissionTimeouts", "tcp.fastRetransmits", "tcp.duplicateAcks",
    "tcp.outOfOrderSegments", "tcp.sackRetransmissions", "tcp.zeroWindowProbes",
    "tcp.reassemblyDrops", "interface.handlerErrors", "arp.queueFull",
}

#: The transfers, in the order of the first round: key, label.
DIRECTIONS = [("kk", "kernel -> kernel"), ("kv", "kernel -> vhost"),
              ("vk", "vhost -> kernel"), ("kv6", "kernel -> vhost IPv6"),
              ("vk6", "vhost -> kernel IPv6")]


def throughputRounds(switch: Any, mtu: int, options: argparse.Namespace,
                     cleanups: List[Callable[[], None]], label: str,
                     vhostMTU: Optional[int] = -1) -> Dict[str, List[float]]:
    """
    On one started switch: two namespaces and a virtual host at C{mtu}, and
    the three transfers alternating for C{options.rounds} rounds.

    @param switch: the switch (has C{ctlDir}, C{directory}).
    @param mtu: the MTU of the taps and the virtual host.
    @param options: the command line.
    @param cleanups: where to register what is made.
    @param label: printed with each round.
    @param vhostMTU: the virtual host's C{--mtu}: C{mtu} by default,
        L{None} for none (it takes the switch's).
    @return: per key (C{kk}, C{kv}, C{vk}, and C{cpu_kv}, C{cpu_vk}), the
        values of each round.
    """
    from tests.interop.netns import Namespace
    a = Namespace(cleanups.append, switch.directory)
    b = Namespace(cleanups.append, switch.directory)
    plugNamespace(a, switch.ctlDir, KERNEL_A + "/24", mtu)
    plugNamespace(b, switch.ctlDir, KERNEL_B + "/24", mtu)
    a.exec("ip", "-6", "addr", "add", KERNEL_A6 + "/64", "dev", a.tap, "nodad")
    vhost = VirtualHostProcess(switch.ctlDir, VHOST + "/24",
                               mtu if vhostMTU == -1 else vhostMTU)
    cleanups.append(vhost.stop)
    server = b.popen("iperf3", "-s", "-B", KERNEL_B, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def killServer() -> None:
        """
        Kill and reap C{iperf3 -s}.
        """
        if server.poll() is None:
            server.kill()
        server.wait()
    cleanups.append(killServer)
    seconds = options.seconds
    # Warm up: ARP everywhere, and a short transfer each way.
    client(a, "conns", 0.2, 30)
    client(a, "recv", 0.5, 30)
    client(a, "recv", 0.5, 30, host=VHOST6)
    results: Dict[str, List[float]] = {k: [] for k in
                                       ["kk", "kv", "vk", "kv6", "vk6", "cpu_kv", "cpu_vk",
                                        "cpu_kv6", "cpu_vk6"]}
    profiler = Profiler(options.profile) if options.profile else None
    for rnd in range(options.rounds):
        shift = rnd % len(DIRECTIONS)
        order = DIRECTIONS[shift:] + DIRECTIONS[:shift]
        got: Dict[str, float] = {}
        for key, _ in order:
            spying = None
            if profiler is not None and rnd == 0 and key != "kk":
                spying = profiler.start(vhost.pid, "mtu%d-%s" % (mtu, key))
            if key == "kk":
                if options.verbose:
                    aBefore, bBefore = tapPackets(a), tapPackets(b)
                got[key], retransmits = iperf(a, b, seconds)
                if options.verbose:
                    # The same count as the virtual host's pathLost below:
                    # what one tap sent and the other did not receive.
                    aAfter, bAfter = tapPackets(a), tapPackets(b)
                    print("  kernel -> kernel: iperf3 retransmits=%d pathLost=%d" % (
                        retransmits, (aAfter[1] - aBefore[1]) - (bAfter[0] - bBefore[0])),
                        flush=True)
                continue
            before = vhost.counters() if options.verbose else {}
            tapBefore = tapPackets(a) if options.verbose else (0, 0)
            cpu0, t0 = cpuSeconds(vhost.pid), time.monotonic()
            try:
                out = client(a, "send" if key.startswith("kv") else "recv", seconds,
                             seconds + 60, host=VHOST6 if key.endswith("6") else VHOST)
            finally:
                if spying is not None:
                    profiler.finish(spying, "MTU %d %s" % (mtu, dict(DIRECTIONS)[key]))
            got["cpu_" + key] = (cpuSeconds(vhost.pid) - cpu0) / (time.monotonic() - t0)
            got[key] = out["bytes"] * 8 / out["seconds"] / 1e6
            if options.verbose:
                after = vhost.counters()
                tapAfter = tapPackets(a)
                # Frames lost between the virtual host's plug and the
                # kernel's tap (the switch's queues, vde_plug2tap, the
                # sockets' buffers): what one side sent and the other did
                # not receive over the transfer (ARP and the like, a few
                # frames, make it approximate).
                if key.startswith("vk"):
                    lost = (after["plug.framesOut"] - before.get("plug.framesOut", 0)
                            - (tapAfter[0] - tapBefore[0]))
                else:
                    lost = (tapAfter[1] - tapBefore[1]
                            - (after["plug.framesIn"] - before.get("plug.framesIn", 0)))
                print("  %s counters: %s pathLost=%d" % (dict(DIRECTIONS)[key], " ".join(
                    "%s=%d" % (name, after[name] - before.get(name, 0))
                    for name in sorted(after) if name.replace("tcp6.", "tcp.") in VERBOSE_COUNTERS
                    and after[name] != before.get(name, 0)), lost), flush=True)
        for key, value in got.items():
            results[key].append(value)
        print("%s round %d: kernel->kernel %7.1f  kernel->vhost %7.1f (vhost CPU %.2f)"
              "  vhost->kernel %7.1f (vhost CPU %.2f)  IPv6: kernel->vhost %7.1f"
              " (vhost CPU %.2f)  vhost->kernel %7.1f (vhost CPU %.2f) Mbit/s" % (
                  label, rnd + 1, got["kk"], got["kv"], got["cpu_kv"], got["vk"],
                  got["cpu_vk"], got["kv6"], got["cpu_kv6"], got["vk6"], got["cpu_vk6"]),
              flush=True)
    return results


def connectionRate(switch: Any, options: argparse.Namespace,
                   cleanups: List[Callable[[], None]]) -> Tuple[List[float], float]:
    """
    Connections per second, then memory per idle connection (on a fresh
    virtual host).

    @param switch: the started switch.
    @param options: the command line.
    @param cleanups: where to register what is made.
    @return: connections/s of each round, and kB per idle connection.
    """
    from tests.interop.netns import Namespace
    a = Namespace(cleanups.append, switch.directory)
    a.plug(switch.ctlDir, KERNEL_A + "/24")
    # Sequential connections leave TIME_WAIT sockets on the kernel side.
    a.exec("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65000")
    a.exec("sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1")
    rates = []
    vhost = VirtualHostProcess(switch.ctlDir, VHOST + "/24", 1500)
    cleanups.append(vhost.stop)
    client(a, "conns", 0.2, 30)
    for rnd in range(options.rounds):
        out = client(a, "conns", options.seconds, options.seconds + 60)
        rates.append(out["connections"] / out["seconds"])
        print("round %d: %.0f connections/s" % (rnd + 1, rates[-1]), flush=True)
    vhost.stop()
    # Memory: a fresh host, so no earlier transfer's freed memory is reused.
    vhost = VirtualHostProcess(switch.ctlDir, VHOST + "/24", 1500)
    cleanups.append(vhost.stop)
    held = a.popen(sys.executable, os.path.abspath(__file__), "--kclient", "idle",
                   "--host", VHOST, "--count", str(options.idle), "--warm", str(options.warm),
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def killHeld() -> None:
        """
        Kill and reap the idle client.
        """
        if held.poll() is None:
            held.kill()
        held.wait()
    cleanups.append(killHeld)

    def step() -> Dict[str, Any]:
        """
        Wait for the client's next report.
        """
        line = held.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise Failed("idle client died")
        return json.loads(line)
    step()
    time.sleep(1)
    before = procStatus(vhost.pid, "VmRSS")
    held.stdin.write(b"go\n")  # type: ignore[union-attr]
    held.stdin.flush()  # type: ignore[union-attr]
    opened = step()["open"] - options.warm
    time.sleep(1)
    after = procStatus(vhost.pid, "VmRSS")
    held.stdin.write(b"done\n")  # type: ignore[union-attr]
    held.stdin.flush()  # type: ignore[union-attr]
    held.wait(30)
    perConnection = (after - before) * 1024.0 / opened
    print("idle connections: %d more, VmRSS %d kB -> %d kB: %.0f bytes each" % (
        opened, before, after, perConnection), flush=True)
    return rates, perConnection


def runCleanups(cleanups: List[Callable[[], None]]) -> None:
    """
    Run cleanups last first, reporting (not raising) their failures.

    @param cleanups: the cleanups; emptied.
    """
    while cleanups:
        cleanup = cleanups.pop()
        try:
            cleanup()
        except Exception as e:
            print("cleanup failed: %s" % (e,), file=sys.stderr)


def benchmark(options: argparse.Namespace) -> int:
    """
    Run everything and print the results.

    @param options: the parsed command line.
    @return: the exit status.
    """
    from tests.interop.netns import VdetwistSwitch, missingTools
    from tests.vde.realswitch import RealVDESwitch
    reason = missingTools("vde_switch", "vde_plug2tap", "iperf3", "ip")
    if reason:
        print("cannot run: " + reason, file=sys.stderr)
        return 2
    top = tempfile.mkdtemp(prefix="vsbench", dir="/tmp")
    cleanups: List[Callable[[], None]] = [lambda: shutil.rmtree(top, True)]

    def terminated(signum: int, frame: Any) -> None:
        """
        Turn SIGTERM into an exception, so the cleanups run.
        """
        raise KeyboardInterrupt("signal %d" % (signum,))
    signal.signal(signal.SIGTERM, terminated)
    options.loadBefore = loadAverage()
    summary: Dict[Tuple[int, str], Dict[str, List[float]]] = {}
    rates: List[float] = []
    perConnection = None
    try:
        if options.jumbo:
            # Both through our switch: without --mtu, and with --mtu 9000;
            # the virtual host is given no MTU and takes the switch's.  All
            # our parts run on --python here, the switch included.
            VdetwistSwitch.python = PYTHON
            for mtu in (1500, 9000):
                switch = VdetwistSwitch(os.path.join(top, "j%d" % (mtu,)))
                switch.start(["--mtu", str(mtu)] if mtu != 1500 else [])
                cleanups.append(switch.stop)
                summary[mtu, JUMBO_LABELS[mtu]] = throughputRounds(
                    switch, mtu, options, cleanups, "MTU %d (vdetwist switch%s)" % (
                        mtu, " --mtu %d" % (mtu,) if mtu != 1500 else ""), vhostMTU=None)
                runCleanups(cleanups[1:])
                cleanups[1:] = []
        if not options.no_1500 and not options.jumbo:
            switch = RealVDESwitch(os.path.join(top, "c"))
            switch.start()
            cleanups.append(switch.stop)
            summary[1500, SWITCHES[1500]] = throughputRounds(switch, 1500, options, cleanups,
                                             "MTU 1500 (vde_switch)")
            runCleanups(cleanups[1:])
            cleanups[1:] = []
            if not options.no_conns:
                switch = RealVDESwitch(os.path.join(top, "c2"))
                switch.start()
                cleanups.append(switch.stop)
                rates, perConnection = connectionRate(switch, options, cleanups)
                runCleanups(cleanups[1:])
                cleanups[1:] = []
        if not options.no_9000 and not options.jumbo:
            switch = VdetwistSwitch(os.path.join(top, "v"))
            switch.start()
            cleanups.append(switch.stop)
            summary[9000, SWITCHES[9000]] = throughputRounds(switch, 9000, options, cleanups,
                                             "MTU 9000 (vdetwist switch)")
            runCleanups(cleanups[1:])
            cleanups[1:] = []
    finally:
        runCleanups(cleanups)
    report(options, summary, rates, perConnection)
    return 0


#: What each part of the benchmark runs through, by MTU.
SWITCHES = {1500: "Debian vde_switch, taps by vde_plug2tap",
            9000: "vdetwist switch (vde_switch truncates frames over 1518 bytes),"
            " taps by vde_plug tap:// (vde_plug2tap's buffer is 2048 bytes)"}
#: The same for C{--jumbo}.
JUMBO_LABELS = {1500: "vdetwist switch without --mtu (virtual host without --mtu: 1500),"
                " taps by vde_plug2tap",
                9000: "vdetwist switch --mtu 9000 (virtual host without --mtu: 9000),"
                " taps by vde_plug tap:// at MTU 9000"}


def report(options: argparse.Namespace,
           summary: Dict[Tuple[int, str], Dict[str, List[float]]],
           rates: List[float], perConnection: Optional[float]) -> None:
    """
    Print the medians and ratios.

    @param options: the command line.
    @param summary: per MTU, the throughput results.
    @param rates: connections/s per round.
    @param perConnection: bytes per idle connection, if measured.
    """
    print()
    print("command: " + " ".join(shlex.quote(a) for a in [
        os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT)
        else sys.executable] + [os.path.relpath(os.path.abspath(__file__), ROOT)]
        + sys.argv[1:]))
    print("machine: " + machine())
    print("our side runs on: %s (%s)" % (implementation(PYTHON), PYTHON))
    print("load average (1 min) at start %s, at end %s" % (options.loadBefore, loadAverage()))
    print("rounds %d x %g s, directions alternating; medians:" % (
        options.rounds, options.seconds))
    medians = {}
    for (mtu, switch), results in sorted(summary.items()):
        med = medians[mtu] = {k: statistics.median(v) for k, v in results.items() if v}
        print("MTU %d through %s:" % (mtu, switch))
        print("  kernel -> kernel (iperf3)  %8.1f Mbit/s" % (med["kk"],))
        for key, label in DIRECTIONS[1:]:
            print("  %-26s %8.1f Mbit/s  ratio %.2f  (vhost CPU %.2f cores)" % (
                label, med[key], med[key] / med["kk"], med["cpu_" + key]))
        for key in ("kv", "vk"):
            print("  IPv6 / IPv4 %-14s %8.2f" % (dict(DIRECTIONS)[key], med[key + "6"] / med[key]))
    if options.jumbo and len(medians) == 2:
        small, large = medians[1500], medians[9000]
        print("MTU 9000 / MTU 1500 (same switch, same run):")
        for key, label in DIRECTIONS:
            cpu = ""
            if key != "kk":
                # CPU-seconds of the virtual host per gigabit moved.
                perGbit = [m["cpu_" + key] / m[key] * 1000 for m in (small, large)]
                cpu = "  vhost CPU per Gbit/s %.2f -> %.2f cores" % tuple(perGbit)
            print("  %-26s %8.1f -> %8.1f Mbit/s  x%.2f%s" % (
                label, small[key], large[key], large[key] / small[key], cpu))
    if rates:
        print("connections/s kernel -> vhost (connect, 1-byte echo, close): %.0f" % (
            statistics.median(rates),))
    if perConnection is not None:
        print("memory per idle connection (vhost VmRSS delta / %d): %.1f kB" % (
            options.idle, perConnection / 1024))
    if options.profile:
        print("(profiled run: py-spy slowed round 1's vhost transfers)")


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
    parser.add_argument("--idle", type=int, default=2000,
                        help="idle connections measured (default 2000)")
    parser.add_argument("--warm", type=int, default=100,
                        help="idle connections opened before measuring (default 100)")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy the virtual host in round 1, keep raw stacks in DIR")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the virtual host's counters per transfer")
    parser.add_argument("--no-1500", action="store_true", help="skip the MTU 1500 part")
    parser.add_argument("--no-conns", action="store_true",
                        help="skip connections/s and memory")
    parser.add_argument("--no-9000", action="store_true", help="skip the MTU 9000 part")
    parser.add_argument("--jumbo", action="store_true",
                        help="instead of both parts: the transfers through vdetwist's switch "
                        "without --mtu and with --mtu 9000, the virtual host given no MTU "
                        "(it takes the switch's), and the gain of 9000 over 1500")
    parser.add_argument("--vhost-cc", default=None, metavar="NAME",
                        help="the virtual host's congestion control (newreno, bbr, auto;"
                        " default: what ships)")
    parser.add_argument("--vhost-tcp", action="append", default=[], metavar="NAME=VALUE",
                        help="a TCPConfig setting of the virtual host, e.g. pacingBurst=4 "
                        "(repeat for more; for experiments)")
    parser.add_argument("--vhost", nargs=2, metavar=("SOCK", "ADDR"), help=argparse.SUPPRESS)
    parser.add_argument("--mtu", type=int, default=None,
                        help="the MTU of --micro (default 1500)")
    parser.add_argument("--kclient", choices=["send", "recv", "conns", "idle"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--host", default=VHOST, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--micro", action="store_true",
                        help="only print the in-process CPU cost per packet "
                        "(no root needed; at --mtu)")
    addPythonOption(parser, many=False)
    options = parser.parse_args(argv)
    global PYTHON, VHOST_CC
    PYTHON = options.python or sys.executable
    VHOST_CC = options.vhost_cc
    VHOST_TCP[:] = options.vhost_tcp
    parseTCPSettings(VHOST_TCP)
    if options.micro:
        microMain(options.mtu or 1500)
        return 0
    if options.vhost:
        vhostMain(options.vhost[0], options.vhost[1], options.mtu, options.vhost_cc,
                  options.vhost_tcp)
        return 0
    if options.kclient:
        kclientMain(options.kclient, options.host, options.seconds, options.count,
                    options.warm)
        return 0
    if options.profile:
        options.profile = os.path.abspath(options.profile)
    try:
        return benchmark(options)
    except Failed as e:
        print("benchmark failed: %s" % (e,), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; everything made was removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
