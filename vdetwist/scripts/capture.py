# -*- test-case-name: tests.scripts.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist capture SOCK PORT}: a live pcap stream of a switch port on
stdout, for Wireshark and tshark.

    vdetwist capture /tmp/mgmt 3 | tshark -r -
    vdetwist capture /tmp/mgmt 3 | wireshark -k -i -
    vdetwist capture /tmp/mgmt vlan:20 | tshark -r -
    vdetwist capture /tmp/mgmt cable:1 | tshark -r -

PORT is a port number (or C{port:N}); C{vlan:N} streams every frame the
switch admits into VLAN N, as it entered (C{vlan/stream N}); C{cable:ID}
streams the port of cable ID (the port C{cable/print ID} shows; a cable
that is not connected has none, and one that reconnects gets a new port,
so the stream ends with its connection).

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
from typing import BinaryIO, List, Optional, Tuple

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
    synopsis = "SOCK (PORT | vlan:N | cable:ID)"
    longdesc = ("Stream a switch port's traffic as pcap to stdout, live "
                "(vdetwist capture /tmp/mgmt 3 | tshark -r -); vlan:N streams a VLAN, "
                "cable:ID the port of a cable. SOCK is the switch's management console "
                "socket (-M).")

    def parseArgs(self, sock: str, port: str) -> None:
        """
        @param sock: the console socket.
        @param port: what to capture: C{N}, C{port:N}, C{vlan:N} or
            C{cable:ID}.
        @raise usage.UsageError: anything else.
        """
        self["sock"] = sock
        self["kind"], self["port"] = parseTarget(port)


#: The kinds of target C{vdetwist capture} takes.
KINDS = ("port", "vlan", "cable")


def parseTarget(text: str) -> Tuple[str, int]:
    """
    What to capture.

    @param text: C{N}, C{port:N}, C{vlan:N} or C{cable:ID}.
    @return: the kind (C{port}, C{vlan} or C{cable}) and the number.
    @raise usage.UsageError: for anything else.
    """
    kind, sep, number = text.partition(":")
    if not sep:
        kind, number = "port", text
    if kind not in KINDS or not number.isdigit():
        raise usage.UsageError("PORT must be a port number, vlan:N or cable:ID, not %r"
                               % (text,))
    return kind, int(number)


#: A connection line of C{cable/print}: its port.
CABLE_PORT = re.compile(r"^ peer .* port (\d+|none)(?: TLS.*)?$")


def cablePort(lines: List[str], cableID: int) -> int:
    """
    The port of a cable, from its C{cable/print ID} lines.

    @param lines: the reply's lines.
    @param cableID: the cable (for the message).
    @return: the port number of its first connection.
    @raise CaptureError: it has no connection with a port now.
    """
    for line in lines:
        match = CABLE_PORT.match(line)
        if match is not None and match.group(1) != "none":
            return int(match.group(1))
    raise CaptureError("cable %d is not connected to a port now" % (cableID,))


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


def _command(sock: socket.socket, buffer: bytes, command: str
             ) -> Tuple[int, str, List[str], bytes]:
    """
    Send one console command and read its reply.

    @param sock: the console connection, at a prompt.
    @param buffer: bytes read after the prompt already.
    @param command: the command line.
    @return: the result code (0 for C{1000 Success}), its text, the
        output lines before it, and the bytes read past the prompt.
    @raise CaptureError: the connection closed or said too much.
    """
    sock.sendall(command.encode("utf-8") + b"\n")
    reply = _readUntil(sock, buffer, REPLY)
    code, text = int(reply.group(1)), reply.group(2).decode("utf-8", "replace")
    output = reply.string[:reply.start()].decode("utf-8", "replace").split("\n")
    # The data lines come between "0000 DATA END WITH '.'" and ".".
    lines = [line for line in output if line and line != "." and not line.startswith("0000 ")]
    return code, text, lines, reply.string[reply.end():]


def startStream(path: str, port: int, kind: str = "port") -> "tuple[socket.socket, bytes]":
    """
    Log in to the console and ask for the stream.

    @param path: the console socket.
    @param port: the port (the VLAN, the cable).
    @param kind: C{port}, C{vlan} or C{cable} (resolved to its port with
        C{cable/print}).
    @return: the connected socket and the first bytes of the stream.
    @raise CaptureError: the switch refused (the message is its reply).
    @raise OSError: the socket could not be reached.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        banner = _readUntil(sock, b"", re.compile(re.escape(PROMPT)))
        rest = banner.string[banner.end():]
        if kind == "cable":
            command = "cable/print %d" % (port,)
            code, text, lines, rest = _command(sock, rest, command)
            if code != 0:
                raise CaptureError("the switch refused: %s (%s)" % (text, command))
            port, kind = cablePort(lines, port), "port"
        command = "%s/stream %d" % (kind, port)
        code, text, _, rest = _command(sock, rest, command)
        if code != 0:
            raise CaptureError("the switch refused: %s (%s)" % (text, command))
        return sock, rest
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
        sock, first = startStream(options["sock"], options["port"], options["kind"])
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
