# -*- test-case-name: tests.ns.test_prepare -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A fake L{INamespaceSystem} that records the calls of
L{vdetwist.ns.prepare} and fails the ones it is told to.
"""

import errno
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from zope.interface import implementer
from zope.interface.verify import verifyClass

from vdetwist.ns.system import INamespaceSystem


@implementer(INamespaceSystem)
class FakeNamespaceSystem:
    """
    Records calls in C{calls}; C{failures} maps a call name to the errno it
    raises (once); C{files} are readable texts; C{runs} the programs run.
    """

    def __init__(self, euid: int = 0, uid: Optional[int] = None, gid: int = 0) -> None:
        """
        @param euid: the effective uid.
        @param uid: the real uid (C{euid} by default).
        @param gid: the real gid.
        """
        self.euid, self.uid, self.gid = euid, euid if uid is None else uid, gid
        self.calls: List[Tuple[Any, ...]] = []
        self.failures: Dict[str, int] = {}
        self.files: Dict[str, str] = {}
        self.created: List[str] = []
        self.written: Dict[str, str] = {}
        self.runs: List[List[str]] = []
        self.runStatus = (0, "")
        #: Called with each argv run (before C{runStatus} is returned).
        self.onRun: Any = None
        self.closed: List[int] = []
        self.sent: List[Tuple[bytes, Optional[int]]] = []
        self.nextFD = 10

    def _call(self, name: str, *args: Any) -> None:
        """
        Record a call; raise its failure if one is set.
        """
        self.calls.append((name,) + args)
        code = self.failures.pop(name, None)
        if code is not None:
            if code == errno.EEXIST:
                raise FileExistsError(code, os.strerror(code))
            if code == errno.ENOENT:
                raise FileNotFoundError(code, os.strerror(code))
            raise OSError(code, os.strerror(code))

    def names(self) -> List[str]:
        """
        @return: the names of the calls made, in order.
        """
        return [call[0] for call in self.calls]

    def unshare(self, flags: int) -> None:
        self._call("unshare", flags)

    def setns(self, fd: int, nstype: int) -> None:
        self._call("setns", fd, nstype)

    def mount(self, source: str, target: str, flags: int) -> None:
        self._call("mount", source, target, flags)

    def umount(self, target: str, flags: int) -> None:
        self._call("umount", target, flags)

    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        self._call("open", path, flags)
        self.nextFD += 1
        return self.nextFD

    def close(self, fd: int) -> None:
        self.closed.append(fd)

    def ioctl(self, fd: int, request: int, arg: bytes) -> bytes:
        self._call("ioctl", fd, request, arg)
        return arg

    def controlSocket(self) -> int:
        self._call("controlSocket")
        return 5

    def readFile(self, path: str) -> Optional[str]:
        return self.files.get(path)

    def writeFile(self, path: str, text: str) -> None:
        self._call("writeFile", path, text)
        self.written[path] = text

    def makeDirectory(self, path: str, mode: int) -> None:
        self._call("makeDirectory", path, mode)

    def createFile(self, path: str) -> None:
        self._call("createFile", path)
        self.created.append(path)

    def unlink(self, path: str) -> None:
        self._call("unlink", path)
        self.files.pop(path, None)

    def removeDirectory(self, path: str) -> None:
        self._call("removeDirectory", path)

    def temporaryFile(self, prefix: str, text: str, mode: int) -> str:
        self._call("temporaryFile", prefix, text, mode)
        path = "/tmp/%s%d" % (prefix, len(self.calls))
        self.files[path] = text
        return path

    def run(self, argv: Sequence[str]) -> Tuple[int, str]:
        self._call("run", list(argv))
        self.runs.append(list(argv))
        if self.onRun is not None:
            self.onRun(list(argv))
        return self.runStatus

    def sendDescriptor(self, sock: Any, message: bytes, fd: Optional[int]) -> None:
        self.sent.append((message, fd))

    def execvp(self, file: str, argv: List[str]) -> None:
        self._call("execvp", file, argv)

    def getuid(self) -> int:
        return self.uid

    def getgid(self) -> int:
        return self.gid

    def geteuid(self) -> int:
        return self.euid


verifyClass(INamespaceSystem, FakeNamespaceSystem)
