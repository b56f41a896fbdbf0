# -*- test-case-name: tests.switch.test_endpoint -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.server.DatagramEndpoint}'s forwarding of
batches, on real socket pairs, with one system call per frame and with
C{recvmmsg}/C{sendmmsg} (what PyPy uses).
"""

import platform
import socket

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.switch import server
from vdetwist.switch.server import DatagramEndpoint
from vdetwist.switch.switch import Switch
from vdetwist.testing import FakeDatagramSocket, FakeSystem
from vdetwist.vde import mmsg
from vdetwist.wire.addr import BROADCAST_MAC
from vdetwist.wire.frames import MAX_FRAME


class _EndpointServer:
    """
    The part of L{ControlServer} a L{DatagramEndpoint} uses.

    @ivar switch: the switch.
    """

    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    def endpointClosed(self, endpoint: DatagramEndpoint) -> None:
        """
        Detach it from the switch.
        """
        self.switch.removeEndpoint(endpoint)

    def _unlinkQuietly(self, path: str) -> None:
        """
        Nothing was bound.
        """


class _Control:
    """
    A control connection with no transport.
    """

    transport = None


class DatagramEndpointTestsMixin:
    """
    L{DatagramEndpoint.doRead} on real socket pairs: three endpoints on a
    switch, each with its client's end of the pair.  Subclasses say
    whether the endpoints batch with C{recvmmsg}/C{sendmmsg}.

    @ivar multi: whether they do.
    """

    multi = False

    def setUp(self) -> None:
        """
        Three endpoints; each client announces its MAC.
        """
        self.switch = Switch(numports=8)
        srv = _EndpointServer(self.switch)
        self.endpoints = []
        self.clients = []
        for i in range(3):
            near, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            for sock in (near, far):
                sock.setblocking(False)
                self.addCleanup(sock.close)
            endpoint = DatagramEndpoint(srv, near, "", 10 + i, "", _Control())
            endpoint._multi = server.multiMessageBuffers() if self.multi else None
            self.switch.addEndpoint(self.switch.choosePort(0, False), endpoint)
            self.endpoints.append(endpoint)
            self.clients.append(far)
        for i in range(3):
            self.clients[i].send(self.frame(BROADCAST_MAC, i, 0))
            self.endpoints[i].doRead()
        for client in self.clients:
            self.drain(client)

    def frame(self, destination: bytes, source: int, number: int, size: int = 64) -> bytes:
        """
        A frame from client C{source}, numbered.

        @param destination: the destination MAC.
        @param source: the sending client's index.
        @param number: a number carried in the payload.
        @param size: the frame's length.
        @return: the frame.
        """
        return (destination + self.mac(source) + b"\x88\xb5"
                + number.to_bytes(4, "big")).ljust(size, b"\x5a")

    def mac(self, index: int) -> bytes:
        """
        @param index: a client's index.
        @return: its MAC.
        """
        return bytes([2, 0, 0, 0, 0, index + 1])

    def drain(self, client: socket.socket) -> list:
        """
        @param client: a client socket.
        @return: every frame queued for it.
        """
        frames = []
        try:
            while True:
                frames.append(client.recv(65536))
        except BlockingIOError:
            return frames

    def test_batch(self) -> None:
        """
        One wakeup forwards at most L{server.READ_BATCH} frames, in order;
        the next the rest.
        """
        self.patch(server, "READ_BATCH", 4)
        sent = [self.frame(self.mac(1), 0, n, 64 + n) for n in range(7)]
        for frame in sent:
            self.clients[0].send(frame)
        self.endpoints[0].doRead()
        self.assertEqual(self.drain(self.clients[1]), sent[:4])
        self.endpoints[0].doRead()
        self.assertEqual(self.drain(self.clients[1]), sent[4:])
        self.assertEqual(self.drain(self.clients[2]), [])
        self.assertEqual(self.switch.ports[1].inPackets, 1 + 7)

    def test_oversizeAndEmpty(self) -> None:
        """
        A datagram longer than L{MAX_FRAME} is counted and dropped, an
        empty one ignored, the frames around them forwarded.
        """
        first, last = self.frame(self.mac(1), 0, 1), self.frame(self.mac(1), 0, 2)
        for datagram in (first, b"", self.frame(self.mac(1), 0, 3, MAX_FRAME + 1), last):
            self.clients[0].send(datagram)
        self.endpoints[0].doRead()
        self.assertEqual(self.drain(self.clients[1]), [first, last])
        self.assertEqual(self.endpoints[0].oversize, 1)

    def test_flood(self) -> None:
        """
        Broadcasts reach every other client, each in order, and not the
        sender.
        """
        sent = [self.frame(BROADCAST_MAC, 0, n) for n in range(8)]
        for frame in sent:
            self.clients[0].send(frame)
        self.endpoints[0].doRead()
        self.assertEqual(self.drain(self.clients[1]), sent)
        self.assertEqual(self.drain(self.clients[2]), sent)
        self.assertEqual(self.drain(self.clients[0]), [])

    def test_fullClient(self) -> None:
        """
        Frames for a client whose queue is full are dropped and counted;
        those that fitted arrive in order.
        """
        sent = []
        while not self.endpoints[1].drops and len(sent) < 5000:
            batch = [self.frame(self.mac(1), 0, len(sent) + n) for n in range(8)]
            for frame in batch:
                self.clients[0].send(frame)
            self.endpoints[0].doRead()
            sent += batch
        got = self.drain(self.clients[1])
        self.assertGreater(self.endpoints[1].drops, 0)
        self.assertEqual(got, sent[:len(got)])
        self.assertEqual(len(got) + self.endpoints[1].drops, len(sent))
        self.assertEqual(self.endpoints[1].errors, 0)

    def test_clientGone(self) -> None:
        """
        Frames for a client that closed its socket count as errors, one
        each; the other clients still get theirs.
        """
        self.clients[2].close()
        sent = [self.frame(BROADCAST_MAC, 0, n) for n in range(5)]
        for frame in sent:
            self.clients[0].send(frame)
        self.endpoints[0].doRead()
        self.assertEqual(self.drain(self.clients[1]), sent)
        self.assertEqual((self.endpoints[2].errors, self.endpoints[2].drops), (5, 0))

    def test_closedEndpoint(self) -> None:
        """
        Frames read by an endpoint that closes while its batch is
        forwarded are dropped; frames queued for an endpoint closed
        meanwhile are not sent.
        """
        forward = self.switch.frameFromPort
        calls = []

        def closing(port: object, frame: bytes) -> None:
            calls.append(frame)
            forward(port, frame)
            if len(calls) == 2:
                self.endpoints[0].close()
                self.endpoints[1].close()
        self.switch.frameFromPort = closing  # type: ignore[method-assign]
        sent = [self.frame(BROADCAST_MAC, 0, n) for n in range(4)]
        for frame in sent:
            self.clients[0].send(frame)
        self.endpoints[0].doRead()
        self.assertEqual(calls, sent[:2])
        self.assertEqual(self.drain(self.clients[1]), [])
        self.assertEqual(self.drain(self.clients[2]), sent[:2])


class DatagramEndpointTests(DatagramEndpointTestsMixin, SynchronousTestCase):
    """
    L{DatagramEndpointTestsMixin} with one system call per frame.
    """


class DatagramEndpointMultiMessageTests(DatagramEndpointTestsMixin, SynchronousTestCase):
    """
    L{DatagramEndpointTestsMixin} with C{recvmmsg}/C{sendmmsg}, which PyPy
    uses (tested wherever cffi is installed).
    """

    multi = True
    if not mmsg.available():
        skip = "recvmmsg/sendmmsg through cffi are not available here"


class MultiMessageChoiceTests(SynchronousTestCase):
    """
    Which endpoints batch with C{recvmmsg}/C{sendmmsg}.
    """

    def test_chosenForPyPy(self) -> None:
        """
        L{server.MULTI_MESSAGE} is set on PyPy (where cffi is built in),
        not on CPython.
        """
        self.assertEqual(server.MULTI_MESSAGE,
                         platform.python_implementation() == "PyPy")

    def test_realSocketsOnly(self) -> None:
        """
        With L{server.MULTI_MESSAGE} set, an endpoint over a real socket
        gets the shared buffers; one over a fake socket (whose descriptor
        is made up) does not.
        """
        if not mmsg.available():
            raise self.skipTest("recvmmsg/sendmmsg through cffi are not available here")
        self.patch(server, "MULTI_MESSAGE", True)
        srv = _EndpointServer(Switch())
        near, far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(near.close)
        self.addCleanup(far.close)
        real = DatagramEndpoint(srv, near, "", 1, "", _Control())
        self.assertIs(real._multi, server.multiMessageBuffers())
        fake = DatagramEndpoint(srv, FakeDatagramSocket(FakeSystem()), "", 2, "", _Control())
        self.assertIsNone(fake._multi)
        self.patch(server, "MULTI_MESSAGE", False)
        self.assertIsNone(DatagramEndpoint(srv, near, "", 3, "", _Control())._multi)
