# -*- test-case-name: tests.links.test_vxlan -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.vxlan}: the RFC 7348 header (against a fixture
and scapy), the port's learning, flooding and bounds on a fake socket, and
two switches joined by VXLAN over loopback UDP.
"""

from typing import Any, List, Tuple

from twisted.internet import defer, reactor, task
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from tests.switch.test_switch import BROADCAST, MAC1, MAC2, MAC3, Recorder, frame
from vdetwist.interfaces import IPortAttachment
from vdetwist.links import vxlan as vxlanmodule
from vdetwist.links.cable import CableError, CableManager
from vdetwist.links.linkemu import LinkParameters
from vdetwist.switch.switch import Switch
from vdetwist.links.vxlan import (
    VXLAN_PORT, decodeHeader, encodeHeader, parseVXLANSpec)

#: RFC 7348 section 5, VXLAN header for VNI 42 (0x00002a):
HEADER_VNI_42 = bytes([
    0x08,              # flags: R R R R I R R R, the I bit set
    0x00, 0x00, 0x00,  # reserved (24 bits)
    0x00, 0x00, 0x2A,  # VXLAN network identifier, 24 bits
    0x00,              # reserved (8 bits)
])


class HeaderTests(SynchronousTestCase):
    """
    The 8-byte VXLAN header.
    """

    def test_encode(self) -> None:
        """
        The header of VNI 42 is the RFC's layout.
        """
        self.assertEqual(encodeHeader(42), HEADER_VNI_42)

    def test_decode(self) -> None:
        """
        Decoding gives the VNI back; a missing I flag or a short datagram
        is not VXLAN; reserved bits are ignored.
        """
        self.assertEqual(decodeHeader(HEADER_VNI_42), 42)
        self.assertIsNone(decodeHeader(b"\x00" + HEADER_VNI_42[1:]))
        self.assertIsNone(decodeHeader(HEADER_VNI_42[:7]))
        self.assertEqual(decodeHeader(b"\x08\xff\xff\xff\x00\x00\x2a\xff"), 42)

    def test_scapyOracle(self) -> None:
        """
        scapy builds the same bytes for the header and frame, and parses
        ours to the same VNI.
        """
        from scapy.layers.l2 import Ether
        from scapy.layers.vxlan import VXLAN
        payload = frame(BROADCAST, MAC1)
        packet = VXLAN(flags="Instance", vni=0xABCDEF) / Ether(payload)
        self.assertEqual(bytes(packet), encodeHeader(0xABCDEF) + payload)
        self.assertEqual(VXLAN(encodeHeader(7) + payload).vni, 7)

    def test_range(self) -> None:
        """
        VNIs are 24 bits.
        """
        self.assertRaises(ValueError, encodeHeader, 1 << 24)
        self.assertRaises(ValueError, encodeHeader, -1)


class SpecTests(SynchronousTestCase):
    """
    C{--vxlan LOCAL:PORT,VNI[,REMOTE[:PORT]...]}.
    """

    def test_full(self) -> None:
        """
        Local address and port, VNI, remotes with and without ports.
        """
        spec = parseVXLANSpec("10.0.0.1:4790,42,10.0.0.2,10.0.0.3:5000,239.1.1.1")
        self.assertEqual((spec.localHost, spec.localPort, spec.vni), ("10.0.0.1", 4790, 42))
        self.assertEqual(spec.remotes, [("10.0.0.2", 4790), ("10.0.0.3", 5000),
                                        ("239.1.1.1", 4790)])
        self.assertEqual(spec.remotePort, 4790)

    def test_defaults(self) -> None:
        """
        Without a port, 4789; the VNI may be hexadecimal.
        """
        spec = parseVXLANSpec("0.0.0.0,0x10")
        self.assertEqual((spec.localPort, spec.vni, spec.remotes), (VXLAN_PORT, 16, []))

    def test_bad(self) -> None:
        """
        Clear errors for bad parts.
        """
        for text in ["", "1.2.3.4", "host:4789,1", "1.2.3.4:4789,x",
                     "1.2.3.4:4789,16777216", "1.2.3.4,1,nohost", "1.2.3.4:99999,1"]:
            self.assertRaises(ValueError, parseVXLANSpec, text)


class FakeSocket:
    """
    Records C{sendto}; C{error} makes it fail.
    """

    def __init__(self) -> None:
        """
        Set up the state.
        """
        self.sent: List[Tuple[bytes, Any]] = []
        self.error: Any = None

    def setsockopt(self, *args: Any) -> None:
        """
        Accept and ignore.
        """
        pass

    def sendto(self, data: bytes, addr: Any) -> int:
        """
        Record one datagram, or fail with C{error}.
        """
        if self.error is not None:
            raise self.error
        self.sent.append((data, addr))
        return len(data)


class FakeUDPTransport:
    """
    The part of a UDP port transport L{vxlan.VXLANPort} uses.
    """

    def __init__(self) -> None:
        """
        Set up the state.
        """
        self.socket = FakeSocket()
        self.groups: List[str] = []
        self.stopped = False

    def joinGroup(self, group: str) -> None:
        """
        Record the group.
        """
        self.groups.append(group)

    def stopListening(self) -> None:
        """
        Note that listening stopped.
        """
        self.stopped = True


class VXLANPortTests(SynchronousTestCase):
    """
    A VXLAN port on a fake socket.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.clock = MemoryReactorClock()
        self.switch = Switch()
        self.host = Recorder()
        self.switch.attach(self.host, "host")
        self.manager = CableManager(self.clock, self.switch)
        vxlanmodule.registerKinds(self.manager)
        self.entry = self.manager.addVXLAN("10.0.0.1:4789,42,10.0.0.2,239.1.1.1")
        self.port = self.entry.protocol
        self.transport = FakeUDPTransport()
        self.port.makeConnection(self.transport)
        self.sent = self.transport.socket.sent

    def test_interface(self) -> None:
        """
        The port holds a switch port taken through the attach contract
        (an L{IPortAttachment}), shown by port/print with module C{vxlan},
        endpoint ID 20000 + its cable ID and its description; multicast
        remotes are joined.
        """
        self.assertTrue(verifyObject(IPortAttachment, self.port.attachment))
        self.assertEqual(self.port.module, "vxlan")
        endpoints = self.switch.ports[self.port.portNumber].endpoints
        self.assertEqual([(e.module, e.endpointID, e.description) for e in endpoints],
                         [("vxlan", 20001, "vxlan 1 vni 42")])
        self.assertEqual(self.transport.groups, ["239.1.1.1"])

    def test_floodToRemotes(self) -> None:
        """
        A broadcast goes, encapsulated, to every remote.
        """
        f = frame(BROADCAST, MAC1)
        self.host.transport.sendFrame(f)
        self.assertEqual(self.sent, [(HEADER_VNI_42 + f, ("10.0.0.2", 4789)),
                                     (HEADER_VNI_42 + f, ("239.1.1.1", 4789))])

    def test_receiveAndLearn(self) -> None:
        """
        A datagram's frame goes into the switch; its source MAC is learned
        at the sender's address and the VXLAN port (not the source port),
        so a reply goes there alone; the sender joins the flood list.
        """
        f = frame(BROADCAST, MAC2)
        self.port.datagramReceived(HEADER_VNI_42 + f, ("10.0.0.9", 41234))
        self.assertEqual(self.host.frames, [f])
        reply = frame(MAC2, MAC1)
        self.host.transport.sendFrame(reply)
        self.assertEqual(self.sent, [(HEADER_VNI_42 + reply, ("10.0.0.9", 4789))])
        del self.sent[:]
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual([addr for _, addr in self.sent],
                         [("10.0.0.2", 4789), ("239.1.1.1", 4789), ("10.0.0.9", 4789)])

    def test_badDatagrams(self) -> None:
        """
        Wrong VNI, no I flag, short header or runt frame: counted, dropped.
        """
        f = frame(BROADCAST, MAC2)
        self.port.datagramReceived(encodeHeader(43) + f, ("10.0.0.9", 1))
        self.port.datagramReceived(b"\x00" + HEADER_VNI_42[1:] + f, ("10.0.0.9", 1))
        self.port.datagramReceived(b"\x08\x00", ("10.0.0.9", 1))
        self.port.datagramReceived(HEADER_VNI_42 + f[:13], ("10.0.0.9", 1))
        self.assertEqual(self.host.frames, [])
        self.assertEqual((self.port.otherVNI, self.port.badHeaders, self.port.runts), (1, 2, 1))
        self.assertEqual(self.port.macs, {})

    def test_sendErrorsCounted(self) -> None:
        """
        A socket error is counted, never raised.
        """
        self.transport.socket.error = BlockingIOError()
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.port.sendErrors, 2)

    def test_tableBound(self) -> None:
        """
        At most L{vxlan.MAX_MACS} MACs are learned; expired ones make room.
        """
        self.patch(vxlanmodule, "MAX_MACS", 2)
        for i in range(3):
            mac = bytes([2, 0, 0, 0, 1, i])
            self.port.datagramReceived(HEADER_VNI_42 + frame(BROADCAST, mac), ("10.0.0.9", 1))
        self.assertEqual(len(self.port.macs), 2)
        self.clock.advance(vxlanmodule.AGEING_TIME + 1)
        self.port.datagramReceived(HEADER_VNI_42 + frame(BROADCAST, MAC3), ("10.0.0.8", 1))
        self.assertEqual(list(self.port.macs), [MAC3])

    def test_vtepBound(self) -> None:
        """
        At most L{vxlan.MAX_VTEPS} VTEPs are flooded to.
        """
        self.patch(vxlanmodule, "MAX_VTEPS", 3)
        for i in range(5):
            self.port.datagramReceived(HEADER_VNI_42 + frame(BROADCAST, MAC2),
                                       ("10.0.1.%d" % (i,), 1))
        self.assertEqual(len(self.port.vteps), 3)
        self.assertEqual(len(self.port._flood), 5)

    def test_linkEmulation(self) -> None:
        """
        A delay on the VXLAN port holds its frames.
        """
        params = LinkParameters()
        params.set("delay", "LR20")
        self.entry.setLink(params)
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.sent, [])
        self.clock.advance(0.02)
        self.assertEqual(len(self.sent), 2)

    def test_stop(self) -> None:
        """
        Stopping the socket frees the switch port.
        """
        number = self.port.portNumber
        self.port.doStop()
        self.assertFalse(self.switch.ports[number].endpoints)
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual(self.sent, [])

    def test_epcloseStops(self) -> None:
        """
        Closing the endpoint from the switch (port/epclose) closes the
        socket, which frees the port.
        """
        self.entry.listeningPort = self.transport
        number = self.port.portNumber
        self.switch.closeEndpoint(number, 20001)
        self.assertTrue(self.transport.stopped)
        self.assertIsNone(self.entry.listeningPort)
        self.assertFalse(self.switch.ports[number].endpoints)

    def test_registerKinds(self) -> None:
        """
        A manager offers VXLAN and vxvde once this module registered them.
        """
        manager = CableManager(self.clock, Switch())
        self.assertRaises(CableError, manager.addVXLAN, "10.0.0.1:4789,42")
        vxlanmodule.registerKinds(manager)
        self.assertEqual(sorted(manager.kinds), ["vxlan", "vxvde"])
        self.assertEqual(manager.addVXLAN("10.0.0.1:4789,42").kind, "vxlan")
        self.assertEqual(manager.add("vxvde", "").kind, "vxvde")

    def test_describe(self) -> None:
        """
        C{cable/print} shows the VXLAN entry.
        """
        lines = self.manager.describe()
        self.assertEqual(lines[0], "Cable 0001 vxlan    CONNECTED "
                                   "10.0.0.1:4789,42,10.0.0.2,239.1.1.1")

    def test_badSpec(self) -> None:
        """
        A bad spec is a L{CableError}.
        """
        self.assertRaises(CableError, self.manager.addVXLAN, "nonsense")


class LoopbackVXLANTests(TestCase):
    """
    Two switches joined by VXLAN over loopback UDP.
    """

    @defer.inlineCallbacks
    def test_exchange(self) -> None:
        """
        A broadcast crosses one way, the unicast reply the other way.
        """
        switches = [Switch(), Switch()]
        hosts = [Recorder(), Recorder()]
        managers = []
        for switch, host in zip(switches, hosts):
            switch.attach(host, "h")
            manager = CableManager(reactor, switch)
            vxlanmodule.registerKinds(manager)
            managers.append(manager)
        a = managers[0].addVXLAN("127.0.0.1:0,5")
        managers[0].startService()
        self.addCleanup(managers[0].stopService)
        portA = a.listeningPort.getHost().port
        b = managers[1].addVXLAN("127.0.0.1:0,5,127.0.0.1:%d" % (portA,))
        managers[1].startService()
        self.addCleanup(managers[1].stopService)
        # Replies go to the VTEP's address at our own VXLAN port, as
        # Linux does; with ephemeral ports in a test, tell A B's port.
        a.spec.remotePort = b.listeningPort.getHost().port
        hosts[1].transport.sendFrame(frame(BROADCAST, MAC2))
        for _ in range(500):
            if hosts[0].frames:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(hosts[0].frames, [frame(BROADCAST, MAC2)])
        hosts[0].transport.sendFrame(frame(MAC2, MAC1))
        for _ in range(500):
            if hosts[1].frames:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(hosts[1].frames, [frame(MAC2, MAC1)])


class VXVDESpecTests(SynchronousTestCase):
    """
    C{--vxvde [GROUP[:PORT]][,VNI[,TTL]]}.
    """

    def test_defaults(self) -> None:
        """
        vdeplug4's defaults: 239.0.0.1:14789, VNI 1, TTL 1.
        """
        spec = vxlanmodule.parseVXVDESpec("")
        self.assertEqual((spec.remotes, spec.vni, spec.ttl),
                         ([("239.0.0.1", 14789)], 1, 1))

    def test_given(self) -> None:
        """
        Group, port, VNI and TTL.
        """
        spec = vxlanmodule.parseVXVDESpec("239.5.0.1:15000,7,2")
        self.assertEqual((spec.remotes, spec.localPort, spec.vni, spec.ttl),
                         ([("239.5.0.1", 15000)], 15000, 7, 2))

    def test_bad(self) -> None:
        """
        Not multicast, bad numbers.
        """
        for text in ["10.0.0.1", "239.0.0.1,x", "239.0.0.1,1,300", "239.0.0.1,1,1,1"]:
            self.assertRaises(ValueError, vxlanmodule.parseVXVDESpec, text)


class VXVDEPortTests(SynchronousTestCase):
    """
    A vxvde port on fake sockets.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.switch = Switch()
        self.host = Recorder()
        self.switch.attach(self.host, "host")
        self.manager = CableManager(MemoryReactorClock(), self.switch)
        vxlanmodule.registerKinds(self.manager)
        self.entry = self.manager.addVXVDE("239.0.0.1:14789,1")
        self.port = self.entry.protocol
        self.transport = FakeUDPTransport()
        self.transport.getHost = lambda: type("A", (), {"port": 40001})()
        self.port.makeConnection(self.transport)
        self.sent = self.transport.socket.sent
        self.header = encodeHeader(1)

    def test_floodToGroupReplyToSource(self) -> None:
        """
        Floods go to the group alone; a reply goes to the sender's own
        address and port.
        """
        self.host.transport.sendFrame(frame(BROADCAST, MAC1))
        self.assertEqual([a for _, a in self.sent], [("239.0.0.1", 14789)])
        self.port.groupDatagram(self.header + frame(BROADCAST, MAC2), ("10.0.0.5", 51234))
        del self.sent[:]
        self.host.transport.sendFrame(frame(MAC2, MAC1))
        self.assertEqual([a for _, a in self.sent], [("10.0.0.5", 51234)])

    def test_ownLoopedBackDropped(self) -> None:
        """
        Our own multicast, looped back to the group socket, is dropped.
        """
        f = frame(BROADCAST, MAC1)
        self.host.transport.sendFrame(f)
        self.port.groupDatagram(self.sent[0][0], ("10.0.0.1", 40001))
        self.assertEqual(self.host.frames, [])

    def test_closeAndForget(self) -> None:
        """
        A header-only datagram forgets its sender's MACs; closing sends
        one to the group.
        """
        self.port.groupDatagram(self.header + frame(BROADCAST, MAC2), ("10.0.0.5", 51234))
        self.port.groupDatagram(self.header, ("10.0.0.5", 51234))
        self.assertEqual(self.port.macs, {})
        del self.sent[:]
        self.port.doStop()
        self.assertEqual(self.sent, [(self.header, ("239.0.0.1", 14789))])
