# -*- test-case-name: tests.ns.test_system -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.system.RealNamespaceSystem}: the calls that need
no privilege, and the interface (which the fake in tests/ns/fakes.py
provides too).
"""

import errno
import os
import socket

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.ns.fakes import FakeNamespaceSystem
from vdetwist.ns.system import INamespaceSystem, RealNamespaceSystem


class RealNamespaceSystemTests(SynchronousTestCase):
    """
    L{RealNamespaceSystem}.
    """

    def setUp(self) -> None:
        self.system = RealNamespaceSystem()
        self.dir = self.mktemp()
        os.makedirs(self.dir)

    def test_interface(self) -> None:
        """
        Both the real and the fake system provide L{INamespaceSystem}.
        """
        verifyObject(INamespaceSystem, self.system)
        verifyObject(INamespaceSystem, FakeNamespaceSystem())

    def test_files(self) -> None:
        """
        createFile refuses an existing file; readFile reads, or gives None.
        """
        path = os.path.join(self.dir, "f")
        self.system.createFile(path)
        self.assertRaises(FileExistsError, self.system.createFile, path)
        os.chmod(path, 0o644)
        self.system.writeFile(path, "deny")
        self.assertEqual(self.system.readFile(path), "deny")
        self.assertIsNone(self.system.readFile(os.path.join(self.dir, "none")))
        self.system.makeDirectory(os.path.join(self.dir, "d"), 0o755)
        self.system.makeDirectory(os.path.join(self.dir, "d"), 0o755)
        self.system.unlink(path)

    def test_run(self) -> None:
        """
        run gives the status and output; a missing program 127.
        """
        self.assertEqual(self.system.run(["sh", "-c", "echo hi; exit 3"]), (3, "hi"))
        self.assertEqual(self.system.run(["/nonexistent/prog"])[0], 127)

    def test_sendDescriptor(self) -> None:
        """
        A descriptor sent arrives with the message.
        """
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        self.system.sendDescriptor(a, b"OK", r)
        message, fds, _, _ = socket.recv_fds(b, 100, 1)
        self.assertEqual((message, len(fds)), (b"OK", 1))
        os.close(fds[0])

    def test_cErrors(self) -> None:
        """
        A failed C call raises L{OSError} with its errno.
        """
        e = self.assertRaises(OSError, self.system.setns, -1, 0)
        self.assertEqual(e.errno, errno.EBADF)
