# -*- test-case-name: tests.switch.test_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The management console (C{-M SOCK}), byte-compatible with Debian's
vde_switch 2.3.2+r586 (docs/vde-protocol.md sections 4 and 5).

A session gets the banner and the prompt C{"\\nvde$ "}; each command line
gets one reply, then the prompt.  Commands that print (the C{WITHFILE}
ones) frame their text as::

    0000 DATA END WITH '.'
    <lines>
    .
    1000 Success            (or 1NNN <strerror>)

and the others answer with the result line alone.  Commands are looked up
as vde_switch does: the first entry of the table, in registration order,
whose path is a prefix of the input (so C{showinfoXYZ} runs C{showinfo});
the rest of the line, after spaces and tabs, is the argument, parsed as the
C code parses it (C{atoi} for numbers, C{sscanf("%i")} for the others, so
C{0x1} and C{077} are accepted there).  Each command is a method named by
its path (C{port/print} is C{cmd_port_print}).

Sessions that ran C{debug/add} get asynchronous C{3NNN category message}
lines from the switch's debug events.

Deliberate differences from r586:

  - Input is split on newlines, and one trailing C{\\r} is removed; r586
    treats each C{read()} of up to 128 bytes as one command.  A line longer
    than L{MAX_LINE} bytes is answered with C{1007 Argument list too long}
    and discarded up to its newline; the session goes on.
  - C{port/print}: the current user and the access-control user are
    looked up separately (r586 prints the same name twice, from
    C{getpwuid}'s static buffer).
  - C{hash/find} prints the entry's port (r586 prints the port plus one).
  - VLAN 4094 is valid: C{vlan/create}, C{vlan/print}, C{vlan/allprint},
    C{vlan/addport}, C{vlan/delport} and C{fstp/print} accept it (r586
    answers 1022).
  - C{port/create 0} is refused with 1022 (r586 creates the lowest free
    port instead); C{vlan/remove 0} is always refused with 1098 (r586
    removes VLAN 0 when no port is a member).
  - C{port/setnumports} above L{MAX_NUMPORTS} answers 1012.
  - C{load}: scripts nest at most L{MAX_LOAD_DEPTH} deep (then 1040), a
    script over L{MAX_SCRIPT} bytes is refused and one C{load} stops after
    L{MAX_SCRIPT_COMMANDS} lines (1027), and files are opened non-blocking,
    so a FIFO or a terminal cannot stall the switch.
  - No C plugins are loaded: C{plugin/add} answers 1002 (1022 without an
    argument), as r586 does for a library it cannot load.  FSTP and these
    commands live in L{vdetwist.switch.fstpcommands}.
  - C{port/epclose} on an inactive port does not fire a second C{port/-}
    event; C{vlan/delport} of a port that is not a tagged member answers
    1000, as r586 does, but flushes nothing.

As in r586, C{logout} and C{shutdown} inside a script do nothing, and
commands that need a session (C{load}, C{debug/*}) fail with 1009 in the
start-up rc file (L{ConsoleFactory.runRCFile}).  The stdin/stdout console
(L{ConsoleFactory.buildStdioProtocol}) has no banner, writes prompts only
to a terminal, ignores C{logout}, and stops the switch at EOF, as r586's.
"""

import collections
import errno
import grp
import os
import pwd
import re
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Set, Tuple

from twisted.internet import protocol
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.switch import fstpcommands
from vdetwist.switch.fdb import LAST_SEEN, PORT, bucketOf, roundUpPowerOfTwo
from vdetwist.switch.port import NOBODY, NOVLAN, Port
from vdetwist.switch.switch import DEBUG_CATEGORIES, MAX_VLAN, Switch, SwitchError
from vdetwist.wire.addr import formatMAC

log = Logger(namespace="vdetwist.switch.console")

#: The banner, as vde_switch 2.3.2 writes it (C{showinfo} prints it too).
HEADER = ("VDE switch V.2.3.2\n"
          "(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n")
PROMPT = b"\nvde$ "
END_OF_SESSION = b"9999 END OF SESSION"
DATA_START = "0000 DATA END WITH '.'"

#: The longest command line accepted, in bytes.
MAX_LINE = 4096
#: The largest script C{load} runs, in bytes.
MAX_SCRIPT = 1 << 20
#: How deep C{load} may nest.
MAX_LOAD_DEPTH = 8
#: The most script lines one C{load} (or rc file) runs, nested ones
#: included.
MAX_SCRIPT_COMMANDS = 65536
#: The most ports C{port/setnumports} makes.
MAX_NUMPORTS = 65536
#: vde_switch's C{fgets} buffer: script lines longer than this minus one
#: are split.
_SCRIPT_CHUNK = 128

#: Argument kinds and flags of the command table (as C{consmgmt.h}).
NOARG, INTARG, STRARG = 0, 1, 2
WITHFILE = 0x40
WITHFD = 0x80
_KIND = 0x3

#: Pseudo results of C{logout} and C{shutdown}.
LOGOUT = -1
SHUTDOWN = -2

_MENU = "============"

#: The command table, in vde_switch's registration order: C{(path, syntax,
#: help, flags)}; C{flags} is L{None} for menu headers.
COMMANDS: List[Tuple[str, str, str, Optional[int]]] = [
    ("ds", _MENU, "DATA SOCKET MENU", None),
    ("ds/showinfo", "", "show ds info", NOARG | WITHFILE),
    ("help", "[arg]", "Help (limited to arg when specified)", STRARG | WITHFILE),
    ("logout", "", "logout from this mgmt terminal", NOARG),
    ("shutdown", "", "shutdown of the switch", NOARG),
    ("showinfo", "", "show switch version and info", NOARG | WITHFILE),
    ("load", "path", "load a configuration script", STRARG | WITHFD),
    ("debug", _MENU, "DEBUG MENU", None),
    ("debug/list", "", "list debug categories", STRARG | WITHFILE | WITHFD),
    ("debug/add", "dbgpath", "enable debug info for a given category", STRARG | WITHFD),
    ("debug/del", "dbgpath", "disable debug info for a given category", STRARG | WITHFD),
    ("plugin", _MENU, "PLUGINS MENU", None),
    ("plugin/list", "", "list plugins", STRARG | WITHFILE),
    ("plugin/add", "library", "load a plugin", STRARG),
    ("plugin/del", "name", "unload a plugin", STRARG),
    ("hash", _MENU, "HASH TABLE MENU", None),
    ("hash/showinfo", "", "show hash info", NOARG | WITHFILE),
    ("hash/setsize", "N", "change hash size", INTARG),
    ("hash/setgcint", "N", "change garbage collector interval", INTARG),
    ("hash/setexpire", "N", "change hash entries expire time", INTARG),
    ("hash/setminper", "N", "minimum persistence time", INTARG),
    ("hash/print", "", "print the hash table", NOARG | WITHFILE),
    ("hash/find", "MAC [VLAN]", "MAC lookup", STRARG | WITHFILE),
    ("fstp", _MENU, "FAST SPANNING TREE MENU", None),
    ("fstp/showinfo", "", "show fstp info", NOARG | WITHFILE),
    ("fstp/setfstp", "0/1", "Fast spanning tree protocol 1=ON 0=OFF", INTARG | WITHFILE),
    ("fstp/setedge", "VLAN PORT 1/0", "Define an edge port for a vlan 1=Y 0=N", STRARG),
    ("fstp/bonus", "VLAN PORT COST", "set the port bonus for a vlan", STRARG),
    ("fstp/print", "[N]", "print fst data for the defined vlan", STRARG | WITHFILE),
    ("port", _MENU, "PORT STATUS MENU", None),
    ("port/showinfo", "", "show port info", NOARG | WITHFILE),
    ("port/setnumports", "N", "set the number of ports", INTARG),
    ("port/sethub", "0/1", "1=HUB 0=switch", INTARG),
    ("port/setvlan", "N VLAN", "set port VLAN (untagged)", STRARG),
    ("port/createauto", "", "create a port with an automatically allocated id "
     "(inactive|notallocatable)", NOARG | WITHFILE),
    ("port/create", "N", "create the port N (inactive|notallocatable)", INTARG),
    ("port/remove", "N", "remove the port N", INTARG),
    ("port/allocatable", "N 0/1", "Is the port allocatable as unnamed? 1=Y 0=N", STRARG),
    ("port/setuser", "N user", "access control: set user", STRARG),
    ("port/setgroup", "N user", "access control: set group", STRARG),
    ("port/epclose", "N ID", "remove the endpoint port N/id ID", STRARG),
    ("port/resetcounter", "[N]", "reset the port (N) counters", STRARG),
    ("port/print", "[N]", "print the port/endpoint table", STRARG | WITHFILE),
    ("port/allprint", "[N]", "print the port/endpoint table (including inactive port)",
     STRARG | WITHFILE),
    # vdetwist's own: pcap capture of a port (vdetwist.switch.capture).
    ("port/capture", "N FILE", "capture port N's traffic to a pcap file", STRARG | WITHFILE),
    ("port/nocapture", "N", "stop capturing port N", STRARG | WITHFILE),
    ("vlan", _MENU, "VLAN MANAGEMENT MENU", None),
    ("vlan/create", "N", "create the VLAN with tag N", INTARG),
    ("vlan/remove", "N", "remove the VLAN with tag N", INTARG),
    ("vlan/addport", "N PORT", "add port to the vlan N (tagged)", STRARG),
    # "add" is upstream's typo, kept: the help text is part of the protocol.
    ("vlan/delport", "N PORT", "add port to the vlan N (tagged)", STRARG),
    ("vlan/print", "[N]", "print the list of defined vlan", STRARG | WITHFILE),
    ("vlan/allprint", "[N]", "print the list of defined vlan (including inactive port)",
     STRARG | WITHFILE),
    # Cables and link emulation (vdetwist.links.cable), listed only on a
    # switch with a cable manager (ConsoleFactory.cables), so a plain
    # switch's help stays r586's.
    ("cable", _MENU, "CABLE MENU", None),
    ("cable/print", "[ID]", "print the cables", STRARG | WITHFILE),
    ("cable/add", "[listen|vxlan] X", "dial (listen on) an endpoint; add a VXLAN port",
     STRARG | WITHFILE),
    ("cable/del", "ID", "remove a cable", STRARG),
    ("link", _MENU, "LINK EMULATION MENU", None),
    ("link/print", "[ID]", "print the link emulation of the cables", STRARG | WITHFILE),
    ("link/loss", "ID VALUE", "loss % ([LR|RL]P)", STRARG),
    ("link/dup", "ID VALUE", "duplication % ([LR|RL]P)", STRARG),
    ("link/delay", "ID VALUE", "delay ms ([LR|RL]D[+jitter][U|N])", STRARG),
    ("link/bandwidth", "ID VALUE", "bandwidth bytes/s ([LR|RL]B[K|M|G], 0=unlimited)", STRARG),
    ("link/mtu", "ID VALUE", "drop frames longer than VALUE bytes (0=no limit)", STRARG),
    ("link/capacity", "ID VALUE", "bytes queued at most per direction", STRARG),
    ("link/clear", "ID", "remove the link emulation", STRARG),
]

#: The menus shown only when the console's factory has a cable manager.
CABLE_MENUS = ("cable", "link")

#: Event-only debug categories of r586: never listed or subscribable, but
#: C{debug/del} matches them (C{debug/del m} answers 1002, not 1022).
HIDDEN_CATEGORIES = ["mgmt/+", "mgmt/-", "sig/hup", "packet/in", "packet/out"]

_TAGS: Dict[str, int] = {path: tag for path, tag, _ in DEBUG_CATEGORIES}

_SPACE = " \t\n\v\f\r"
_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_SCAN = {
    "d": re.compile(r"([+-]?)([0-9]+)"),
    "x": re.compile(r"([+-]?)(?:0[xX])?([0-9a-fA-F]+)"),
    "i": re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)"),
}


def _cInt(value: int) -> int:
    """
    What C stores in an C{int} from a C{strtol} result: saturated to a
    64-bit C{long}, then truncated to 32 bits.

    @param value: the parsed number.
    @return: the C{int}.
    """
    value = max(-(1 << 63), min((1 << 63) - 1, value)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def cAtoi(text: str) -> int:
    """
    C's C{atoi}: leading white space, a sign, decimal digits; anything else
    stops it, and no digits give 0.

    @param text: the text.
    @return: the number.
    """
    match = _ATOI.match(text)
    return _cInt(int(match.group(1))) if match else 0


def cScanf(text: str, fmt: str) -> List[int]:
    """
    C's C{sscanf} for the formats the console uses: C{%i}, C{%d} and C{%x}
    conversions, white space (matching any amount, none included) and
    literal characters.

    @param text: the input.
    @param fmt: the format, e.g. C{"%i %i"}.
    @return: the values converted before the first mismatch (so its length
        is C{sscanf}'s result, or 0 where C{sscanf} returns C{EOF}).
    """
    values: List[int] = []
    pos = 0
    i = 0
    n = len(text)
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            conversion = fmt[i + 1]
            i += 2
            while pos < n and text[pos] in _SPACE:
                pos += 1
            match = _SCAN[conversion].match(text, pos)
            if match is None:
                return values
            sign, digits = match.groups()
            if conversion == "d":
                value = int(digits, 10)
            elif conversion == "x":
                value = int(digits, 16)
            elif digits[:2] in ("0x", "0X"):
                value = int(digits[2:], 16)
            elif digits.startswith("0"):
                value = int(digits, 8)
            else:
                value = int(digits, 10)
            values.append(_cInt(-value if sign == "-" else value))
            pos = match.end()
        elif c in _SPACE:
            while pos < n and text[pos] in _SPACE:
                pos += 1
            i += 1
        else:
            if pos < n and text[pos] == c:
                pos += 1
                i += 1
            else:
                return values
    return values


def _encode(text: str) -> bytes:
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


def _decode(data: bytes) -> str:
    """
    Console bytes as text, reversibly (undecodable bytes become lone
    surrogates, as file names do).

    @param data: the bytes.
    @return: the text.
    """
    return data.decode("utf-8", "surrogateescape")


def userName(uid: int) -> str:
    """
    A uid as C{port/print} shows it: C{NONE}, the user name, or the number.

    @param uid: the uid, or L{NOBODY}.
    @return: the text.
    """
    if uid == NOBODY:
        return "NONE"
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError, ValueError):
        return "%d" % (uid & 0xFFFFFFFF,)


def groupName(gid: int) -> str:
    """
    A gid as C{port/print} shows it: C{NONE}, the group name, or the number.

    @param gid: the gid, or L{NOBODY}.
    @return: the text.
    """
    if gid == NOBODY:
        return "NONE"
    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError, ValueError):
        return "%d" % (gid & 0xFFFFFFFF,)


def _readScript(path: str) -> bytes:
    """
    Read a script without blocking the reactor: non-blocking open, at most
    L{MAX_SCRIPT} bytes.  A directory reads as empty (as C{fgets} on a
    directory fails at once in r586).

    @param path: the file.
    @return: its bytes.
    @raise OSError: when it cannot be opened, or is too big (C{EFBIG}).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        chunks = []
        total = 0
        while total <= MAX_SCRIPT:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, IsADirectoryError):
                break
            if not data:
                break
            chunks.append(data)
            total += len(data)
        if total > MAX_SCRIPT:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), path)
        return b"".join(chunks)
    finally:
        os.close(fd)


def scriptLines(data: bytes) -> Iterator[bytes]:
    """
    The commands of a script as r586's C{runscript} reads them: C{fgets}
    chunks of up to 127 bytes ending at a newline, cut at a NUL, with the
    newline removed unless the line is nothing else.

    @param data: the script.
    @return: an iterator of command lines.
    """
    pos = 0
    n = len(data)
    while pos < n:
        end = data.find(b"\n", pos, pos + _SCRIPT_CHUNK - 1)
        end = min(n, pos + _SCRIPT_CHUNK - 1) if end < 0 else end + 1
        line = data[pos:end].split(b"\0", 1)[0]
        pos = end
        if len(line) > 1 and line.endswith(b"\n"):
            line = line[:-1]
        yield line


@implementer(IPushProducer)
class ConsoleProtocol(protocol.Protocol):
    """
    One console session: on the management socket, on stdin/stdout, or
    (without a transport) the start-up rc file.

    The session is its transport's streaming producer: when the client
    stops reading and the transport's buffer fills, the session stops
    reading commands (and drops debug lines, as r586's non-blocking
    C{writev} does) until the buffer drains, so nothing grows without
    bound.

    @ivar factory: the L{ConsoleFactory}.
    @ivar stdio: this session is the switch's stdin/stdout console: no
        banner, and C{logout} does nothing, as in r586.
    @ivar prompt: the prompt written after each reply.
    @ivar subscriptions: the debug categories this session gets.
    @ivar droppedEvents: debug lines dropped while the client was not
        reading.
    """

    factory: "ConsoleFactory"
    stdio = False
    prompt = PROMPT

    def __init__(self) -> None:
        """
        A session with no input yet.
        """
        self._buffer = b""
        self._pending: Deque[Optional[bytes]] = collections.deque()
        self._discarding = False
        self._closing = False
        self._paused = False
        self._shutdownRequested = False
        self._loadDepth = 0
        self._scriptBudget = 0
        self.subscriptions: Set[str] = set()
        self.droppedEvents = 0

    # -- the transport side -------------------------------------------

    def connectionMade(self) -> None:
        """
        Greet: the banner, then the prompt, in two writes as r586 does.
        """
        self.factory.sessions.add(self)
        if self.transport is not None and hasattr(self.transport, "registerProducer"):
            self.transport.registerProducer(self, True)
        if not self.stdio:
            self._write(_encode(HEADER))
        self._write(self.prompt)

    def dataReceived(self, data: bytes) -> None:
        """
        Split the input into lines and run each one.  Never raises.

        @param data: bytes from the client.
        """
        if self._closing:
            return
        lines: List[Optional[bytes]] = list((self._buffer + data).split(b"\n"))
        tail = lines.pop()
        assert tail is not None
        self._buffer = tail
        if self._discarding and lines:
            # The end of a line that was too long (already answered).
            del lines[0]
            self._discarding = False
        self._pending.extend(lines)
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""
            if not self._discarding:
                self._discarding = True
                self._pending.append(None)
        self._runPending()

    def _runPending(self) -> None:
        """
        Run the complete lines received, until there are none, the session
        ends, or the client stops reading.
        """
        while self._pending and not self._paused and not self._closing:
            line = self._pending.popleft()
            if line is None or len(line) > MAX_LINE:
                self._tooLong()
            else:
                self.lineReceived(line)

    def pauseProducing(self) -> None:
        """
        The client is not reading: stop reading its commands.
        """
        self._paused = True
        if self.transport is not None:
            self.transport.pauseProducing()  # type: ignore[attr-defined]

    def resumeProducing(self) -> None:
        """
        The client reads again: run what is pending, read again.
        """
        self._paused = False
        if self.transport is not None and not self._closing:
            self.transport.resumeProducing()  # type: ignore[attr-defined]
        self._runPending()

    def stopProducing(self) -> None:
        """
        The transport is going away.
        """
        self._closing = True

    def _tooLong(self) -> None:
        """
        Answer a line over L{MAX_LINE} bytes.
        """
        self._write(_encode(self._result(errno.E2BIG)))
        self._write(self.prompt)

    def lineReceived(self, line: bytes) -> None:
        """
        Run one command line and write its reply and the prompt (or end
        the session for C{logout} and C{shutdown}).

        @param line: the line, without its newline.
        """
        if line.endswith(b"\r"):
            line = line[:-1]
        line = line.split(b"\0", 1)[0]
        rv, reply = self.runCommand(_decode(line))
        self._write(_encode(reply))
        if rv >= 0:
            self._write(self.prompt)
        elif self.stdio:
            if rv == SHUTDOWN:
                self.factory.shutdownNow()
        else:
            self._write(END_OF_SESSION)
            self._closing = True
            self._unsubscribeAll()
            if rv == SHUTDOWN:
                self._shutdownRequested = True
                self.factory.shutdownSoon()
            if self.transport is not None:
                # Unregistered, a transport closes once flushed (a paused
                # producer would be resumed instead).
                if hasattr(self.transport, "unregisterProducer"):
                    self.transport.unregisterProducer()
                self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """
        The session ended: drop its debug subscriptions; finish a
        C{shutdown} it asked for, now that its last reply is out.  The end
        of the stdin console stops the switch, as in r586.

        @param reason: why.
        """
        self._closing = True
        self._unsubscribeAll()
        self.factory.sessions.discard(self)
        if self.stdio:
            log.warn("EOF on stdin, cleaning up and exiting")
            self.factory.shutdownNow()
        elif self._shutdownRequested:
            self.factory.shutdownNow()

    def _write(self, data: bytes) -> None:
        """
        Write to the session, if it has a transport (the rc file has none).

        @param data: the bytes.
        """
        if data and self.transport is not None:
            self.transport.write(data)

    def debugEvent(self, line: bytes) -> None:
        """
        Write one asynchronous debug line.

        @param line: the C{3NNN ...\\n} line.
        """
        if self._paused:
            self.droppedEvents += 1
        elif not self._closing:
            self._write(line)

    # -- the interpreter ----------------------------------------------

    def commandTable(self) -> Iterator[Tuple[str, str, str, Optional[int]]]:
        """
        The commands of this console, in registration order (the C{ds}
        menu only when there is a control server).

        @return: an iterator of C{(path, syntax, help, flags)}.
        """
        hasDS = self.factory.controlServer is not None
        hasCables = self.factory.cables is not None
        for entry in COMMANDS:
            if not hasCables and entry[0].split("/")[0] in CABLE_MENUS:
                continue
            if hasDS or not (entry[0] == "ds" or entry[0].startswith("ds/")):
                yield entry

    def runCommand(self, line: str, session: bool = True) -> Tuple[int, str]:
        """
        Run one command as r586's C{handle_cmd} does.

        @param line: the command line (no newline).
        @param session: whether there is a session (commands flagged
            C{WITHFD} fail with C{EBADF} without one).
        @return: the result (an errno, 0, L{LOGOUT} or L{SHUTDOWN}) and the
            reply text (empty for blank lines and comments, which get only
            a prompt).
        """
        text = line.lstrip(" \t")
        if not text or text.startswith("#"):
            return errno.ENOSYS, ""
        out: List[str] = []
        rv = errno.ENOSYS
        for path, syntax, help, flags in self.commandTable():
            if flags is not None and text.startswith(path):
                break
        else:
            flags = None
        if flags is not None:
            arg = text[len(path):].lstrip(" \t")
            if flags & WITHFD and not session:
                rv = errno.EBADF
            else:
                kind = flags & _KIND
                argument: Any = None
                if kind == INTARG:
                    argument = cAtoi(arg)
                elif kind == STRARG:
                    argument = arg
                if flags & WITHFILE:
                    out.append(DATA_START)
                method = getattr(self, "cmd_" + path.replace("/", "_"))
                try:
                    rv = method(out, argument)
                except SwitchError as e:
                    rv = e.errno
                except Exception:
                    log.failure("console command {line!r} failed", line=line)
                    rv = errno.EIO
                if flags & WITHFILE:
                    out.append(".")
        reply = "".join(item + "\n" for item in out)
        if rv >= 0:
            reply += self._result(rv)
        return rv, reply

    @staticmethod
    def _result(rv: int) -> str:
        """
        The result line.

        @param rv: 0 or an errno.
        @return: C{1000 Success\\n} or C{1NNN strerror\\n}.
        """
        if rv == 0:
            return "1000 Success\n"
        return "1%03d %s\n" % (rv, os.strerror(rv))

    def runScript(self, path: str, echo: bool, session: bool) -> int:
        """
        Run the commands of a file, as C{load} and C{-f} do.

        @param path: the file.
        @param echo: write C{vde[PATH]: <line>} and each reply to the
            session.
        @param session: whether the commands have a session.
        @return: 0, or the errno of opening or reading the file.
        """
        if self._loadDepth >= MAX_LOAD_DEPTH:
            return errno.ELOOP
        try:
            data = _readScript(path)
        except OSError as e:
            return e.errno or errno.EIO
        if self._loadDepth == 0:
            self._scriptBudget = MAX_SCRIPT_COMMANDS
        prefix = b"vde[" + _encode(path) + b"]: "
        self._loadDepth += 1
        try:
            for line in scriptLines(data):
                if self._scriptBudget <= 0:
                    return errno.EFBIG
                self._scriptBudget -= 1
                # A client that does not read loses the script's output, as
                # r586's non-blocking writes lose it; the commands still run.
                if echo and not self._paused:
                    self._write(prefix + line + b"\n")
                rv, reply = self.runCommand(_decode(line), session)
                if echo and not self._paused:
                    self._write(_encode(reply))
        finally:
            self._loadDepth -= 1
        return 0

    # -- helpers ------------------------------------------------------

    @property
    def switch(self) -> Switch:
        """
        The switch.
        """
        return self.factory.switch

    def _portInRange(self, number: int) -> bool:
        """
        Whether C{number} is a port number of this switch.

        @param number: the number.
        @return: the answer.
        """
        return 0 <= number < self.switch.numports

    def _existingPort(self, number: int) -> Port:
        """
        A port, checked as r586 does: C{EINVAL} out of range, C{ENXIO} not
        created.

        @param number: the port number.
        @return: the port.
        @raise SwitchError: as above.
        """
        return self.switch.getPort(number)

    @staticmethod
    def _afterFirstWord(arg: str) -> str:
        """
        What r586's C{port/setuser} takes as the user: the text after the
        first space-delimited word and the spaces after it.

        @param arg: the argument.
        @return: the rest.
        """
        i = 0
        n = len(arg)
        while i < n and arg[i] == " ":
            i += 1
        while i < n and arg[i] != " ":
            i += 1
        while i < n and arg[i] == " ":
            i += 1
        return arg[i:]

    # -- session and general commands ---------------------------------

    def cmd_ds_showinfo(self, out: List[str], arg: None) -> int:
        """
        C{ds/showinfo}: the control directory and the socket mode.
        """
        server = self.factory.controlServer
        out.append("ctl dir %s" % (server.directory,))
        out.append("std mode 0%03o" % (server.mode,))
        return 0

    def cmd_help(self, out: List[str], arg: str) -> int:
        """
        C{help [prefix]}: the command table.
        """
        fmt = "%-18s %-15s %s"
        out.append(fmt % ("COMMAND PATH", "SYNTAX", "HELP"))
        out.append(fmt % ("------------", "--------------", "------------"))
        for path, syntax, help, flags in self.commandTable():
            if path.startswith(arg):
                out.append(fmt % (path, syntax, help))
        return 0

    def cmd_logout(self, out: List[str], arg: None) -> int:
        """
        C{logout}: end this session.
        """
        return LOGOUT

    def cmd_shutdown(self, out: List[str], arg: None) -> int:
        """
        C{shutdown}: end this session and stop the switch.
        """
        log.warn("Shutdown from mgmt command")
        return SHUTDOWN

    def cmd_showinfo(self, out: List[str], arg: None) -> int:
        """
        C{showinfo}: banner, pid, MAC, uptime, management socket.
        """
        factory = self.factory
        out.append(HEADER)
        out.append("pid %d MAC %s uptime %d" % (factory.pid, formatMAC(self.switch.mac),
                                                self.switch.now))
        if factory.mgmtPath:
            out.append("mgmt %s perm 0%03o" % (factory.mgmtPath, factory.mgmtMode))
        return 0

    def cmd_load(self, out: List[str], arg: str) -> int:
        """
        C{load PATH}: run a script, echoing each line and its reply.
        """
        return self.runScript(arg, echo=True, session=True)

    # -- debug ----------------------------------------------------------

    def cmd_debug_list(self, out: List[str], arg: str) -> int:
        """
        C{debug/list [prefix]}: the debug categories and this session's
        subscriptions.
        """
        out.append("%-22s %-3s %-6s %s" % ("CATEGORY", "TAG", "STATUS", "HELP"))
        out.append("%-22s %-3s %-6s %s" % ("------------", "---", "------", "----"))
        rv = errno.ENOENT
        for path, tag, help in DEBUG_CATEGORIES:
            if path.startswith(arg):
                rv = 0
                out.append("%-22s %03o %-6s %s" % (
                    path, tag & 0o777, "ON" if path in self.subscriptions else "OFF", help))
        return rv

    def cmd_debug_add(self, out: List[str], arg: str) -> int:
        """
        C{debug/add prefix}: subscribe to matching categories.
        """
        rv = errno.EINVAL
        for path, tag, help in DEBUG_CATEGORIES:
            if path.startswith(arg):
                if rv == errno.EINVAL:
                    rv = errno.EEXIST
                if path not in self.subscriptions:
                    self.factory.subscribe(self, path)
                    rv = 0
        return rv

    def cmd_debug_del(self, out: List[str], arg: str) -> int:
        """
        C{debug/del prefix}: unsubscribe from matching categories.
        """
        rv = errno.EINVAL
        for path in [p for p, _, _ in DEBUG_CATEGORIES] + HIDDEN_CATEGORIES:
            if path.startswith(arg):
                if rv == errno.EINVAL:
                    rv = errno.ENOENT
                if path in self.subscriptions:
                    self.factory.unsubscribe(self, path)
                    rv = 0
        return rv

    def _unsubscribeAll(self) -> None:
        """
        Drop every debug subscription of this session.
        """
        for path in list(self.subscriptions):
            self.factory.unsubscribe(self, path)

    def cmd_plugin_list(self, out: List[str], arg: str) -> int:
        """
        C{plugin/list}: no plugins, ever.
        """
        out.append("%-22s %s" % ("NAME", "HELP"))
        out.append("%-22s %s" % ("------------", "----"))
        return errno.ENOENT

    # -- hash -----------------------------------------------------------

    def cmd_hash_showinfo(self, out: List[str], arg: None) -> int:
        """
        C{hash/showinfo}: the MAC table's settings.
        """
        fdb = self.switch.fdb
        out.append("Hash size %d" % (fdb.size,))
        out.append("GC interval %d secs" % (fdb.gcInterval,))
        out.append("GC expire %d secs" % (fdb.expire,))
        out.append("Min persistence %d secs" % (fdb.minPersistence,))
        return 0

    def cmd_hash_setsize(self, out: List[str], arg: int) -> int:
        """
        C{hash/setsize N}: round up to a power of two and flush.
        """
        if arg <= 0:
            return errno.EINVAL
        size = roundUpPowerOfTwo(arg)
        if size != arg:
            log.warn("Hash size must be a power of 2. {size} rounded to {rounded}",
                     size=arg, rounded=size)
        self.switch.fdb.setSize(size)
        return 0

    def cmd_hash_setgcint(self, out: List[str], arg: int) -> int:
        """
        C{hash/setgcint N}: seconds between aging sweeps (any integer).
        """
        self.switch.fdb.gcInterval = arg
        return 0

    def cmd_hash_setexpire(self, out: List[str], arg: int) -> int:
        """
        C{hash/setexpire N}: seconds before an unseen entry goes.
        """
        self.switch.fdb.expire = arg
        return 0

    def cmd_hash_setminper(self, out: List[str], arg: int) -> int:
        """
        C{hash/setminper N}: the minimum persistence before a MAC moves.
        """
        self.switch.fdb.minPersistence = arg
        return 0

    def _hashLine(self, bucket: int, mac: bytes, vlan: int, entry: List[Any]) -> str:
        """
        One C{hash/print} line.

        @param bucket: the hash bucket.
        @param mac: the MAC.
        @param vlan: the VLAN.
        @param entry: the table entry.
        @return: the line.
        """
        return "Hash: %04d Addr: %s VLAN %04d to port: %03d  age %d secs" % (
            bucket, formatMAC(mac), vlan, entry[PORT].number,
            self.switch.now - entry[LAST_SEEN])

    def cmd_hash_print(self, out: List[str], arg: None) -> int:
        """
        C{hash/print}: the MAC table in bucket order.
        """
        for bucket, mac, vlan, entry in self.switch.fdb.entries():
            out.append(self._hashLine(bucket, mac, vlan, entry))
        return 0

    def cmd_hash_find(self, out: List[str], arg: str) -> int:
        """
        C{hash/find MAC [VLAN]}: one entry (with its real port, unlike
        r586).
        """
        sep = ":" if ":" in arg else "."
        values = cScanf(arg, sep.join(["%x"] * 6) + " %d")
        if len(values) < 6:
            return errno.EINVAL
        mac = bytes(v & 0xFF for v in values[:6])
        vlan = (values[6] if len(values) > 6 else 0) & 0xFFFF
        entry = self.switch.fdb.find(mac, vlan)
        if entry is None:
            return errno.ENODEV
        out.append(self._hashLine(bucketOf(mac, vlan, self.switch.fdb.size), mac, vlan, entry))
        return 0

    # -- fstp and plugins (vdetwist.switch.fstpcommands) ------------------

    def cmd_plugin_add(self, out: List[str], arg: str) -> int:
        """
        C{plugin/add LIBRARY}.
        """
        return fstpcommands.pluginAdd(self.switch, out, arg)

    def cmd_plugin_del(self, out: List[str], arg: str) -> int:
        """
        C{plugin/del NAME}.
        """
        return fstpcommands.pluginDel(self.switch, out, arg)

    def cmd_fstp_showinfo(self, out: List[str], arg: None) -> int:
        """
        C{fstp/showinfo}.
        """
        return fstpcommands.fstpShowInfo(self.switch, out, arg)

    def cmd_fstp_setfstp(self, out: List[str], arg: int) -> int:
        """
        C{fstp/setfstp 0|1}.
        """
        return fstpcommands.fstpSetFSTP(self.switch, out, arg)

    def cmd_fstp_setedge(self, out: List[str], arg: str) -> int:
        """
        C{fstp/setedge VLAN PORT 1|0}.
        """
        return fstpcommands.fstpSetEdge(self.switch, out, arg)

    def cmd_fstp_bonus(self, out: List[str], arg: str) -> int:
        """
        C{fstp/bonus VLAN PORT COST}.
        """
        return fstpcommands.fstpBonus(self.switch, out, arg)

    def cmd_fstp_print(self, out: List[str], arg: str) -> int:
        """
        C{fstp/print [N]}.
        """
        return fstpcommands.fstpPrint(self.switch, out, arg)

    # -- port -------------------------------------------------------------

    def cmd_port_showinfo(self, out: List[str], arg: None) -> int:
        """
        C{port/showinfo}.
        """
        out.append("Numports=%d" % (self.switch.numports,))
        out.append("HUB=%s" % ("true" if self.switch.hub else "false",))
        out.append("counters=true")
        return 0

    def cmd_port_setnumports(self, out: List[str], arg: int) -> int:
        """
        C{port/setnumports N}.
        """
        if arg <= 0:
            return errno.EINVAL
        if arg > MAX_NUMPORTS:
            return errno.ENOMEM
        self.switch.setNumPorts(arg)
        return 0

    def cmd_port_sethub(self, out: List[str], arg: int) -> int:
        """
        C{port/sethub 0|1}.
        """
        self.switch.setHub(bool(arg))
        return 0

    def cmd_port_setvlan(self, out: List[str], arg: str) -> int:
        """
        C{port/setvlan N VLAN}: the untagged VLAN (4095: none).
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            return errno.EINVAL
        number, vid = values
        if not 0 <= vid <= NOVLAN or not self._portInRange(number):
            return errno.EINVAL
        if (vid != NOVLAN and vid not in self.switch.vlans) or self.switch.ports[number] is None:
            return errno.ENXIO
        self.switch.setPortVLAN(number, vid)
        return 0

    def cmd_port_createauto(self, out: List[str], arg: None) -> int:
        """
        C{port/createauto}: the lowest port that is free or inactive and
        allocatable (as r586's C{alloc_port(0)}), made not allocatable.
        """
        switch = self.switch
        for number in range(1, switch.numports):
            port = switch.ports[number]
            if port is None:
                switch.createPort(number)
                break
            if not port.endpoints and port.allocatable:
                switch.setAllocatable(number, False)
                break
        else:
            return errno.ENOSPC
        out.append("Port %04d" % (number,))
        return 0

    def cmd_port_create(self, out: List[str], arg: int) -> int:
        """
        C{port/create N}: an inactive, not allocatable port.
        """
        if not self._portInRange(arg) or arg == 0:
            return errno.EINVAL
        self.switch.createPort(arg)
        return 0

    def cmd_port_remove(self, out: List[str], arg: int) -> int:
        """
        C{port/remove N}.
        """
        self.switch.removePort(arg)
        return 0

    def cmd_port_allocatable(self, out: List[str], arg: str) -> int:
        """
        C{port/allocatable N 0|1}.
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2 or not self._portInRange(values[0]):
            return errno.EINVAL
        self._existingPort(values[0])
        self.switch.setAllocatable(values[0], bool(values[1]))
        return 0

    def _setOwner(self, arg: str, lookup: Callable[[str], int],
                  setter: Callable[[int, int], None]) -> int:
        """
        C{port/setuser} and C{port/setgroup}: a name, a number, C{NONE} or
        C{ANY}.
        """
        name = self._afterFirstWord(arg)
        values = cScanf(arg, "%i")
        if len(values) != 1 or not name:
            return errno.EINVAL
        number = values[0]
        if not self._portInRange(number):
            return errno.EINVAL
        self._existingPort(number)
        try:
            ident = lookup(name)
        except (KeyError, ValueError, UnicodeError, OverflowError):
            if name[0] in "0123456789":
                ident = cAtoi(name) & 0xFFFFFFFF
                if ident == 0xFFFFFFFF:
                    ident = NOBODY
            elif name in ("NONE", "ANY"):
                ident = NOBODY
            else:
                return errno.EINVAL
        setter(number, ident)
        return 0

    def cmd_port_setuser(self, out: List[str], arg: str) -> int:
        """
        C{port/setuser N user|uid|NONE|ANY}.
        """
        return self._setOwner(arg, lambda name: pwd.getpwnam(name).pw_uid,
                              self.switch.setPortUser)

    def cmd_port_setgroup(self, out: List[str], arg: str) -> int:
        """
        C{port/setgroup N group|gid|NONE|ANY}.
        """
        return self._setOwner(arg, lambda name: grp.getgrnam(name).gr_gid,
                              self.switch.setPortGroup)

    def cmd_port_epclose(self, out: List[str], arg: str) -> int:
        """
        C{port/epclose N ID}: close one endpoint (its client sees EOF).
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            return errno.EINVAL
        self.switch.closeEndpoint(values[0], values[1])
        return 0

    def cmd_port_resetcounter(self, out: List[str], arg: str) -> int:
        """
        C{port/resetcounter [N]}.
        """
        if arg:
            number = cAtoi(arg)
            if not self._portInRange(number):
                return errno.EINVAL
            if self.switch.ports[number] is not None:
                self.switch.resetCounters(number)
        else:
            self.switch.resetCounters()
        return 0

    def cmd_port_capture(self, out: List[str], arg: str) -> int:
        """
        C{port/capture N FILE}: write every frame in and out of port N to a
        new pcap file (mode 0600), replacing a capture already running
        there.  Prints the file.
        """
        from vdetwist.switch.capture import PortCapture
        parts = arg.split(None, 1)
        if len(parts) != 2:
            return errno.EINVAL
        number = cAtoi(parts[0])
        if not self._portInRange(number):
            return errno.EINVAL
        if self.switch.ports[number] is None:
            return errno.ENXIO
        try:
            capture = PortCapture(parts[1].strip())
        except OSError as e:
            return e.errno or errno.EIO
        self.switch.startCapture(number, capture)
        out.append("Port %04d capture to %s" % (number, capture.path))
        return 0

    def cmd_port_nocapture(self, out: List[str], arg: str) -> int:
        """
        C{port/nocapture N}: stop port N's capture and close its file;
        prints the frames written (and those not written past the size
        bound).  ENOENT when the port has no capture.
        """
        number = cAtoi(arg)
        if not self._portInRange(number):
            return errno.EINVAL
        if self.switch.ports[number] is None:
            return errno.ENXIO
        capture = self.switch.stopCapture(number)
        if capture is None:
            return errno.ENOENT
        out.append("Port %04d capture to %s: %d frames, %d not written" % (
            number, capture.path, capture.frames, capture.dropped))
        return 0

    def _printPort(self, out: List[str], port: Optional[Port], inactiveToo: bool) -> int:
        """
        C{port/print}'s lines for one port.

        @param out: where the lines go.
        @param port: the port, or L{None}.
        @param inactiveToo: print it even without endpoints.
        @return: 0, or C{ENXIO} when there is nothing to print.
        """
        if port is None or not (inactiveToo or port.endpoints):
            return errno.ENXIO
        out.append("Port %04d untagged_vlan=%04d %sACTIVE - %sUnnamed Allocatable" % (
            port.number, port.untagged, "" if port.endpoints else "IN",
            "" if port.allocatable else "NOT "))
        out.append(" Current User: %s Access Control: (User: %s - Group: %s)" % (
            userName(port.currentUser), userName(port.user), groupName(port.group)))
        out.append(" IN:  pkts %10d          bytes %20d" % (port.inPackets, port.inBytes))
        out.append(" OUT: pkts %10d          bytes %20d" % (port.outPackets, port.outBytes))
        for endpoint in port.endpoints:
            description = getattr(endpoint, "description", None)
            out.append("  -- endpoint ID %04d module %-12s: %s" % (
                endpoint.endpointID, getattr(endpoint, "module", "unix prog"),
                "no endpoint description" if description is None else description))
        return 0

    def _printPorts(self, out: List[str], arg: str, inactiveToo: bool) -> int:
        """
        C{port/print} and C{port/allprint}.

        @param out: where the lines go.
        @param arg: the port number (C{atoi}), or empty for all.
        @param inactiveToo: include inactive ports.
        @return: the result.
        """
        if arg:
            number = cAtoi(arg)
            if not self._portInRange(number):
                return errno.EINVAL
            return self._printPort(out, self.switch.ports[number], inactiveToo)
        for port in self.switch.ports:
            self._printPort(out, port, inactiveToo)
        return 0

    def cmd_port_print(self, out: List[str], arg: str) -> int:
        """
        C{port/print [N]}: active ports and their endpoints.
        """
        return self._printPorts(out, arg, False)

    def cmd_port_allprint(self, out: List[str], arg: str) -> int:
        """
        C{port/allprint [N]}: every created port.
        """
        return self._printPorts(out, arg, True)

    # -- vlan -------------------------------------------------------------

    def cmd_vlan_create(self, out: List[str], arg: int) -> int:
        """
        C{vlan/create N}, N in 1..4094.
        """
        self.switch.createVLAN(arg)
        return 0

    def cmd_vlan_remove(self, out: List[str], arg: int) -> int:
        """
        C{vlan/remove N}.
        """
        if not 0 <= arg <= MAX_VLAN:
            return errno.EINVAL
        self.switch.removeVLAN(arg)
        return 0

    def _vlanAndPort(self, arg: str) -> Tuple[int, int, Port]:
        """
        Parse and check C{N PORT} for C{vlan/addport} and C{vlan/delport}.

        @return: the VLAN, the port number and the port.
        @raise SwitchError: C{EINVAL} or C{ENXIO}, in r586's order.
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            raise SwitchError(errno.EINVAL)
        vid, number = values
        if not 0 <= vid <= MAX_VLAN or not self._portInRange(number):
            raise SwitchError(errno.EINVAL)
        port = self.switch.ports[number]
        if vid not in self.switch.vlans or port is None:
            raise SwitchError(errno.ENXIO)
        return vid, number, port

    def cmd_vlan_addport(self, out: List[str], arg: str) -> int:
        """
        C{vlan/addport N PORT}: PORT carries N tagged (a no-op when N is
        its untagged VLAN).
        """
        vid, number, port = self._vlanAndPort(arg)
        if port.untagged != vid:
            self.switch.addTaggedPort(vid, number)
        return 0

    def cmd_vlan_delport(self, out: List[str], arg: str) -> int:
        """
        C{vlan/delport N PORT}.
        """
        vid, number, port = self._vlanAndPort(arg)
        if port.untagged == vid:
            return errno.EADDRINUSE
        if vid in port.tagged:
            self.switch.delTaggedPort(vid, number)
        return 0

    def _printVLAN(self, out: List[str], vid: int, inactiveToo: bool) -> None:
        """
        C{vlan/print}'s lines for one VLAN: its member ports in order.

        @param out: where the lines go.
        @param vid: the VLAN.
        @param inactiveToo: include inactive ports.
        """
        out.append("VLAN %04d" % (vid,))
        for port in self.switch.ports:
            if port is None or not port.memberOf(vid):
                continue
            active = bool(port.endpoints)
            if active or inactiveToo:
                out.append(" -- Port %04d tagged=%d active=%d status=%s" % (
                    port.number, port.untagged != vid, active,
                    "Forwarding" if active else "Learning"))

    def _printVLANs(self, out: List[str], arg: str, inactiveToo: bool) -> int:
        """
        C{vlan/print} and C{vlan/allprint}.

        @param out: where the lines go.
        @param arg: the VLAN (C{atoi}), or empty for all.
        @param inactiveToo: include inactive ports.
        @return: the result.
        """
        if arg:
            vid = cAtoi(arg)
            # r586: vlan/allprint 0 is refused (allprint wants N > 0).
            if not (1 if inactiveToo else 0) <= vid <= MAX_VLAN:
                return errno.EINVAL
            if vid not in self.switch.vlans:
                return errno.ENXIO
            self._printVLAN(out, vid, inactiveToo)
        else:
            for vid in sorted(self.switch.vlans):
                self._printVLAN(out, vid, inactiveToo)
        return 0

    def cmd_vlan_print(self, out: List[str], arg: str) -> int:
        """
        C{vlan/print [N]}: VLANs and their active member ports.
        """
        return self._printVLANs(out, arg, False)

    def cmd_vlan_allprint(self, out: List[str], arg: str) -> int:
        """
        C{vlan/allprint [N]}: VLANs and all their member ports.
        """
        return self._printVLANs(out, arg, True)

    # -- cables and link emulation (vdetwist.links.cable) -----------------

    def cmd_cable_print(self, out: List[str], arg: str) -> int:
        """
        C{cable/print [ID]}: the cables, their peers, states and counters.
        """
        from vdetwist.links.commands import consoleCablePrint
        return consoleCablePrint(self.factory.cables, out, arg)

    def cmd_cable_add(self, out: List[str], arg: str) -> int:
        """
        C{cable/add [listen] ENDPOINT}: dial, or listen on, an endpoint;
        C{cable/add vxlan SPEC}: a VXLAN port.
        """
        from vdetwist.links.commands import consoleCableAdd
        return consoleCableAdd(self.factory.cables, out, arg)

    def cmd_cable_del(self, out: List[str], arg: str) -> int:
        """
        C{cable/del ID}: remove a cable.
        """
        from vdetwist.links.commands import consoleCableDel
        return consoleCableDel(self.factory.cables, out, arg)

    def cmd_link_print(self, out: List[str], arg: str) -> int:
        """
        C{link/print [ID]}: the link emulation of the cables.
        """
        from vdetwist.links.commands import consoleLinkPrint
        return consoleLinkPrint(self.factory.cables, out, arg)

    def _setLink(self, name: str, arg: str) -> int:
        """
        The C{link/NAME ID VALUE} commands.
        """
        from vdetwist.links.commands import consoleLinkSet
        return consoleLinkSet(self.factory.cables, name, arg)

    def cmd_link_loss(self, out: List[str], arg: str) -> int:
        """
        C{link/loss ID VALUE}.
        """
        return self._setLink("loss", arg)

    def cmd_link_dup(self, out: List[str], arg: str) -> int:
        """
        C{link/dup ID VALUE}.
        """
        return self._setLink("dup", arg)

    def cmd_link_delay(self, out: List[str], arg: str) -> int:
        """
        C{link/delay ID VALUE}.
        """
        return self._setLink("delay", arg)

    def cmd_link_bandwidth(self, out: List[str], arg: str) -> int:
        """
        C{link/bandwidth ID VALUE}.
        """
        return self._setLink("bandwidth", arg)

    def cmd_link_mtu(self, out: List[str], arg: str) -> int:
        """
        C{link/mtu ID VALUE}.
        """
        return self._setLink("mtu", arg)

    def cmd_link_capacity(self, out: List[str], arg: str) -> int:
        """
        C{link/capacity ID VALUE}.
        """
        return self._setLink("capacity", arg)

    def cmd_link_clear(self, out: List[str], arg: str) -> int:
        """
        C{link/clear ID}.
        """
        from vdetwist.links.commands import consoleLinkClear
        return consoleLinkClear(self.factory.cables, out, arg)


class ConsoleFactory(protocol.ServerFactory[ConsoleProtocol]):
    """
    The console of one switch: makes sessions, fans the switch's debug
    events out to the sessions that asked for them, and runs rc files.

    @ivar switch: the L{Switch}.
    @ivar controlServer: the control server (for C{ds/showinfo}), or
        L{None}.
    @ivar mgmtPath: the management socket path as given, or L{None}.
    @ivar mgmtMode: its mode.
    @ivar pid: the pid C{showinfo} prints.
    @ivar sessions: the connected sessions.
    """

    protocol = ConsoleProtocol
    #: The L{vdetwist.links.cable.CableManager} behind the C{cable/*} and
    #: C{link/*} commands, or L{None} (then they are not offered).
    cables: Any = None

    def __init__(self, switch: Switch, controlServer: Any = None,
                 mgmtPath: Optional[str] = None, mgmtMode: int = 0o600,
                 pid: Optional[int] = None, shutdown: Optional[Callable[[], None]] = None,
                 reactor: Any = None) -> None:
        """
        @param switch: the switch.
        @param controlServer: the L{vdetwist.switch.server.ControlServer}.
        @param mgmtPath: the C{-M} path, for C{showinfo}.
        @param mgmtMode: the C{--mgmtmode}, for C{showinfo}.
        @param pid: the pid to show, this process's by default.
        @param shutdown: called (once) after a C{shutdown} command's
            session has ended.
        @param reactor: the reactor (for the shutdown fallback timer).
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor
            reactor = globalReactor
        self.switch = switch
        self.controlServer = controlServer
        self.mgmtPath = mgmtPath
        self.mgmtMode = mgmtMode
        self.pid = os.getpid() if pid is None else pid
        self.reactor = reactor
        self.sessions: Set[ConsoleProtocol] = set()
        self._shutdown = shutdown
        self._shutdownDone = False
        self._shutdownTimer: Any = None
        self._subscribers: Dict[str, List[ConsoleProtocol]] = {}
        self._observing = False

    def buildProtocol(self, addr: Any) -> ConsoleProtocol:
        """
        A session for a management socket connection.

        @param addr: the peer address.
        @return: the session.
        """
        session = self.protocol()
        session.factory = self
        return session

    def buildStdioProtocol(self, prompt: Optional[bool] = None) -> ConsoleProtocol:
        """
        The session for the switch's stdin/stdout (give it to
        L{twisted.internet.stdio.StandardIO}): no banner, C{logout} does
        nothing, and EOF on stdin calls the shutdown callback, as in r586.

        @param prompt: whether to write prompts; by default only when stdin
            is a terminal (r586 writes them to fd 0, so a pipe never sees
            them).
        @return: the session.
        """
        session = self.buildProtocol(None)
        session.stdio = True
        if prompt is None:
            prompt = os.isatty(0)
        if not prompt:
            session.prompt = b""
        return session

    def runRCFile(self, path: str) -> int:
        """
        Run a file of commands silently, as C{vde_switch -f} does at start.

        @param path: the file.
        @return: 0, or the errno of opening it.
        """
        session = self.buildProtocol(None)
        session.transport = None
        rv = session.runScript(path, echo=False, session=False)
        if rv:
            log.warn("rc file {path}: {error}", path=path, error=os.strerror(rv))
        return rv

    # -- debug events ---------------------------------------------------

    def subscribe(self, session: ConsoleProtocol, category: str) -> None:
        """
        Send C{category}'s events to C{session}.

        @param session: the session.
        @param category: a debug category path.
        """
        self._subscribers.setdefault(category, []).append(session)
        session.subscriptions.add(category)
        if not self._observing:
            self.switch.addObserver(self._debugEvent)
            self._observing = True

    def unsubscribe(self, session: ConsoleProtocol, category: str) -> None:
        """
        Stop sending C{category}'s events to C{session}; the switch is not
        observed at all while nobody subscribes.

        @param session: the session.
        @param category: a debug category path.
        """
        sessions = self._subscribers.get(category, [])
        if session in sessions:
            sessions.remove(session)
        if not sessions:
            self._subscribers.pop(category, None)
        session.subscriptions.discard(category)
        if not self._subscribers and self._observing:
            self.switch.removeObserver(self._debugEvent)
            self._observing = False

    def _debugEvent(self, category: str, message: str) -> None:
        """
        A switch debug event: one C{3NNN} line to each subscribed session.

        @param category: the category path.
        @param message: the text.
        """
        sessions = self._subscribers.get(category)
        if not sessions:
            return
        line = _encode("3%03o %s %s\n" % (_TAGS.get(category, 0) & 0o777, category, message))
        for session in list(sessions):
            session.debugEvent(line)

    # -- shutdown -------------------------------------------------------

    def shutdownSoon(self) -> None:
        """
        A session asked for C{shutdown}: it will call L{shutdownNow} once
        its C{9999 END OF SESSION} is out; this timer makes sure it happens
        even if the client never reads.
        """
        if self._shutdownTimer is None and not self._shutdownDone:
            self._shutdownTimer = self.reactor.callLater(2.0, self.shutdownNow)

    def shutdownNow(self) -> None:
        """
        Call the shutdown callback (once).
        """
        if self._shutdownDone:
            return
        self._shutdownDone = True
        if self._shutdownTimer is not None and self._shutdownTimer.active():
            self._shutdownTimer.cancel()
        self._shutdownTimer = None
        if self._shutdown is not None:
            self._shutdown()
