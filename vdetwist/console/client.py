# -*- test-case-name: tests.console.test_client -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The client side of the console protocol (L{vdetwist.console.framing}):
split the byte stream of a VDE management console (vdetwist's,
C{vde_switch}'s, C{wirefilter}'s) into lines, prompts and the end of
session (L{ConsoleParser}), and turn the lines of one reply into a
L{Reply}: its data block, its C{1NNN} result, the asynchronous C{3NNN}
lines that came meanwhile (L{ReplyBuilder}).  Pure: no I/O.
"""

import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from vdetwist.console import framing

#: The first line of a data block.
DATA_HEADER = framing.DATA_START.encode("ascii")
#: The line that ends a data block.
DATA_END = framing.DATA_END.encode("ascii")
#: What C{logout} and C{shutdown} answer (without a newline) before the
#: console closes the connection.
END_OF_SESSION = framing.END_OF_SESSION

#: Parser event: one complete line from the console (without its newline).
LINE = "line"
#: Parser event: the prompt arrived; the console awaits a command.
PROMPT = "prompt"
#: Parser event: C{9999 END OF SESSION}.
END = "end"
#: Parser event: bytes left without a newline when the stream ended.
PARTIAL = "partial"

#: What a prompt looks like before we know it: one word ending in C{$ }
#: (C{vde$ }, wirefilter's C{VDEwf$ }).
_PROMPT_SHAPE = re.compile(rb"[^\s$]{1,32}\$ ")
_RESULT = re.compile(rb"1(\d{3})(?: |\Z)")
_ASYNC = re.compile(rb"3\d{3}(?: |\Z)")

#: The status of a reply without a result (L{Reply.exitStatus}), which
#: C{vdetwist term} exits with when the console cannot be used at all.
NO_RESULT = 255


class ConsoleParser:
    """
    Split the byte stream of a VDE management console into events.

    The console writes replies as lines, and then the prompt: a newline and
    C{vde$ } (wirefilter: C{VDEwf$ }) with no newline after it.  The prompt
    is learnt from the greeting (the first word ending in C{$ } that starts
    a line after an empty line, or ends what has arrived), and afterwards
    recognised at the start of a line that follows an empty line; that
    empty line is part of the prompt, not an event.
    Asynchronous lines may follow a prompt on the same wire line
    (C{vde$ 3021 port/+ 01\\n}): they come out as lines of their own.

    @ivar prompt: the prompt, once learnt (C{b"vde$ "}), else L{None}.
    @ivar maxLine: the longest line buffered; a longer run of bytes without
        a newline is delivered as a line in pieces of this size.
    """

    maxLine = 65536

    def __init__(self, prompt: Optional[bytes] = None) -> None:
        """
        @param prompt: the prompt, if known in advance.
        """
        self.prompt = prompt
        self._buffer = b""
        self._blank = False

    def feed(self, data: bytes) -> List[Tuple[str, bytes]]:
        """
        Parse more bytes.

        @param data: what the console wrote.
        @return: C{(kind, value)} events: C{(LINE, line)}, C{(PROMPT,
            prompt)}, C{(END, b"9999 END OF SESSION")}.
        """
        events: List[Tuple[str, bytes]] = []
        buffer = self._buffer + data
        while True:
            if self._atPrompt(buffer, events):
                buffer = buffer[len(self.prompt):]  # type: ignore[arg-type]
                continue
            if buffer.startswith(END_OF_SESSION):
                self._flushBlank(events)
                events.append((END, END_OF_SESSION))
                buffer = buffer[len(END_OF_SESSION):]
                continue
            newline = buffer.find(b"\n")
            if newline < 0:
                if len(buffer) > self.maxLine:
                    self._flushBlank(events)
                    events.append((LINE, buffer[:self.maxLine]))
                    buffer = buffer[self.maxLine:]
                    continue
                break
            line, buffer = buffer[:newline], buffer[newline + 1:]
            self._flushBlank(events)
            if line:
                events.append((LINE, line))
            else:
                self._blank = True
        self._buffer = buffer
        return events

    def _atPrompt(self, buffer: bytes, events: List[Tuple[str, bytes]]) -> bool:
        """
        Whether C{buffer} starts with the prompt; if so, emit the event
        (learning the prompt from the greeting if needed).

        @param buffer: the bytes at the start of a line.
        @param events: where the event goes.
        @return: whether a prompt was consumed (the caller removes it).
        """
        if self.prompt is None:
            match = _PROMPT_SHAPE.match(buffer)
            if match is None or not (self._blank or match.end() == len(buffer)):
                return False
            self.prompt = match.group()
        elif not (self._blank and buffer.startswith(self.prompt)):
            return False
        self._blank = False
        events.append((PROMPT, self.prompt))
        return True

    def _flushBlank(self, events: List[Tuple[str, bytes]]) -> None:
        """
        An empty line turned out not to precede a prompt: emit it.

        @param events: where the event goes.
        """
        if self._blank:
            self._blank = False
            events.append((LINE, b""))

    def finish(self) -> List[Tuple[str, bytes]]:
        """
        The stream ended: emit what is still buffered.

        @return: the last events (an empty line, a C{PARTIAL} line).
        """
        events: List[Tuple[str, bytes]] = []
        self._flushBlank(events)
        if self._buffer.startswith(END_OF_SESSION):
            events.append((END, END_OF_SESSION))
            self._buffer = self._buffer[len(END_OF_SESSION):]
        if self._buffer:
            events.append((PARTIAL, self._buffer))
            self._buffer = b""
        return events


def isAsyncLine(line: bytes) -> bool:
    """
    Whether a line (outside a data block) is an asynchronous debug
    notification: a C{3NNN} code.

    @param line: a console line.
    @return: C{True} for C{3021 port/+ 01} and the like.
    """
    return _ASYNC.match(line) is not None


@dataclass
class Reply:
    """
    The reply to one command.

    @ivar lines: the output: the lines of the data blocks, and any line that
        is not framing (C{load} echoes its commands and their results).
    @ivar asyncLines: asynchronous debug lines that arrived meanwhile.
    @ivar code: the last C{1NNN} result code (1000 for success), or L{None}.
    @ivar text: that line's text after the code (C{b"Invalid argument"}).
    @ivar resultLine: the whole result line.
    @ivar ended: C{9999 END OF SESSION} arrived.
    @ivar complete: the prompt (or the end of session) arrived.
    """

    lines: List[bytes] = field(default_factory=list)
    asyncLines: List[bytes] = field(default_factory=list)
    code: Optional[int] = None
    text: bytes = b""
    resultLine: bytes = b""
    ended: bool = False
    complete: bool = False

    def exitStatus(self) -> int:
        """
        The exit status this reply gives C{vdetwist term}.

        @return: 0 for C{1000} or the end of session, the errno NNN of
            C{1NNN} capped to 255, or L{NO_RESULT} when no result
            came.
        """
        if self.ended and self.code is None:
            return 0
        if self.code is None:
            return NO_RESULT
        return min(self.code - 1000, 255)


class ReplyBuilder:
    """
    Collect the events of one command's reply into a L{Reply}.

    Inside a data block every line is data; outside, C{3NNN} lines are
    asynchronous and C{1NNN} lines are results.  When several results come
    (C{load}), all but the last are output lines.
    """

    def __init__(self) -> None:
        """
        Start an empty reply.
        """
        self.reply = Reply()
        self._inBlock = False

    def event(self, kind: str, value: bytes) -> bool:
        """
        Take one parser event.

        @param kind: the event kind.
        @param value: its bytes.
        @return: whether the reply is complete.
        """
        reply = self.reply
        if kind == PROMPT:
            reply.complete = True
        elif kind == END:
            reply.ended = reply.complete = True
        elif self._inBlock:
            if value == DATA_END:
                self._inBlock = False
            else:
                reply.lines.append(value)
        elif value == DATA_HEADER:
            self._inBlock = True
        elif isAsyncLine(value):
            reply.asyncLines.append(value)
        elif _RESULT.match(value):
            if reply.resultLine:
                reply.lines.append(reply.resultLine)
            reply.resultLine = value
            reply.code = int(value[:4])
            reply.text = value[5:]
        else:
            reply.lines.append(value)
        return reply.complete
