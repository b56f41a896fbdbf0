# -*- test-case-name: tests.vde.test_system -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.system}: one behaviour mixin run on
L{RealSystem} (a scratch directory) and on L{vdetwist.testing.FakeSystem},
so the fake the plug, server and tap tests use behaves as the real one.
"""

import errno
import os
import socket
from typing import TYPE_CHECKING, Any

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.testing import FakeSystem
from vdetwist.testing.system import FakeDatagramSocket
from vdetwist.vde.system import ISystem, RealSystem, datagramReceiver

if TYPE_CHECKING:
    _Base = SynchronousTestCase
else:
    _Base = object


class SystemBehaviourMixin(_Base):
    """
    What every L{ISystem} does.  Subclasses set C{self.system} and
    C{self.directory} (an existing, empty directory) in C{setUp}.
    """

    system: Any
    directory: str

    def missing(self, path: str) -> str:
        """
        Make sure C{path} does not exist (for the fake: mark it so).

        @param path: a path under the directory.
        @return: the path.
        """
        return path

    def test_provides(self) -> None:
        """
        It provides L{ISystem}.
        """
        self.assertTrue(verifyObject(ISystem, self.system))

    def test_constants(self) -> None:
        """
        The open flags are the OS's.
        """
        self.assertEqual((self.system.O_RDWR, self.system.O_NONBLOCK, self.system.O_CLOEXEC),
                         (os.O_RDWR, os.O_NONBLOCK, os.O_CLOEXEC))

    def test_umask(self) -> None:
        """
        C{umask} sets the mask and returns the previous one.
        """
        old = self.system.umask(0o077)
        try:
            self.assertEqual(self.system.umask(0o027), 0o077)
        finally:
            self.system.umask(old)

    def test_directories(self) -> None:
        """
        C{mkdir} makes a directory, refuses an existing one with EEXIST;
        C{rmdir} removes it and then fails with ENOENT.
        """
        path = os.path.join(self.directory, "sub")
        self.system.mkdir(path, 0o700)
        self.assertRaises(FileExistsError, self.system.mkdir, path, 0o700)
        self.system.chmod(path, 0o2750)
        self.assertEqual(self.system.stat(path).st_uid, self.system.geteuid())
        self.system.rmdir(path)
        self.assertRaises(FileNotFoundError, self.system.rmdir, path)

    def test_unlinkMissing(self) -> None:
        """
        C{unlink} of a missing file raises L{FileNotFoundError}.
        """
        path = self.missing(os.path.join(self.directory, "nothing"))
        e = self.assertRaises(FileNotFoundError, self.system.unlink, path)
        self.assertEqual(e.errno, errno.ENOENT)

    def test_realpathStrict(self) -> None:
        """
        C{realpath} resolves an existing path and raises for a missing one,
        as C's does.
        """
        self.assertEqual(self.system.realpath(self.directory), self.directory)
        path = self.missing(os.path.join(self.directory, "nothing"))
        self.assertRaises(OSError, self.system.realpath, path)

    def test_datagramSocket(self) -> None:
        """
        A datagram socket bound under a umask makes a file with the mode
        the umask allows, owned by the effective user; C{chmod} changes
        it; C{unlink} removes it.
        """
        sock = self.system.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = os.path.join(self.directory, "sock")
        old = self.system.umask(0o077)
        try:
            sock.bind(path)
        finally:
            self.system.umask(old)
        try:
            self.assertEqual(self.system.stat(path).st_mode & 0o777, 0o700)
            self.system.chmod(path, 0o660)
            stat = self.system.stat(path)
            self.assertEqual((stat.st_mode & 0o777, stat.st_uid),
                             (0o660, self.system.geteuid()))
            self.system.unlink(path)
            self.assertRaises(FileNotFoundError, self.system.unlink, path)
        finally:
            sock.close()

    def test_groupID(self) -> None:
        """
        Numbers are taken as they are; names are looked up; an unknown name
        raises L{KeyError}.
        """
        self.assertEqual(self.system.groupID("1234"), 1234)
        self.assertEqual(self.system.groupID("root"), 0)
        self.assertRaises(KeyError, self.system.groupID, "vdetwist-no-such-group")

    def test_identity(self) -> None:
        """
        The pid is a positive number, the login a name, and an unset
        variable is L{None}.
        """
        self.assertGreater(self.system.getpid(), 0)
        self.assertIsInstance(self.system.getLogin(), str)
        self.assertIsNone(self.system.getenv("VDETWIST_TEST_UNSET_VARIABLE"))

    def test_descriptor(self) -> None:
        """
        C{open} gives a descriptor that C{write} takes whole and C{close}
        releases.
        """
        fd = self.system.open(os.devnull, self.system.O_RDWR | self.system.O_CLOEXEC)
        try:
            self.assertEqual(self.system.write(fd, b"frame"), 5)
        finally:
            self.system.close(fd)


class RealSystemTests(SystemBehaviourMixin, SynchronousTestCase):
    """
    L{RealSystem} in a scratch directory.
    """

    def setUp(self) -> None:
        self.system = RealSystem()
        self.directory = os.path.realpath(self.mktemp())
        os.mkdir(self.directory)


class FakeSystemTests(SystemBehaviourMixin, SynchronousTestCase):
    """
    L{FakeSystem}, with nothing made yet.
    """

    def setUp(self) -> None:
        self.system = FakeSystem(pid=4377)
        self.system.euid = os.geteuid()
        self.system.ctlStat = None
        self.directory = "/fake/scratch"

    def missing(self, path: str) -> str:
        """
        The fake resolves every path it is not told is missing.
        """
        self.system.missing.add(path)
        return path


class DatagramReceiverTests(SynchronousTestCase):
    """
    Tests for L{datagramReceiver}: both of its ways read datagrams as
    C{recv} does.
    """

    def setUp(self) -> None:
        """
        A pair of connected, nonblocking datagram sockets.
        """
        self.near, self.far = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.near.close)
        self.addCleanup(self.far.close)
        self.near.setblocking(False)

    def check(self, implementation: str) -> None:
        """
        The receiver made for C{implementation} returns each datagram
        whole and as C{bytes}, even after a longer one (no stale bytes of
        a reused buffer), truncates to C{n}, returns an empty datagram as
        C{b""}, and raises C{BlockingIOError} when none is queued.

        @param implementation: what L{platform.python_implementation}
            would answer.
        """
        receive = datagramReceiver(self.near, 100, implementation)
        for datagram in (b"x" * 100, b"short", b"", b"0123456789"):
            self.far.send(datagram)
        first = receive(100)
        self.assertEqual((type(first), first), (bytes, b"x" * 100))
        self.assertEqual(receive(100), b"short")
        self.assertEqual(receive(100), b"")
        self.assertEqual(receive(4), b"0123")
        self.assertRaises(BlockingIOError, receive, 100)
        self.assertEqual(first, b"x" * 100)

    def test_cpython(self) -> None:
        """
        On CPython the receiver is the socket's C{recv}.
        """
        self.assertEqual(datagramReceiver(self.near, 100, "CPython"), self.near.recv)
        self.check("CPython")

    def test_pypy(self) -> None:
        """
        On PyPy the receiver reads into a reusable buffer, and returns
        what C{recv} would.
        """
        self.assertNotEqual(datagramReceiver(self.near, 100, "PyPy"), self.near.recv)
        self.check("PyPy")

    def test_withoutRecvInto(self) -> None:
        """
        A socket without C{recv_into} (the fake system's) gets its C{recv},
        whatever the interpreter.
        """
        sock = FakeDatagramSocket(FakeSystem())
        self.assertEqual(datagramReceiver(sock, 100, "PyPy"), sock.recv)
