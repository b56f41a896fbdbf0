# -*- test-case-name: tests.switch.test_port -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.port}: a port's state and the send function it
binds for its endpoints, and a VLAN's lists of active members.
"""

from typing import List

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.switch.port import NOBODY, NOVLAN, VLAN, Port


class Endpoint:
    """
    An endpoint that records what it is sent.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []
        self.sendFrame = self.frames.append


class Capture:
    """
    A capture that records what it sees.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []

    def __call__(self, frame: bytes) -> None:
        self.frames.append(frame)


class PortTests(SynchronousTestCase):
    """
    One port.
    """

    def test_new(self) -> None:
        """
        A new port is inactive, on VLAN 0, without access control, with
        zero counters.
        """
        port = Port(4)
        self.assertEqual((port.number, port.active, port.untagged, port.tagged),
                         (4, False, 0, set()))
        self.assertEqual((port.user, port.group, port.currentUser), (NOBODY,) * 3)
        self.assertTrue(port.allocatable)
        self.assertFalse(Port(5, allocatable=False).allocatable)
        self.assertEqual(repr(port), "<Port 4 INACTIVE endpoints=0 vlan=0>")

    def test_memberOf(self) -> None:
        """
        A port carries its untagged VLAN and its tagged ones.
        """
        port = Port(1)
        port.tagged.add(7)
        self.assertEqual([port.memberOf(v) for v in (0, 7, 8)], [True, True, False])
        port.untagged = NOVLAN
        self.assertFalse(port.memberOf(0))

    def test_resetCounters(self) -> None:
        """
        Resetting zeroes IN and OUT.
        """
        port = Port(1)
        port.inPackets, port.inBytes, port.outPackets, port.outBytes = 1, 2, 3, 4
        port.resetCounters()
        self.assertEqual((port.inPackets, port.inBytes, port.outPackets, port.outBytes),
                         (0, 0, 0, 0))

    def test_sendNowhere(self) -> None:
        """
        Without endpoints the port's send drops the frame, without error.
        """
        port = Port(1)
        port.rebind()
        port.send(b"frame")

    def test_oneEndpointDirect(self) -> None:
        """
        With one endpoint the port's send is that endpoint's C{sendFrame}
        itself: no call in between.
        """
        port = Port(1)
        endpoint = Endpoint()
        port.endpoints.append(endpoint)
        port.rebind()
        self.assertIs(port.send, endpoint.sendFrame)
        self.assertTrue(port.active)

    def test_manyEndpoints(self) -> None:
        """
        With several endpoints each gets every frame; removing them and
        rebinding sends nowhere again.
        """
        port = Port(1)
        endpoints = [Endpoint(), Endpoint()]
        port.endpoints.extend(endpoints)
        port.rebind()
        port.send(b"f1")
        self.assertEqual([e.frames for e in endpoints], [[b"f1"], [b"f1"]])
        del port.endpoints[:]
        port.rebind()
        port.send(b"f2")
        self.assertEqual([e.frames for e in endpoints], [[b"f1"], [b"f1"]])

    def test_capture(self) -> None:
        """
        With a capture, every frame sent is captured and then sent.
        """
        port = Port(1)
        endpoint = Endpoint()
        port.endpoints.append(endpoint)
        port.capture = Capture()
        port.rebind()
        port.send(b"f")
        self.assertEqual((port.capture.frames, endpoint.frames), ([b"f"], [b"f"]))
        port.capture = None
        port.rebind()
        self.assertIs(port.send, endpoint.sendFrame)


class VLANTests(SynchronousTestCase):
    """
    A VLAN's active member lists.
    """

    def test_tag(self) -> None:
        """
        The tag inserted for tagged egress: TPID 0x8100, PCP and DEI 0.
        """
        self.assertEqual(VLAN(7).tag, b"\x81\x00\x00\x07")
        self.assertEqual(VLAN(4094).tag, b"\x81\x00\x0f\xfe")

    def test_refresh(self) -> None:
        """
        Only active ports are members, split by tagged and untagged.
        """
        access, trunk, idle = Port(1), Port(2), Port(3)
        access.untagged = 7
        trunk.tagged.add(7)
        idle.untagged = 7
        for port in (access, trunk):
            port.endpoints.append(Endpoint())
        vlan = VLAN(7)
        vlan.refresh([None, access, trunk, idle])
        self.assertEqual((vlan.untaggedActive, vlan.taggedActive), ([access], [trunk]))
        trunk.endpoints.clear()
        vlan.refresh([None, access, trunk, idle])
        self.assertEqual(vlan.taggedActive, [])
