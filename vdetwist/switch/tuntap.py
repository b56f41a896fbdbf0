# -*- test-case-name: tests.switch.test_tuntap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A kernel tap interface as one more switch port: vde_switch's C{-t IFNAME}.

L{TapService} opens C{/dev/net/tun}, asks for a tap named C{IFNAME} with
C{TUNSETIFF} (C{IFF_TAP | IFF_NO_PI}: whole Ethernet frames, no packet
information header), and attaches a L{TapEndpoint} to a free port.  Each
C{read()} of the descriptor is one frame the kernel sent out of the
interface; each C{write()} is one frame the interface receives.

The device is opened in C{privilegedStartService}, so C{twistd --uid}
can drop root after it.  The tap is not persistent: the kernel removes it
when the descriptor is closed (L{TapService.stopService}, or the process
ending).  Bringing the interface up and addressing it is left to the
administrator, as with vde_switch.

All OS calls go through a replaceable C{system} object
(L{vdetwist.vde.system.ISystem}), so the endpoint is tested without root.
"""

import errno
import struct
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from zope.interface import implementer

from vdetwist.interfaces import ISwitchPort
from vdetwist.switch.switch import Switch
from vdetwist.vde.system import RealSystem
from vdetwist.wire.frames import MAX_FRAME

log = Logger(namespace="vdetwist.switch")

#: The clone device.
TUN_DEVICE = "/dev/net/tun"
#: C{_IOW('T', 202, int)}: attach the descriptor to a tun/tap interface.
TUNSETIFF = 0x400454CA
#: Ethernet frames (not IP packets).
IFF_TAP = 0x0002
#: No 4-byte packet information header before each frame.
IFF_NO_PI = 0x1000
#: C{IFNAMSIZ}: interface names are at most 15 bytes and a NUL.
IFNAMSIZ = 16
#: C{struct ifreq} as TUNSETIFF reads it: the name, the flags, padding.
_IFREQ = struct.Struct("16sH22x")
#: Frames drained from the tap per reactor wakeup.
READ_BATCH = 64
#: Bytes asked for per read: one more than the largest frame forwarded, so
#: an oversized frame shows as such (the switch counts and drops it).
READ_SIZE = MAX_FRAME + 1


def openTap(ifname: str, system: Any = None) -> "tuple[int, str]":
    """
    Open a nonblocking tap descriptor for C{ifname}.

    @param ifname: the interface name (may contain C{%d} for the kernel to
        fill in).
    @param system: the OS calls, L{vdetwist.vde.system.RealSystem} by default.
    @return: C{(fd, name)}, with the name the kernel gave.
    @raise OSError: when the device cannot be opened or the interface
        cannot be made (e.g. EPERM without CAP_NET_ADMIN, EBUSY when in use).
    """
    system = system if system is not None else RealSystem()
    name = _checkName(ifname)
    fd = system.open(TUN_DEVICE, system.O_RDWR | system.O_NONBLOCK | system.O_CLOEXEC)
    try:
        result = system.ioctl(fd, TUNSETIFF, _IFREQ.pack(name, IFF_TAP | IFF_NO_PI))
    except BaseException:
        system.close(fd)
        raise
    given = _IFREQ.unpack_from(result)[0].split(b"\0", 1)[0]
    return fd, given.decode("ascii", "replace")


def _checkName(ifname: str) -> bytes:
    """
    Validate an interface name.

    @param ifname: the name.
    @return: its bytes.
    @raise ValueError: when empty, too long, or containing C{/}, blanks or
        non-ASCII.
    """
    try:
        name = ifname.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("tap interface name %r is not ASCII" % (ifname,))
    if not name or len(name) >= IFNAMSIZ:
        raise ValueError("tap interface name %r must be 1 to %d bytes"
                         % (ifname, IFNAMSIZ - 1))
    if any(c in b"/: \t\n\0" for c in name):
        raise ValueError("tap interface name %r has a forbidden character" % (ifname,))
    return name


@implementer(ISwitchPort, IReadDescriptor)
class TapEndpoint:
    """
    A tap descriptor on a switch port: frames the kernel sends out of the
    interface go into the switch, frames for the port are written to it.

    @ivar endpointID: the tap descriptor (as vde_switch shows it).
    @ivar description: the interface name.
    @ivar port: the switch port, once attached.
    @ivar drops: frames not delivered because the tap's queue was full.
    @ivar errors: frames not delivered because of another write error.
    @ivar readErrors: reads that failed with an error other than EAGAIN.
    """

    module = "tuntap"

    def __init__(self, reactor: Any, switch: Switch, fd: int, ifname: str,
                 system: Any = None) -> None:
        """
        @param reactor: the reactor (for removing the reader on close).
        @param switch: the switch.
        @param fd: the open, nonblocking tap descriptor (now owned by this
            endpoint).
        @param ifname: the interface name.
        @param system: the OS calls, L{vdetwist.vde.system.RealSystem} by default.
        """
        self.reactor = reactor
        self.switch = switch
        self.endpointID = fd
        self.description = ifname
        self.system = system if system is not None else RealSystem()
        self.port: Any = None
        self.drops = 0
        self.errors = 0
        self.readErrors = 0
        self._fd = fd
        self._write = self.system.write
        self._read = self.system.read
        self._closed = False

    def sendFrame(self, frame: bytes) -> None:
        """
        Write one frame to the tap; a full queue drops it (counted).

        @param frame: the frame.
        """
        try:
            self._write(self._fd, frame)
        except BlockingIOError:
            self.drops += 1
        except OSError:
            self.errors += 1

    def doRead(self) -> None:
        """
        Drain up to L{READ_BATCH} frames into the switch (which counts and
        drops runts and oversized frames).  A fatal read error closes the
        endpoint.
        """
        read = self._read
        fd = self._fd
        forward = self.switch.frameFromPort
        port = self.port
        for _ in range(READ_BATCH):
            try:
                frame = read(fd, READ_SIZE)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError as e:
                self.readErrors += 1
                if e.errno in (errno.ENOMEM, errno.ENOBUFS):
                    return
                log.error("tap {name}: read failed: {error}; closing it",
                          name=self.description, error=e)
                self.close()
                return
            if not frame:
                log.error("tap {name}: end of file; closing it", name=self.description)
                self.close()
                return
            forward(port, frame)

    def fileno(self) -> int:
        """
        The tap descriptor, for the reactor.

        @return: the fd (-1 once closed).
        """
        return -1 if self._closed else self._fd

    def logPrefix(self) -> str:
        """
        The log prefix.

        @return: a string.
        """
        return "TapEndpoint"

    def connectionLost(self, reason: object) -> None:
        """
        The reactor dropped us (at shutdown).

        @param reason: why.
        """
        self.close()

    def close(self) -> None:
        """
        Leave the reactor and the port, and close the descriptor (the
        kernel then removes the interface).
        """
        if self._closed:
            return
        self.reactor.removeReader(self)
        self._closed = True
        self.switch.removeEndpoint(self)
        try:
            self.system.close(self._fd)
        except OSError:
            pass
        log.info("tap {name} closed", name=self.description)


class TapService(Service):
    """
    C{-t IFNAME}: a tap interface on a free switch port while running.

    @ivar ifname: the interface name asked for.
    @ivar endpoint: the L{TapEndpoint} while attached, else L{None}.
    """

    def __init__(self, reactor: Any, switch: Switch, ifname: str,
                 system: Any = None) -> None:
        """
        @param reactor: the reactor.
        @param switch: the switch.
        @param ifname: the interface name (at most 15 bytes).
        @param system: the OS calls, L{vdetwist.vde.system.RealSystem} by default.
        @raise ValueError: for an impossible interface name.
        """
        _checkName(ifname)
        self.reactor = reactor
        self.switch = switch
        self.ifname = ifname
        self.system = system if system is not None else RealSystem()
        self.endpoint: Optional[TapEndpoint] = None
        self._opened: Optional["tuple[int, str]"] = None

    def privilegedStartService(self) -> None:
        """
        Open the tap while still privileged.

        @raise OSError: when the tap cannot be made.
        """
        if self._opened is None and self.endpoint is None:
            self._opened = openTap(self.ifname, self.system)
        Service.privilegedStartService(self)

    def startService(self) -> None:
        """
        Open the tap (unless already open) and attach it to a free port.

        @raise OSError: when the tap cannot be made.
        @raise SwitchError: when the switch has no free port.
        """
        if self.endpoint is None:
            opened, self._opened = self._opened, None
            if opened is None:
                opened = openTap(self.ifname, self.system)
            fd, name = opened
            try:
                port = self.switch.choosePort(0, False)
            except BaseException:
                self.system.close(fd)
                raise
            endpoint = TapEndpoint(self.reactor, self.switch, fd, name, self.system)
            self.switch.addEndpoint(port, endpoint, 0)
            self.reactor.addReader(endpoint)
            self.endpoint = endpoint
            log.info("tap {name} on port {port}", name=name, port=port.number)
        Service.startService(self)

    def stopService(self) -> None:
        """
        Detach the tap and close it.
        """
        Service.stopService(self)
        endpoint, self.endpoint = self.endpoint, None
        if endpoint is not None:
            endpoint.close()
        opened, self._opened = self._opened, None
        if opened is not None:
            self.system.close(opened[0])
