# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Benchmark the virtual host's TCP over a lossy link (issue 13, criterion 3):
Debian's wirefilter between two Debian vde_switches (by default 10 % loss,
2 % duplication and 20 ms delay each way), a kernel namespace on each
switch and a virtual host (L{tests.interop.vhost}, its own process) on the
far one.  Each round times the same transfer three ways, side by side:

    - kernel -> kernel (the far namespace sends to the near one);
    - vhost -> kernel (the near namespace reads from the virtual host);
    - kernel -> vhost (the near namespace writes to the virtual host).

The kernel sender's congestion control is the machine's
(C{net.ipv4.tcp_congestion_control}), unless C{--cc} sets it on the
socket (C{TCP_CONGESTION}): with BBR, which does not take random loss for
congestion, kernel -> kernel is many times faster than any loss-based
sender, so the run prints which one the kernel used.  Ours is "auto" by
default (BBR from a 10 ms handshake round trip, as here; NewReno below),
or TCPConfig(congestionControl="newreno"/"bbr"): C{--vhost-cc
auto,newreno,bbr} starts one virtual host per controller named, timed
side by side in every round.

Needs root, vde_switch, vde_plug2tap and wirefilter:
    .venv/bin/python bench/lossy.py --rounds 2 --size 4000000
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import loadAverage, machine  # noqa: E402
from tests.interop.netns import SINK, Namespace  # noqa: E402
from tests.interop.test_stack_interop import RECEIVE, SEND  # noqa: E402
from tests.vde.realswitch import RealVDESwitch  # noqa: E402


#: L{tests.interop.netns.SOURCE} with the congestion control chosen.
SOURCE = r"""
import hashlib, random, socket, sys
size = int(sys.argv[3]); rnd = random.Random(size); h = hashlib.sha256()
c = socket.socket()
if sys.argv[4]:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
c.settimeout(600); c.connect((sys.argv[1], int(sys.argv[2])))
left = size
while left:
    chunk = rnd.randbytes(min(left, 1 << 16)); h.update(chunk); c.sendall(chunk); left -= len(chunk)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(size, h.hexdigest(), flush=True)
"""


def transfer(sender: Namespace, receiver: Namespace, size: int, cc: str) -> float:
    """
    Send C{size} bytes from one namespace to the other and check them.

    @param sender: the client's namespace.
    @param receiver: the server's namespace.
    @param size: bytes to send.
    @param cc: the sender's congestion control, or C{""} for the default.
    @return: the seconds it took.
    """
    sink = receiver.popen(sys.executable, "-c", SINK, receiver.address, "5001",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert sink.stdout.readline().strip() == b"ready"
        start = time.monotonic()
        sent = sender.exec(sys.executable, "-c", SOURCE, receiver.address, "5001",
                           str(size), cc, timeout=600).stdout.decode().strip()
        received, _ = sink.communicate(timeout=600)
        assert sent == received.decode().strip(), (sent, received)
        return time.monotonic() - start
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()


def main() -> None:
    """
    Set up the link, run the rounds, print the times and the virtual host's
    TCP counters.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--size", type=int, default=4000000,
                        help="bytes per transfer (default 4000000)")
    parser.add_argument("--loss", default="10", help="wirefilter -l (default 10)")
    parser.add_argument("--dup", default="2", help="wirefilter -D (default 2)")
    parser.add_argument("--delay", default="20", help="wirefilter -d (default 20)")
    parser.add_argument("--cc", default=None,
                        help="the kernel sender's congestion control (e.g. cubic, reno, bbr)")
    parser.add_argument("--vhost-cc", default="auto",
                        help="our congestion controls, comma-separated: one virtual host each,"
                             " measured side by side (default auto: what ships)")
    options = parser.parse_args()
    cleanups: List[Callable[[], object]] = []
    directory = tempfile.mkdtemp(prefix="vtlossy")
    cleanups.append(lambda: shutil.rmtree(directory, ignore_errors=True))
    try:
        near = RealVDESwitch(os.path.join(directory, "a"))
        near.start()
        cleanups.append(near.stop)
        far = RealVDESwitch(os.path.join(directory, "b"))
        far.start()
        cleanups.append(far.stop)
        pidfile = os.path.join(directory, "wf.pid")
        subprocess.run(["wirefilter", "-v", "%s:%s" % (near.ctlDir, far.ctlDir),
                        "-l", options.loss, "-D", options.dup, "-d", options.delay,
                        "--daemon", "--pidfile", pidfile],
                       check=True, stdin=subprocess.DEVNULL, timeout=10)
        cleanups.append(lambda: os.kill(int(open(pidfile).read()), signal.SIGTERM))
        vhosts = []
        for index, name in enumerate(options.vhost_cc.split(",")):
            address = "10.78.0.%d" % (100 + index,)
            vhost = subprocess.Popen(
                [sys.executable, "-m", "tests.interop.vhost", far.ctlDir, address + "/24",
                 "--cc", name],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=ROOT))
            cleanups.append(lambda vhost=vhost: (vhost.kill(), vhost.wait(), vhost.stdout.close()))
            if vhost.stdout.readline().strip() != b"ready":
                raise SystemExit("the virtual host did not start")
            vhosts.append((name, address, vhost))
        nearHost = Namespace(cleanups.append, directory)
        nearHost.plug(near.ctlDir, "10.78.0.1/24")
        farHost = Namespace(cleanups.append, directory)
        farHost.plug(far.ctlDir, "10.78.0.2/24")
        cc = options.cc or farHost.exec(
            "sysctl", "-n", "net.ipv4.tcp_congestion_control").stdout.decode().strip()
        print("machine: %s" % (machine(),))
        print("load average at start %s" % (loadAverage(),))
        print("wirefilter -l %s -D %s -d %s; %d bytes; kernel->kernel sender congestion control %s"
              % (options.loss, options.dup, options.delay, options.size, cc))
        size = str(options.size)
        for i in range(options.rounds):
            kk = transfer(farHost, nearHost, options.size, options.cc or "")
            line = "round %d: kernel->kernel %.2f s" % (i + 1, kk)
            for name, address, _ in vhosts:
                start = time.monotonic()
                nearHost.exec(sys.executable, "-c", RECEIVE, address, size, timeout=600)
                vk = time.monotonic() - start
                start = time.monotonic()
                nearHost.exec(sys.executable, "-c", SEND, address, size, timeout=600)
                kv = time.monotonic() - start
                line += "  [%s] vhost->kernel %.2f s (%.1fx) kernel->vhost %.2f s (%.1fx)" % (
                    name, vk, vk / kk, kv, kv / kk)
            print(line, flush=True)
        for name, _, vhost in vhosts:
            vhost.send_signal(signal.SIGUSR1)
            counters: Dict[str, str] = {}
            for line in iter(vhost.stdout.readline, b"end\n"):
                counter, _, value = line.decode().strip().partition("=")
                if counter.startswith("proto6.") and value != "0":
                    counters[counter[7:]] = value
            print("virtual host [%s] TCP counters: " % (name,) + " ".join(
                "%s=%s" % item for item in sorted(counters.items())))
        print("load average at end %s" % (loadAverage(),))
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as e:
                print("cleanup: %s" % (e,), file=sys.stderr)


if __name__ == "__main__":
    main()
