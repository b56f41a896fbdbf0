# -*- test-case-name: tests.interop.test_fdb_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The MAC table under exhaustion with real peers (issue 10 item 11, done
criterion 6): Linux kernel stacks in network namespaces joined to the switch
by Debian's C{vde_plug2tap}.  One namespace floods 20,000 random source MACs
through a raw C{AF_PACKET} socket; a host that joins afterwards must be
learned, a third namespace must see none of the unicast addressed to it
(counted exactly, with a raw socket, and checked against a control: frames
to an unknown MAC, which must flood there), and a TCP transfer to it must
complete intact.

Each behaviour runs against vdetwist's switch (with its default per-port
bound, and with only the table's bound) and against Debian's C{vde_switch}
(whose table grows without bound), which proves the test itself.  The
throughput before and after the flood is compared by C{bench/fdbflood.py},
not here: no timings are asserted in tests.
"""

import json
import re
import subprocess
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import Namespace, VdetwistSwitch, missingTools, transfer
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")

MB = 1000 * 1000

#: Source MACs the flooder sends from.
FLOOD_SOURCES = 20000

#: Sends C{argv[2]} frames on interface C{argv[1]}, each from a new random
#: locally administered unicast source MAC, to the broadcast address, paced
#: so that neither the tap nor the datagram sockets behind it overflow.
FLOODER = r"""
import random, socket, sys, time
ifname, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
rnd = random.Random(int(sys.argv[3]))
payload = b"\x88\xb5" + b"flood".ljust(46, b".")
for i in range(count):
    src = bytes([(rnd.randrange(256) & 0xFC) | 0x02]) + rnd.randbytes(5)
    while True:
        try:
            s.send(b"\xff" * 6 + src + payload)
            break
        except OSError:  # ENOBUFS: the tap's queue is full
            time.sleep(0.001)
    if i % 20 == 19:
        time.sleep(0.001)
print(count, flush=True)
"""

#: Sends C{argv[3]} frames on interface C{argv[1]} to the MAC C{argv[2]}
#: (hex), from the interface's own MAC, a few milliseconds apart.
SENDER = r"""
import socket, sys, time
ifname, dst, count = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3])
src = bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for i in range(count):
    s.send(dst + src + b"\x88\xb5" + b"control".ljust(46, b"."))
    time.sleep(0.005)
"""

#: Counts the frames received on interface C{argv[1]} addressed to the
#: watched MAC C{argv[2]} and to the control MAC C{argv[3]} (hex); prints
#: C{ready}, then, once C{argv[4]} control frames arrived (the last thing
#: sent, so everything before them has arrived too) or after C{argv[5]}
#: seconds, one JSON line with both counts.
COUNTER = r"""
import json, select, socket, sys, time
ifname, watched, control = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
expected, timeout = int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind((ifname, 0))
print("ready", flush=True)
counts = {"watched": 0, "control": 0}
deadline = time.monotonic() + timeout
while counts["control"] < expected:
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        break
    data, address = s.recvfrom(65536)
    if address[2] == socket.PACKET_OUTGOING:
        continue
    if data[:6] == watched:
        counts["watched"] += 1
    elif data[:6] == control:
        counts["control"] += 1
print(json.dumps(counts), flush=True)
"""

#: A unicast MAC no host has: frames to it flood to every port.
UNKNOWN_MAC = "02a1b2c3d4e5"

#: The MAC of the host that joins after the flood.
LATE_MAC = "02b0c0d0e0f0"

#: Control frames sent to L{UNKNOWN_MAC}.
CONTROL_FRAMES = 20


def plugWithMAC(namespace: Namespace, switchDir: str, address: str, mac: str) -> None:
    """
    L{Namespace.plug}, with the tap's MAC set before it comes up (so the
    switch has never seen the MAC before this host sends).

    @param namespace: the namespace.
    @param switchDir: the switch's directory.
    @param address: e.g. C{10.78.0.2/24}.
    @param mac: 12 hex digits.
    """
    namespace.exec("vde_plug2tap", "-s", switchDir, "-d", "-P", namespace.pidPath,
                   namespace.tap)
    deadline = time.monotonic() + 5
    while namespace.exec("ip", "link", "show", namespace.tap, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("tap %s did not appear" % (namespace.tap,))
        time.sleep(0.02)
    namespace.exec("ip", "link", "set", namespace.tap, "address", formatMAC(mac))
    namespace.exec("ip", "addr", "add", address, "dev", namespace.tap)
    namespace.exec("ip", "link", "set", namespace.tap, "up")
    namespace.address = address.split("/")[0]


def flood(namespace: Namespace, count: int, seed: int) -> None:
    """
    Send C{count} frames from random source MACs out of a namespace's tap.

    @param namespace: a plugged namespace (traffic stays in the test's own
        namespaces and switch).
    @param count: the number of frames (and of source MACs).
    @param seed: the random seed.
    """
    namespace.exec(sys.executable, "-c", FLOODER, namespace.tap, str(count), str(seed),
                   timeout=120)


def startCounter(namespace: Namespace, watched: str, timeout: float = 120.0
                 ) -> subprocess.Popen:
    """
    Start counting, in a namespace, the frames addressed to C{watched} and
    to L{UNKNOWN_MAC}; returns once the raw socket is open.

    @param namespace: the observing namespace.
    @param watched: the MAC (hex) whose frames must not show up there.
    @param timeout: seconds before it gives up waiting for the controls.
    @return: the counter process (see L{finishCounter}).
    """
    counter = namespace.popen(sys.executable, "-c", COUNTER, namespace.tap, watched,
                              UNKNOWN_MAC, str(CONTROL_FRAMES), str(timeout),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = counter.stdout.readline().strip()
    if line != b"ready":
        counter.kill()
        raise RuntimeError("counter did not start: %r %r" % (line, counter.stderr.read()))
    return counter


def finishCounter(counter: subprocess.Popen, sender: Namespace) -> dict:
    """
    Send the control frames (unicast to L{UNKNOWN_MAC}, which the switch
    floods) from C{sender} and collect the counter's result.

    @param counter: from L{startCounter}.
    @param sender: a plugged namespace other than the observer.
    @return: C{{"watched": n, "control": m}}.
    """
    try:
        sender.exec(sys.executable, "-c", SENDER, sender.tap, UNKNOWN_MAC,
                    str(CONTROL_FRAMES))
        out, err = counter.communicate(timeout=150)
        return json.loads(out.decode().strip().splitlines()[-1])
    finally:
        if counter.poll() is None:
            counter.kill()
            counter.wait()
        counter.stdout.close()
        counter.stderr.close()


def formatMAC(mac: str) -> str:
    """
    Hex to the console's colon form.

    @param mac: 12 hex digits.
    @return: C{aa:bb:...}.
    """
    return ":".join(mac[i:i + 2] for i in range(0, 12, 2))


class ExhaustionMixin:
    """
    The flood scenario of issue 10 item 11, for any VDE switch.
    Subclasses set C{switchClass} and may set C{consoleSetup}.
    """

    switchClass = RealVDESwitch
    #: console commands run on the switch before the test
    consoleSetup: tuple = ()
    #: what C{hash/find} adds to the port number (r586 prints it plus one)
    findPortOffset = 0

    def checkTable(self, switch: RealVDESwitch, floodPort: int) -> None:
        """
        Check the switch's own account of the flood (its counters).

        @param switch: the switch.
        @param floodPort: the flooder's port.
        """

    def sourcesSeen(self, switch: RealVDESwitch) -> int:
        """
        How many source MACs reached the switch so far: for r586, the frames
        in from the flooder's port (2), each from a new random MAC (its
        C{hash/print} of 20,000 entries is cut short by its non-blocking
        console writes).

        @param switch: the switch.
        @return: the count.
        """
        return int(re.search(r"IN: +pkts +(\d+)", switch.console("port/print 2")).group(1))

    def floodSwitch(self, switch: RealVDESwitch, namespace: Namespace) -> None:
        """
        Flood L{FLOOD_SOURCES} random source MACs from C{namespace}, and more
        while the switch reports fewer (a datagram socket on the way may
        drop some of a burst), so that at least that many reached it.

        @param switch: the switch.
        @param namespace: the flooding namespace.
        """
        wanted = FLOOD_SOURCES + 2  # the two hosts' own MACs may be counted
        flood(namespace, FLOOD_SOURCES, seed=1)
        for seed in range(2, 12):
            seen = self.sourcesSeen(switch)
            if seen >= wanted:
                break
            flood(namespace, wanted - seen, seed=seed)
        self.assertGreaterEqual(self.sourcesSeen(switch), wanted)

    def test_lateHostLearnedAndNotFlooded(self) -> None:
        """
        After one port floods 20,000 random source MACs, a host that joins
        later is learned on its port, a third namespace sees none of the
        unicast addressed to it (while it does see unicast to an unknown
        MAC), and a TCP transfer to it completes intact.
        """
        switch = self.switchClass(shortTempDir(self))
        switch.start()
        self.addCleanup(switch.stop)
        for command in self.consoleSetup:
            self.assertIn("1000 Success", switch.console(command))
        directory = shortTempDir(self)
        sender = Namespace(self.addCleanup, directory)
        sender.plug(switch.ctlDir, "10.78.0.1/24")          # port 1
        third = Namespace(self.addCleanup, directory)
        third.plug(switch.ctlDir, "10.78.0.3/24")           # port 2: floods, observes
        self.floodSwitch(switch, third)
        self.checkTable(switch, 2)

        late = Namespace(self.addCleanup, directory)
        counter = startCounter(third, LATE_MAC)
        plugWithMAC(late, switch.ctlDir, "10.78.0.2/24", LATE_MAC)  # port 3
        sent, received = transfer(sender, late, 20 * MB)
        self.assertEqual(sent, received)
        self.assertEqual(int(received.split()[0]), 20 * MB)
        counts = finishCounter(counter, sender)
        self.assertEqual(counts, {"watched": 0, "control": CONTROL_FRAMES})

        found = re.search(r"(?m)^Hash: \d{4} Addr: %s VLAN 0000 to port: (\d{3})  age" % (
            re.escape(formatMAC(LATE_MAC)),), switch.console("hash/find " + formatMAC(LATE_MAC)))
        self.assertIsNotNone(found)
        self.assertEqual(int(found.group(1)) - self.findPortOffset, 3)


class VdetwistPortBoundTests(ExhaustionMixin, SynchronousTestCase):
    """
    vdetwist's switch with its default bounds: the flooding port evicts its
    own least recently seen entries.
    """

    switchClass = VdetwistSwitch
    skip = SKIP

    def checkTable(self, switch: RealVDESwitch, floodPort: int) -> None:
        info = self.showinfo(switch)
        self.assertEqual(info["Max entries per port"], 4096)
        # The flooder's port holds 4096; the sender's MAC may be known too.
        self.assertIn(info["Entries"], (4096, 4097))
        self.assertEqual(info["Evicted (table full)"], 0)

    def sourcesSeen(self, switch: RealVDESwitch) -> int:
        """
        Entries plus evictions: every source MAC the switch learned.
        """
        info = self.showinfo(switch)
        return info["Entries"] + info["Evicted (port full)"] + info["Evicted (table full)"]

    def showinfo(self, switch: RealVDESwitch) -> dict:
        """
        vdetwist's own C{hash/showinfo} lines as numbers.

        @param switch: our switch.
        @return: label to value.
        """
        return {label: int(value) for label, value in re.findall(
            r"(?m)^(Entries|Max entries|Max entries per port|Evicted \(table full\)|"
            r"Evicted \(port full\)|Not learned) (\d+)$", switch.console("hash/showinfo"))}


class VdetwistTableBoundTests(VdetwistPortBoundTests):
    """
    vdetwist's switch with no per-port bound: the flood fills the whole
    table and the table's least recently seen entries are evicted.
    """

    consoleSetup = ("hash/setportmax 0",)

    def checkTable(self, switch: RealVDESwitch, floodPort: int) -> None:
        info = self.showinfo(switch)
        self.assertEqual(info["Entries"], info["Max entries"])
        self.assertGreaterEqual(info["Evicted (table full)"], FLOOD_SOURCES - 16384)
        self.assertEqual(info["Evicted (port full)"], 0)


class DebianSwitchTests(ExhaustionMixin, SynchronousTestCase):
    """
    The same against Debian's C{vde_switch}, proving the test.
    """

    switchClass = RealVDESwitch
    skip = SKIP or SKIP_REASON
    findPortOffset = 1

