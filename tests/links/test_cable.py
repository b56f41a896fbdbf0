# -*- test-case-name: tests.links.test_cable -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.cable}: cables as switch ports over byte
streams, their strict framing, the bound on what a non-reading peer costs,
the cable table, and dialled cables reconnecting over real loopback TCP.
"""

import os
import tempfile
from typing import Any, List

from twisted.internet import defer, reactor, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from tests.switch.test_switch import BROADCAST, MAC1, MAC2, Recorder, frame
from vdetwist.interfaces import IPortAttachment
from vdetwist.links import cable as cablemodule
from vdetwist.links.cable import (
    MAX_BACKLOG, STALL_TIMEOUT, CableError, CableManager, CableProtocol)
from vdetwist.links.linkemu import LinkParameters
from vdetwist.links.loopguard import PROBE_DESTINATION
from vdetwist.switch.switch import Switch


def framed(data: bytes) -> bytes:
    """
    One frame with VDE's stream header (2 bytes, big-endian length),
    written out independently of L{vdetwist.vde.stream}.
    """
    return bytes([len(data) >> 8, len(data) & 0xFF]) + data


class CableTestCase(SynchronousTestCase):
    """
    A switch with an in-process host on it and a cable manager listening
    on a memory reactor; L{connect} makes accepted cables on string
    transports.  The loop guard is off unless C{loopGuard} says otherwise
    (its probes would be on every wire).
    """

    loopGuard = False

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.clock = MemoryReactorClock()
        self.switch = Switch(mac=b"\x00\xff\x01\x02\x03\x04")
        self.host = Recorder()
        self.switch.attach(self.host, "host")
        self.manager = CableManager(self.clock, self.switch, loopGuard=self.loopGuard)
        self.listener = self.manager.listen("tcp:7000:interface=127.0.0.1")
        self.manager.startService()
        self.addCleanup(self.manager.stopService)
        self.logged: List[dict] = []
        from twisted.logger import globalLogPublisher
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def connect(self, port: int = 40000) -> "tuple[CableProtocol, StringTransport]":
        """
        Accept one cable.

        @param port: the peer's TCP port.
        @return: the protocol and its transport.
        """
        peer = IPv4Address("TCP", "127.0.0.1", port)
        protocol = self.listener.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport

    def lose(self, protocol: CableProtocol, transport: StringTransport) -> None:
        """
        Deliver the connection loss a real transport would after an abort
        or close.
        """
        if transport.disconnecting or getattr(transport, "disconnected", False):
            from twisted.internet.error import ConnectionDone
            from twisted.python.failure import Failure
            protocol.connectionLost(Failure(ConnectionDone()))

    def warnings(self) -> List[str]:
        """
        The text of the warnings logged so far.
        """
        from twisted.logger import LogLevel, formatEvent
        return [formatEvent(e) for e in self.logged if e.get("log_level") == LogLevel.warn]


class CableProtocolTests(CableTestCase):
    """
    One cable connection as a switch port.
    """

    def test_interface(self) -> None:
        """
        A cable connection holds a switch port taken through the attach
        contract (an L{IPortAttachment}), shown by port/print with module
        C{cable}, endpoint ID 20000 + its cable ID and its description.
        """
        protocol, transport = self.connect()
        self.assertTrue(verifyObject(IPortAttachment, protocol.attachment))
        self.assertEqual(protocol.module, "cable")
        self.assertEqual(protocol.attachment.portNumber, protocol.portNumber)
        endpoints = self.switch.ports[protocol.portNumber].endpoints
        self.assertEqual([(e.module, e.endpointID, e.description) for e in endpoints],
                         [("cable", 20002, "cable 2 tcp:7000:interface=127.0.0.1")])

    def test_noExtraCall(self) -> None:
        """
        The switch port sends straight to the cable's writer: no call in
        between, with or without link emulation.
        """
        protocol, transport = self.connect()
        port = self.switch.ports[protocol.portNumber]
        self.assertEqual(port.send, protocol.sendDirect)
        params = LinkParameters()
        params.set("delay", "10")
        self.listener.setLink(params)
        self.assertEqual(port.send, protocol.link.sendOut)
        self.listener.setLink(None)
        self.assertEqual(port.send, protocol.sendDirect)

    def test_framesIn(self) -> None:
        """
        Frames read from the stream, whole, split across reads, or several
        in one read, go into the switch; zero-length headers are skipped.
        """
        protocol, transport = self.connect()
        f1 = frame(BROADCAST, MAC1, payload=b"a" * 46)
        f2 = frame(BROADCAST, MAC1, payload=b"b" * 100)
        data = framed(f1) + b"\x00\x00" + framed(f2)
        protocol.dataReceived(data[:1])
        protocol.dataReceived(data[1:30])
        protocol.dataReceived(data[30:])
        self.assertEqual(self.host.frames, [f1, f2])
        self.assertEqual((protocol.framesIn, protocol.bytesIn), (2, len(f1) + len(f2)))

    def test_framesOut(self) -> None:
        """
        Frames the switch sends to the cable's port are written with the
        length header.
        """
        protocol, transport = self.connect()
        f = frame(BROADCAST, MAC2)
        self.host.transport.sendFrame(f)
        self.assertEqual(transport.value(), framed(f))
        self.assertEqual((protocol.framesOut, protocol.bytesOut), (1, len(f)))

    def test_learningThroughCable(self) -> None:
        """
        A MAC seen on the cable is learned on its port: unicast to it goes
        only there.
        """
        protocol, transport = self.connect()
        other, otherTransport = self.connect(40001)
        protocol.dataReceived(framed(frame(BROADCAST, MAC1)))
        otherTransport.clear()
        f = frame(MAC1, MAC2)
        self.host.transport.sendFrame(f)
        self.assertEqual(transport.value()[-len(f) - 2:], framed(f))
        self.assertEqual(otherTransport.value(), b"")

    def test_badLengthDropsCable(self) -> None:
        """
        A length above 9236 drops that cable with a logged reason; the good
        frames before it are delivered, and the switch and another cable
        keep working.
        """
        protocol, transport = self.connect()
        other, otherTransport = self.connect(40001)
        good = frame(BROADCAST, MAC1)
        protocol.dataReceived(framed(good) + b"\xff\xff" + b"junk" * 10)
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(protocol.attachment)
        self.assertIsNone(protocol.portNumber)
        self.assertIn("bad frame length 65535", protocol.dropReason)
        self.assertTrue(any("bad frame length" in w for w in self.warnings()))
        self.lose(protocol, transport)
        self.assertEqual(self.host.frames, [good])
        f = frame(BROADCAST, MAC2, payload=b"c" * 46)
        other.dataReceived(framed(f))
        self.assertEqual(self.host.frames, [good, f])
        self.assertNotIn(protocol.cableID, self.manager.cables)
        self.assertIn(other.cableID, self.manager.cables)

    def test_garbageDropsCable(self) -> None:
        """
        Text on a cable (a web client, say) is not a VDE stream: dropped.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.host.frames, [])

    def test_runtDropsCable(self) -> None:
        """
        A frame shorter than an Ethernet header drops the cable.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(framed(b"\x01\x02\x03"))
        self.assertTrue(transport.disconnecting)
        self.assertIn("runt frame of 3 bytes", protocol.dropReason)

    def test_oversizeNotWritten(self) -> None:
        """
        A frame longer than the stream's maximum is counted and not
        written.
        """
        protocol, transport = self.connect()
        protocol.sendFrame(b"\x00" * 9237)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(protocol.drops, 1)

    def test_backlogBound(self) -> None:
        """
        While the transport says its buffer is full, at most L{MAX_BACKLOG}
        more bytes are written; the rest is dropped and counted.
        """
        protocol, transport = self.connect()
        transport.producer.pauseProducing()
        f = frame(BROADCAST, MAC2, payload=b"z" * 1000)
        count = MAX_BACKLOG // len(f) + 10
        for _ in range(count):
            protocol.sendFrame(f)
        self.assertLessEqual(len(transport.value()), MAX_BACKLOG + len(f) + 2)
        self.assertGreater(protocol.drops, 0)
        self.assertEqual(protocol.framesOut + protocol.drops, count)
        transport.producer.resumeProducing()
        transport.clear()
        protocol.sendFrame(f)
        self.assertEqual(transport.value(), framed(f))

    def test_stalledPeerDropped(self) -> None:
        """
        A peer that does not read for L{STALL_TIMEOUT} seconds is dropped
        with a logged reason; one that reads again in time is kept.
        """
        protocol, transport = self.connect()
        transport.producer.pauseProducing()
        self.clock.advance(STALL_TIMEOUT - 1)
        transport.producer.resumeProducing()
        self.clock.advance(5)
        self.assertFalse(transport.disconnecting)
        transport.producer.pauseProducing()
        self.clock.advance(STALL_TIMEOUT)
        self.assertTrue(transport.disconnecting)
        self.assertIn("stopped reading", protocol.dropReason)
        self.assertTrue(any("stopped reading" in w for w in self.warnings()))

    def test_epcloseClosesCable(self) -> None:
        """
        Closing the endpoint from the switch (port/epclose) closes the
        stream and frees the port.
        """
        protocol, transport = self.connect()
        number = protocol.portNumber
        self.switch.closeEndpoint(number, protocol.endpointID)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(self.switch.ports[number].endpoints)

    def test_connectionLostFreesPort(self) -> None:
        """
        The peer closing frees the port and removes the accepted entry.
        """
        protocol, transport = self.connect()
        port = self.switch.ports[protocol.portNumber]
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertFalse(port.endpoints)
        self.assertEqual(self.listener.accepted, {})

    def test_noFreePort(self) -> None:
        """
        When the switch has no free port, the cable is dropped with that
        reason.
        """
        self.switch.setNumPorts(2)
        protocol, transport = self.connect()
        self.assertTrue(transport.disconnecting)
        self.assertIn("no switch port", protocol.dropReason)

    def test_tooManyAccepted(self) -> None:
        """
        A listener accepts at most L{cablemodule.MAX_ACCEPTED} cables at
        once; more are refused and counted.
        """
        self.patch(cablemodule, "MAX_ACCEPTED", 2)
        self.connect(1)
        self.connect(2)
        self.assertIsNone(self.listener.buildProtocol(IPv4Address("TCP", "127.0.0.1", 3)))
        self.assertEqual(self.listener.refused, 1)


class CableTableTests(CableTestCase):
    """
    The manager's table and C{cable/print}'s lines.
    """

    def test_describe(self) -> None:
        """
        The listener and each accepted cable have a line, with the peer,
        port and counters.
        """
        protocol, transport = self.connect()
        protocol.dataReceived(framed(frame(BROADCAST, MAC1)))
        lines = self.manager.describe()
        self.assertEqual(lines[0], "Cable 0001 listen   LISTENING 1 connection "
                                   "tcp:7000:interface=127.0.0.1")
        self.assertEqual(lines[1], "Cable 0002 accepted CONNECTED by 1 "
                                   "tcp:7000:interface=127.0.0.1")
        self.assertEqual(lines[2], " peer 127.0.0.1:40000 port %04d" % (protocol.portNumber,))
        self.assertEqual(lines[3], " IN:  pkts          1          bytes                   60")

    def test_dialDescribe(self) -> None:
        """
        A dialled cable on a memory reactor shows C{CONNECTING}.
        """
        entry = self.manager.dial("tcp:127.0.0.1:7001")
        self.assertEqual(entry.kind, "dial")
        self.assertEqual(self.manager.describe(entry.cableID)[0],
                         "Cable %04d dial     CONNECTING attempt 1 tcp:127.0.0.1:7001"
                         % (entry.cableID,))

    def test_remove(self) -> None:
        """
        Removing a listener drops its accepted cables and stops listening.
        """
        protocol, transport = self.connect()
        self.manager.remove(self.listener.cableID)
        self.assertTrue(transport.disconnecting)
        self.assertNotIn(self.listener.cableID, self.manager.cables)
        self.assertRaises(KeyError, self.manager.remove, 999)

    def test_badDescriptions(self) -> None:
        """
        Bad endpoint descriptions raise L{CableError}.
        """
        self.assertRaises(CableError, self.manager.listen, "")
        self.assertRaises(CableError, self.manager.listen, "nosuch:1")
        self.assertRaises(CableError, self.manager.dial, "tcp:host")
        self.assertRaises(CableError, self.manager.listen, "tls:7000:privateKey=/nonexistent")

    def test_registeredKinds(self) -> None:
        """
        Other kinds of link are added through what registered them; a kind
        nobody registered is a L{CableError}, and so is a full table.
        """
        self.assertRaises(CableError, self.manager.add, "vxlan", "0.0.0.0:4789,1")
        self.assertRaises(CableError, self.manager.addVXVDE, "")
        made: List[Any] = []

        def factory(manager: CableManager, description: str, params: Any) -> Any:
            entry = cablemodule.Cable(manager, manager.allocateID(), description, params)
            entry.kind = "test"
            manager.remember(entry)
            made.append(entry)
            return entry
        self.manager.registerKind("test", factory)
        entry = self.manager.add("test", "anything")
        self.assertEqual(made, [entry])
        self.assertIs(self.manager.cables[entry.cableID], entry)
        self.assertEqual(self.manager.describe(entry.cableID),
                         ["Cable %04d test      anything" % (entry.cableID,)])
        self.patch(cablemodule, "MAX_CABLES", len(self.manager.cables))
        self.assertRaises(CableError, self.manager.add, "test", "more")
        self.assertEqual(len(made), 1)

    def test_linkEmulationOnCable(self) -> None:
        """
        Setting a delay on a cable holds its frames until the delay has
        passed, in both directions; clearing it sends directly again.
        """
        protocol, transport = self.connect()
        params = LinkParameters()
        params.set("delay", "100")
        self.listener.setLink(params)
        f = frame(BROADCAST, MAC2)
        self.host.transport.sendFrame(f)
        self.assertEqual(transport.value(), b"")
        protocol.dataReceived(framed(frame(BROADCAST, MAC1)))
        self.assertEqual(self.host.frames, [])
        self.clock.advance(0.1)
        self.assertEqual(transport.value(), framed(f))
        self.assertEqual(len(self.host.frames), 1)
        self.listener.setLink(None)
        transport.clear()
        self.host.transport.sendFrame(f)
        self.assertEqual(transport.value(), framed(f))


class LoopbackCableTests(TestCase):
    """
    Two switches joined by a real loopback TCP cable.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.switchA = Switch()
        self.switchB = Switch()
        self.hostA = Recorder()
        self.hostB = Recorder()
        self.switchA.attach(self.hostA, "a")
        self.switchB.attach(self.hostB, "b")
        self.managerA = CableManager(reactor, self.switchA, loopGuard=self.loopGuard)
        self.managerB = CableManager(reactor, self.switchB, loopGuard=self.loopGuard)
        self.managerA.startService()
        self.managerB.startService()
        self.addCleanup(self.managerB.stopService)
        self.addCleanup(self.managerA.stopService)

    loopGuard = False

    @defer.inlineCallbacks
    def waitFor(self, condition: Any, timeout: float = 10.0) -> Any:
        """
        Poll the reactor until C{condition()} is true.
        """
        for _ in range(int(timeout / 0.01)):
            if condition():
                return
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.fail("condition not met in %s s" % (timeout,))

    def received(self, host: Recorder) -> List[bytes]:
        """
        The frames a host received, without the loop guard's probes (which
        every switch floods).
        """
        return [f for f in host.frames if f[:6] != PROBE_DESTINATION]

    @defer.inlineCallbacks
    def test_frameBothWaysAndReconnect(self) -> None:
        """
        A dialled cable carries frames both ways; when the listener goes
        away and comes back on the same port, the dialled side reconnects
        by itself and frames flow again.
        """
        listener = self.managerA.listen("tcp:0:interface=127.0.0.1")
        yield self.waitFor(lambda: listener.listeningPort is not None)
        portNumber = listener.listeningPort.getHost().port
        dialed = self.managerB.dial("tcp:127.0.0.1:%d" % (portNumber,),
                                    retryPolicy=lambda attempt: 0.05)
        yield self.waitFor(lambda: dialed.state() == "CONNECTED" and listener.accepted)
        fromA = frame(BROADCAST, MAC1)
        self.hostA.transport.sendFrame(fromA)
        yield self.waitFor(lambda: self.received(self.hostB))
        self.assertEqual(self.received(self.hostB), [fromA])
        fromB = frame(MAC1, MAC2)
        self.hostB.transport.sendFrame(fromB)
        yield self.waitFor(lambda: self.received(self.hostA))
        self.assertEqual(self.received(self.hostA), [fromB])

        yield self.managerA.remove(listener.cableID)
        yield self.waitFor(lambda: dialed.state().startswith("CONNECTING"))
        listener = self.managerA.listen("tcp:%d:interface=127.0.0.1" % (portNumber,))
        yield self.waitFor(lambda: dialed.state() == "CONNECTED" and listener.accepted)
        self.assertEqual(dialed.connects, 2)
        self.hostA.transport.sendFrame(fromA)
        yield self.waitFor(lambda: len(self.received(self.hostB)) == 2)

    @defer.inlineCallbacks
    def test_unixCable(self) -> None:
        """
        A cable over a UNIX socket, made 0600.
        """
        directory = tempfile.mkdtemp()
        path = os.path.join(directory, "cable")
        self.addCleanup(os.rmdir, directory)
        listener = self.managerA.listen("unix:" + path)
        yield self.waitFor(lambda: listener.listeningPort is not None)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        dialed = self.managerB.dial("unix:" + path, retryPolicy=lambda attempt: 0.05)
        yield self.waitFor(lambda: dialed.state() == "CONNECTED")
        self.hostB.transport.sendFrame(frame(BROADCAST, MAC2))
        yield self.waitFor(lambda: self.received(self.hostA))
        yield self.managerA.remove(listener.cableID)


class LoopbackLoopTests(LoopbackCableTests):
    """
    The loopback cable tests again with the loop guard on (a single cable is
    no loop: it is never blocked), and two switches joined by two parallel
    cables, or three in a triangle: loops the guard breaks.
    """

    loopGuard = True

    def connections(self, *managers: CableManager) -> List[CableProtocol]:
        """
        The live cable connections (not listeners) of some managers.
        """
        return [c for m in managers for e in m.cables.values() if e.kind != "listen"
                for c in e.connections()]

    @defer.inlineCallbacks
    def test_frameBothWaysAndReconnect(self) -> None:
        """
        As without the guard; the cable is never blocked.
        """
        yield LoopbackCableTests.test_frameBothWaysAndReconnect(self)
        self.assertEqual([c.blocked for c in self.connections(self.managerA, self.managerB)],
                         [False, False])

    @defer.inlineCallbacks
    def test_parallelCables(self) -> None:
        """
        With two cables between the same two switches, one is blocked and a
        broadcast crosses once, instead of circling forever.  (A frame sent
        after it on the same path arriving proves it will not come again.)
        """
        listener = self.managerA.listen("tcp:0:interface=127.0.0.1")
        yield self.waitFor(lambda: listener.listeningPort is not None)
        portNumber = listener.listeningPort.getHost().port
        for _ in range(2):
            self.managerB.dial("tcp:127.0.0.1:%d" % (portNumber,),
                               retryPolicy=lambda attempt: 0.05)
        connections = lambda: self.connections(self.managerA, self.managerB)  # noqa: E731
        yield self.waitFor(lambda: len(connections()) == 4
                           and any(c.blocked for c in connections()))
        f = frame(BROADCAST, MAC2, payload=b"q" * 46)
        after = frame(BROADCAST, MAC2, payload=b"r" * 46)
        self.hostB.transport.sendFrame(f)
        self.hostB.transport.sendFrame(after)
        yield self.waitFor(lambda: after in self.hostA.frames)
        self.assertEqual(self.hostA.frames.count(f), 1)
        self.assertEqual(self.hostB.frames.count(f), 0)
        self.assertEqual(self.hostA.frames.count(after), 1)

    @defer.inlineCallbacks
    def test_triangle(self) -> None:
        """
        Three switches in a triangle of cables: the loop is cut once, and
        a broadcast from each reaches the other two exactly once.  (A frame
        sent after it on the same paths arriving proves it will not come
        again.)
        """
        switchC = Switch()
        hostC = Recorder()
        switchC.attach(hostC, "c")
        managerC = CableManager(reactor, switchC, loopGuard=True)
        managerC.startService()
        self.addCleanup(managerC.stopService)
        managers = [self.managerA, self.managerB, managerC]
        listeners = [m.listen("tcp:0:interface=127.0.0.1") for m in managers]
        yield self.waitFor(lambda: all(l.listeningPort is not None for l in listeners))
        ports = [l.listeningPort.getHost().port for l in listeners]
        for i, m in enumerate(managers):
            m.dial("tcp:127.0.0.1:%d" % (ports[(i + 1) % 3],), retryPolicy=lambda n: 0.05)
        cables = lambda: self.connections(*managers)  # noqa: E731
        yield self.waitFor(lambda: len(cables()) == 6 and any(c.blocked for c in cables()))
        hosts = [self.hostA, self.hostB, hostC]
        for i, host in enumerate(hosts):
            f = frame(BROADCAST, bytes([2, 0, 0, 0, 9, i]), payload=b"t" * 46)
            after = frame(BROADCAST, bytes([2, 0, 0, 0, 9, i]), payload=b"u" * 46)
            host.transport.sendFrame(f)
            host.transport.sendFrame(after)
            yield self.waitFor(lambda: all(after in h.frames for h in hosts if h is not host))
            self.assertEqual([h.frames.count(f) for h in hosts],
                             [0 if h is host else 1 for h in hosts])
        self.assertEqual(sum(1 for c in cables() if c.blocked), 1)
