# -*- test-case-name: tests.console.test_mgmt -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.mgmt}: claiming the socket path, and the
management service listening with its mode and group.
"""

import os
import socket
import stat
from typing import Any, List, Tuple

from twisted.internet import reactor
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.util import shortTempDir
from vdetwist.console.mgmt import ManagementService
from vdetwist.vde.system import claimSocketPath
from vdetwist.console.session import ConsoleFactory


class ClaimTests(SynchronousTestCase):
    """
    L{claimSocketPath} replaces stale sockets and refuses live ones.
    """

    def test_free(self) -> None:
        """
        A path that does not exist is left alone.
        """
        path = os.path.join(shortTempDir(self), "s")
        claimSocketPath(path)
        self.assertFalse(os.path.lexists(path))

    def test_staleReplaced(self) -> None:
        """
        A socket file nobody listens on is removed.
        """
        path = os.path.join(shortTempDir(self), "s")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        claimSocketPath(path)
        self.assertFalse(os.path.lexists(path))

    def test_liveRefused(self) -> None:
        """
        A socket someone listens on is an EADDRINUSE error naming the path.
        """
        path = os.path.join(shortTempDir(self), "s")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        self.addCleanup(s.close)
        e = self.assertRaises(OSError, claimSocketPath, path)
        self.assertIn("Address already in use", str(e))
        self.assertIn(path, str(e))


class FakeSystem:
    """
    The OS calls of the service, recorded.
    """

    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []
        self.mask = 0o022

    def socket(self, *args: Any) -> socket.socket:
        return socket.socket(*args)

    def unlink(self, path: str) -> None:
        self.calls.append(("unlink", path))
        os.unlink(path)

    def umask(self, mask: int) -> int:
        self.calls.append(("umask", mask))
        old, self.mask = self.mask, mask
        return old

    def chown(self, path: str, uid: int, gid: int) -> None:
        self.calls.append(("chown", path, uid, gid))


class ServiceTests(SynchronousTestCase):
    """
    L{ManagementService} on a memory reactor.
    """

    def test_listen(self) -> None:
        """
        The service listens on the absolute path with the mode, under a
        umask that gives that mode, restores the umask, and sets the group.
        """
        memory = MemoryReactor()
        system = FakeSystem()
        factory = ConsoleFactory([], reactor=memory)
        service = ManagementService(memory, factory, "relative.mgmt", mode=0o660, group=42,
                                    system=system)
        service.startService()
        path = os.path.abspath("relative.mgmt")
        [(address, boundFactory, backlog, mode, wantPID)] = memory.unixServers
        self.assertEqual((address, boundFactory, backlog, mode, wantPID),
                         (path, factory, 15, 0o660, False))
        self.assertEqual(system.calls, [("umask", 0o117), ("umask", 0o022),
                                        ("chown", path, -1, 42)])
        self.assertTrue(service.running)
        service.stopService()
        self.assertFalse(service.running)


class RealSocketTests(TestCase):
    """
    L{ManagementService} on the real reactor.
    """

    def test_modeAndRemoval(self) -> None:
        """
        The socket has its mode from the start, and is gone once stopped.
        """
        path = os.path.join(shortTempDir(self), "mgmt")
        service = ManagementService(reactor, ConsoleFactory([]), path, mode=0o600)
        service.startService()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        d = service.stopService()

        def stopped(_: Any) -> None:
            self.assertFalse(os.path.lexists(path))
        d.addCallback(stopped)
        return d
