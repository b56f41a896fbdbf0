# -*- test-case-name: tests.console.test_debug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.debug}: C{debug/*} and the fan-out of
debug events, on a switch's console (r586's texts) and on a fake source.
"""

import errno
from typing import Any, Callable, List, Set

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.console.helpers import SUCCESS, ConsoleTestCase, data, frame, plug, result
from vdetwist.console.debug import DEBUG_MENU, DebugCommands


class DebugTests(ConsoleTestCase):
    """
    C{debug/*} and the asynchronous notifications.
    """

    LIST = [b"CATEGORY               TAG STATUS HELP",
            b"------------           --- ------ ----",
            b"hash/+                 011 OFF    hash: new element",
            b"hash/-                 012 OFF    hash: discarded element",
            b"fstp/status            044 OFF    fstp: status change",
            b"fstp/root              045 OFF    fstp: rootswitch/port change",
            b"fstp/+                 041 OFF    fstp: port becomes active",
            b"fstp/-                 042 OFF    fstp: port becomes inactive",
            b"port/+                 021 OFF    new port",
            b"port/-                 022 OFF    closed port",
            b"port/descr             023 OFF    set port description",
            b"port/ep/+              031 OFF    new endpoint",
            b"port/ep/-              032 OFF    closed endpoint"]

    def test_list(self) -> None:
        """
        Section 4.6's C{debug/list}; a prefix filters; no match is 1002.
        """
        self.assertEqual(self.command(b"debug/list"), data(*self.LIST))
        self.assertEqual(self.command(b"debug/list hash"), data(*self.LIST[:4]))
        self.assertEqual(self.command(b"debug/list zz"), data(
            *self.LIST[:2], result=b"1002 No such file or directory"))

    def test_addAndDelCodes(self) -> None:
        """
        The result codes of section 4.2, and C{ON} in the list.
        """
        self.assertEqual(self.command(b"debug/add port"), SUCCESS)
        self.assertEqual(self.command(b"debug/add port"), result(b"1017 File exists"))
        self.assertEqual(self.command(b"debug/add nonexist"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"debug/list port/ep"), data(
            *self.LIST[:2],
            b"port/ep/+              031 ON     new endpoint",
            b"port/ep/-              032 ON     closed endpoint"))
        self.assertEqual(self.command(b"debug/del nonexist"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"debug/del hash"),
                         result(b"1002 No such file or directory"))
        self.assertEqual(self.command(b"debug/del m"),
                         result(b"1002 No such file or directory"))
        self.assertEqual(self.command(b"debug/del port/ep"), SUCCESS)
        self.assertEqual(self.command(b"debug/add port"), SUCCESS)
        self.assertEqual(self.command(b"debug/del"), SUCCESS)
        self.assertEqual(self.command(b"debug/del"), result(b"1002 No such file or directory"))

    def test_notifications(self) -> None:
        """
        Subscribed sessions get section 4.2's lines as things happen.
        """
        self.command(b"debug/add")
        self.transport.clear()
        a = plug(self.switch, 6, "clientA")
        self.switch.frameFromPort(a.port, frame(b"\xff" * 6, bytes.fromhex("020000000001")))
        self.assertEqual(self.transport.value(),
                         b"3021 port/+ 01\n"
                         b"3031 port/ep/+ Port 01 FD  6\n"
                         b"3023 port/descr Port 01 FD  6 -> \"clientA\"\n"
                         b"3011 hash/+ 02:00:00:00:00:01 VLAN 00:00 Port 1\n")
        b = plug(self.switch, 8, port=7)
        self.switch.frameFromPort(b.port, frame(b"\xff" * 6, bytes.fromhex("020000000002")))
        self.transport.clear()
        b.close()
        self.assertEqual(self.transport.value(),
                         b"3032 port/ep/- Port 07 FD  8\n"
                         b"3022 port/- 07\n"
                         b"3012 hash/- 02:00:00:00:00:02 VLAN 00:00 Port 7\n")

    def test_onlySubscribedCategories(self) -> None:
        """
        A session gets only what it asked for; other sessions get nothing.
        """
        other, otherTransport = self.connect()
        self.command(b"debug/add port/ep")
        self.transport.clear()
        plug(self.switch, 6, "x")
        self.assertEqual(self.transport.value(), b"3031 port/ep/+ Port 01 FD  6\n")
        self.assertEqual(otherTransport.value(), b"")

    def test_eventsBeforeTheReply(self) -> None:
        """
        Events caused by a command come before its reply, as in r586.
        """
        self.command(b"debug/add port")
        self.assertEqual(self.command(b"port/create 7"), b"3021 port/+ 07\n" + SUCCESS)
        self.assertEqual(self.command(b"port/createauto"), b"3021 port/+ 01\n"
                         + data(b"Port 0001"))

    def test_sessionEndDropsSubscriptions(self) -> None:
        """
        A closed session is unsubscribed, and the switch is not observed
        while nobody subscribes.
        """
        self.command(b"debug/add port")
        self.assertEqual(len(self.switch._observers), 1)
        self.session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.switch._observers, [])
        session, transport = self.connect()
        self.command(b"debug/add port", session, transport)
        self.command(b"logout", session, transport)
        self.assertEqual(self.switch._observers, [])
        plug(self.switch, 6)
        self.assertEqual(transport.value(), b"9999 END OF SESSION")


class FakeSource:
    """
    An event source: records its observers.
    """

    def __init__(self) -> None:
        self.observers: List[Callable[[str, str], None]] = []

    def addObserver(self, observer: Callable[[str, str], None]) -> None:
        """
        Add an observer.
        """
        self.observers.append(observer)

    def removeObserver(self, observer: Callable[[str, str], None]) -> None:
        """
        Remove an observer.
        """
        self.observers.remove(observer)

    def emit(self, category: str, message: str) -> None:
        """
        Send an event to every observer.
        """
        for observer in list(self.observers):
            observer(category, message)


class FakeSession:
    """
    What the debug table uses of a session.
    """

    def __init__(self) -> None:
        self.subscriptions: Set[str] = set()
        self.lines: List[bytes] = []

    def debugEvent(self, line: bytes) -> None:
        """
        Record a debug line.
        """
        self.lines.append(line)


class FanOutTests(SynchronousTestCase):
    """
    L{DebugCommands} on a fake source, without a console.
    """

    def setUp(self) -> None:
        self.source = FakeSource()
        self.table = DebugCommands(self.source, [("a/x", 0o21, "x"), ("a/y", 0o1022, "y")],
                                   hidden=["h/z"])
        self.one = FakeSession()
        self.two = FakeSession()

    def test_observedOnlyWhileSubscribed(self) -> None:
        """
        The source is observed from the first subscription to the last
        unsubscription.
        """
        self.assertEqual(self.source.observers, [])
        self.assertEqual(self.table.cmd_debug_add(self.one, [], "a/"), 0)
        self.table.cmd_debug_add(self.two, [], "a/x")
        self.assertEqual(len(self.source.observers), 1)
        self.table.sessionEnded(self.one)
        self.assertEqual(len(self.source.observers), 1)
        self.assertEqual(self.table.cmd_debug_del(self.two, [], "a/x"), 0)
        self.assertEqual(self.source.observers, [])
        self.assertEqual(self.one.subscriptions, set())

    def test_fanOut(self) -> None:
        """
        Each event goes, as one C{3NNN} line with the category's tag in
        octal (9 bits), to the sessions subscribed to its category only.
        """
        self.table.cmd_debug_add(self.one, [], "a/")
        self.table.cmd_debug_add(self.two, [], "a/y")
        self.source.emit("a/x", "first")
        self.source.emit("a/y", "second")
        self.source.emit("b/q", "nobody")
        self.assertEqual(self.one.lines, [b"3021 a/x first\n", b"3022 a/y second\n"])
        self.assertEqual(self.two.lines, [b"3022 a/y second\n"])

    def test_codes(self) -> None:
        """
        C{debug/add}: 1022 for no match, 1017 when all are on already;
        C{debug/del}: 1022 for no match, 1002 for a match (hidden ones
        included) that is not on.
        """
        self.assertEqual(self.table.cmd_debug_add(self.one, [], "zz"), errno.EINVAL)
        self.table.cmd_debug_add(self.one, [], "a/x")
        self.assertEqual(self.table.cmd_debug_add(self.one, [], "a/x"), errno.EEXIST)
        self.assertEqual(self.table.cmd_debug_del(self.one, [], "zz"), errno.EINVAL)
        self.assertEqual(self.table.cmd_debug_del(self.one, [], "h/"), errno.ENOENT)

    def test_list(self) -> None:
        """
        C{debug/list} shows each category, its tag and this session's
        status.
        """
        self.table.cmd_debug_add(self.one, [], "a/y")
        out: List[Any] = []
        self.assertEqual(self.table.cmd_debug_list(self.one, out, ""), 0)
        self.assertEqual(out[2:], ["a/x                    021 OFF    x",
                                   "a/y                    022 ON     y"])

    def test_menu(self) -> None:
        """
        L{DEBUG_MENU} lists the menu header and the three commands, all of
        which the table implements.
        """
        self.assertEqual([entry[0] for entry in DEBUG_MENU],
                         ["debug", "debug/list", "debug/add", "debug/del"])
        for path, _, _, flags in DEBUG_MENU[1:]:
            self.assertIsNotNone(self.table.handler(path))
