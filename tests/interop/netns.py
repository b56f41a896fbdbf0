# -*- test-case-name: tests.interop.test_switch_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Linux kernel TCP/IP stacks as test peers: network namespaces joined to a
VDE switch by Debian's C{vde_plug2tap}, and the switches to join them to
(Debian's C{vde_switch} and ours, behind one interface).

Everything here blocks briefly (it drives other processes), which is fine
in interop test set-up.  Names are unique per test (C{vt<pid>x<n>}) and
everything made is removed by the cleanups the helpers register.
"""

import itertools
import os
import shutil
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence

from tests.vde.realswitch import RealVDESwitch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_counter = itertools.count()


def startProcess(addCleanup: Callable, argv: Sequence[str], env: Optional[dict] = None,
                 **kwargs) -> subprocess.Popen:
    """
    Start a process (standard input from /dev/null, output piped unless
    given), killed, reaped and its pipes closed at cleanup.

    @param addCleanup: a test's C{addCleanup}.
    @param argv: the command line.
    @param env: the environment (default: ours with C{PYTHONPATH} at the
        tree, so C{python -m vdetwist} runs this checkout).
    @return: the process.
    """
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    if env is None:
        env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(list(argv), env=env, **kwargs)

    def stop() -> None:
        if p.poll() is None:
            p.kill()
        p.wait()
        for stream in (p.stdout, p.stderr, p.stdin):
            if stream is not None:
                stream.close()
    addCleanup(stop)
    return p


def uniqueName(prefix: str = "vt") -> str:
    """
    A short name unique to this process and call, fit for a namespace or an
    interface (15 characters at most).

    @param prefix: a short prefix.
    @return: the name.
    """
    return ("%s%dx%d" % (prefix, os.getpid(), next(_counter)))[:15]


def missingTools(*tools: str) -> Optional[str]:
    """
    A trial skip reason when a tool is missing or we are not root.

    @param tools: program names.
    @return: the reason, or L{None} when everything is there.
    """
    if os.geteuid() != 0:
        return "needs root (network namespaces and taps)"
    for tool in tools:
        if shutil.which(tool) is None:
            return "%s is not installed" % (tool,)
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing"
    return None


def run(*command: str, timeout: float = 20.0, check: bool = True,
        input: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """
    Run a command and wait for it.

    @param command: the argv.
    @param timeout: seconds.
    @param check: raise on a non-zero exit.
    @param input: bytes for its stdin.
    @return: the completed process (stdout and stderr captured).
    """
    result = subprocess.run(list(command), capture_output=True, timeout=timeout,
                            input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            " ".join(command), result.returncode,
            result.stderr.decode("utf-8", "replace")))
    return result


class VdetwistSwitch(RealVDESwitch):
    """
    vdetwist's switch as a user runs it (C{twistd -n vdeswitch ...}) in a
    subprocess, with the same API as L{RealVDESwitch}.
    """

    #: The interpreter running twistd (the benchmarks set PyPy's).
    python = sys.executable

    def start(self, extraArgs: Sequence[str] = (), timeout: float = 10.0) -> None:
        """
        Start C{twistd -n vdeswitch -s DIR -M MGMT} and wait for its sockets.

        @param extraArgs: more vdeswitch options.
        @param timeout: seconds to wait.
        """
        os.makedirs(self.directory, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=ROOT)
        self.logPath = os.path.join(self.directory, "twistd.log")
        command = [self.python, "-c", "from twisted.scripts.twistd import run; run()",
                   "-n", "--pidfile", self.pidPath, "--logfile", self.logPath,
                   "vdeswitch", "-s", self.ctlDir, "-M", self.mgmtPath, *extraArgs]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        env=env, cwd=self.directory)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("vdeswitch exited %d: %s" % (
                    self.process.returncode, self.process.stderr.read().decode()))
            if self._answers(os.path.join(self.ctlDir, "ctl")) and self._answers(self.mgmtPath):
                self.pid = self.process.pid
                return
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("vdeswitch in %s did not come up" % (self.directory,))
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """
        SIGTERM, wait, and reap the process.

        @param timeout: seconds before SIGKILL.
        """
        process = getattr(self, "process", None)
        if process is None:
            return
        self.process = None
        self.pid = None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


class Namespace:
    """
    A network namespace with a tap joined to a VDE switch by
    C{vde_plug2tap}.

    @ivar name: the namespace's name.
    @ivar tap: the tap's name inside it.
    @ivar address: its IPv4 address (no prefix), once configured.
    """

    def __init__(self, addCleanup: Callable, directory: str) -> None:
        """
        Create the namespace; its removal is registered with C{addCleanup}.

        @param addCleanup: the test's C{addCleanup}.
        @param directory: where pid files go.
        """
        self.name = uniqueName("vtn")
        self.tap = uniqueName("vtt")
        self.directory = directory
        self.pidPath = os.path.join(directory, self.name + ".pid")
        self.address: Optional[str] = None
        run("ip", "netns", "add", self.name)
        addCleanup(self.destroy)
        self.exec("ip", "link", "set", "lo", "up")

    def exec(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        """
        Run a command inside the namespace.

        @param command: the argv.
        @return: the completed process.
        """
        return run("ip", "netns", "exec", self.name, *command, **kwargs)

    def popen(self, *command: str, **kwargs) -> subprocess.Popen:
        """
        Start a command inside the namespace.

        @param command: the argv.
        @return: the process.
        """
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **kwargs)

    def plug(self, switchDir: str, address: str, gateway: Optional[str] = None,
             mtu: int = 1500) -> None:
        """
        Join the switch with C{vde_plug2tap} and configure the tap.

        @param switchDir: the switch's directory.
        @param address: e.g. C{10.77.0.1/24}.
        @param gateway: a default route, if any.
        @param mtu: the tap's MTU.
        """
        self.exec("vde_plug2tap", "-s", switchDir, "-d", "-P", self.pidPath, self.tap)
        deadline = time.monotonic() + 5
        while self.exec("ip", "link", "show", self.tap, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("tap %s did not appear" % (self.tap,))
            time.sleep(0.02)
        self.exec("ip", "addr", "add", address, "dev", self.tap)
        self.exec("ip", "link", "set", self.tap, "mtu", str(mtu), "up")
        if gateway:
            self.exec("ip", "route", "add", "default", "via", gateway)
        self.address = address.split("/")[0]

    def destroy(self) -> None:
        """
        Stop vde_plug2tap and delete the namespace.
        """
        try:
            with open(self.pidPath) as f:
                os.kill(int(f.read().strip()), 15)
        except (OSError, ValueError):
            pass
        for _ in range(100):
            if run("ip", "netns", "del", self.name, check=False).returncode == 0:
                break
            time.sleep(0.05)


def routedNamespace(addCleanup: Callable, hostAddress: str, address: str) -> str:
    """
    A namespace the host routes to over a veth pair: C{hostAddress} on the
    host's side, C{address} inside (IPv6 ones without DAD), both up, with
    the namespace's loopback; all removed at cleanup.

    @param addCleanup: the test's C{addCleanup}.
    @param hostAddress: C{ADDR/PREFIX} for the host's side.
    @param address: C{ADDR/PREFIX} for the namespace's side.
    @return: the namespace's name.
    """
    outside = uniqueName("vto")
    run("ip", "netns", "add", outside)
    addCleanup(run, "ip", "netns", "del", outside, check=False)
    hostSide, nsSide = uniqueName("vth"), uniqueName("vtp")
    run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", nsSide)
    addCleanup(run, "ip", "link", "del", hostSide, check=False)
    run("ip", "link", "set", nsSide, "netns", outside)
    nodad = ("nodad",) if ":" in hostAddress else ()
    run("ip", "addr", "add", hostAddress, "dev", hostSide, *nodad)
    run("ip", "link", "set", hostSide, "up")
    inside = ("ip", "netns", "exec", outside)
    run(*inside, "ip", "addr", "add", address, "dev", nsSide, *nodad)
    run(*inside, "ip", "link", "set", nsSide, "up")
    run(*inside, "ip", "link", "set", "lo", "up")
    return outside


SINK = r"""
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 16)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest(), flush=True)
"""

SOURCE = r"""
import hashlib, random, socket, sys
size = int(sys.argv[3]); rnd = random.Random(size); h = hashlib.sha256()
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
left = size
while left:
    chunk = rnd.randbytes(min(left, 1 << 16)); h.update(chunk); c.sendall(chunk); left -= len(chunk)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(size, h.hexdigest(), flush=True)
"""


def transfer(sender: Namespace, receiver: Namespace, size: int, port: int = 5001,
             timeout: float = 60.0) -> List[str]:
    """
    Send C{size} pseudo-random bytes over TCP from one namespace to another.

    @param sender: the client's namespace.
    @param receiver: the server's namespace.
    @param size: bytes to send.
    @param port: the TCP port.
    @param timeout: seconds.
    @return: C{[sentLine, receivedLine]}, each C{"<bytes> <sha256>"}.
    """
    sink = receiver.popen(sys.executable, "-c", SINK, receiver.address, str(port),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert sink.stdout.readline().strip() == b"ready"
        sent = sender.exec(sys.executable, "-c", SOURCE, receiver.address, str(port),
                           str(size), timeout=timeout).stdout.decode().strip()
        received, _ = sink.communicate(timeout=timeout)
        return [sent, received.decode().strip()]
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
