# -*- test-case-name: tests.vde.test_mmsg -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.mmsg}, on real datagram sockets: what
C{recvmmsg} and C{sendmmsg} move is what C{recv} and C{send} would.
"""

import errno
import socket

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.vde import mmsg


class MultiMessageTests(SynchronousTestCase):
    """
    Tests for L{mmsg.MultiMessage}.
    """

    if not mmsg.available():
        skip = "recvmmsg/sendmmsg through cffi are not available here"

    def setUp(self) -> None:
        """
        A connected pair of nonblocking datagram sockets and buffers for 4
        datagrams of 100 bytes.
        """
        self.near, self.far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        for sock in (self.near, self.far):
            sock.setblocking(False)
            self.addCleanup(sock.close)
        self.batch = mmsg.MultiMessage(4, 100)

    def test_receiveNothing(self) -> None:
        """
        With nothing queued, C{receive} returns an empty list at once.
        """
        self.assertEqual(self.batch.receive(self.near.fileno()), [])

    def test_receiveBatch(self) -> None:
        """
        C{receive} returns the queued datagrams in order, as bytes, at most
        C{count} of them (or the number asked for), an empty one included,
        one longer than the buffers truncated; the rest stay queued.
        """
        for datagram in (b"one", b"", b"x" * 150, b"four", b"five", b"six"):
            self.far.send(datagram)
        got = self.batch.receive(self.near.fileno())
        self.assertEqual(got, [b"one", b"", b"x" * 100, b"four"])
        self.assertEqual([type(d) for d in got], [bytes] * 4)
        self.assertEqual(self.batch.receive(self.near.fileno(), 1), [b"five"])
        self.assertEqual(self.near.recv(100), b"six")

    def test_receiveError(self) -> None:
        """
        An error other than EAGAIN is raised as L{OSError}.
        """
        self.near.close()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stream:
            error = self.assertRaises(OSError, self.batch.receive, stream.fileno())
        self.assertEqual(error.errno, errno.ENOTCONN)

    def test_send(self) -> None:
        """
        C{send} sends each datagram whole and in order, and the buffers
        shortened for it receive whole datagrams again afterwards.
        """
        sent = self.batch.send(self.near.fileno(), [b"a", b"bb" * 50, b"ccc"])
        self.assertEqual(sent, (3, []))
        self.assertEqual([self.far.recv(200) for _ in range(3)], [b"a", b"bb" * 50, b"ccc"])
        self.far.send(b"y" * 100)
        self.assertEqual(self.batch.receive(self.near.fileno()), [b"y" * 100])

    def test_sendFull(self) -> None:
        """
        Datagrams the peer's full queue refuses are reported, one EAGAIN
        each, and the ones before them still go.
        """
        queued = 0
        try:
            while True:
                self.near.send(b"fill")
                queued += 1
        except BlockingIOError:
            pass
        self.far.recv(100)
        sent, failures = self.batch.send(self.near.fileno(), [b"1", b"2", b"3"])
        self.assertEqual((sent, failures), (1, [errno.EAGAIN, errno.EAGAIN]))
        received = [self.far.recv(100) for _ in range(queued)]
        self.assertEqual(received[-1], b"1")

    def test_sendError(self) -> None:
        """
        When the peer is gone every datagram fails with its error, counted
        once each.
        """
        self.far.close()
        sent, failures = self.batch.send(self.near.fileno(), [b"1", b"2"])
        self.assertEqual(sent, 0)
        self.assertEqual(len(failures), 2)
        self.assertNotIn(errno.EAGAIN, failures)
