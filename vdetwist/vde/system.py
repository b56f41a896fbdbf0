# -*- test-case-name: tests.vde.test_system -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The operating-system calls vdetwist makes, behind one replaceable object.

The VDE plug (L{vdetwist.vde.plug}), the switch's control server and
management socket, and the kernel tap take a C{system} argument
providing L{ISystem}; L{RealSystem} makes the real calls, and
L{vdetwist.testing.FakeSystem} is an in-memory one, proven against the
real one by one test mixin (tests/vde/test_system.py), so most tests need
neither root nor a filesystem.  The shape follows Twisted's
C{twisted.pair.tuntap._RealSystem}.

    system = RealSystem()
    old = system.umask(0o077)
"""

import errno
import grp
import os
import platform
import pwd
import socket
import sys
from typing import Any, Callable, Optional

from zope.interface import Attribute, Interface, implementer

__all__ = ["ISystem", "RealSystem", "DATA_SEND_BUFFER", "datagramReceiver"]

#: The send buffer asked for datagram sockets, in bytes.
DATA_SEND_BUFFER = 1 << 20


class ISystem(Interface):
    """
    The operating-system calls of the plug, the switch server and the tap.
    Each behaves as the L{os} function of the same name unless said
    otherwise.
    """

    O_RDWR = Attribute("@see: L{os.O_RDWR}")
    O_NONBLOCK = Attribute("@see: L{os.O_NONBLOCK}")
    O_CLOEXEC = Attribute("@see: L{os.O_CLOEXEC}")

    def socket(family: int, type: int) -> Any:
        """
        Create a socket (L{socket.socket}); a datagram socket gets a send
        buffer of L{DATA_SEND_BUFFER} bytes where the kernel allows.
        """

    def realpath(path: str) -> str:
        """
        Resolve a path strictly: raise L{OSError} when it does not exist.
        """

    def unlink(path: str) -> None:
        """
        Remove a file (L{os.unlink}); L{FileNotFoundError} when missing.
        """

    def chmod(path: str, mode: int) -> None:
        """
        Change a file's mode (L{os.chmod}).
        """

    def chown(path: str, uid: int, gid: int) -> None:
        """
        Change a file's owner or group (L{os.chown}); -1 leaves one as is.
        """

    def stat(path: str) -> Any:
        """
        Stat a file (L{os.stat}): the result has at least C{st_uid} and
        C{st_gid}.
        """

    def mkdir(path: str, mode: int = 0o777) -> None:
        """
        Make a directory (L{os.mkdir}); L{FileExistsError} when it exists.
        """

    def rmdir(path: str) -> None:
        """
        Remove an empty directory (L{os.rmdir}).
        """

    def umask(mask: int) -> int:
        """
        Set the process umask, returning the old one (L{os.umask}).
        """

    def getpid() -> int:
        """
        Our process id.
        """

    def geteuid() -> int:
        """
        Our effective user id.
        """

    def getLogin() -> str:
        """
        The login name of our real user id, C{"??"} when it has none (as
        the C library does).
        """

    def groupID(group: str) -> int:
        """
        A group's id from its name or number; L{KeyError} if unknown.
        """

    def getenv(name: str) -> Optional[str]:
        """
        An environment variable, or L{None}.
        """

    def open(filename: str, flag: int, mode: int = 0o777) -> int:
        """
        Open a file descriptor (L{os.open}).
        """

    def ioctl(fd: int, opt: int, arg: bytes) -> bytes:
        """
        @see: L{fcntl.ioctl}
        """

    def read(fd: int, limit: int) -> bytes:
        """
        @see: L{os.read}
        """

    def write(fd: int, data: bytes) -> int:
        """
        @see: L{os.write}
        """

    def close(fd: int) -> None:
        """
        @see: L{os.close}
        """


@implementer(ISystem)
class RealSystem:
    """
    The real operating system.
    """

    O_RDWR = os.O_RDWR
    O_NONBLOCK = os.O_NONBLOCK
    O_CLOEXEC = os.O_CLOEXEC

    @staticmethod
    def socket(family: int, type: int) -> socket.socket:
        """
        Create a socket; a datagram socket gets a send buffer of
        L{DATA_SEND_BUFFER} bytes (the kernel caps it at C{wmem_max}): the
        default (C{wmem_default}, about 90 frames of 1514 bytes) is less
        than one TCP window of a virtual host, whose bursts were then
        refused with EAGAIN and dropped.

        @param family: the address family.
        @param type: the socket type.
        @return: the socket.
        """
        sock = socket.socket(family, type)
        if type == socket.SOCK_DGRAM:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, DATA_SEND_BUFFER)
            except OSError:
                pass
        return sock

    unlink = staticmethod(os.unlink)
    chmod = staticmethod(os.chmod)
    chown = staticmethod(os.chown)
    stat = staticmethod(os.stat)
    mkdir = staticmethod(os.mkdir)
    rmdir = staticmethod(os.rmdir)
    umask = staticmethod(os.umask)
    getpid = staticmethod(os.getpid)
    geteuid = staticmethod(os.geteuid)
    getenv = staticmethod(os.environ.get)
    open = staticmethod(os.open)
    read = staticmethod(os.read)
    write = staticmethod(os.write)
    close = staticmethod(os.close)

    @staticmethod
    def realpath(path: str) -> str:
        """
        Resolve C{path} strictly.

        @param path: the path.
        @return: the absolute canonical path.
        @raise OSError: when some component does not exist.
        """
        if sys.version_info >= (3, 10):
            return os.path.realpath(path, strict=True)
        os.stat(path)  # Python 3.9 (PyPy) has no strict=: missing components raise here
        return os.path.realpath(path)

    @staticmethod
    def getLogin() -> str:
        """
        The login name of our real uid.

        @return: the name, or C{"??"}.
        """
        try:
            return pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            return "??"

    @staticmethod
    def groupID(group: str) -> int:
        """
        Look a group up.

        @param group: a name or a decimal number.
        @return: the gid.
        @raise KeyError: for an unknown name.
        """
        if group.isdigit():
            return int(group)
        return grp.getgrnam(group).gr_gid

    @staticmethod
    def ioctl(fd: int, opt: int, arg: bytes) -> bytes:
        """
        @see: L{fcntl.ioctl}
        """
        import fcntl
        return fcntl.ioctl(fd, opt, arg)


def claimSocketPath(path: str, system: Any = None) -> None:
    """
    Make C{path} free for a listening UNIX socket: a stale socket file (no
    one answers on it) is removed; a live one is an error.

    @param path: the socket path.
    @param system: the OS calls, L{RealSystem} by default.
    @raise OSError: EADDRINUSE, with vde_switch's message, when a live
        process listens there.
    """
    system = system if system is not None else RealSystem()
    if not os.path.lexists(path):
        return
    probe = system.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError as e:
        if e.errno in (errno.ECONNREFUSED, errno.ENOTSOCK, errno.ENOENT):
            try:
                system.unlink(path)
            except FileNotFoundError:
                pass
            return
        raise
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "Could not bind to socket '%s': Address already in use"
                  % (path,))


def datagramReceiver(sock: Any, size: int,
                     implementation: Optional[str] = None) -> Callable[[int], bytes]:
    """
    A function that reads one datagram like C{sock.recv(n)}, for C{n} up
    to C{size}, the fastest way for the interpreter.

    On CPython that is C{sock.recv} itself: it reads into a new string of
    C{n} bytes and shrinks it in place.  On PyPy C{recv(n)} allocates the
    whole C{n} bytes (9,235 for a switch) in the young generation for
    every datagram, whatever arrives, so a switch forwarding full-size
    frames collected garbage every hundred frames, and each collection
    promoted the frames of the batch being forwarded, which then cost
    major collections: about 1.5 us per 1514-byte frame.  There the
    datagram is read into one reusable buffer and only its actual bytes
    are copied out.  A socket without C{recv_into} (a test's fake) gets
    its C{recv}.

    @param sock: the datagram socket.
    @param size: the largest C{n} the function will be called with.
    @param implementation: L{platform.python_implementation}'s answer (the
        running interpreter's by default).
    @return: a callable taking C{n} and returning the datagram's bytes
        (truncated to C{n}), raising what C{sock.recv} raises.
    """
    if implementation is None:
        implementation = platform.python_implementation()
    recvInto = getattr(sock, "recv_into", None)
    if implementation != "PyPy" or recvInto is None:
        recv: Callable[[int], bytes] = sock.recv
        return recv
    view = memoryview(bytearray(size))

    def receive(n: int) -> bytes:
        """
        Read one datagram into the buffer and copy out its bytes.

        @param n: the most bytes to read, at most C{size}.
        @return: the datagram.
        """
        return view[:recvInto(view, n)].tobytes()
    return receive
