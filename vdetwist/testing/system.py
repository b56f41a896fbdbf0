# -*- test-case-name: tests.vde.test_system -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The fake operating system: L{FakeSystem}, an L{ISystem} like
L{vdetwist.vde.system.RealSystem}, proven against it by
tests.vde.test_system's mixin.
"""

import errno
import os
from typing import Any, Dict, List, Optional, Tuple

from zope.interface import implementer
from zope.interface.verify import verifyClass

from vdetwist.vde.system import ISystem

__all__ = ["FakeSystem", "FakeDatagramSocket", "FakeStat"]


class FakeStat:
    """
    The fields of a stat result vdetwist reads.

    @ivar st_uid: owner.
    @ivar st_gid: group.
    @ivar st_mode: permission bits.
    @ivar st_dev: the device (0).
    @ivar st_ino: the inode (0).
    """

    def __init__(self, uid: int, gid: int, mode: int = 0o600) -> None:
        self.st_uid, self.st_gid, self.st_mode = uid, gid, mode
        self.st_dev = self.st_ino = 0


class FakeDatagramSocket:
    """
    An AF_UNIX datagram socket in memory, made by L{FakeSystem.socket}.

    @ivar bound: the path bound, or L{None}.
    @ivar peer: the path connected to, or L{None}.
    @ivar blocking: the blocking flag.
    @ivar closed: whether C{close} was called.
    @ivar incoming: datagrams (or exceptions) C{recv} returns, in order.
    @ivar sent: datagrams sent.
    @ivar sendError: an errno C{send} fails with, or L{None}.
    @ivar recvCalls: how many times C{recv} was called.
    """

    def __init__(self, system: "FakeSystem") -> None:
        self.system = system
        self.bound: Optional[str] = None
        self.peer: Any = None
        self.blocking = True
        self.closed = False
        self.incoming: List[Any] = []
        self.sent: List[bytes] = []
        self.sendError: Optional[int] = None
        self.recvCalls = 0

    def fileno(self) -> int:
        """@return: a made-up descriptor, -1 once closed."""
        return -1 if self.closed else 42

    def bind(self, path: str) -> None:
        """
        Bind, failing once with C{system.bindErrors[path]} if set; the file
        gets the mode the umask allows.
        """
        self.system.calls.append(("bind", path, self.system.currentUmask))
        error = self.system.bindErrors.pop(path, None)
        if error is not None:
            raise OSError(error, os.strerror(error), path)
        self.bound = path
        self.system.files[path] = 0o777 & ~self.system.currentUmask

    def connect(self, path: Any) -> None:
        """Connect, failing with C{system.connectError} if set."""
        if self.system.connectError is not None:
            raise OSError(self.system.connectError, os.strerror(self.system.connectError))
        self.peer = path

    def setblocking(self, flag: bool) -> None:
        """Set the blocking flag."""
        self.blocking = flag

    def send(self, data: bytes) -> int:
        """Record a datagram, or fail with C{sendError}."""
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        if self.sendError is not None:
            raise OSError(self.sendError, os.strerror(self.sendError))
        self.sent.append(bytes(data))
        return len(data)

    def recv(self, size: int) -> bytes:
        """The next queued datagram, truncated to C{size}; EAGAIN when none."""
        self.recvCalls += 1
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        if not self.incoming:
            raise BlockingIOError(errno.EAGAIN, "no data")
        item = self.incoming.pop(0)
        if isinstance(item, BaseException):
            raise item
        return bytes(item[:size])

    def close(self) -> None:
        """Close it."""
        self.closed = True


@implementer(ISystem)
class FakeSystem:
    """
    An in-memory L{ISystem}: files and directories in dicts, sockets in
    memory, and a fake C{/dev/net/tun} (one descriptor per C{open}, frames
    to read queued in C{inbound}, frames written collected in C{outbound}).
    tests/vde/test_system.py runs the same tests on it and on
    L{vdetwist.vde.system.RealSystem}.

    @ivar files: path -> mode of files that exist.
    @ivar directories: path -> mode of directories made.
    @ivar calls: a log of the interesting calls.
    @ivar sockets: the sockets created.
    @ivar bindErrors: path -> errno for binds that fail (once).
    @ivar connectError: errno for the data socket's connect, or L{None}.
    @ivar missing: paths that C{realpath} refuses.
    @ivar ctlStat: what C{stat} returns for a path not made here
        (L{None}: raise ENOENT).
    @ivar env: the environment.
    @ivar currentUmask: the umask.
    @ivar euid: the effective uid.
    @ivar chownError: an errno C{chown} fails with, or L{None}.
    @ivar opened: descriptor -> (path, flags) of each C{open}.
    @ivar closed: descriptors closed, in order.
    @ivar ioctls: C{(fd, opt, arg)} of each C{ioctl}.
    @ivar ioctlError: an errno C{ioctl} fails with, or L{None}.
    @ivar inbound: what C{read} returns, in order (EAGAIN when empty).
    @ivar reads: the limit of each C{read}.
    @ivar readError: an errno the next C{read} fails with, or L{None}.
    @ivar outbound: what C{write} got.
    @ivar full: when true, C{write} fails with EAGAIN.
    """

    O_RDWR = os.O_RDWR
    O_NONBLOCK = os.O_NONBLOCK
    O_CLOEXEC = os.O_CLOEXEC

    def __init__(self, pid: int = 4377, login: str = "root") -> None:
        """
        @param pid: our pid.
        @param login: our login name.
        """
        self.pid, self.login = pid, login
        self.files: Dict[str, int] = {}
        self.directories: Dict[str, int] = {}
        self.calls: List[Tuple[Any, ...]] = []
        self.sockets: List[FakeDatagramSocket] = []
        self.bindErrors: Dict[str, int] = {}
        self.connectError: Optional[int] = None
        self.missing: set = set()
        self.ctlStat: Optional[FakeStat] = FakeStat(0, 0)
        self.env: Dict[str, str] = {}
        self.currentUmask = 0o022
        self.euid = 0
        self.chownError: Optional[int] = None
        self.nextFD = 40
        self.opened: Dict[int, Any] = {}
        self.closed: List[int] = []
        self.ioctls: List[Any] = []
        self.ioctlError: Optional[int] = None
        self.inbound: List[bytes] = []
        self.reads: List[int] = []
        self.readError: Optional[int] = None
        self.outbound: List[bytes] = []
        self.full = False

    def socket(self, family: int, type: int) -> FakeDatagramSocket:
        """@return: a new L{FakeDatagramSocket}."""
        sock = FakeDatagramSocket(self)
        self.sockets.append(sock)
        return sock

    def realpath(self, path: str) -> str:
        """@return: C{path}, or raise ENOENT for one in C{missing}."""
        if path in self.missing:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return path

    def unlink(self, path: str) -> None:
        """Remove a file; ENOENT when there is none."""
        self.calls.append(("unlink", path))
        if self.files.pop(path, None) is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)

    def chmod(self, path: str, mode: int) -> None:
        """Change a mode."""
        self.calls.append(("chmod", path, mode))
        for table in (self.files, self.directories):
            if path in table:
                table[path] = mode

    def chown(self, path: str, uid: int, gid: int) -> None:
        """Change ownership, or fail with C{chownError}."""
        self.calls.append(("chown", path, uid, gid))
        if self.chownError is not None:
            raise OSError(self.chownError, os.strerror(self.chownError))

    def stat(self, path: str) -> FakeStat:
        """@return: ours for a file or directory made here, else C{ctlStat}."""
        mode = self.files.get(path, self.directories.get(path))
        if mode is not None:
            return FakeStat(self.euid, 0, mode)
        if self.ctlStat is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return self.ctlStat

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        """Make a directory; EEXIST when it exists."""
        self.calls.append(("mkdir", path, mode))
        if path in self.directories or path in self.files:
            raise FileExistsError(errno.EEXIST, "File exists", path)
        self.directories[path] = mode & ~self.currentUmask

    def rmdir(self, path: str) -> None:
        """Remove a directory; ENOENT when there is none."""
        self.calls.append(("rmdir", path))
        if self.directories.pop(path, None) is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)

    def umask(self, mask: int) -> int:
        """Set the umask, returning the old one."""
        old, self.currentUmask = self.currentUmask, mask
        return old

    def getpid(self) -> int:
        """@return: the pid."""
        return self.pid

    def geteuid(self) -> int:
        """@return: the euid."""
        return self.euid

    def getLogin(self) -> str:
        """@return: the login."""
        return self.login

    def groupID(self, group: str) -> int:
        """
        @return: numbers as themselves, 0 for "root", 100 for "kvm";
            L{KeyError} for other names.
        """
        if group.isdigit():
            return int(group)
        return {"root": 0, "kvm": 100}[group]

    def getenv(self, name: str) -> Optional[str]:
        """@return: the variable, or L{None}."""
        return self.env.get(name)

    def open(self, filename: str, flag: int, mode: int = 0o777) -> int:
        """@return: a new descriptor."""
        fd = self.nextFD
        self.nextFD += 1
        self.opened[fd] = (filename, flag)
        return fd

    def ioctl(self, fd: int, opt: int, arg: bytes) -> bytes:
        """Record it; fail with C{ioctlError}, else return C{arg}."""
        self.ioctls.append((fd, opt, arg))
        if self.ioctlError is not None:
            raise OSError(self.ioctlError, os.strerror(self.ioctlError))
        return arg

    def read(self, fd: int, limit: int) -> bytes:
        """@return: the next of C{inbound}, truncated; EAGAIN when empty."""
        self.reads.append(limit)
        if self.readError is not None:
            code, self.readError = self.readError, None
            raise OSError(code, os.strerror(code))
        if not self.inbound:
            raise BlockingIOError(errno.EAGAIN, "again")
        return self.inbound.pop(0)[:limit]

    def write(self, fd: int, data: bytes) -> int:
        """Collect C{data} in C{outbound}; EAGAIN when C{full}."""
        if self.full:
            raise BlockingIOError(errno.EAGAIN, "again")
        self.outbound.append(data)
        return len(data)

    def close(self, fd: int) -> None:
        """Record the descriptor closed."""
        self.closed.append(fd)


verifyClass(ISystem, FakeSystem)
