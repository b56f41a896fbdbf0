# -*- test-case-name: tests.vde.test_announce -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The MTU a switch announces to the vdetwist parts that attach to it
(docs/switch.txt, "Jumbo frames").

The VDE handshake has no room for it: the request and the 110-byte reply
are byte for byte those of Debian's C tools.  So a vdetwist switch started
with C{--mtu N} (N other than 1500) writes a one-line file beside its
control socket, C{DIR/.vdetwist}::

    vdetwist-switch mtu=9000 ctl=64769:1234567

with the mode of the control socket less its write and execute bits (the
users who may connect may read it) and its group.  C{ctl=} is the device
and inode of the C{DIR/ctl} it serves: a file left by a switch that was
killed is ignored once another switch (Debian's, say) has made a new
C{ctl}.  The C tools never look at it, and Debian's switch has none, so
its clients, and ours attached to it, keep 1500.

Our clients (virtual hosts, slirp, C{vdetwist cat}, C{vdetwist ns}) ask
L{switchMTU} for their default MTU when none was given: the in-process
switch's C{mtu} when this process serves the directory, else the
announced one, else L{DEFAULT_MTU}.

    mtu = options["mtu"] or switchMTU("/tmp/vde")
"""

import os
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from vdetwist.vde import local
from vdetwist.vde.system import RealSystem
from vdetwist.vde.url import VDEURL, parseVDEURL

__all__ = ["ANNOUNCEMENT", "DEFAULT_MTU", "MIN_MTU", "MAX_MTU", "Announcement",
           "encodeAnnouncement", "parseAnnouncement", "writeAnnouncement",
           "removeAnnouncement", "readAnnouncedMTU", "switchMTU"]

#: The file's name in the switch directory.
ANNOUNCEMENT = ".vdetwist"
#: The MTU of a switch that announces none: Ethernet's, and all that
#: Debian's vde_switch carries (it truncates frames at 1518 bytes).
DEFAULT_MTU = 1500
#: The smallest MTU announced or taken (IPv4's minimum datagram every host
#: must accept).
MIN_MTU = 576
#: The largest: vdeplug4's C{VDE_MAXMTU}; with the Ethernet header and a
#: VLAN tag, L{vdetwist.wire.frames.MAX_FRAME}.
MAX_MTU = 9216
#: The most bytes read from the file.
MAX_SIZE = 512

_LINE = re.compile(rb"\Avdetwist-switch mtu=([0-9]{1,5}) ctl=([0-9]{1,20}):([0-9]{1,20})\n?\Z")


@dataclass(frozen=True)
class Announcement:
    """
    What a switch announces.

    @ivar mtu: the MTU its clients default to.
    @ivar device: the device of the control socket it serves.
    @ivar inode: that socket's inode.
    """

    mtu: int
    device: int
    inode: int


def encodeAnnouncement(announcement: Announcement) -> bytes:
    """
    The file's bytes.

    @param announcement: what to announce.
    @return: one line.
    """
    return b"vdetwist-switch mtu=%d ctl=%d:%d\n" % (
        announcement.mtu, announcement.device, announcement.inode)


def parseAnnouncement(data: bytes) -> Announcement:
    """
    Parse the file, checking its form and the MTU's range.

    @param data: the file's bytes.
    @return: the announcement.
    @raise ValueError: when it is not one, or its MTU is out of
        L{MIN_MTU}..L{MAX_MTU}.
    """
    match = _LINE.match(data)
    if match is None:
        raise ValueError("not a vdetwist switch announcement: %r" % (data[:80],))
    mtu = int(match.group(1))
    if not MIN_MTU <= mtu <= MAX_MTU:
        raise ValueError("announced MTU %d is outside %d..%d" % (mtu, MIN_MTU, MAX_MTU))
    return Announcement(mtu, int(match.group(2)), int(match.group(3)))


def writeAnnouncement(directory: str, mtu: int, mode: int = 0o600, group: int = -1,
                      system: Any = None) -> str:
    """
    Announce C{mtu} for the switch serving C{directory} (call it once
    C{DIR/ctl} listens): replace any old file by one created with the
    read bits of C{mode} (never a window with a wider mode) and given
    C{group}.

    @param directory: the switch directory.
    @param mtu: the MTU.
    @param mode: the control socket's mode.
    @param group: the sockets' group, or -1.
    @param system: the L{vdetwist.vde.system.ISystem}.
    @return: the file's path.
    @raise OSError: when the file cannot be written.
    """
    system = system if system is not None else RealSystem()
    path = os.path.join(directory, ANNOUNCEMENT)
    ctl = system.stat(os.path.join(directory, "ctl"))
    data = encodeAnnouncement(Announcement(mtu, ctl.st_dev, ctl.st_ino))
    removeAnnouncement(directory, system)
    fileMode = mode & 0o444
    old = system.umask(0o777 & ~fileMode)
    try:
        fd = system.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, fileMode)
    finally:
        system.umask(old)
    try:
        system.write(fd, data)
    finally:
        system.close(fd)
    if group != -1:
        system.chown(path, -1, group)
    return path


def removeAnnouncement(directory: str, system: Any = None) -> None:
    """
    Remove the announcement of the switch serving C{directory}, if any.

    @param directory: the switch directory.
    @param system: the L{vdetwist.vde.system.ISystem}.
    """
    system = system if system is not None else RealSystem()
    try:
        system.unlink(os.path.join(directory, ANNOUNCEMENT))
    except FileNotFoundError:
        pass


def readAnnouncedMTU(directory: str, system: Any = None) -> Optional[int]:
    """
    The MTU the switch serving C{directory} announces, if it is a
    vdetwist switch that announces one.

    @param directory: the switch directory.
    @param system: the L{vdetwist.vde.system.ISystem}.
    @return: the MTU, or L{None}: no file (Debian's switch, or ours at
        1500), an unreadable or malformed one, or one left by a switch
        that no longer serves C{DIR/ctl}.
    """
    system = system if system is not None else RealSystem()
    path = os.path.join(directory, ANNOUNCEMENT)
    try:
        # Not following a link, and not waiting on a FIFO put there.
        fd = system.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        data = system.read(fd, MAX_SIZE)
    except OSError:
        return None
    finally:
        system.close(fd)
    try:
        announcement = parseAnnouncement(data)
        ctl = system.stat(os.path.join(directory, "ctl"))
    except (ValueError, OSError):
        return None
    if (ctl.st_dev, ctl.st_ino) != (announcement.device, announcement.inode):
        return None
    return announcement.mtu


#: Where a URL without a path finds its switch (as the plug looks).
_DEFAULT_DIRS = ("/var/run/vde.ctl", "/tmp/vde.ctl")


def switchMTU(switch: Union[str, VDEURL, None], system: Any = None) -> int:
    """
    The MTU a vdetwist part attaching to C{switch} defaults to: the
    in-process switch's C{mtu} when this process serves that directory;
    else what the switch announces (L{readAnnouncedMTU}); else
    L{DEFAULT_MTU}.  Never raises: a bad URL or a missing switch is left
    for the attach to report.

    @param switch: the switch directory or C{vde://} URL (L{None} or empty:
        the default switch).
    @param system: the L{vdetwist.vde.system.ISystem}.
    @return: the MTU.
    """
    try:
        url = switch if isinstance(switch, VDEURL) else parseVDEURL(switch or "")
    except ValueError:
        return DEFAULT_MTU
    if url.path:
        directories = [url.path]
    else:
        directories = [d for d in _DEFAULT_DIRS if os.path.isdir(d)][:1]
    for directory in directories:
        provider = local.lookup(directory)
        if provider is not None:
            mtu = getattr(provider, "mtu", DEFAULT_MTU)
            return mtu if isinstance(mtu, int) and MIN_MTU <= mtu <= MAX_MTU else DEFAULT_MTU
        mtu = readAnnouncedMTU(directory, system)
        if mtu is not None:
            return mtu
    return DEFAULT_MTU

