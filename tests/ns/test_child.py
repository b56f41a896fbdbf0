# -*- test-case-name: tests.ns.test_child -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.child}: the tap sent with C{OK}, or the reason
with C{ERR}, then COMMAND.
"""

import errno
import io

from twisted.trial.unittest import SynchronousTestCase

from tests.ns.fakes import FakeNamespaceSystem
from vdetwist.ns.child import ERR, OK, main
from vdetwist.ns.prepare import ViewConfig


class FakeChannel:
    """
    The socket to the parent.
    """

    closed = False

    def close(self) -> None:
        self.closed = True


class ChildTests(SynchronousTestCase):
    """
    L{main}.
    """

    def test_ok(self) -> None:
        """
        The tap descriptor goes to the parent with C{OK}, our copy and the
        channel are closed, then COMMAND is executed.
        """
        system, channel = FakeNamespaceSystem(), FakeChannel()
        main([ViewConfig().toJSON(), "sh", "-c", "true"], system, io.BytesIO(), channel)
        self.assertEqual(system.sent, [(OK, system.nextFD)])
        self.assertIn(system.nextFD, system.closed)
        self.assertTrue(channel.closed)
        self.assertEqual(system.calls[-1], ("execvp", "sh", ["sh", "-c", "true"]))

    def test_error(self) -> None:
        """
        A view that cannot be made: C{ERR} and the reason, status 1, no COMMAND.
        """
        system, channel = FakeNamespaceSystem(), FakeChannel()
        system.failures["unshare"] = errno.EPERM
        status = main([ViewConfig().toJSON(), "true"], system, io.BytesIO(), channel)
        self.assertEqual(status, 1)
        ((message, fd),) = system.sent
        self.assertTrue(message.startswith(ERR + b"cannot create a network namespace"))
        self.assertIsNone(fd)
        self.assertNotIn("execvp", system.names())

    def test_missingCommand(self) -> None:
        """
        COMMAND missing: 127 and one line.
        """
        system, err = FakeNamespaceSystem(), io.BytesIO()
        system.failures["execvp"] = errno.ENOENT
        self.assertEqual(main([ViewConfig().toJSON(), "nosuch"], system, err, FakeChannel()), 127)
        self.assertEqual(err.getvalue(), b"vdetwist ns: nosuch: No such file or directory\n")

    def test_dhcp(self) -> None:
        """
        --dhcp: the client runs after the tap was handed over, then COMMAND.
        """
        system = FakeNamespaceSystem()
        main([ViewConfig(dhcp=True).toJSON(), "true"], system, io.BytesIO(), FakeChannel())
        self.assertEqual(system.sent, [(OK, system.nextFD)])
        self.assertIn("udhcpc", system.runs[0])
        self.assertEqual(system.calls[-1], ("execvp", "true", ["true"]))

    def test_dhcpFails(self) -> None:
        """
        No lease: one line, status 1, no COMMAND.
        """
        system, err = FakeNamespaceSystem(), io.BytesIO()
        system.runStatus = (1, "udhcpc: no lease, failing")
        status = main([ViewConfig(dhcp=True).toJSON(), "true"], system, err, FakeChannel())
        self.assertEqual(status, 1)
        self.assertEqual(err.getvalue(),
                         b"vdetwist ns: no DHCP lease for vd0 (udhcpc: no lease, failing)\n")
        self.assertNotIn("execvp", system.names())
