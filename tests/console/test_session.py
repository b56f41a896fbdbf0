# -*- test-case-name: tests.console.test_session -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.session}: greeting, session ends, line
framing and back-pressure, on a switch's console (the expected texts are
vde_switch r586's, docs/vde-protocol.md section 4).
"""

from typing import List

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.testing import StringTransport
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python.failure import Failure

from tests.console.helpers import (
    BANNER, PROMPT, SUCCESS, ConsoleTestCase, data, plug, result)
from vdetwist.console.framing import MAX_LINE


class GreetingTests(ConsoleTestCase):
    """
    The banner, the prompt and session ends.
    """

    def test_banner(self) -> None:
        """
        A new session gets the banner, then the prompt, in two writes.
        """
        session = self.factory.buildProtocol(None)
        transport = StringTransport()
        writes: List[bytes] = []
        original = transport.write
        transport.write = lambda b: (writes.append(b), original(b))  # type: ignore
        session.makeConnection(transport)
        self.assertEqual(writes, [BANNER, PROMPT])
        self.assertEqual(transport.value(),
                         b"VDE switch V.2.3.2\n(C) Virtual Square Team (coord. R. Davoli) "
                         b"2005,2006,2007 - GPLv2\n\nvde$ ")

    def test_stdioHasNoGreeting(self) -> None:
        """
        The stdin/stdout console (no C{-d}) gets no banner and no prompt
        until its first reply, as r586's (captured on a terminal).
        """
        session = self.factory.buildStdioProtocol(prompt=True)
        transport = StringTransport()
        session.makeConnection(transport)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.command(b"vlan/create 10", session, transport), SUCCESS)

    def test_logout(self) -> None:
        """
        C{logout} answers C{9999 END OF SESSION}, with no newline and no
        prompt, and closes; later input is ignored.
        """
        self.assertEqual(self.command(b"logout"), b"9999 END OF SESSION")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.command(b"help"), b"")
        self.assertEqual(self.shutdowns, [])

    def test_logoutStopsTheRestOfTheChunk(self) -> None:
        """
        Lines after C{logout} in the same write are not run.
        """
        self.session.dataReceived(b"logout\nport/create 3\n")
        self.assertEqual(self.transport.value(), b"9999 END OF SESSION")
        self.assertIsNone(self.switch.ports[3])

    def test_shutdown(self) -> None:
        """
        C{shutdown} answers like C{logout}, then calls the shutdown
        callback once the session has ended (so the reply is out first).
        """
        self.assertEqual(self.command(b"shutdown"), b"9999 END OF SESSION")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.shutdowns, [])
        self.session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])
        self.clock.advance(10)
        self.assertEqual(self.shutdowns, [True])

    def test_shutdownFallback(self) -> None:
        """
        If the session never ends (a client that does not read), the
        shutdown still happens, 2 seconds later.
        """
        self.command(b"shutdown")
        self.clock.advance(1.9)
        self.assertEqual(self.shutdowns, [])
        self.clock.advance(0.2)
        self.assertEqual(self.shutdowns, [True])
        self.session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])

    def test_stdioPipeHasNoPrompt(self) -> None:
        """
        Without a terminal, the stdin console writes no prompts (r586
        writes them to fd 0, which a pipe swallows): replies only.
        """
        session = self.factory.buildStdioProtocol(prompt=False)
        transport = StringTransport()
        session.makeConnection(transport)
        session.dataReceived(b"port/showinfo\nbogus\n\n")
        self.assertEqual(transport.value(),
                         b"0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n"
                         b".\n1000 Success\n1038 Function not implemented\n")

    def test_stdioLogoutAndShutdown(self) -> None:
        """
        On the stdin console, C{logout} prints nothing (not even a prompt)
        and closes nothing; C{shutdown} prints nothing either (no
        C{9999}), runs no later line, and stops the switch once the
        replies before it are out.
        """
        session = self.factory.buildStdioProtocol(prompt=True)
        transport = StringTransport()
        session.makeConnection(transport)
        self.assertEqual(self.command(b"logout", session, transport), b"")
        self.assertFalse(transport.disconnecting)
        transport.clear()
        session.dataReceived(b"vlan/create 10\nshutdown\nvlan/create 11\n")
        self.assertEqual(transport.value(), SUCCESS)
        self.assertNotIn(11, self.switch.vlans)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.shutdowns, [])
        session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])

    def test_stdioEOFStops(self) -> None:
        """
        The end of stdin stops the switch, as in r586 (C{EOF on stdin,
        cleaning up and exiting}); the end of a socket session does not.
        """
        self.session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [])
        session = self.factory.buildStdioProtocol(prompt=True)
        session.makeConnection(StringTransport())
        session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])


class StdioTests(ConsoleTestCase):
    """
    The stdin/stdout console's ends: EOF, a standard output that goes
    away, the process stopping, and where its prompts go.
    """

    def setUp(self) -> None:
        """
        A stdio session with prompts, on a L{StringTransport}; warnings
        collected.
        """
        super().setUp()
        self.stdio = self.factory.buildStdioProtocol(prompt=True)
        self.out = StringTransport()
        self.stdio.makeConnection(self.out)
        self.events: List[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def warnings(self) -> List[str]:
        """
        The warnings logged so far.
        """
        return [formatEvent(e) for e in self.events if e.get("log_level") is LogLevel.warn]

    def test_halfCloseableOnlyOnStdio(self) -> None:
        """
        The stdio session tells the end of stdin from the end of stdout
        (L{IHalfCloseableProtocol}); a socket session does not, so a
        client's EOF still ends it.
        """
        self.assertTrue(IHalfCloseableProtocol.providedBy(self.stdio))
        self.assertFalse(IHalfCloseableProtocol.providedBy(self.session))

    def test_eofRunsTheLastLineThenStops(self) -> None:
        """
        At EOF, a last line without its newline runs (as r586 runs what its
        last C{read} got); then C{EOF on stdin, cleaning up and exiting}
        is logged and the output closed; the switch stops once it is
        closed (its replies written).
        """
        self.stdio.dataReceived(b"vlan/create 10\nvlan/create 11")
        self.assertEqual(self.out.value(), SUCCESS)
        self.stdio.readConnectionLost()
        self.assertEqual(self.out.value(), SUCCESS + SUCCESS)
        self.assertIn(11, self.switch.vlans)
        self.assertEqual(self.warnings(), ["EOF on stdin, cleaning up and exiting"])
        self.assertTrue(self.out.disconnecting)
        self.assertEqual(self.shutdowns, [])
        self.stdio.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])
        self.assertEqual(len(self.warnings()), 1)

    def test_eofStopsEvenIfStdoutIsNeverRead(self) -> None:
        """
        A standard output that never drains does not keep the switch up
        after EOF: it stops 2 seconds later.
        """
        self.stdio.readConnectionLost()
        self.assertEqual(self.shutdowns, [])
        self.clock.advance(2.1)
        self.assertEqual(self.shutdowns, [True])

    def test_eofAfterTooLongLine(self) -> None:
        """
        The tail of a line too long (answered already) is not run at EOF.
        """
        self.stdio.dataReceived(b"vlan/create 10" + b" " * MAX_LINE + b"x")
        self.stdio.readConnectionLost()
        self.assertEqual(self.out.value(), result(b"1007 Argument list too long"))
        self.assertNotIn(10, self.switch.vlans)
        self.assertTrue(self.out.disconnecting)

    def test_eofWhilePaused(self) -> None:
        """
        Lines still pending when stdin ends (the output was full) run
        once the output drains; only then does the session end.
        """
        self.stdio.pauseProducing()
        self.stdio.dataReceived(b"vlan/create 10\n")
        self.stdio.readConnectionLost()
        self.assertFalse(self.out.disconnecting)
        self.assertEqual(self.warnings(), [])
        self.stdio.resumeProducing()
        self.assertEqual(self.out.value(), SUCCESS)
        self.assertTrue(self.out.disconnecting)
        self.assertEqual(self.warnings(), ["EOF on stdin, cleaning up and exiting"])

    def test_outputLost(self) -> None:
        """
        When standard output goes away (its reader closed it), the commands
        read still run, as r586 (which ignores C{SIGPIPE}) runs them; a
        session paused on the full output reads again; and EOF then stops
        the switch at once (nothing is left to write).
        """
        self.stdio.pauseProducing()
        self.stdio.dataReceived(b"vlan/create 10\n")
        self.stdio.stopProducing()
        self.stdio.writeConnectionLost()
        self.assertIn(10, self.switch.vlans)
        self.assertEqual(self.out.producerState, "producing")
        self.stdio.dataReceived(b"vlan/create 11\n")
        self.assertIn(11, self.switch.vlans)
        self.stdio.readConnectionLost()
        self.assertEqual(self.shutdowns, [True])

    def test_detached(self) -> None:
        """
        Once detached (the process stops for another reason), the end of
        stdin or of the session neither logs an EOF nor calls the shutdown.
        """
        self.stdio.detach()
        self.stdio.readConnectionLost()
        self.stdio.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((self.shutdowns, self.warnings()), ([], []))

    def test_promptWriter(self) -> None:
        """
        With a prompt writer (stdin a terminal, stdout elsewhere), the
        prompts go to it and the replies to the transport.
        """
        prompts: List[bytes] = []
        session = self.factory.buildStdioProtocol(prompt=True, promptWriter=prompts.append)
        out = StringTransport()
        session.makeConnection(out)
        session.dataReceived(b"vlan/create 10\n\n" + b"x" * (MAX_LINE + 1) + b"\n")
        self.assertEqual(out.value(), b"1000 Success\n1007 Argument list too long\n")
        self.assertEqual(prompts, [PROMPT] * 3)

    def test_noPromptNoWrites(self) -> None:
        """
        Without prompts (stdin not a terminal), the prompt writer gets
        nothing.
        """
        prompts: List[bytes] = []
        session = self.factory.buildStdioProtocol(prompt=False, promptWriter=prompts.append)
        session.makeConnection(StringTransport())
        session.dataReceived(b"vlan/create 10\n")
        self.assertEqual(prompts, [])


class FramingTests(ConsoleTestCase):
    """
    Reply framing and input handling (section 4.1 and 4.2).
    """

    def test_withFileSuccess(self) -> None:
        """
        A printing command: data block, C{.}, C{1000 Success}, prompt.
        """
        self.assertEqual(self.command(b"port/showinfo"),
                         b"0000 DATA END WITH '.'\nNumports=32\nHUB=false\ncounters=true\n"
                         b".\n1000 Success\n\nvde$ ")

    def test_withFileFailure(self) -> None:
        """
        The data block is there even when the command fails: the exact
        C{port/print 99} reply of section 10, R9.
        """
        self.assertEqual(self.command(b"port/print 99"),
                         b"0000 DATA END WITH '.'\n.\n1022 Invalid argument\n\nvde$ ")

    def test_plainCommand(self) -> None:
        """
        A command without output answers with the result line only.
        """
        self.assertEqual(self.command(b"vlan/create 10"), b"1000 Success\n\nvde$ ")

    def test_unknownCommand(self) -> None:
        """
        An unknown command is C{1038 Function not implemented}; the session
        goes on.
        """
        self.assertEqual(self.command(b"bogus"), b"1038 Function not implemented\n\nvde$ ")
        self.assertEqual(self.command(b"vlan/create 10"), SUCCESS)

    def test_emptyAndComment(self) -> None:
        """
        Blank lines, white space and C{#} comments get only the prompt.
        """
        for line in [b"", b"   \t", b"#", b"# port/create 3", b" \t#x"]:
            self.assertEqual(self.command(line), PROMPT)
        self.assertIsNone(self.switch.ports[3])

    def test_leadingWhiteSpaceAndCarriageReturn(self) -> None:
        """
        Leading spaces and tabs are skipped; one trailing C{\\r} goes.
        """
        expected = data(b"Numports=32", b"HUB=false", b"counters=true")
        self.assertEqual(self.command(b" \t port/showinfo"), expected)
        self.assertEqual(self.command(b"port/showinfo\r"), expected)

    def test_severalLinesInOneWrite(self) -> None:
        """
        Several lines in one write all run, in order (r586 would run only
        the first).
        """
        self.transport.clear()
        self.session.dataReceived(b"vlan/create 10\nvlan/create 10\n")
        self.assertEqual(self.transport.value(),
                         SUCCESS + result(b"1017 File exists"))

    def test_lineSplitAcrossWrites(self) -> None:
        """
        A line may arrive in pieces.
        """
        self.transport.clear()
        for piece in [b"vla", b"n/cre", b"ate 1", b"0\n"]:
            self.session.dataReceived(piece)
        self.assertEqual(self.transport.value(), SUCCESS)

    def test_nulEndsTheCommand(self) -> None:
        """
        A NUL ends the command, as the C string would.
        """
        self.assertEqual(self.command(b"vlan/create 10\x00junk"), SUCCESS)
        self.assertIn(10, self.switch.vlans)

    def test_binaryJunk(self) -> None:
        """
        Binary junk is an unknown command; the session goes on.
        """
        self.assertEqual(self.command(b"\xff\xfe\x80\x01abc\x7f"),
                         result(b"1038 Function not implemented"))
        self.assertEqual(self.command(b"vlan/create 10"), SUCCESS)

    def test_longLine(self) -> None:
        """
        A line over the limit is answered once with C{1007} and dropped up
        to its newline; the next line runs.
        """
        self.assertEqual(self.command(b"vlan/create 10" + b" " * MAX_LINE),
                         result(b"1007 Argument list too long"))
        self.assertNotIn(10, self.switch.vlans)
        self.assertEqual(self.command(b"vlan/create 10"), SUCCESS)

    def test_longLineInPiecesIsNotBuffered(self) -> None:
        """
        An endless line is answered once, never buffered past the limit,
        and its tail (up to the newline) is not run as a command.
        """
        self.transport.clear()
        for _ in range(20):
            self.session.dataReceived(b"x" * 1000)
            self.assertLessEqual(len(self.session._buffer), MAX_LINE)
        self.session.dataReceived(b"vlan/create 10\nvlan/create 11\n")
        self.assertEqual(self.transport.value(),
                         result(b"1007 Argument list too long") + SUCCESS)
        self.assertEqual(sorted(self.switch.vlans), [0, 11])

    def test_lineAtTheLimit(self) -> None:
        """
        A line of exactly L{MAX_LINE} bytes is still a command.
        """
        line = b"vlan/create 10"
        self.assertEqual(self.command(line + b" " * (MAX_LINE - len(line))), SUCCESS)


class BackpressureTests(ConsoleTestCase):
    """
    A client that stops reading stops being served.
    """

    def test_registeredAsStreamingProducer(self) -> None:
        """
        The session is its transport's streaming producer, and stops being
        one when it ends the session.
        """
        self.assertIs(self.transport.producer, self.session)
        self.assertTrue(self.transport.streaming)
        self.command(b"logout")
        self.assertIsNone(self.transport.producer)

    def test_pausedSessionRunsNothing(self) -> None:
        """
        While the transport is full, received lines wait and the session
        stops reading; they run when it drains.
        """
        self.session.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.transport.clear()
        self.session.dataReceived(b"vlan/create 10\nvlan/create 10\n")
        self.assertEqual(self.transport.value(), b"")
        self.assertNotIn(10, self.switch.vlans)
        self.session.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(self.transport.value(), SUCCESS + result(b"1017 File exists"))

    def test_pauseInTheMiddleOfAWrite(self) -> None:
        """
        When a reply fills the transport, the rest of the lines of that
        write wait.
        """
        original = self.transport.write

        def write(data: bytes) -> None:
            """
            Write, and report the transport full after a prompt.
            """
            original(data)
            if data == PROMPT:
                self.session.pauseProducing()
        self.transport.write = write  # type: ignore[method-assign]
        self.transport.clear()
        self.session.dataReceived(b"vlan/create 10\nvlan/create 11\n")
        self.assertEqual(sorted(self.switch.vlans), [0, 10])
        self.session.resumeProducing()
        self.assertEqual(sorted(self.switch.vlans), [0, 10, 11])

    def test_debugLinesDroppedWhilePaused(self) -> None:
        """
        Debug lines for a client that does not read are dropped (r586's
        non-blocking C{writev} drops them too) and counted.
        """
        self.command(b"debug/add port")
        self.session.pauseProducing()
        self.transport.clear()
        plug(self.switch, 6)
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.session.droppedEvents, 3)
        self.session.resumeProducing()
        plug(self.switch, 7)
        self.assertEqual(self.transport.value(), b"3021 port/+ 02\n3031 port/ep/+ Port 02 FD  7\n"
                         b"3023 port/descr Port 02 FD  7 -> \"client\"\n")
