# -*- test-case-name: tests.ns.test_system -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The operating-system calls that make a network view, behind one
replaceable object: L{INamespaceSystem}, made by L{RealNamespaceSystem}
(C{unshare}, C{setns}, C{mount} and C{umount2} through the C library with
L{ctypes}, since Python 3.11's L{os} has none of them) and faked in
tests/ns/fakes.py, so the namespace logic (L{vdetwist.ns.prepare}) is
tested without root.

    system = RealNamespaceSystem()
    system.unshare(CLONE_NEWNET)
"""

import ctypes
import ctypes.util
import fcntl
import os
import socket
import subprocess
import tempfile
from typing import Any, List, Optional, Sequence, Tuple

from zope.interface import Interface, implementer

__all__ = ["INamespaceSystem", "RealNamespaceSystem", "CLONE_NEWNET", "CLONE_NEWUSER",
           "CLONE_NEWNS", "MS_BIND", "MS_REC", "MS_SLAVE", "MNT_DETACH"]

#: C{unshare}/C{setns} flag: a new network namespace.
CLONE_NEWNET = 0x40000000
#: C{unshare} flag: a new user namespace.
CLONE_NEWUSER = 0x10000000
#: C{unshare} flag: a new mount namespace.
CLONE_NEWNS = 0x00020000
#: C{mount} flag: a bind mount.
MS_BIND = 4096
#: C{mount} flag: recursively.
MS_REC = 16384
#: C{mount} propagation flag: receive the parent's mounts, send none back.
MS_SLAVE = 1 << 19
#: C{umount2} flag: detach lazily.
MNT_DETACH = 2


class INamespaceSystem(Interface):
    """
    The OS calls of a network view.  Each behaves as the C library or
    L{os} function of the same name and raises L{OSError} with the errno.
    """

    def unshare(flags: int) -> None:
        """
        Move this process into new namespaces (C{unshare(2)}).
        """

    def setns(fd: int, nstype: int) -> None:
        """
        Join the namespace open at C{fd} (C{setns(2)}).
        """

    def mount(source: str, target: str, flags: int) -> None:
        """
        Mount C{source} on C{target} (a bind mount with L{MS_BIND}).
        """

    def umount(target: str, flags: int) -> None:
        """
        Unmount C{target} (C{umount2(2)}).
        """

    def open(path: str, flags: int, mode: int = 0o666) -> int:
        """
        Open a descriptor (L{os.open}).
        """

    def close(fd: int) -> None:
        """
        Close a descriptor.
        """

    def ioctl(fd: int, request: int, arg: bytes) -> bytes:
        """
        @see: L{fcntl.ioctl}
        """

    def controlSocket() -> int:
        """
        A new AF_INET datagram socket's descriptor, for interface ioctls in
        the current network namespace.
        """

    def readFile(path: str) -> Optional[str]:
        """
        A small file's text, or L{None} when it cannot be read.
        """

    def writeFile(path: str, text: str) -> None:
        """
        Write C{text} to an existing file (C{/proc/self/uid_map}).
        """

    def makeDirectory(path: str, mode: int) -> None:
        """
        Make a directory unless it exists.
        """

    def createFile(path: str) -> None:
        """
        Create an empty file that must not exist (L{FileExistsError} if it does).
        """

    def unlink(path: str) -> None:
        """
        Remove a file.
        """

    def removeDirectory(path: str) -> None:
        """
        Remove an empty directory.
        """

    def temporaryFile(prefix: str, text: str, mode: int) -> str:
        """
        Create a new file in the temporary directory holding C{text},
        with permissions C{mode}.

        @return: its path.
        """

    def run(argv: Sequence[str]) -> Tuple[int, str]:
        """
        Run a program to completion.

        @return: its exit status and what it wrote on standard error and
            output.
        """

    def sendDescriptor(sock: Any, message: bytes, fd: Optional[int]) -> None:
        """
        Send C{message} on a UNIX socket, with C{fd} attached (SCM_RIGHTS)
        when not L{None}.
        """

    def execvp(file: str, argv: List[str]) -> None:
        """
        Replace this process by a program found on C{PATH}; returns only by
        raising L{OSError}.
        """

    def getuid() -> int:
        """
        The real user id.
        """

    def getgid() -> int:
        """
        The real group id.
        """

    def geteuid() -> int:
        """
        The effective user id.
        """


def _libc() -> Any:
    """
    The C library, with errno kept.

    @return: the L{ctypes.CDLL}.
    """
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str, path: Optional[str] = None) -> None:
    """
    Raise the errno of a failed C call.

    @param result: the call's return value (-1 on failure).
    @param what: the call's name, for the message.
    @param path: a file name for the error, if any.
    @raise OSError: when C{result} is -1.
    """
    if result == -1:
        code = ctypes.get_errno()
        if path is None:
            raise OSError(code, "%s: %s" % (what, os.strerror(code)))
        raise OSError(code, "%s: %s" % (what, os.strerror(code)), path)


@implementer(INamespaceSystem)
class RealNamespaceSystem:
    """
    The real calls.
    """

    def __init__(self) -> None:
        """
        Load the C library.
        """
        self._c = _libc()

    def unshare(self, flags: int) -> None:
        """
        @see: L{INamespaceSystem.unshare}
        """
        _check(self._c.unshare(ctypes.c_int(flags)), "unshare")

    def setns(self, fd: int, nstype: int) -> None:
        """
        @see: L{INamespaceSystem.setns}
        """
        _check(self._c.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")

    def mount(self, source: str, target: str, flags: int) -> None:
        """
        @see: L{INamespaceSystem.mount}
        """
        _check(self._c.mount(source.encode(), target.encode(), b"none",
                             ctypes.c_ulong(flags), None), "mount", target)

    def umount(self, target: str, flags: int) -> None:
        """
        @see: L{INamespaceSystem.umount}
        """
        _check(self._c.umount2(target.encode(), ctypes.c_int(flags)), "umount", target)

    open = staticmethod(os.open)
    close = staticmethod(os.close)
    unlink = staticmethod(os.unlink)
    removeDirectory = staticmethod(os.rmdir)
    getuid = staticmethod(os.getuid)
    getgid = staticmethod(os.getgid)
    geteuid = staticmethod(os.geteuid)
    execvp = staticmethod(os.execvp)

    @staticmethod
    def ioctl(fd: int, request: int, arg: bytes) -> bytes:
        """
        @see: L{fcntl.ioctl}
        """
        return fcntl.ioctl(fd, request, arg)

    @staticmethod
    def controlSocket() -> int:
        """
        @see: L{INamespaceSystem.controlSocket}
        """
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM).detach()

    @staticmethod
    def readFile(path: str) -> Optional[str]:
        """
        @see: L{INamespaceSystem.readFile}
        """
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return None

    @staticmethod
    def writeFile(path: str, text: str) -> None:
        """
        @see: L{INamespaceSystem.writeFile}
        """
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

    @staticmethod
    def temporaryFile(prefix: str, text: str, mode: int) -> str:
        """
        @see: L{INamespaceSystem.temporaryFile}
        """
        fd, path = tempfile.mkstemp(prefix=prefix)
        try:
            os.write(fd, text.encode())
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return path

    @staticmethod
    def makeDirectory(path: str, mode: int) -> None:
        """
        @see: L{INamespaceSystem.makeDirectory}
        """
        os.makedirs(path, mode, exist_ok=True)

    @staticmethod
    def createFile(path: str) -> None:
        """
        @see: L{INamespaceSystem.createFile}
        """
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))

    @staticmethod
    def run(argv: Sequence[str]) -> Tuple[int, str]:
        """
        @see: L{INamespaceSystem.run}
        """
        try:
            done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=30)
        except OSError as e:
            return 127, "%s: %s" % (argv[0], e.strerror)
        except subprocess.TimeoutExpired:
            return 124, "%s: timed out" % (argv[0],)
        return done.returncode, done.stdout.decode("utf-8", "replace").strip()

    @staticmethod
    def sendDescriptor(sock: Any, message: bytes, fd: Optional[int]) -> None:
        """
        @see: L{INamespaceSystem.sendDescriptor}
        """
        socket.send_fds(sock, [message], [] if fd is None else [fd])
