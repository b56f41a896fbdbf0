# -*- test-case-name: tests.ns.test_relay -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The data path of C{vdetwist ns}: L{TapRelay} carries frames between a tap
descriptor and a switch attachment.

Frames the kernel sends out of the view's interface are read from the
tap in batches (until EAGAIN, at most L{READ_BATCH} per reactor wakeup)
and sent into the switch by its C{sendFrame}, looked up once per wakeup
(a L{vdetwist.vde.attach.SwitchAttachment} swaps it when the switch goes
away and comes back); frames from the switch are written to the tap, one
C{write()} each (a tap takes one frame per call).  While no switch is
attached (before the attachment, or after it ended for good) the relay
keeps draining the tap and counts what it drops, so the interface stays
up and the programs inside keep running; while a persistent attachment
waits for its switch to return, it counts the drops (C{detachedDrops}).

    relay = TapRelay(reactor)
    attachPersistently(reactor, switch, relay, "vdetwist ns")
    relay.startTap(fd)
"""

import errno
from typing import Any, Callable, Optional

from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.vde.system import RealSystem
from vdetwist.wire.frames import MAX_FRAME

__all__ = ["TapRelay", "READ_BATCH", "READ_SIZE"]

log = Logger(namespace="vdetwist.ns")

#: Frames drained from the tap per reactor wakeup.
READ_BATCH = 64
#: Bytes asked for per read: one more than the largest frame, so an
#: oversized frame shows as such (and is dropped).
READ_SIZE = MAX_FRAME + 1


@implementer(IReadDescriptor)
class _TapReader:
    """
    The tap descriptor as the reactor sees it; reading is the relay's
    C{readFrames}, bound here so a wakeup costs no extra call.
    """

    def __init__(self, relay: "TapRelay", fd: int) -> None:
        """
        @param relay: the relay.
        @param fd: the tap descriptor.
        """
        self.relay = relay
        self.fd = fd
        self.doRead = relay.readFrames

    def fileno(self) -> int:
        """
        @return: the descriptor, -1 once the relay closed it.
        """
        return -1 if self.relay.tapClosed else self.fd

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the descriptor (at shutdown).

        @param reason: why.
        """
        self.relay.stopTap()

    def logPrefix(self) -> str:
        """
        @return: the log prefix.
        """
        return "TapRelay"


@implementer(IFrameProtocol)
class TapRelay:
    """
    A tap descriptor on a switch attachment.

    @ivar transport: the switch attachment (L{IFrameTransport}), or L{None}
        while there is none.
    @ivar framesIn: frames read from the tap and sent to the switch.
    @ivar framesOut: frames from the switch written to the tap.
    @ivar drops: frames dropped: read from the tap while no switch was
        attached, oversized, or from the switch while the tap was full or
        not open yet.
    @ivar errors: tap writes or reads that failed with another error.
    @ivar tapClosed: whether the tap is closed (or was never opened).
    @ivar onSwitchLost: called with the reason when the attachment ends
        without L{detach} having asked for it.
    @ivar onTapLost: called with the error when the tap fails.
    @ivar onDetached: called when an attachment ended that L{detach} ended.
    """

    def __init__(self, reactor: Any, system: Any = None) -> None:
        """
        @param reactor: an L{IReactorFDSet}.
        @param system: the OS calls (C{read}, C{write}, C{close} of
            L{vdetwist.vde.system.ISystem}), the real ones by default.
        """
        self.reactor = reactor
        self.system = system if system is not None else RealSystem()
        self.transport: Optional[IFrameTransport] = None
        self.framesIn = 0
        self.framesOut = 0
        self.drops = 0
        self.errors = 0
        self.tapClosed = True
        self.onSwitchLost: Optional[Callable[[Failure], None]] = None
        self.onTapLost: Optional[Callable[[OSError], None]] = None
        self.onDetached: Optional[Callable[[], None]] = None
        self._fd = -1
        self._reader: Optional[_TapReader] = None
        self._read = self.system.read
        self._write = self.system.write
        self._detaching = False

    # The switch side (IFrameProtocol)

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        The switch is attached: frames from the tap go to it.

        @param transport: the attachment.
        """
        self.transport = transport
        self._detaching = False

    def frameReceived(self, frame: bytes) -> None:
        """
        Write a frame from the switch to the tap; one the tap cannot take
        is dropped and counted.

        @param frame: the frame.
        """
        try:
            self._write(self._fd, frame)
        except BlockingIOError:
            self.drops += 1
            return
        except OSError as e:
            if e.errno == errno.EBADF and self.tapClosed:
                self.drops += 1
            else:
                self.errors += 1
            return
        self.framesOut += 1

    def connectionLost(self, reason: Failure) -> None:
        """
        The attachment ended: keep the tap, drop its frames until another
        attachment comes.

        @param reason: why.
        """
        self.transport = None
        detaching, self._detaching = self._detaching, False
        if detaching:
            if self.onDetached is not None:
                self.onDetached()
        elif self.onSwitchLost is not None:
            self.onSwitchLost(reason)

    def detach(self) -> None:
        """
        Give the switch port back (our C{connectionLost} follows).
        """
        if self.transport is not None:
            self._detaching = True
            self.transport.loseConnection()

    def _dropFrame(self, frame: bytes) -> None:
        """
        Count a frame that has nowhere to go.

        @param frame: the frame.
        """
        self.drops += 1

    # The tap side

    def startTap(self, fd: int) -> None:
        """
        Relay the tap at C{fd} (now owned by the relay).

        @param fd: a nonblocking tap descriptor.
        """
        self._fd = fd
        self.tapClosed = False
        self._reader = _TapReader(self, fd)
        self.reactor.addReader(self._reader)

    def readFrames(self) -> None:
        """
        Drain up to L{READ_BATCH} frames from the tap into the switch.
        """
        read = self._read
        fd = self._fd
        transport = self.transport
        if transport is None:
            send = self._dropFrame
            attached = False
        else:
            send = transport.sendFrame
            attached = getattr(transport, "attached", True)
        frames = 0
        try:
            for _ in range(READ_BATCH):
                try:
                    frame = read(fd, READ_SIZE)
                except BlockingIOError:
                    return
                except InterruptedError:
                    continue
                except OSError as e:
                    self.errors += 1
                    if e.errno not in (errno.ENOMEM, errno.ENOBUFS):
                        self._tapFailed(e)
                    return
                if len(frame) > MAX_FRAME or not frame:
                    if not frame:
                        self._tapFailed(OSError(errno.EIO, "end of file on the tap"))
                        return
                    self.drops += 1
                    continue
                frames += 1
                send(frame)
        finally:
            if attached:
                self.framesIn += frames

    def _tapFailed(self, error: OSError) -> None:
        """
        The tap cannot be read any more: close it and say so.

        @param error: the error.
        """
        log.error("tap read failed: {error}", error=error)
        self.stopTap()
        if self.onTapLost is not None:
            self.onTapLost(error)

    def stopTap(self) -> None:
        """
        Stop relaying the tap and close it (the kernel then removes the
        interface, once no process is left in its namespace).
        """
        if self.tapClosed:
            return
        self.tapClosed = True
        if self._reader is not None:
            self.reactor.removeReader(self._reader)
            self._reader = None
        try:
            self.system.close(self._fd)
        except OSError:
            pass
