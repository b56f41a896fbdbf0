# -*- test-case-name: tests.links.test_cable -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
One cable connection (L{CableProtocol}): a switch port whose frames travel
over a byte stream with VDE's 2-byte big-endian length framing
(docs/vde-protocol.md section 3), checked strictly, with a bound on what a
peer that does not read costs us.

It takes its switch port through the attach contract
(L{vdetwist.links.switchport.LinkPort}) once the stream is up (after the
TLS handshake, for TLS), and gives it back when the stream ends.  The
table entry it belongs to (L{vdetwist.links.cable.Cable}) gives it the
switch, the reactor, the link emulation and the loop guard.
"""

from typing import Any, Callable, List, Optional

from twisted.internet.interfaces import IHandshakeListener, IPushProducer, ISSLTransport
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import AttachError
from vdetwist.links.cableendpoints import abortTransport
from vdetwist.links.loopguard import PROBE_DESTINATION, IGuardedLink
from vdetwist.links.switchport import FIRST_ENDPOINT_ID, LinkPort
from vdetwist.wire.frames import MIN_FRAME
from vdetwist.vde.stream import MAX_STREAM_FRAME, StreamDecoder, StreamFramingError

log = Logger(namespace="vdetwist.links.cable")

#: Seconds a TLS handshake may take before the connection is dropped.
HANDSHAKE_TIMEOUT = 15.0
#: Seconds the peer may leave our writes blocked before the cable drops.
STALL_TIMEOUT = 10.0
#: Bytes written past the transport's own high-water mark while the peer
#: does not read; further frames are dropped until it reads again.
MAX_BACKLOG = 1 << 20


@implementer(IPushProducer)
class _WriteWatch:
    """
    Registered with a cable's transport as its streaming producer: tells the
    cable when the transport's buffer is full (the peer is not reading as
    fast as we write) and when it drains.

    @ivar cable: the L{CableProtocol}.
    """

    def __init__(self, cable: "CableProtocol") -> None:
        """
        @param cable: the cable to tell.
        """
        self.cable = cable

    def pauseProducing(self) -> None:
        """
        The transport's buffer is above its high-water mark.
        """
        self.cable._writeBlocked()

    def resumeProducing(self) -> None:
        """
        The transport's buffer drained.
        """
        self.cable._writeUnblocked()

    def stopProducing(self) -> None:
        """
        The transport is closing; nothing to do.
        """


def peerIdentity(transport: Any) -> Optional[str]:
    """
    The subject of the peer's TLS certificate, for C{cable/print}.

    @param transport: a transport after its handshake.
    @return: e.g. C{CN=switch-b}, or L{None} when there is none.
    """
    try:
        certificate = transport.getPeerCertificate()
    except Exception:
        return None
    if certificate is None:
        return None
    parts = []
    for key, value in certificate.get_subject().get_components():
        parts.append("%s=%s" % (key.decode("ascii", "replace"),
                                value.decode("utf-8", "replace")))
    return ",".join(parts) or None


@implementer(IHandshakeListener, IGuardedLink)
class CableProtocol(Protocol, LinkPort):
    """
    One cable connection: a switch port whose frames travel over a byte
    stream with VDE's length framing.

    It takes a port (L{LinkPort.attachToSwitch}) when the stream is up
    (after the TLS handshake, for TLS) and gives it back when the stream
    ends; port/print shows it with module C{cable}, endpoint ID 20000 +
    its cable ID and its description.

    @ivar cable: the L{vdetwist.links.cable.Cable} entry this connection
        belongs to.
    @ivar cableID: the ID C{cable/print} and C{cable/del} use.
    @ivar endpointID: the endpoint ID C{port/print} shows.
    @ivar description: shown by C{port/print}.
    @ivar attachment: the switch port while attached, else L{None}
        (L{LinkPort}).
    @ivar peer: the peer's address, as text.
    @ivar identity: the peer's TLS certificate subject, if any.
    @ivar framesIn: frames received and forwarded.
    @ivar bytesIn: their bytes.
    @ivar framesOut: frames written.
    @ivar bytesOut: their bytes.
    @ivar drops: frames not written (not attached, too long, or the
        peer not reading).
    @ivar dropReason: why this cable was dropped by us, if it was.
    """

    module = "cable"

    def __init__(self, cable: Any, cableID: int) -> None:
        """
        @param cable: the entry (listening or dialled) this belongs to.
        @param cableID: this connection's ID.
        """
        self.cable = cable
        self.cableID = cableID
        self.endpointID = FIRST_ENDPOINT_ID + cableID
        self.switch = cable.manager.switch
        self.reactor = cable.manager.reactor
        self.description = "cable %d %s" % (cableID, cable.description)
        self._initLinkPort()
        self.peer = "?"
        self.identity: Optional[str] = None
        self.framesIn = self.bytesIn = 0
        self.framesOut = self.bytesOut = 0
        self.dropReason: Optional[str] = None
        self.state = "CONNECTING"
        self.decoder = StreamDecoder(MAX_STREAM_FRAME, strict=True)
        self._timer: Any = None
        self._blocked = False
        self._backlog = 0
        self._tls = False
        self._closed = False
        self._write: Callable[[bytes], None] = self._notAttached

    def __repr__(self) -> str:
        """
        The connection, for logs.
        """
        return "<CableProtocol %d %s %s>" % (self.cableID, self.state, self.peer)

    # -- connection life ------------------------------------------------

    def connectionMade(self) -> None:
        """
        The stream is up: attach now, or after the TLS handshake.
        """
        transport: Any = self.transport
        try:
            self.peer = formatAddress(transport.getPeer())
        except Exception:
            self.peer = "?"
        self._write = transport.write
        # Frames are latency-sensitive and Twisted already writes a whole
        # reactor iteration's frames at once: no Nagle delay.
        try:
            transport.setTcpNoDelay(True)
        except Exception:
            pass
        watch = _WriteWatch(self)
        if hasattr(transport, "registerProducer"):
            transport.registerProducer(watch, True)
        elif hasattr(transport, "stopWriting") and hasattr(transport, "startWriting"):
            # An SSH channel: these are its "remote window full/open" hooks.
            transport.stopWriting = watch.pauseProducing
            transport.startWriting = watch.resumeProducing
        if ISSLTransport.providedBy(transport):
            self._tls = True
            self.state = "HANDSHAKE"
            self._timer = self.reactor.callLater(
                HANDSHAKE_TIMEOUT, self.drop,
                "no TLS handshake within %d seconds" % (HANDSHAKE_TIMEOUT,))
        else:
            self._attach()

    def handshakeCompleted(self) -> None:
        """
        The TLS handshake succeeded (the peer's certificate was verified):
        attach.
        """
        self._cancelTimer()
        self.identity = peerIdentity(self.transport)
        self._attach()

    def _attach(self) -> None:
        """
        Take a free switch port.
        """
        if self._closed:
            return
        try:
            self.attachToSwitch(self._linkParameters())
        except AttachError as e:
            self.drop("no switch port for the cable: %s" % (e.reason,))
            return
        self.state = "CONNECTED"
        log.info("cable {id} ({descr}) up on port {port}: peer {peer}{identity}",
                 id=self.cableID, descr=self.cable.description, port=self.portNumber,
                 peer=self.peer,
                 identity=" identity %s" % (self.identity,) if self.identity else "")
        self.cable.connectionUp(self)
        guard = self.cable.manager.loopGuard
        if guard is not None:
            guard.connectionUp(self)

    def dataReceived(self, data: bytes) -> None:
        """
        Decode frames and forward them; bad framing drops the cable.

        @param data: bytes from the peer.
        """
        if self._closed:
            return
        try:
            frames = self.decoder.feed(data)
        except StreamFramingError as e:
            self._deliver(e.frames)
            self.drop("bad frame length %d (the maximum is %d): "
                      "garbage or a desynchronised stream" % (e.length, MAX_STREAM_FRAME))
            return
        if frames:
            self._deliver(frames)

    def _deliver(self, frames: List[bytes]) -> None:
        """
        Forward decoded frames, checking each is at least a header.

        @param frames: the frames.
        """
        forward = self._forward
        guard = self.cable.manager.loopGuard
        for frame in frames:
            n = len(frame)
            if n < MIN_FRAME:
                self.drop("runt frame of %d bytes: not a VDE stream" % (n,))
                return
            self.framesIn += 1
            self.bytesIn += n
            if frame[0] == 3 and guard is not None and frame[:6] == PROBE_DESTINATION:
                if guard.probeReceived(self, frame) or self.blocked:
                    continue
                forward = self._forward
            forward(frame)
            if self._closed:
                return

    def drop(self, reason: str) -> None:
        """
        Drop this cable now, with a logged reason (a dialled cable then
        reconnects).

        @param reason: why.
        """
        if self._closed:
            return
        self.dropReason = reason
        log.warn("cable {id} ({descr}) from {peer} dropped: {reason}",
                 id=self.cableID, descr=self.cable.description, peer=self.peer,
                 reason=reason)
        self._detach()
        if self.transport is not None:
            abortTransport(self.transport)

    def switchClosed(self) -> None:
        """
        The switch closed our port (C{port/epclose}, shutdown): close the
        stream.
        """
        self.close()

    def close(self) -> None:
        """
        Close from the switch's side (C{port/epclose}, shutdown): leave the
        switch port and close the stream after what is written.
        """
        if self._closed:
            return
        self.dropReason = self.dropReason or "closed by the switch"
        self._detach()
        if self.transport is not None:
            self.transport.loseConnection()

    def _detach(self) -> None:
        """
        Leave the switch port and stop all timers.
        """
        self._closed = True
        self._cancelTimer()
        self.detachFromSwitch()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        The stream ended: leave the switch and tell the entry.

        @param reason: why.
        """
        wasUp = self.state == "CONNECTED"
        if not self._closed:
            self._detach()
        self.state = "CLOSED"
        why = self.dropReason or describeFailure(reason)
        if wasUp:
            log.info("cable {id} ({descr}) down: {reason}", id=self.cableID,
                     descr=self.cable.description, reason=why)
        elif self._tls and self.dropReason is None:
            log.warn("cable {id} ({descr}) from {peer} refused: TLS handshake failed: "
                     "{reason}", id=self.cableID, descr=self.cable.description,
                     peer=self.peer, reason=why)
        self.cable.connectionDown(self, why)

    def _cancelTimer(self) -> None:
        """
        Cancel the handshake or stall timer.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- writing --------------------------------------------------------

    def sendDirect(self, frame: bytes) -> None:
        """
        Write one frame with its length header, past link emulation and
        the loop guard; bounded while the peer is not reading.

        @param frame: the frame.
        """
        n = len(frame)
        if n > MAX_STREAM_FRAME:
            self.drops += 1
            return
        if self._blocked:
            if self._backlog >= MAX_BACKLOG:
                self.drops += 1
                return
            self._backlog += n + 2
        self.framesOut += 1
        self.bytesOut += n
        self._write(n.to_bytes(2, "big") + frame)

    def _writeBlocked(self) -> None:
        """
        The transport buffer is full: bound what we add, and start the
        stall timer.
        """
        if self._blocked or self._closed:
            return
        self._blocked = True
        self._backlog = 0
        self._cancelTimer()
        self._timer = self.reactor.callLater(
            STALL_TIMEOUT, self.drop,
            "peer stopped reading for %d seconds" % (STALL_TIMEOUT,))

    def _writeUnblocked(self) -> None:
        """
        The transport buffer drained.
        """
        self._blocked = False
        self._backlog = 0
        self._cancelTimer()

    # -- link emulation and the loop guard ------------------------------

    def _linkParameters(self) -> Any:
        """
        The link emulation of this connection: its entry's.

        @return: a L{vdetwist.links.linkemu.LinkParameters} or L{None}.
        """
        return self.cable.linkParameters

    def setBlocked(self, blocked: bool) -> None:
        """
        Block (or unblock) data frames in both directions, for the loop
        guard; loop probes still pass.

        @param blocked: the new state.
        """
        if self._closed or blocked == self.blocked:
            return
        self.blocked = blocked
        if self.state == "CONNECTED":
            self.routeFrames(self._linkParameters())

    def linkChanged(self) -> None:
        """
        The entry's link parameters changed.
        """
        if self.state == "CONNECTED" and not self._closed:
            self.routeFrames(self._linkParameters())


def formatAddress(address: Any) -> str:
    """
    An address as C{cable/print} shows it.

    @param address: a Twisted address.
    @return: C{host:port}, a path, or the repr.
    """
    inner = getattr(address, "address", None)
    if inner is not None:
        return formatAddress(inner)
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is not None and port is not None:
        return "%s:%d" % (host, port)
    name = getattr(address, "name", None)
    if name is not None:
        return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return repr(address)


def describeFailure(reason: Any) -> str:
    """
    A short text for why a connection ended or failed.

    @param reason: a L{Failure}, an exception, or L{None}.
    @return: the text.
    """
    if reason is None:
        return "unknown"
    value = getattr(reason, "value", reason)
    text = str(value) or value.__class__.__name__
    return text.replace("\n", " ")[:300]
