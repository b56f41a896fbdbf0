# -*- test-case-name: tests.switch.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.switch}: learning, flooding, VLAN tagging, hub
mode, counters and the in-process attachment API.
"""

import errno
import random
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from vdetwist.interfaces import (
    AttachError, IFrameProtocol, IFrameTransport, IPortAttachment, IPortProvider, ISwitchPort)
from vdetwist.switch.port import NOVLAN
from vdetwist.switch.switch import Switch, SwitchError
from vdetwist.wire.frames import MAX_FRAME

BROADCAST = b"\xff" * 6
MAC1 = bytes.fromhex("020000000001")
MAC2 = bytes.fromhex("020000000002")
MAC3 = bytes.fromhex("020000000003")


def frame(dst: bytes, src: bytes, ethertype: bytes = b"\x88\xb5",
          payload: bytes = b"x" * 46) -> bytes:
    """
    An untagged Ethernet frame.
    """
    return dst + src + ethertype + payload


def tagged(dst: bytes, src: bytes, vid: int, pcp: int = 0,
           payload: bytes = b"y" * 42) -> bytes:
    """
    An 802.1Q-tagged frame.
    """
    tci = (pcp << 13) | vid
    return dst + src + b"\x81\x00" + tci.to_bytes(2, "big") + b"\x88\xb5" + payload


@implementer(IFrameProtocol)
class Recorder:
    """
    An in-process attachment that records what reaches it.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []
        self.transport = None
        self.lost = []

    def makeConnection(self, transport):
        self.transport = transport

    def frameReceived(self, frame: bytes) -> None:
        self.frames.append(frame)

    def connectionLost(self, reason):
        self.lost.append(reason)


class SwitchTests(SynchronousTestCase):
    """
    Forwarding through L{Switch} with in-process attachments.
    """

    def setUp(self) -> None:
        self.switch = Switch(mac=b"\x00\xff\x01\x02\x03\x04")
        self.hosts = [Recorder() for _ in range(3)]
        for i, host in enumerate(self.hosts):
            self.switch.attach(host, "host%d" % (i,))

    def send(self, index: int, data: bytes) -> None:
        self.hosts[index].transport.sendFrame(data)

    def test_attachGivesLowestFreePorts(self) -> None:
        """
        Attachments take ports 1, 2, 3 in order and the transport they get
        provides L{IFrameTransport}; the switch side provides L{ISwitchPort}.
        """
        self.assertEqual([h.transport.endpoint.port.number for h in self.hosts], [1, 2, 3])
        verifyObject(IFrameTransport, self.hosts[0].transport)
        verifyObject(ISwitchPort, self.hosts[0].transport.endpoint)

    def test_broadcastFloodsExceptIngress(self) -> None:
        """
        A broadcast reaches every other port, unchanged, and not the sender.
        """
        data = frame(BROADCAST, MAC1)
        self.send(0, data)
        self.assertEqual(self.hosts[0].frames, [])
        self.assertEqual(self.hosts[1].frames, [data])
        self.assertEqual(self.hosts[2].frames, [data])

    def test_learnedUnicastGoesToOnePort(self) -> None:
        """
        Once MAC2 was seen on port 2, a frame for it goes only there; an
        unknown unicast floods.
        """
        self.send(1, frame(BROADCAST, MAC2))
        unknown = frame(MAC3, MAC1)
        self.send(0, unknown)
        self.assertEqual(self.hosts[2].frames, [frame(BROADCAST, MAC2), unknown])
        known = frame(MAC2, MAC1, payload=b"k" * 46)
        self.send(0, known)
        self.assertEqual(self.hosts[1].frames[-1], known)
        self.assertNotIn(known, self.hosts[2].frames)

    def test_frameBackToIngressDropped(self) -> None:
        """
        A frame for a MAC learned on the ingress port goes nowhere.
        """
        self.send(0, frame(BROADCAST, MAC1))
        before = [len(h.frames) for h in self.hosts]
        self.send(0, frame(MAC1, MAC3))
        self.assertEqual([len(h.frames) for h in self.hosts], before)

    def test_multicastSourceNotLearned(self) -> None:
        """
        A frame with a multicast source is forwarded but not learned.
        """
        source = bytes.fromhex("030000000009")
        self.send(0, frame(BROADCAST, source))
        self.assertIsNone(self.switch.fdb.find(source, 0))
        self.assertEqual(len(self.hosts[1].frames), 1)

    def test_minPersistence(self) -> None:
        """
        A MAC seen on port 1 moves to port 2 only when it was last seen on
        port 1 more than min-persistence seconds ago.
        """
        self.send(0, frame(BROADCAST, MAC1))
        self.send(1, frame(BROADCAST, MAC1))
        self.assertEqual(self.switch.fdb.find(MAC1, 0)[0].number, 1)
        for _ in range(4):
            self.switch.tick()
        self.send(1, frame(BROADCAST, MAC1))
        self.assertEqual(self.switch.fdb.find(MAC1, 0)[0].number, 2)

    def test_aging(self) -> None:
        """
        Entries unseen for more than the expire time are removed by the
        garbage collection tick.
        """
        self.switch.fdb.expire = 3
        self.send(0, frame(BROADCAST, MAC1))
        for _ in range(3):
            self.switch.tick()
        self.assertIsNotNone(self.switch.fdb.find(MAC1, 0))
        for _ in range(2):
            self.switch.tick()
        self.assertIsNone(self.switch.fdb.find(MAC1, 0))

    def test_fdbBound(self) -> None:
        """
        At the bound the least recently seen MAC is evicted so the new
        source is learned; every frame still floods; evictions are counted.
        """
        self.switch.fdb.maxEntries = 2
        for i in range(5):
            self.send(0, frame(BROADCAST, bytes([2, 0, 0, 0, 1, i])))
        self.assertEqual(self.switch.fdb.count, 2)
        self.assertEqual((self.switch.fdb.evicted, self.switch.fdb.dropped), (3, 0))
        self.assertIsNotNone(self.switch.fdb.find(bytes([2, 0, 0, 0, 1, 4]), 0))
        self.assertEqual(len(self.hosts[1].frames), 5)

    def test_exhaustionFromOnePort(self) -> None:
        """
        After one port sends from 20,000 random source MACs, a host that
        joins later on another port is learned, and unicast to it goes to
        its port only: the third host sees none of it.
        """
        rnd = random.Random(10)
        for _ in range(20000):
            self.send(0, frame(BROADCAST, bytes([2]) + rnd.randbytes(5)))
        self.switch.tick()
        self.send(1, frame(BROADCAST, MAC2))
        entry = self.switch.fdb.find(MAC2, 0)
        self.assertEqual(entry[0].number, 2)
        before = len(self.hosts[2].frames)
        data = [frame(MAC2, MAC3, payload=bytes([i]) * 46) for i in range(100)]
        for f in data:
            self.send(2, f)
        self.assertEqual(self.hosts[1].frames[-100:], data)
        self.assertEqual(self.hosts[0].frames[-1:], [frame(BROADCAST, MAC2)])
        self.assertEqual(len(self.hosts[2].frames), before)
        self.assertLessEqual(self.switch.fdb.portCount(self.switch.getPort(1)),
                             self.switch.fdb.maxPortEntries)
        self.assertGreater(self.switch.fdb.portEvicted, 0)

    def test_exhaustionOfTheTable(self) -> None:
        """
        With no per-port bound, the same flood fills the table, and the new
        host is still learned (the table's least recently seen goes).
        """
        self.switch.fdb.setMaxPortEntries(0)
        self.switch.fdb.setMaxEntries(1000)
        rnd = random.Random(10)
        for _ in range(20000):
            self.send(0, frame(BROADCAST, bytes([2]) + rnd.randbytes(5)))
        self.send(1, frame(BROADCAST, MAC2))
        self.assertEqual(self.switch.fdb.find(MAC2, 0)[0].number, 2)
        self.assertEqual(self.switch.fdb.count, 1000)
        self.assertGreaterEqual(self.switch.fdb.evicted, 19000)
        self.send(2, frame(MAC2, MAC3))
        self.assertEqual(self.hosts[0].frames[-1], frame(BROADCAST, MAC2))

    def test_knownSourceRefreshedOncePerSecond(self) -> None:
        """
        A known source is moved to the back of the eviction order when its
        second changes, so a host that keeps talking survives a flood from
        another port that fills the table.
        """
        self.switch.fdb.setMaxPortEntries(0)
        self.switch.fdb.setMaxEntries(50)
        self.send(1, frame(BROADCAST, MAC2))
        for second in range(10):
            self.switch.tick()
            self.send(1, frame(BROADCAST, MAC2))
            for i in range(10):
                self.send(0, frame(BROADCAST, bytes([2, 0, 0, 1, second, i])))
        self.assertEqual(self.switch.fdb.find(MAC2, 0)[0].number, 2)
        self.assertEqual(self.switch.fdb.count, 50)

    def test_runtsAndOversizeDropped(self) -> None:
        """
        Frames under 14 bytes and over 9234 bytes are dropped and counted;
        a 9234-byte jumbo frame passes.
        """
        self.send(0, b"\xff" * 13)
        self.send(0, frame(BROADCAST, MAC1, payload=b"j" * (MAX_FRAME - 13)))
        self.send(0, frame(BROADCAST, MAC1, payload=b"j" * (MAX_FRAME - 14)))
        self.assertEqual(self.switch.runts, 1)
        self.assertEqual(self.switch.oversize, 1)
        self.assertEqual([len(f) for f in self.hosts[1].frames], [MAX_FRAME])

    def test_counters(self) -> None:
        """
        IN counts frames and bytes from a port; OUT counts once per output
        port with the length sent.
        """
        self.send(0, frame(BROADCAST, MAC1))
        port1 = self.switch.getPort(1)
        port2 = self.switch.getPort(2)
        self.assertEqual((port1.inPackets, port1.inBytes), (1, 60))
        self.assertEqual((port2.outPackets, port2.outBytes), (1, 60))
        self.switch.resetCounters()
        self.assertEqual((port1.inPackets, port2.outBytes), (0, 0))

    def test_hubMode(self) -> None:
        """
        In hub mode a known unicast still goes to every other port.
        """
        self.send(1, frame(BROADCAST, MAC2))
        self.switch.setHub(True)
        data = frame(MAC2, MAC1)
        self.send(0, data)
        self.assertIn(data, self.hosts[1].frames)
        self.assertIn(data, self.hosts[2].frames)
        self.assertNotIn(data, self.hosts[0].frames)

    def test_detachFlushesAndFreesPort(self) -> None:
        """
        Detaching the last endpoint makes the port inactive, flushes its
        MACs, tells the receiver, and frees the port for the next attach.
        """
        self.send(1, frame(BROADCAST, MAC2))
        self.hosts[1].transport.loseConnection()
        self.assertEqual(len(self.hosts[1].lost), 1)
        self.assertIsNone(self.switch.fdb.find(MAC2, 0))
        self.assertFalse(self.switch.getPort(2).active)
        again = Recorder()
        self.switch.attach(again, "again")
        self.assertEqual(again.transport.endpoint.port.number, 2)

    def test_debugEvents(self) -> None:
        """
        Observers get vde_switch's debug events in its formats.
        """
        events = []
        self.switch.addObserver(lambda category, message: events.append((category, message)))
        self.send(0, frame(BROADCAST, MAC1))
        self.hosts[0].transport.loseConnection()
        self.assertEqual(events[0], ("hash/+", "02:00:00:00:00:01 VLAN 00:00 Port 1"))
        self.assertEqual([e[0] for e in events[1:]], ["port/ep/-", "port/-", "hash/-"])
        self.assertEqual(events[2], ("port/-", "01"))


class VLANTests(SynchronousTestCase):
    """
    802.1Q: untagged access ports, a trunk, tags added and stripped.
    """

    def setUp(self) -> None:
        self.switch = Switch()
        self.switch.createVLAN(10)
        self.switch.createVLAN(20)
        self.access10 = Recorder()
        self.access20 = Recorder()
        self.trunk = Recorder()
        self.other = Recorder()
        for host in (self.access10, self.access20, self.trunk, self.other):
            self.switch.attach(host)
        self.switch.setPortVLAN(1, 10)
        self.switch.setPortVLAN(2, 20)
        self.switch.addTaggedPort(10, 3)
        self.switch.addTaggedPort(20, 3)

    def test_accessPortsIsolated(self) -> None:
        """
        Ports on different untagged VLANs cannot reach each other, nor a
        port on VLAN 0.
        """
        self.access10.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.access20.frames, [])
        self.assertEqual(self.other.frames, [])

    def test_trunkReceivesTagged(self) -> None:
        """
        A frame from an access port reaches the trunk with a tag carrying the
        right VID, PCP 0.
        """
        data = frame(BROADCAST, MAC1)
        self.access10.transport.sendFrame(data)
        self.assertEqual(self.trunk.frames,
                         [data[:12] + b"\x81\x00\x00\x0a" + data[12:]])
        self.access20.transport.sendFrame(frame(BROADCAST, MAC2))
        self.assertEqual(self.trunk.frames[-1][12:16], b"\x81\x00\x00\x14")

    def test_trunkTaggedReachesRightAccessPort(self) -> None:
        """
        A tagged frame from the trunk reaches the access port of its VLAN
        untagged (PCP lost), and no other.
        """
        data = tagged(BROADCAST, MAC3, 20, pcp=5)
        self.trunk.transport.sendFrame(data)
        self.assertEqual(self.access20.frames, [data[:12] + data[16:]])
        self.assertEqual(self.access10.frames, [])
        self.assertEqual(self.other.frames, [])

    def test_learnedUnicastAcrossTrunk(self) -> None:
        """
        Known unicast is re-encoded too: trunk to access strips, access to
        trunk inserts.
        """
        self.trunk.transport.sendFrame(tagged(BROADCAST, MAC3, 10))
        data = frame(MAC3, MAC1)
        self.access10.transport.sendFrame(data)
        self.assertEqual(self.trunk.frames[-1], data[:12] + b"\x81\x00\x00\x0a" + data[12:])
        back = tagged(MAC1, MAC3, 10)
        self.trunk.transport.sendFrame(back)
        self.assertEqual(self.access10.frames[-1], back[:12] + back[16:])

    def test_tagForNonMemberDropped(self) -> None:
        """
        A tagged frame for a VLAN the port is not in is dropped and counted.
        """
        self.switch.createVLAN(30)
        self.trunk.transport.sendFrame(tagged(BROADCAST, MAC3, 30))
        self.assertEqual(self.switch.vlanDrops, 1)

    def test_priorityTagStripped(self) -> None:
        """
        A priority-tagged frame (VID 0) from a VLAN-0 port reaches other
        VLAN-0 ports untagged.
        """
        fifth = Recorder()
        self.switch.attach(fifth)
        data = tagged(BROADCAST, MAC1, 0, pcp=3)
        self.other.transport.sendFrame(data)
        self.assertEqual(fifth.frames, [data[:12] + data[16:]])
        self.assertEqual(self.other.frames, [])

    def test_noVLANPortDropsUntagged(self) -> None:
        """
        A port set to VLAN 4095 carries no untagged traffic.
        """
        self.switch.setPortVLAN(4, NOVLAN)
        self.other.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.switch.vlanDrops, 1)

    def test_configurationErrors(self) -> None:
        """
        The configuration verbs refuse with vde_switch's errnos.
        """
        cases = [
            (lambda: self.switch.createVLAN(10), errno.EEXIST),
            (lambda: self.switch.createVLAN(0), errno.EINVAL),
            (lambda: self.switch.createVLAN(4095), errno.EINVAL),
            (lambda: self.switch.removeVLAN(10), errno.EADDRINUSE),
            (lambda: self.switch.removeVLAN(99), errno.ENXIO),
            (lambda: self.switch.setPortVLAN(1, 99), errno.ENXIO),
            (lambda: self.switch.delTaggedPort(10, 1), errno.EADDRINUSE),
            (lambda: self.switch.removePort(1), errno.EADDRINUSE),
            (lambda: self.switch.getPort(99), errno.EINVAL),
            (lambda: self.switch.getPort(9), errno.ENXIO),
            (lambda: self.switch.setNumPorts(3), errno.EADDRINUSE),
            (lambda: self.switch.setNumPorts(0), errno.EINVAL),
        ]
        for call, code in cases:
            e = self.assertRaises(SwitchError, call)
            self.assertEqual(e.errno, code)
        self.switch.createVLAN(4094)
        self.assertIn(4094, self.switch.vlans)


class PortSelectionTests(SynchronousTestCase):
    """
    Port choice for new endpoints (docs/vde-protocol.md 1.5).
    """

    def test_explicitAndPort0(self) -> None:
        """
        An explicit port is created on the fly; port 0 is only given on
        request; out of range is EINVAL.
        """
        switch = Switch(numports=8)
        self.assertEqual(switch.choosePort(5, False).number, 5)
        self.assertEqual(switch.choosePort(0, True).number, 0)
        self.assertEqual(switch.choosePort(0, False).number, 1)
        e = self.assertRaises(SwitchError, switch.choosePort, 8, False)
        self.assertEqual(e.errno, errno.EINVAL)

    def test_createdPortsNotAllocatable(self) -> None:
        """
        A port made with port/create is skipped by automatic allocation.
        """
        switch = Switch(numports=4)
        switch.createPort(1)
        self.assertEqual(switch.choosePort(0, False).number, 2)

    def test_full(self) -> None:
        """
        With every port busy, automatic allocation fails with ENOSPC.
        """
        switch = Switch(numports=3)
        switch.attach(Recorder())
        switch.attach(Recorder())
        e = self.assertRaises(SwitchError, switch.attach, Recorder())
        self.assertEqual(e.errno, errno.ENOSPC)

    def test_accessControl(self) -> None:
        """
        A port with an owner takes only that user (and root); an active port
        only its current user.
        """
        switch = Switch(numports=4)
        switch.createPort(2)
        switch.setPortUser(2, 1000)
        self.assertRaises(SwitchError, switch.choosePort, 2, False, 1001, ())
        self.assertEqual(switch.choosePort(2, False, 1000, ()).number, 2)
        self.assertEqual(switch.choosePort(2, False, 0, ()).number, 2)
        switch.setPortUser(2, -1)
        switch.setPortGroup(2, 50)
        self.assertEqual(switch.choosePort(2, False, 1001, (50,)).number, 2)
        self.assertRaises(SwitchError, switch.choosePort, 2, False, 1001, (51,))


class AttachContractTests(SynchronousTestCase):
    """
    L{Switch} as an L{IPortProvider}: what L{Switch.attach} gives and how
    the port and the receiver meet.
    """

    def setUp(self) -> None:
        self.switch = Switch(numports=4)

    def test_provides(self) -> None:
        """
        The switch provides L{IPortProvider}; an attachment provides
        L{IPortAttachment}, with the port number and an endpoint ID from
        10000 up, and is what the receiver's C{makeConnection} got.
        """
        self.assertTrue(verifyObject(IPortProvider, self.switch))
        first, second = Recorder(), Recorder()
        a = self.switch.attach(first, "first")
        b = self.switch.attach(second, "second", port=3)
        self.assertTrue(verifyObject(IPortAttachment, a))
        self.assertIs(first.transport, a)
        self.assertEqual((a.portNumber, a.endpointID), (1, 10000))
        self.assertEqual((b.portNumber, b.endpointID), (3, 10001))
        endpoint = self.switch.getPort(3).endpoints[0]
        self.assertEqual((endpoint.module, endpoint.endpointID, endpoint.description),
                         ("in-process", 10001, "second"))

    def test_switchErrorIsAttachError(self) -> None:
        """
        A refused attach raises L{SwitchError}, an L{AttachError} with the
        errno as C{code} (and C{errno}) and a reason.
        """
        switch = Switch(numports=2)
        switch.attach(Recorder())
        e = self.assertRaises(AttachError, switch.attach, Recorder())
        self.assertIsInstance(e, SwitchError)
        self.assertEqual((e.code, e.errno), (errno.ENOSPC, errno.ENOSPC))
        self.assertEqual(e.reason, "all ports are busy")
        self.assertEqual(e.args, (errno.ENOSPC, "all ports are busy"))
        e = SwitchError(errno.ENXIO)
        self.assertEqual(e.reason, "No such device or address")

    def test_receiverNamesItself(self) -> None:
        """
        A receiver with C{module} and C{endpointID} attributes is shown with
        them (as cables are).
        """
        receiver = Recorder()
        receiver.module = "cable"
        receiver.endpointID = 20003
        attachment = self.switch.attach(receiver, "cable 3 tcp:7000")
        self.assertEqual(attachment.endpointID, 20003)
        endpoint = self.switch.getPort(attachment.portNumber).endpoints[0]
        self.assertEqual((endpoint.module, endpoint.endpointID, endpoint.description),
                         ("cable", 20003, "cable 3 tcp:7000"))
        self.switch.closeEndpoint(attachment.portNumber, 20003)
        self.assertEqual(len(receiver.lost), 1)

    def test_noCallInBetween(self) -> None:
        """
        The port sends straight to the receiver's C{frameReceived}; after
        the receiver replaces it, C{receiverChanged} makes the port send to
        the new one.
        """
        receiver = Recorder()
        attachment = self.switch.attach(receiver)
        port = self.switch.getPort(attachment.portNumber)
        self.assertEqual(port.send, receiver.frameReceived)
        other: List[bytes] = []
        receiver.frameReceived = other.append
        attachment.receiverChanged()
        self.assertEqual(port.send, other.append)
        sender = Recorder()
        self.switch.attach(sender).sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual((receiver.frames, other), ([], [frame(BROADCAST, MAC1)]))

    def test_closedAttachmentDrops(self) -> None:
        """
        After C{loseConnection} the attachment's C{sendFrame} puts nothing
        into the switch, and its port number is -1; closing twice tells the
        receiver once.
        """
        sender, listener = Recorder(), Recorder()
        attachment = self.switch.attach(sender)
        self.switch.attach(listener)
        send = attachment.sendFrame
        attachment.loseConnection()
        attachment.loseConnection()
        send(frame(BROADCAST, MAC1))
        self.assertEqual(listener.frames, [])
        self.assertEqual(self.switch.getPort(1).inPackets, 0)
        self.assertEqual(attachment.portNumber, -1)
        self.assertEqual(len(sender.lost), 1)

    def test_plainReceiver(self) -> None:
        """
        A receiver that is only an L{IFrameReceiver} (no C{makeConnection})
        gets frames too; it uses the returned attachment.
        """
        frames: List[bytes] = []

        class Plain:
            frameReceived = frames.append
        attachment = self.switch.attach(Plain())
        self.switch.attach(Recorder()).sendFrame(frame(BROADCAST, MAC2))
        self.assertEqual(frames, [frame(BROADCAST, MAC2)])
        attachment.loseConnection()
        self.assertFalse(self.switch.getPort(1).active)


class ForwardingPropertyTests(SynchronousTestCase):
    """
    Arbitrary frames never raise out of the forwarding path.
    """

    @settings(max_examples=500, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=80)), max_size=20))
    def test_arbitraryFrames(self, frames) -> None:
        """
        Any bytes, from any port, in any order, are forwarded or dropped
        without an exception, including on a trunk.
        """
        switch = Switch(numports=4)
        switch.createVLAN(7)
        hosts = [Recorder() for _ in range(3)]
        for host in hosts:
            switch.attach(host)
        switch.addTaggedPort(7, 3)
        for index, data in frames:
            hosts[index].transport.sendFrame(data)
