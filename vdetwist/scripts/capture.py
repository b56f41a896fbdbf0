# -*- test-case-name: tests.scripts.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist capture SOCK PORT}: a live pcap stream of a switch port on
stdout, for Wireshark and tshark.

    vdetwist capture /tmp/mgmt 3 | tshark -r -
    vdetwist capture /tmp/mgmt 3 | wireshark -k -i -

SOCK is the switch's management console (C{-M}).  The command logs in,
asks for C{port/stream PORT}, and from the reply on copies the stream to
stdout until the switch ends it (C{port/nocapture PORT}, or the switch
stops), the reader goes away, or Ctrl-C.  The switch never queues more
than a small buffer for a slow reader: frames it cannot send are counted
(C{port/nocapture} prints how many) and lost.
"""

import os
import re
import socket
import sys
from typing import BinaryIO, List, Optional

from twisted.python import usage

from vdetwist.version import VersionOption

#: The console's prompt.
PROMPT = b"\nvde$ "
#: A result line followed by the prompt.
REPLY = re.compile(rb"(?:^|\n)1(\d{3}) ([^\n]*)\n\nvde\$ ")
#: The most console text read before the stream starts.
MAX_PREAMBLE = 1 << 16


class Options(VersionOption, usage.Options):
    """
    C{vdetwist capture}'s arguments.
    """

    command = "vdetwist capture"
    synopsis = "SOCK PORT"
    longdesc = ("Stream a switch port's traffic as pcap to stdout, live "
                "(vdetwist capture /tmp/mgmt 3 | tshark -r -). SOCK is the "
                "switch's management console socket (-M).")

    def parseArgs(self, sock: str, port: str) -> None:
        """
        @param sock: the console socket.
        @param port: the port number.
        @raise usage.UsageError: a bad port.
        """
        if not port.isdigit():
            raise usage.UsageError("PORT must be a port number, not %r" % (port,))
        self["sock"] = sock
        self["port"] = int(port)


class CaptureError(Exception):
    """
    The switch did not start the stream; the message says why.
    """


def _readUntil(sock: socket.socket, buffer: bytes, pattern: "re.Pattern[bytes]") -> "re.Match[bytes]":
    """
    Read until C{pattern} matches the buffer.

    @return: the match (over the whole buffer read so far).
    @raise CaptureError: the connection closed or sent too much first.
    """
    while True:
        match = pattern.search(buffer)
        if match is not None:
            return match
        if len(buffer) > MAX_PREAMBLE:
            raise CaptureError("the console said too much without a reply")
        data = sock.recv(4096)
        if not data:
            raise CaptureError("the switch closed the console")
        buffer += data


def startStream(path: str, port: int) -> "tuple[socket.socket, bytes]":
    """
    Log in to the console and ask for the stream.

    @param path: the console socket.
    @param port: the port.
    @return: the connected socket and the first bytes of the stream.
    @raise CaptureError: the switch refused (the message is its reply).
    @raise OSError: the socket could not be reached.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        banner = _readUntil(sock, b"", re.compile(re.escape(PROMPT)))
        rest = banner.string[banner.end():]
        sock.sendall(b"port/stream %d\n" % (port,))
        reply = _readUntil(sock, rest, REPLY)
        code, text = int(reply.group(1)), reply.group(2).decode("utf-8", "replace")
        if code != 0:
            raise CaptureError("the switch refused: %s (port/stream %d)" % (text, port))
        return sock, reply.string[reply.end():]
    except BaseException:
        sock.close()
        raise


def copyStream(sock: socket.socket, first: bytes, out: BinaryIO) -> int:
    """
    Copy the stream to C{out} until it ends.

    @param sock: the console connection.
    @param first: stream bytes already read.
    @param out: where to write (stdout's binary buffer).
    @return: the bytes copied.
    """
    fd = out.fileno()
    total = 0
    data = first
    while True:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
            total += written
        data = sock.recv(1 << 16)
        if not data:
            return total


def main(argv: List[str], out: Optional[BinaryIO] = None, err: Optional[object] = None) -> int:
    """
    Run C{vdetwist capture}.

    @param argv: the arguments after C{capture}.
    @param out: the binary stdout (the process's by default).
    @param err: where messages go (stderr by default).
    @return: the exit status: 0 when the stream ended or the reader left,
        1 when it could not start, 2 for bad arguments.
    """
    errors = err if err is not None else sys.stderr
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        print("vdetwist capture: %s\n%s" % (e, options), file=errors)  # type: ignore[call-overload]
        return 2
    output = out if out is not None else sys.stdout.buffer
    try:
        sock, first = startStream(options["sock"], options["port"])
    except (OSError, CaptureError) as e:
        print("vdetwist capture: %s: %s" % (
            options["sock"], e.strerror if isinstance(e, OSError) and e.strerror else e),
            file=errors)  # type: ignore[call-overload]
        return 1
    try:
        copyStream(sock, first, output)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
