# -*- test-case-name: tests.stack.test_interface -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The network interface of a user-space host: the L{IFrameProtocol} that
attaches to a switch port (a VDE plug, an in-process port, a test wire),
filters frames by destination MAC and demultiplexes them by EtherType to
the ARP, IPv4 and IPv6 layers.

The receive path reads the Ethernet header with one C{struct.unpack_from}
and passes C{bytes} payloads up; nothing raises into the reactor: bad or
foreign frames are counted and dropped, and an unexpected exception in an
upper layer is logged and counted.

Sending can be corked: between C{cork()} and C{uncork()} frames are built
and queued, then handed to the transport back to back (at most
L{NetworkInterface.corkLimit} at a time).  The TCP layer corks around the
segments of one wakeup: on CPython building a segment costs about 15 us,
and sending each as soon as it is built woke the switch for every frame;
sent back to back, a forward host->guest went from 0.60 to 0.88 Gbit/s
and from 1.44 to 1.04 cores per Gbit/s (docs/performance.txt,
2026-12-06).
"""

from collections import Counter
from typing import Callable, List, Optional

from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.wire.addr import randomMAC
from vdetwist.wire.ethernet import (
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ETHERTYPE_VLAN,
    HEADER,
    HEADER_LENGTH,
)

#: A handler of one EtherType's payloads: called with the source MAC and
#: the payload (the bytes after the Ethernet header).
PayloadHandler = Callable[[bytes, bytes], None]

_log = Logger()


@implementer(IFrameProtocol)
class NetworkInterface:
    """
    One Ethernet interface.

    @ivar mac: our MAC address, 6 bytes.
    @ivar promiscuous: accept unicast frames for other MACs too.
    @ivar transport: where frames go, while attached; else C{None}.
    @ivar arpHandler: receives ARP payloads (set by the ARP layer).
    @ivar ipv4Handler: receives IPv4 payloads (set by the IPv4 layer).
    @ivar ipv6Handler: receives IPv6 payloads (set by the IPv6 layer).
    @ivar capture: if set, called with every frame received and sent
        (before any filtering), for a packet capture.
    @ivar counters: event counts: C{framesReceived}, C{framesSent},
        C{runts} (shorter than a header), C{foreign} (unicast for another
        MAC), C{tagged} (802.1Q frames, not handled by a host),
        C{unknownEtherType}, C{notAttached} (sends while detached),
        C{handlerErrors}.
    @ivar corkDepth: how many L{cork} calls await their L{uncork}: while
        non-zero, a batch is being handled (read-only).
    @ivar corkLimit: the most frames held while corked; the queue goes to
        the transport when it reaches this.  A VDE switch's data socket
        queues net.unix.max_dgram_qlen = 10 datagrams but drains them while
        we send: 16 lost none in bench/slirp.py (8 to 32 measured alike).
    """

    corkLimit = 16

    def __init__(self, mac: Optional[bytes] = None, promiscuous: bool = False) -> None:
        """
        @param mac: the MAC address; a random locally administered one when
            C{None}.
        @param promiscuous: accept unicast frames for other MACs.
        """
        self.mac = mac if mac is not None else randomMAC()
        if len(self.mac) != 6:
            raise ValueError("a MAC address is 6 bytes")
        self.promiscuous = promiscuous
        self.transport: Optional[IFrameTransport] = None
        self.arpHandler: Optional[PayloadHandler] = None
        self.ipv4Handler: Optional[PayloadHandler] = None
        self.ipv6Handler: Optional[PayloadHandler] = None
        self._counters: Counter[str] = Counter()
        self._framesReceived = 0
        self._framesSent = 0
        self.capture: Optional[Callable[[bytes], None]] = None
        self._connectObservers: List[Callable[[], None]] = []
        self._unpack = HEADER.unpack_from
        self.corkDepth = 0
        self._uncorkObservers: List[Callable[[], None]] = []
        self._flushing = False
        self._corked: List[bytes] = []

    @property
    def counters(self) -> "Counter[str]":
        """
        The event counts (see the class docstring).  The per-frame ones
        are kept as attributes and added in when this is read: an
        increment of a C{Counter} costs several times one of an
        attribute.
        """
        counters = self._counters
        if self._framesReceived:
            counters["framesReceived"] += self._framesReceived
            self._framesReceived = 0
        if self._framesSent:
            counters["framesSent"] += self._framesSent
            self._framesSent = 0
        return counters

    def addConnectObserver(self, observer: Callable[[], None]) -> None:
        """
        Call C{observer} each time the interface is attached (the ARP layer
        sends its gratuitous ARP then).

        @param observer: a callable taking no arguments.
        """
        self._connectObservers.append(observer)

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        The interface is attached: frames can be sent.

        @param transport: where frames go.
        """
        self.transport = transport
        for observer in list(self._connectObservers):
            observer()

    def connectionLost(self, reason: object) -> None:
        """
        The interface was detached; later sends are dropped and counted.

        @param reason: why.
        """
        self.transport = None

    def frameReceived(self, frame: bytes) -> None:
        """
        Filter one frame by destination and hand its payload to the layer
        for its EtherType.  Never raises.

        @param frame: the frame, from the destination MAC on.
        """
        self._framesReceived += 1
        counters = self._counters
        if self.capture is not None:
            self._capture(frame)
        if len(frame) < HEADER_LENGTH:
            counters["runts"] += 1
            return
        destination, source, etherType = self._unpack(frame)
        if destination != self.mac and not destination[0] & 1 and not self.promiscuous:
            counters["foreign"] += 1
            return
        if etherType == ETHERTYPE_IPV4:
            handler = self.ipv4Handler
        elif etherType == ETHERTYPE_ARP:
            handler = self.arpHandler
        elif etherType == ETHERTYPE_IPV6:
            handler = self.ipv6Handler
        elif etherType == ETHERTYPE_VLAN:
            counters["tagged"] += 1
            return
        else:
            handler = None
        if handler is None:
            counters["unknownEtherType"] += 1
            return
        try:
            handler(source, bytes(frame[HEADER_LENGTH:]))
        except Exception:
            counters["handlerErrors"] += 1
            _log.failure("Error handling a frame", Failure())  # type: ignore[no-untyped-call]

    def sendFrame(self, destination: bytes, etherType: int, payload: bytes) -> None:
        """
        Send one frame from our MAC.  Dropped (and counted) while detached.

        @param destination: the destination MAC, 6 bytes.
        @param etherType: the payload's EtherType.
        @param payload: the bytes after the header.
        """
        transport = self.transport
        if transport is None:
            self._counters["notAttached"] += 1
            return
        self._framesSent += 1
        frame = HEADER.pack(destination, self.mac, etherType) + payload
        if self.capture is not None:
            self._capture(frame)
        if self.corkDepth or self._flushing:
            corked = self._corked
            corked.append(frame)
            if len(corked) >= self.corkLimit:
                self._flush()
            return
        transport.sendFrame(frame)

    def sendFrames(self, frames: List[bytes]) -> None:
        """
        Send whole frames, built by the caller with our MAC as their source
        (L{IPv4Layer.sendPackets<vdetwist.stack.ipv4.IPv4Layer.sendPackets>}),
        in order, as L{sendFrame} sends one: held while corked, dropped
        and counted while detached.

        @param frames: the frames, from the destination MAC on.
        """
        transport = self.transport
        if transport is None:
            self._counters["notAttached"] += len(frames)
            return
        self._framesSent += len(frames)
        if self.capture is not None:
            for frame in frames:
                self._capture(frame)
        if self.corkDepth or self._flushing:
            limit = self.corkLimit
            for frame in frames:
                corked = self._corked
                corked.append(frame)
                if len(corked) >= limit:
                    self._flush()
            return
        for frame in frames:
            transport.sendFrame(frame)

    def cork(self) -> None:
        """
        Hold the frames sent from now until the matching L{uncork} (calls
        nest), to send them back to back.
        """
        self.corkDepth += 1

    def addUncorkObserver(self, observer: Callable[[], None]) -> None:
        """
        Call C{observer} at each outermost L{uncork}, before the held frames
        go: the end of a batch (the TCP layer's receive offload delivers
        what it held; what that sends joins the held frames).  An observer
        that raises is logged and counted (C{handlerErrors}).

        @param observer: a callable taking no arguments.
        """
        self._uncorkObservers.append(observer)

    def uncork(self) -> None:
        """
        End a L{cork}; the outermost tells the uncork observers, then sends
        what was held, in order.  An unmatched call does nothing.
        """
        if self.corkDepth == 1 and self._uncorkObservers:
            for observer in self._uncorkObservers:
                try:
                    observer()
                except Exception:
                    self._counters["handlerErrors"] += 1
                    _log.failure("Error ending a batch", Failure())  # type: ignore[no-untyped-call]
        if self.corkDepth > 0:
            self.corkDepth -= 1
        if not self.corkDepth and self._corked:
            self._flush()

    def _flush(self) -> None:
        """
        Hand the held frames to the transport in order.  Frames sent while
        this runs (a transport that delivers at once, and a peer that
        answers) join the queue behind them, so the order on the wire is
        the order of L{sendFrame} calls.  Frames held while the transport
        went away are counted as C{notAttached}.
        """
        if self._flushing:
            return
        self._flushing = True
        corked = self._corked
        try:
            i = 0
            while i < len(corked):
                frame = corked[i]
                i += 1
                transport = self.transport
                if transport is None:
                    self._counters["notAttached"] += 1
                else:
                    transport.sendFrame(frame)
        finally:
            self._flushing = False
            self._corked = []

    def _capture(self, frame: bytes) -> None:
        """
        Hand a frame to the capture; a failing capture is logged and
        stopped, never raised.

        @param frame: the frame.
        """
        try:
            self.capture(frame)  # type: ignore[misc]
        except Exception:
            self.capture = None
            self._counters["captureErrors"] += 1
            _log.failure("Capture failed; capture stopped", Failure())  # type: ignore[no-untyped-call]


class InterfaceCorkMixin:
    """
    C{cork} and C{uncork} for a layer above one interface (the IPv4 and
    IPv6 layers): its interface's, so the TCP layer corks the interface
    through the IP layer it sends with.

    @ivar interface: the L{NetworkInterface}.
    """

    interface: NetworkInterface

    def cork(self) -> None:
        """
        Hold the frames sent from now until L{uncork}, to send them back
        to back (L{NetworkInterface.cork}).
        """
        self.interface.cork()

    def uncork(self) -> None:
        """
        Send what L{cork} held (L{NetworkInterface.uncork}).
        """
        self.interface.uncork()
