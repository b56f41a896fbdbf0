# -*- test-case-name: tests.console.test_client -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.client}: the console stream parser and reply
builder on bytes captured from Debian's vde_switch 2.3.2 and wirefilter
(docs/vde-protocol.md section 4, and C{od -c} of C{unixterm}'s output).
"""

from typing import Optional

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.console.client import (
    DATA_END,
    DATA_HEADER,
    END,
    END_OF_SESSION,
    LINE,
    PARTIAL,
    PROMPT,
    ConsoleParser,
    Reply,
    ReplyBuilder,
    isAsyncLine,
)
from vdetwist.console.framing import DATA_START, PROMPT as PROMPT_BYTES

#: vde_switch 2.3.2's greeting, captured: the banner (two lines), then the
#: prompt written separately as a newline and C{vde$ }.
BANNER = (b"VDE switch V.2.3.2\n"
          b"(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n")
GREETING = BANNER + b"\nvde$ "

#: wirefilter's greeting, captured: it starts with an empty line and its
#: prompt is C{VDEwf$ }.
WF_GREETING = (b"\nVDE wirefilter V.2.3.2\n"
               b"(C) R.Davoli 2005,2006 - GPLv2\n"
               b"\nVDEwf$ ")

#: C{port/print} on a switch with no ports, captured: the data block
#: header, no lines, the terminator, the result, then the prompt.
PORT_PRINT_EMPTY = b"0000 DATA END WITH '.'\n.\n1000 Success\n\nvde$ "

#: C{port/print 99}: the block is written even when the command fails.
PORT_PRINT_99 = b"0000 DATA END WITH '.'\n.\n1022 Invalid argument\n\nvde$ "

#: An unknown command: no block, a result (ENOSYS), the prompt.
BOGUS = b"1038 Function not implemented\n\nvde$ "

#: C{hash/showinfo}, captured: four data lines.
HASH_SHOWINFO = (b"0000 DATA END WITH '.'\n"
                 b"Hash size 128\n"
                 b"GC interval 2 secs\n"
                 b"GC expire 100 secs\n"
                 b"Min persistence 3 secs\n"
                 b".\n"
                 b"1000 Success\n"
                 b"\nvde$ ")

#: After C{debug/add port}, a plug's arrival, captured: the notifications
#: come right after the prompt, on the same wire line.
ASYNC_AFTER_PROMPT = (b"1000 Success\n\nvde$ "
                      b"3021 port/+ 03\n"
                      b"3031 port/ep/+ Port 03 FD 11\n")


def feedAll(data: bytes, step: Optional[int] = None) -> list:
    """
    Parse bytes whole, or in pieces of C{step} bytes.

    @return: all the events, including those of C{finish}.
    """
    parser = ConsoleParser()
    events = []
    if step is None:
        events.extend(parser.feed(data))
    else:
        for i in range(0, len(data), step):
            events.extend(parser.feed(data[i:i + step]))
    events.extend(parser.finish())
    return events


class ConsoleParserTests(SynchronousTestCase):
    """
    L{ConsoleParser} splits the console's stream into lines, prompts and
    the end of session.
    """

    def test_greeting(self) -> None:
        """
        The banner comes out as lines; the empty line and C{vde$ } are one
        prompt event, and the prompt is learnt.
        """
        parser = ConsoleParser()
        self.assertEqual(parser.feed(GREETING), [
            (LINE, b"VDE switch V.2.3.2"),
            (LINE, b"(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2"),
            (PROMPT, b"vde$ "),
        ])
        self.assertEqual(parser.prompt, b"vde$ ")

    def test_wirefilterGreeting(self) -> None:
        """
        wirefilter's greeting starts with an empty line (kept) and its
        prompt is C{VDEwf$ }.
        """
        parser = ConsoleParser()
        self.assertEqual(parser.feed(WF_GREETING), [
            (LINE, b""),
            (LINE, b"VDE wirefilter V.2.3.2"),
            (LINE, b"(C) R.Davoli 2005,2006 - GPLv2"),
            (PROMPT, b"VDEwf$ "),
        ])

    def test_replies(self) -> None:
        """
        Data blocks, results and prompts after the greeting.
        """
        events = feedAll(GREETING + HASH_SHOWINFO + BOGUS)
        self.assertEqual(events[3:], [
            (LINE, b"0000 DATA END WITH '.'"),
            (LINE, b"Hash size 128"),
            (LINE, b"GC interval 2 secs"),
            (LINE, b"GC expire 100 secs"),
            (LINE, b"Min persistence 3 secs"),
            (LINE, b"."),
            (LINE, b"1000 Success"),
            (PROMPT, b"vde$ "),
            (LINE, b"1038 Function not implemented"),
            (PROMPT, b"vde$ "),
        ])

    def test_anySplit(self) -> None:
        """
        The events do not depend on how the stream is split into reads.
        """
        stream = GREETING + HASH_SHOWINFO + ASYNC_AFTER_PROMPT + b"\nvde$ " + BOGUS
        whole = feedAll(stream)
        for step in (1, 2, 3, 5, 7, 64):
            self.assertEqual(feedAll(stream, step), whole, step)

    def test_emptyCommand(self) -> None:
        """
        An empty command's reply is just C{\\nvde$ }, right after the
        previous prompt: one more prompt.
        """
        self.assertEqual(feedAll(GREETING + b"\nvde$ ")[-2:],
                         [(PROMPT, b"vde$ "), (PROMPT, b"vde$ ")])

    def test_asyncAfterPrompt(self) -> None:
        """
        Notifications written right after a prompt are lines of their own.
        """
        self.assertEqual(feedAll(GREETING + ASYNC_AFTER_PROMPT)[3:], [
            (LINE, b"1000 Success"),
            (PROMPT, b"vde$ "),
            (LINE, b"3021 port/+ 03"),
            (LINE, b"3031 port/ep/+ Port 03 FD 11"),
        ])

    def test_emptyLineNotBeforePrompt(self) -> None:
        """
        An empty line followed by something other than the prompt is a line.
        """
        self.assertEqual(feedAll(GREETING + b"a\n\nb\n")[3:],
                         [(LINE, b"a"), (LINE, b""), (LINE, b"b")])

    def test_promptTextInsideLine(self) -> None:
        """
        C{vde$ } in the middle of a line, or at the start of a line that
        does not follow an empty one, is not a prompt.
        """
        self.assertEqual(feedAll(GREETING + b"x vde$ y\nvde$ z\n")[3:],
                         [(LINE, b"x vde$ y"), (LINE, b"vde$ z")])

    def test_endOfSession(self) -> None:
        """
        C{logout}'s C{9999 END OF SESSION} (no newline) is an event, whole
        or split, and even when the stream ends right after it.
        """
        for step in (None, 1, 4):
            self.assertEqual(feedAll(GREETING + b"9999 END OF SESSION", step)[-1],
                             (END, b"9999 END OF SESSION"))

    def test_partialAtEnd(self) -> None:
        """
        Bytes without a newline when the stream ends come out as
        C{PARTIAL}.
        """
        self.assertEqual(feedAll(GREETING + b"half a li")[-1], (PARTIAL, b"half a li"))

    def test_longLineBounded(self) -> None:
        """
        A run of bytes without a newline is delivered in pieces of
        C{maxLine} bytes instead of growing the buffer.
        """
        parser = ConsoleParser(prompt=b"vde$ ")
        parser.maxLine = 10
        self.assertEqual(parser.feed(b"x" * 25), [(LINE, b"x" * 10), (LINE, b"x" * 10)])
        self.assertEqual(parser.finish(), [(PARTIAL, b"x" * 5)])


class ReplyBuilderTests(SynchronousTestCase):
    """
    L{ReplyBuilder} turns the events of one reply into a L{Reply}.
    """

    def build(self, stream: bytes) -> Reply:
        """
        The reply made of C{stream}'s events after the greeting.
        """
        parser = ConsoleParser()
        parser.feed(GREETING)
        builder = ReplyBuilder()
        for kind, value in parser.feed(stream) + parser.finish():
            if builder.event(kind, value):
                break
        return builder.reply

    def test_dataBlock(self) -> None:
        """
        The data lines without the framing, and the success code.
        """
        reply = self.build(HASH_SHOWINFO)
        self.assertEqual(reply.lines, [b"Hash size 128", b"GC interval 2 secs",
                                       b"GC expire 100 secs", b"Min persistence 3 secs"])
        self.assertEqual((reply.code, reply.text, reply.complete), (1000, b"Success", True))
        self.assertEqual(reply.exitStatus(), 0)

    def test_failedBlock(self) -> None:
        """
        C{port/print 99}: an empty block and C{1022}: exit status 22.
        """
        reply = self.build(PORT_PRINT_99)
        self.assertEqual((reply.lines, reply.code, reply.resultLine),
                         ([], 1022, b"1022 Invalid argument"))
        self.assertEqual(reply.exitStatus(), 22)

    def test_noBlock(self) -> None:
        """
        An unknown command: no lines, C{1038}.
        """
        reply = self.build(BOGUS)
        self.assertEqual((reply.lines, reply.exitStatus()), ([], 38))

    def test_async(self) -> None:
        """
        C{3NNN} lines outside the block are asynchronous; inside it they
        are data.
        """
        reply = self.build(b"3021 port/+ 03\n0000 DATA END WITH '.'\n3000 data\n.\n"
                           b"3022 port/- 03\n1000 Success\n\nvde$ ")
        self.assertEqual(reply.lines, [b"3000 data"])
        self.assertEqual(reply.asyncLines, [b"3021 port/+ 03", b"3022 port/- 03"])

    def test_load(self) -> None:
        """
        C{load}'s echoes and inner results are output; the last result is
        the command's.
        """
        reply = self.build(b"vde[/tmp/rc]: bogus\n1038 Function not implemented\n"
                           b"1000 Success\n\nvde$ ")
        self.assertEqual(reply.lines, [b"vde[/tmp/rc]: bogus", b"1038 Function not implemented"])
        self.assertEqual(reply.exitStatus(), 0)

    def test_endOfSession(self) -> None:
        """
        C{logout}: the session ended, exit status 0.
        """
        reply = self.build(b"9999 END OF SESSION")
        self.assertTrue(reply.ended)
        self.assertEqual(reply.exitStatus(), 0)

    def test_exitStatus(self) -> None:
        """
        The errno is capped to 255; no result at all is 255.
        """
        self.assertEqual(Reply(code=1999).exitStatus(), 255)
        self.assertEqual(Reply(code=1001).exitStatus(), 1)
        self.assertEqual(Reply().exitStatus(), 255)

    def test_isAsyncLine(self) -> None:
        """
        A 3 and three digits, then a space or nothing.
        """
        self.assertTrue(isAsyncLine(b"3021 port/+ 01"))
        self.assertFalse(isAsyncLine(b"30211 x"))
        self.assertFalse(isAsyncLine(b"1000 Success"))


class FramingAgreementTests(SynchronousTestCase):
    """
    The client codec reads the framing the server writes
    (L{vdetwist.console.framing}), defined once.
    """

    def test_constants(self) -> None:
        """
        The data block header and terminator and the end of session are
        the server's, as bytes.
        """
        self.assertEqual(DATA_HEADER, b"0000 DATA END WITH '.'")
        self.assertEqual(DATA_HEADER, DATA_START.encode("ascii"))
        self.assertEqual(DATA_END, b".")
        self.assertEqual(END_OF_SESSION, b"9999 END OF SESSION")

    def test_serverPrompt(self) -> None:
        """
        The parser learns the server's prompt from a greeting.
        """
        parser = ConsoleParser()
        self.assertEqual(parser.feed(b"banner\n" + PROMPT_BYTES),
                         [(LINE, b"banner"), (PROMPT, b"vde$ ")])
