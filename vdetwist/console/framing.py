# -*- test-case-name: tests.console.test_framing -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console protocol of vde_switch 2.3.2+r586, byte for byte, the server
side (L{vdetwist.console.client} is the client side).

A session gets a banner and the prompt C{"\\nvde$ "}; each command line
gets one reply, then the prompt.  Commands that print (flag L{WITHFILE})
frame their text as::

    0000 DATA END WITH '.'
    <lines>
    .
    1000 Success            (or 1NNN <strerror>)

and the others answer with the result line alone.  C{logout} and
C{shutdown} answer L{END_OF_SESSION} and the session closes; asynchronous
debug lines are C{3NNN category message}.
"""

import os

#: The prompt written after each reply.
PROMPT = b"\nvde$ "
#: What C{logout} and C{shutdown} answer (without a newline) before the
#: console closes the connection.
END_OF_SESSION = b"9999 END OF SESSION"
#: The first line of a data block.
DATA_START = "0000 DATA END WITH '.'"
#: The line that ends a data block.
DATA_END = "."

#: The longest command line accepted, in bytes.
MAX_LINE = 4096

#: Argument kinds and flags of a command table entry (as C{consmgmt.h}):
#: no argument, C{atoi} of the rest of the line, the rest of the line.
NOARG, INTARG, STRARG = 0, 1, 2
#: The command prints: its output is framed as a data block.
WITHFILE = 0x40
#: The command needs a session (it fails with C{EBADF} in the rc file).
WITHFD = 0x80
#: The bits of the flags that are the argument kind.
KIND = 0x3

#: The syntax column of a menu header entry.
MENU = "============"

#: Pseudo results of C{logout} and C{shutdown}.
LOGOUT = -1
SHUTDOWN = -2


def resultLine(rv: int) -> str:
    """
    The result line of a reply.

    @param rv: 0 or an errno.
    @return: C{1000 Success\\n} or C{1NNN strerror\\n}.
    """
    if rv == 0:
        return "1000 Success\n"
    return "1%03d %s\n" % (rv, os.strerror(rv))


def formatReply(rv: int, out: "list[str]") -> str:
    """
    A whole reply: the output lines (with their data block framing, if the
    command printed), then the result line unless the session ends.

    @param rv: 0, an errno, L{LOGOUT} or L{SHUTDOWN}.
    @param out: the lines, without newlines.
    @return: the text.
    """
    reply = "".join(item + "\n" for item in out)
    if rv >= 0:
        reply += resultLine(rv)
    return reply


def debugLine(tag: int, category: str, message: str) -> bytes:
    """
    One asynchronous debug notification.

    @param tag: the category's tag (printed in octal, 9 bits).
    @param category: the category path.
    @param message: the text.
    @return: the C{3NNN category message\\n} line.
    """
    return encode("3%03o %s %s\n" % (tag & 0o777, category, message))


def encode(text: str) -> bytes:
    """
    Console text as bytes: UTF-8, with the bytes that came in undecodable
    given back as they were.

    @param text: the text.
    @return: the bytes.
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def decode(data: bytes) -> str:
    """
    Console bytes as text, reversibly (undecodable bytes become lone
    surrogates, as file names do).

    @param data: the bytes.
    @return: the text.
    """
    return data.decode("utf-8", "surrogateescape")
