# -*- test-case-name: tests.console.test_scripts -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Console scripts: the files C{load PATH} and the start-up rc file
(C{vde_switch -f}) run, read as r586 reads them.

Deliberate differences from r586: scripts nest at most L{MAX_LOAD_DEPTH}
deep (then 1040), a script over L{MAX_SCRIPT} bytes is refused and one
C{load} stops after L{MAX_SCRIPT_COMMANDS} lines (1027), and files are
opened non-blocking, so a FIFO or a terminal cannot stall the process.
The session runs them (L{vdetwist.console.session.ConsoleProtocol.runScript}).
"""

import errno
import os
from typing import Iterator

#: The largest script C{load} runs, in bytes.
MAX_SCRIPT = 1 << 20
#: How deep C{load} may nest.
MAX_LOAD_DEPTH = 8
#: The most script lines one C{load} (or rc file) runs, nested ones
#: included.
MAX_SCRIPT_COMMANDS = 65536
#: vde_switch's C{fgets} buffer: script lines longer than this minus one
#: are split.
SCRIPT_CHUNK = 128


def readScript(path: str) -> bytes:
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
        end = data.find(b"\n", pos, pos + SCRIPT_CHUNK - 1)
        end = min(n, pos + SCRIPT_CHUNK - 1) if end < 0 else end + 1
        line = data[pos:end].split(b"\0", 1)[0]
        pos = end
        if len(line) > 1 and line.endswith(b"\n"):
            line = line[:-1]
        yield line
