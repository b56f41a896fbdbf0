# -*- test-case-name: tests.switch.test_fstp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.fstp} (the engine, fed BPDUs at chosen ticks,
asserting the exact BPDUs it sends), the switch's FSTP hooks, and
L{vdetwist.switch.fstpcommands}.
"""

from typing import List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from tests.wire.test_bpdu import FIRST, HELLO
from vdetwist.switch import fstpcommands
from vdetwist.switch.fstp import DISCARDING, FORWARDING, FSTP
from vdetwist.switch.switch import Switch
from vdetwist.wire.bpdu import BPDU, buildBPDU

ME = bytes.fromhex("02000000000a")
MY_ID = b"\x80\x00" + ME
ROOT_MAC = bytes.fromhex("020000000001")
ROOT_ID = b"\x80\x00" + ROOT_MAC
OTHER_MAC = bytes.fromhex("02000000000f")
OTHER_ID = b"\x80\x00" + OTHER_MAC
COST = 20000000


def bpdu(source: bytes, flags: int, root: bytes, cost: int, bridge: bytes, port: int,
         age: int = 0, vlan: object = None) -> bytes:
    """
    A BPDU frame as vde_switch sends it.
    """
    return buildBPDU(source, BPDU(flags, root, cost, bridge, bytes((0x80 | (port >> 4), port)),
                                  age, 40, 4, 0), vlan)  # type: ignore[arg-type]


def mine(flags: int, port: int, root: bytes = MY_ID, cost: int = 0, age: int = 0,
         vlan: object = None) -> bytes:
    """
    A BPDU our engine sends.
    """
    return bpdu(ME, flags, root, cost, MY_ID, port, age, vlan)


class Recorder:
    """
    The switch side of the engine, recording.
    """

    def __init__(self) -> None:
        self.flushes: List[int] = []
        self.status: List[Tuple[int, int, int]] = []
        self.events: List[Tuple[str, str]] = []

    def engine(self, mac: bytes = ME) -> FSTP:
        """
        An engine reporting here.
        """
        return FSTP(mac, flushVLAN=self.flushes.append,
                    statusChanged=lambda p, v, s: self.status.append((p, v, s)),
                    emit=lambda c, m: self.events.append((c, m)))


class EngineTests(SynchronousTestCase):
    """
    The engine, on its own.
    """

    def setUp(self) -> None:
        self.rec = Recorder()
        self.fstp = self.rec.engine()
        self.fstp.addVLAN(0)
        self.fstp.enable(0)

    def converge(self) -> None:
        """
        Ports 1 and 2 in VLAN 0; a switch with a worse id speaks on port 2
        at tick 1, then the root on port 1 at tick 1: port 1 becomes the
        root port and port 2 an alternate/backup.
        """
        self.assertEqual(self.fstp.addPort(0, 1, False, 0), [(1, mine(0x3C, 1))])
        self.assertEqual(self.fstp.addPort(0, 2, False, 0), [(2, mine(0x3C, 2))])
        # A worse root hears of ours.
        self.assertEqual(
            self.fstp.receive(2, bpdu(OTHER_MAC, 0x7C, OTHER_ID, 0, OTHER_ID, 1), 0, False, 1),
            [(2, mine(0x3C, 2))])
        del self.rec.flushes[:]
        out = self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3), 0, False, 1)
        self.assertEqual(out, [
            # proposal on the port now blocked: backup role, discarding
            (2, mine(0x0A, 2, ROOT_ID, COST, age=0)),
            # agreement on the root port: root role, forwarding
            (1, mine(0x74, 1, ROOT_ID, COST, age=0)),
        ])
        self.assertEqual(self.rec.flushes, [0])
        self.assertEqual(self.fstp.vlans[0].discarding, {2})
        self.assertEqual(self.rec.status, [(2, 0, DISCARDING)])
        del self.rec.flushes[:], self.rec.status[:]

    def test_capturedBPDUs(self) -> None:
        """
        A port joining gets vde_switch's first BPDU (flags 3c), and every 4
        ticks a hello with the agreement bit (7c), byte for byte as
        captured from Debian's vde_switch.
        """
        fstp = Recorder().engine(bytes.fromhex("02aabbccddee"))
        fstp.addVLAN(0)
        fstp.enable(0)
        self.assertEqual(fstp.addPort(0, 1, False, 0), [(1, FIRST)])
        for now in range(1, 4):
            self.assertEqual(fstp.tick(now), [])
        self.assertEqual(fstp.tick(4), [(1, HELLO)])
        self.assertEqual(fstp.tick(8), [(1, HELLO)])

    def test_disabled(self) -> None:
        """
        With FSTP off nothing is sent and nothing flushed, but membership is
        kept for when it starts.
        """
        fstp = self.rec.engine()
        fstp.addVLAN(0)
        self.assertEqual(fstp.addPort(0, 1, False, 0), [])
        self.assertEqual(fstp.tick(4), [])
        self.assertEqual(self.rec.flushes, [])
        fstp.enable(10)
        self.assertEqual(fstp.tick(13), [])
        self.assertEqual(fstp.tick(14), [(1, mine(0x7C, 1))])

    def test_newRoot(self) -> None:
        """
        A better root on port 1: port 1 is the root port, port 2 (which
        speaks FSTP) blocks with a proposal, the VLAN is flushed.
        """
        self.converge()
        vlan = self.fstp.vlans[0]
        self.assertEqual((vlan.root, vlan.rootCost, vlan.designated, vlan.designatedPort,
                          vlan.rootPort), (ROOT_ID, COST, ROOT_ID, b"\x80\x03", 1))
        self.assertEqual(self.fstp.role(0, 1), "Root")
        self.assertEqual(self.fstp.role(0, 2), "Alternate/Backup")
        self.assertFalse(self.fstp.isRoot(0))
        self.assertIn(("fstp/root", "Port 0001 VLAN 00:00 -> 80:00:02:00:00:00:00:01"),
                      self.rec.events)
        self.assertIn(("fstp/status", "Port 0002 VLAN 00:00 discarding"), self.rec.events)

    def test_sameNewsRefreshesRoot(self) -> None:
        """
        The root's BPDU again only refreshes its timestamp; the hello's age
        counts from it.
        """
        self.converge()
        self.assertEqual(
            self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3), 0, False, 3), [])
        self.assertEqual(self.fstp.vlans[0].rootTimestamp, 3)
        self.assertEqual(self.fstp.tick(4), [(1, mine(0x74, 1, ROOT_ID, COST, age=1)),
                                             (2, mine(0x4A, 2, ROOT_ID, COST, age=1))])

    def test_peerRootPortUnblocks(self) -> None:
        """
        On a blocked port, a peer that knows the same root by a worse path
        and uses this link as its root port makes our port forward, with a
        topology change sent on the other ports.
        """
        self.converge()
        out = self.fstp.receive(2, bpdu(OTHER_MAC, 0x74, ROOT_ID, COST, OTHER_ID, 1),
                                0, False, 2)
        self.assertEqual(out, [(1, mine(0x35, 1, ROOT_ID, COST, age=1))])
        self.assertEqual(self.fstp.vlans[0].discarding, set())
        self.assertEqual(self.rec.status, [(2, 0, FORWARDING)])
        self.assertEqual(self.rec.flushes, [0])
        self.assertEqual(self.fstp.role(0, 2), "Designated")

    def test_peerDesignatedBlocks(self) -> None:
        """
        A forwarding port whose peer knows the same root by a worse path
        but does not use the link as its root port blocks.
        """
        self.converge()
        self.fstp.receive(2, bpdu(OTHER_MAC, 0x74, ROOT_ID, COST, OTHER_ID, 1), 0, False, 2)
        del self.rec.status[:], self.rec.flushes[:]
        out = self.fstp.receive(2, bpdu(OTHER_MAC, 0x7C, ROOT_ID, COST, OTHER_ID, 1),
                                0, False, 3)
        self.assertEqual(out, [(1, mine(0x35, 1, ROOT_ID, COST, age=2))])
        self.assertEqual(self.fstp.vlans[0].discarding, {2})
        self.assertEqual(self.rec.status, [(2, 0, DISCARDING)])

    def test_topologyChangeFlushes(self) -> None:
        """
        A BPDU with the TC flag flushes the VLAN and is passed on to the
        other forwarding ports that speak FSTP.
        """
        self.converge()
        self.fstp.receive(2, bpdu(OTHER_MAC, 0x74, ROOT_ID, COST, OTHER_ID, 1), 0, False, 2)
        del self.rec.flushes[:]
        out = self.fstp.receive(1, bpdu(ROOT_MAC, 0x7D, ROOT_ID, 0, ROOT_ID, 3), 0, False, 3)
        self.assertEqual(out, [(2, mine(0x3D, 2, ROOT_ID, COST, age=2))])
        self.assertEqual(self.rec.flushes, [0])

    def test_rootPortTimeout(self) -> None:
        """
        Without news for more than 3 hellos the root is forgotten at the
        next hello: we are the root again and every port forwards.
        """
        self.converge()
        self.assertEqual(len(self.fstp.tick(12)), 2)
        self.assertEqual(self.fstp.vlans[0].rootPort, 1)
        self.assertEqual(self.fstp.tick(16), [(1, mine(0x7C, 1)), (2, mine(0x7C, 2))])
        self.assertTrue(self.fstp.isRoot(0))
        self.assertEqual(self.fstp.vlans[0].discarding, set())

    def test_silentBackupForwards(self) -> None:
        """
        A blocked port that hears no BPDU for two periods of 4 hellos
        forwards again (its peer stopped speaking FSTP).
        """
        self.converge()
        for now in range(4, 48, 4):
            self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3), 0, False, now - 1)
            self.fstp.tick(now)
            self.assertEqual(self.fstp.vlans[0].discarding, {2}, now)
        self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3), 0, False, 47)
        self.fstp.tick(48)
        self.assertEqual(self.fstp.vlans[0].discarding, set())
        self.assertIn(("fstp/-", "Port 0002 VLAN 00:00"), self.rec.events)

    def test_rootPortLeaves(self) -> None:
        """
        The root port going away makes us the root at once; the blocked
        port forwards and hears of the topology change.
        """
        self.converge()
        self.assertEqual(self.fstp.delPort(0, 1, 5), [(2, mine(0x3D, 2))])
        self.assertTrue(self.fstp.isRoot(0))
        self.assertEqual(self.fstp.vlans[0].discarding, set())
        self.assertIn(("fstp/-", "Port 0001 VLAN 00:00"), self.rec.events)

    def test_edge(self) -> None:
        """
        An edge port gets no hellos and its BPDUs are ignored; re-joining
        the VLAN clears the setting, as in vde_switch.
        """
        self.fstp.addPort(0, 1, False, 0)
        self.fstp.setEdge(0, 1, True)
        self.assertEqual(self.fstp.role(0, 1), "Edge")
        self.assertEqual(
            self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3), 0, False, 1), [])
        self.assertTrue(self.fstp.isRoot(0))
        self.assertEqual(self.fstp.tick(4), [])
        self.fstp.addPort(0, 1, False, 5)
        self.assertEqual(self.fstp.role(0, 1), "Designated")

    def test_bonus(self) -> None:
        """
        The bonus lowers the cost through its port.
        """
        self.fstp.setBonus(0, 1, 5)
        self.fstp.addPort(0, 1, False, 0)
        self.fstp.receive(1, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 100, ROOT_ID, 3), 0, False, 1)
        self.assertEqual(self.fstp.vlans[0].rootCost, 100 + COST - 5)

    def test_tagged(self) -> None:
        """
        Tagged members get the tagged form, and tagged BPDUs are read.
        """
        self.fstp.addVLAN(10)
        self.assertEqual(self.fstp.addPort(10, 3, True, 0), [(3, mine(0x3C, 3, vlan=10))])
        out = self.fstp.receive(3, bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3, vlan=10),
                                10, True, 1)
        self.assertEqual(out, [(3, mine(0x74, 3, ROOT_ID, COST, vlan=10))])
        self.assertEqual(self.fstp.role(10, 3), "Unknown")

    def test_malformed(self) -> None:
        """
        Another version is ignored (counted), though the port is then known
        to speak FSTP, as in vde_switch.
        """
        self.fstp.addPort(0, 1, False, 0)
        frame = bytearray(bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3))
        frame[19] = 3
        self.assertEqual(self.fstp.receive(1, bytes(frame), 0, False, 1), [])
        self.assertEqual(self.fstp.malformed, 1)
        self.assertTrue(self.fstp.isRoot(0))
        self.assertTrue(self.fstp.vlans[0].active(1))

    def test_disable(self) -> None:
        """
        Stopping FSTP forgets the root and unblocks every port.
        """
        self.converge()
        self.fstp.disable()
        self.assertTrue(self.fstp.isRoot(0))
        self.assertEqual(self.fstp.vlans[0].discarding, set())
        self.assertEqual(self.fstp.tick(100), [])


class Collector:
    """
    An in-process receiver that keeps the frames it gets.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []

    def frameReceived(self, frame: bytes) -> None:
        """
        Keep it.
        """
        self.frames.append(frame)


BROADCAST = b"\xff" * 6 + bytes.fromhex("020000000077") + b"\x08\x00" + bytes(46)


class SwitchHookTests(SynchronousTestCase):
    """
    The switch with FSTP: BPDUs consumed, discarding ports cut off.
    """

    def setUp(self) -> None:
        self.switch = Switch(mac=ME)
        self.collectors = [Collector() for _ in range(3)]
        self.sides = [self.switch.attach(c, port=n + 1) for n, c in enumerate(self.collectors)]

    def test_offForwardsBPDUs(self) -> None:
        """
        With FSTP off, BPDUs are flooded like any multicast, and the
        forwarding path is the plain one.
        """
        frame = bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3)
        self.sides[0].sendFrame(frame)
        self.assertEqual([c.frames for c in self.collectors], [[], [frame], [frame]])
        self.assertNotIn("frameFromPort", self.switch.__dict__)

    def test_onConsumesAndBlocks(self) -> None:
        """
        With FSTP on, BPDUs are not forwarded; once port 3 blocks, floods
        skip it and its frames are dropped; FSTP off again restores both.
        """
        self.switch.setFSTP(True)
        self.sides[2].sendFrame(bpdu(OTHER_MAC, 0x7C, OTHER_ID, 0, OTHER_ID, 1))
        self.assertEqual(self.collectors[2].frames, [mine(0x3C, 3)])
        self.sides[0].sendFrame(bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3))
        self.assertEqual(self.collectors[1].frames, [])
        self.assertEqual(self.collectors[0].frames[-1], mine(0x74, 1, ROOT_ID, COST))
        self.assertEqual(self.collectors[2].frames[-1], mine(0x0A, 3, ROOT_ID, COST))
        for c in self.collectors:
            del c.frames[:]
        self.sides[0].sendFrame(BROADCAST)
        self.assertEqual([c.frames for c in self.collectors], [[], [BROADCAST], []])
        self.sides[2].sendFrame(BROADCAST)
        self.assertEqual(self.switch.fstpDrops, 1)
        self.assertEqual(self.switch.ports[3].inPackets, 2)
        self.assertEqual([c.frames for c in self.collectors], [[], [BROADCAST], []])
        self.switch.setFSTP(False)
        self.sides[0].sendFrame(BROADCAST)
        self.assertEqual(self.collectors[2].frames, [BROADCAST])

    def test_tickSendsHellos(self) -> None:
        """
        The switch's tick drives the hellos, counted as sent.
        """
        self.switch.setFSTP(True)
        for _ in range(4):
            self.switch.tick()
        self.assertEqual([c.frames for c in self.collectors],
                         [[mine(0x7C, n)] for n in (1, 2, 3)])
        self.assertEqual(self.switch.ports[1].outPackets, 1)

    def test_hubStopsFSTP(self) -> None:
        """
        Hub mode stops FSTP.
        """
        self.switch.setFSTP(True)
        self.switch.setHub(True)
        self.assertFalse(self.switch.fstp.enabled)
        self.assertNotIn("frameFromPort", self.switch.__dict__)

    def test_leavingFlushesWhenOn(self) -> None:
        """
        With FSTP on, a port leaving is a topology change: the VLAN's MAC
        table is flushed.
        """
        self.switch.setFSTP(True)
        self.sides[0].sendFrame(BROADCAST)
        self.assertIsNotNone(self.switch.fdb.find(BROADCAST[6:12], 0))
        self.sides[1].loseConnection()
        self.assertIsNone(self.switch.fdb.find(BROADCAST[6:12], 0))


class CommandTests(SynchronousTestCase):
    """
    L{fstpcommands}, vde_switch's text and errors.
    """

    def setUp(self) -> None:
        self.switch = Switch(mac=ME)
        self.sides = [self.switch.attach(Collector(), port=n) for n in (1, 2)]

    def call(self, function: str, arg: object = "") -> Tuple[int, List[str]]:
        """
        Run a command function; its result and output lines.
        """
        out: List[str] = []
        rv = getattr(fstpcommands, function)(self.switch, out, arg)
        return rv, out

    def test_showinfo(self) -> None:
        """
        The MAC, the priority and whether FSTP runs.
        """
        self.assertEqual(self.call("fstpShowInfo"), (0, [
            "MAC 02:00:00:00:00:0a Priority 32768 (0x8000)", "FSTP=false"]))
        self.call("fstpSetFSTP", 1)
        self.assertEqual(self.call("fstpShowInfo")[1][1], "FSTP=true")

    def test_print(self) -> None:
        """
        With FSTP on, after the root was heard on port 1.
        """
        self.call("fstpSetFSTP", "1")
        self.switch.now = 7
        self.sides[0].sendFrame(bpdu(ROOT_MAC, 0x7C, ROOT_ID, 0, ROOT_ID, 3))
        self.switch.now = 9
        self.assertEqual(self.call("fstpPrint", ""), (0, [
            "FST DATA VLAN 0000  ",
            " ++ root 80:00:02:00:00:00:00:01",
            " ++ designated 80:00:02:00:00:00:00:01",
            " ++ rootport 0001 cost 20000000 age 2 bonusport 0000 bonuscost 0",
            " -- Port 0001 tagged=0 portcost=20000000 role=Root",
            " -- Port 0002 tagged=0 portcost=20000000 role=Designated",
        ]))
        self.call("fstpSetFSTP", 0)
        self.assertEqual(self.call("fstpPrint", "0")[1][:4], [
            "FST DATA VLAN 0000 ROOTSWITCH FSTP IS DISABLED",
            " ++ root 80:00:02:00:00:00:00:0a",
            " ++ designated ff:ff:ff:ff:ff:ff:ff:ff",
            " ++ rootport 0000 cost 0 age 9 bonusport 0000 bonuscost 0"])

    def test_printErrors(self) -> None:
        """
        An undefined VLAN is 1006, one out of range 1022.
        """
        self.assertEqual(self.call("fstpPrint", "5"), (1006 - 1000, []))
        self.assertEqual(self.call("fstpPrint", "9999"), (22, []))

    def test_setedgeAndBonus(self) -> None:
        """
        The argument checks of vde_switch (1022, then 1006), and the effect.
        """
        for function in ("fstpSetEdge", "fstpBonus"):
            self.assertEqual(self.call(function, "0 1")[0], 22)
            self.assertEqual(self.call(function, "x")[0], 22)
            self.assertEqual(self.call(function, "0 32 1")[0], 22)
            self.assertEqual(self.call(function, "4095 1 1")[0], 22)
            self.assertEqual(self.call(function, "5 1 1")[0], 6)
        self.assertEqual(self.call("fstpSetEdge", "0 1 0x1")[0], 0)
        self.assertEqual(self.switch.fstp.role(0, 1), "Edge")
        self.assertEqual(self.call("fstpBonus", "0 2 -5")[0], 0)
        self.assertIn("bonusport 0002 bonuscost -5", self.call("fstpPrint", "")[1][3])

    def test_setfstpHub(self) -> None:
        """
        In hub mode FSTP cannot start; the line says so.
        """
        self.switch.setHub(True)
        self.assertEqual(self.call("fstpSetFSTP", 1), (0, ["Can't use fstp in hub mode"]))
        self.assertFalse(self.switch.fstp.enabled)

    def test_plugins(self) -> None:
        """
        No plugin is ever loaded: vde_switch's answers for that.
        """
        self.assertEqual(self.call("pluginAdd", "")[0], 22)
        self.assertEqual(self.call("pluginAdd", "dump")[0], 2)
        self.assertEqual(self.call("pluginDel", "")[0], 2)
        self.assertEqual(self.call("pluginDel", "dump")[0], 2)


class OptionsTests(SynchronousTestCase):
    """
    C{-F} for C{twistd vdeswitch}.
    """

    def test_fstpOption(self) -> None:
        """
        C{-F} starts the switch with FSTP running.
        """
        from twisted.internet.task import Clock

        from vdetwist.switch.tap import Options, makeService
        options = Options()
        options.parseOptions(["-F", "-s", "/tmp/vdetwist-fstp-test-unused"])
        self.assertTrue(options["fstp"])
        service = makeService(options, Clock())
        self.assertTrue(service.switch.fstp.enabled)

    def test_fstpAndHub(self) -> None:
        """
        C{-F} with C{-x} is refused with a clear message.
        """
        from twisted.python.usage import UsageError

        from vdetwist.switch.tap import Options
        error = self.assertRaises(UsageError, Options().parseOptions, ["-F", "-x"])
        self.assertIn("hub", str(error))
