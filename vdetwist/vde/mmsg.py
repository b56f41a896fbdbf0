# -*- test-case-name: tests.vde.test_mmsg -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Many datagrams per system call: Linux's C{recvmmsg(2)} and C{sendmmsg(2)},
called through cffi's ABI mode (no compiler needed).

The switch's datagram endpoints use them on PyPy, where cffi is part of
the interpreter and its calls are compiled by the JIT: a batch of frames
read from one client costs one C{recvmmsg} instead of one C{recv} per
frame plus the C{recv} that finds the queue empty, and the frames one
batch forwards to one client go out in one C{sendmmsg}.  On CPython the
plain socket methods stay: there a cffi call and the copies in and out of
its buffers cost more interpreter work than the system calls they save.

    batch = MultiMessage(64, 9235)
    frames = batch.receive(sock.fileno())       # [] when none is queued
    sent, failures = batch.send(sock.fileno(), [frame1, frame2])

L{available} says whether this works here (cffi importable, the C library
has both calls).
"""

import errno
import os
from typing import Any, List, Optional, Sequence, Tuple

__all__ = ["MultiMessage", "available"]

_CDEF = """
struct iovec {
    void *iov_base;
    size_t iov_len;
};
struct msghdr {
    void *msg_name;
    unsigned int msg_namelen;
    struct iovec *msg_iov;
    size_t msg_iovlen;
    void *msg_control;
    size_t msg_controllen;
    int msg_flags;
};
struct mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags,
             void *timeout);
int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
"""

#: C{MSG_DONTWAIT} (Linux): never block, whatever the socket's mode.
MSG_DONTWAIT = 0x40

_ffi: Any = None
_lib: Any = None


def _load() -> Tuple[Any, Any]:
    """
    Load cffi and the C library's two calls, once.

    @return: C{(ffi, lib)}.
    @raise ImportError: cffi is missing, or the C library lacks the calls.
    """
    global _ffi, _lib
    if _lib is None:
        import cffi
        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        lib = ffi.dlopen(None)
        try:
            lib.recvmmsg
            lib.sendmmsg
        except AttributeError as e:
            raise ImportError("no recvmmsg/sendmmsg in the C library: %s" % (e,))
        _ffi, _lib = ffi, lib
    return _ffi, _lib


def available() -> bool:
    """
    Whether L{MultiMessage} can be used here.

    @return: C{True} on Linux with cffi installed.
    """
    try:
        _load()
    except (ImportError, OSError):
        return False
    return True


class MultiMessage:
    """
    Buffers for up to C{count} datagrams of up to C{size} bytes, with the
    C{mmsghdr} array pointing at them, reused by every call.

    @ivar count: the most datagrams per call.
    @ivar size: the bytes per datagram buffer; a longer datagram is
        truncated to it (as C{recv(size)} does).
    """

    def __init__(self, count: int, size: int) -> None:
        """
        @param count: see L{count}.
        @param size: see L{size}.
        @raise ImportError: when L{available} is false.
        """
        ffi, lib = _load()
        self._ffi = ffi
        self._recvmmsg = lib.recvmmsg
        self._sendmmsg = lib.sendmmsg
        self.count = count
        self.size = size
        self._buffer = ffi.new("char[]", count * size)
        self._iovecs = ffi.new("struct iovec[]", count)
        self._messages = ffi.new("struct mmsghdr[]", count)
        self._starts = [self._buffer + i * size for i in range(count)]
        for i in range(count):
            self._iovecs[i].iov_base = self._starts[i]
            self._iovecs[i].iov_len = size
            self._messages[i].msg_hdr.msg_iov = self._iovecs + i
            self._messages[i].msg_hdr.msg_iovlen = 1

    def receive(self, fd: int, count: Optional[int] = None) -> List[bytes]:
        """
        Read the datagrams queued on C{fd}, without waiting.

        @param fd: a datagram socket's descriptor.
        @param count: the most to read (at most L{count}, the default).
        @return: their bytes, in order; empty when none was queued.
        @raise OSError: on an error other than EAGAIN (and EINTR, which
            reads as nothing queued).
        """
        messages = self._messages
        n = self._recvmmsg(fd, messages, count or self.count, MSG_DONTWAIT,
                           self._ffi.NULL)
        if n < 0:
            code = self._ffi.errno
            if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                return []
            raise OSError(code, os.strerror(code))
        unpack = self._ffi.unpack
        starts = self._starts
        return [unpack(starts[i], messages[i].msg_len) for i in range(n)]

    def send(self, fd: int, datagrams: Sequence[bytes]) -> Tuple[int, List[int]]:
        """
        Send datagrams on a connected socket, without waiting, in order;
        one that cannot go is skipped and the rest are still tried, as a
        loop of C{send} calls would.

        @param fd: the socket's descriptor.
        @param datagrams: at most L{count} of them, each at most L{size}
            bytes.
        @return: C{(sent, failures)}: how many went, and the C{errno} of
            each that did not (EAGAIN when the receiver's queue was full).
        """
        ffi = self._ffi
        memmove = ffi.memmove
        starts = self._starts
        iovecs = self._iovecs
        messages = self._messages
        total = len(datagrams)
        for i in range(total):
            datagram = datagrams[i]
            memmove(starts[i], datagram, len(datagram))
            iovecs[i].iov_len = len(datagram)
        sent = 0
        failures: List[int] = []
        done = 0
        while done < total:
            n = self._sendmmsg(fd, messages + done, total - done, MSG_DONTWAIT)
            if n > 0:
                sent += n
                done += n
            else:
                failures.append(ffi.errno if n < 0 else errno.EAGAIN)
                done += 1
        # Give the buffers their whole size back, for receive.
        size = self.size
        for i in range(total):
            iovecs[i].iov_len = size
        return sent, failures
