# -*- test-case-name: tests.stack.tcp.test_connection -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
L{TCPConnection}: the Twisted transport face of one TCP connection.

It owns a pure L{TCPMachine} and is the only place in the TCP stack that
talks to the reactor: a C{callLater} per connection for the machine's next
deadline (from C{pollAt} after every wakeup), and one for "now" (the next
reactor turn) when something is due at once.  A wakeup (an incoming
segment, a timer, an application call outside a wakeup) processes the
input, delivers data and events to the protocol, then emits everything the
machine has to send in one go.

Writes are not sent from inside C{write}: they mark the machine as having
something to send, which schedules a wakeup for now (C{callLater(0)}),
so many small writes in one reactor turn go out as few full segments.
Writes made by the protocol while it handles input go out in the same
wakeup, piggybacking the ACK.
"""

import socket
from typing import Any, Callable, Iterable, Optional, Union

from twisted.internet import error
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IConsumer,
    IDelayedCall,
    IHalfCloseableProtocol,
    IProtocol,
    IPushProducer,
    ITCPTransport,
)
from twisted.python import failure, log
from zope.interface import implementer

from vdetwist.stack.tcp.machine import (
    CLOSED,
    EVENT_CLOSED,
    EVENT_CONNECTED,
    EVENT_EOF,
    FIN_WAIT_2,
    REASON_ABORTED,
    REASON_DONE,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMEOUT,
    REASON_UNREACHABLE,
    TIME_WAIT,
    TCPMachine,
)
from vdetwist.wire.tcp import TCPSegment, addressSum

__all__ = ["TCPConnection", "failureForReason"]


def failureForReason(reason: Optional[str]) -> failure.Failure:
    """
    The Twisted failure that tells a protocol why its connection ended.

    @param reason: a machine C{REASON_*} value.
    @return: a failure wrapping C{ConnectionDone}, C{ConnectionLost},
        C{ConnectionRefusedError}, C{TCPTimedOutError} or
        C{ConnectionAborted} or C{NoRouteError}.
    """
    if reason == REASON_DONE:
        exc: Exception = error.ConnectionDone()
    elif reason == REASON_RESET:
        exc = error.ConnectionLost("Connection reset by peer")
    elif reason == REASON_REFUSED:
        exc = error.ConnectionRefusedError()  # type: ignore[no-untyped-call]
    elif reason == REASON_TIMEOUT:
        exc = error.TCPTimedOutError()  # type: ignore[no-untyped-call]
    elif reason == REASON_ABORTED:
        exc = error.ConnectionAborted()
    elif reason == REASON_UNREACHABLE:
        exc = error.NoRouteError()  # type: ignore[no-untyped-call]
    else:
        exc = error.ConnectionLost(str(reason))
    return failure.Failure(exc)  # type: ignore[no-untyped-call]



def formatAddress(address: bytes) -> str:
    """
    An IPv4 (4 bytes) or IPv6 (16 bytes) address as text.

    @param address: the address.
    @return: a dotted quad or RFC 5952 text.
    """
    if len(address) == 4:
        return socket.inet_ntoa(address)
    return socket.inet_ntop(socket.AF_INET6, address)


def socketAddress(address: bytes, port: int) -> Union[IPv4Address, IPv6Address]:
    """
    The Twisted address of a TCP endpoint of either family.

    @param address: 4 or 16 bytes.
    @param port: the port.
    @return: an C{IPv4Address} or an C{IPv6Address} of type C{"TCP"}.
    """
    if len(address) == 4:
        return IPv4Address("TCP", socket.inet_ntoa(address), port)
    return IPv6Address("TCP", socket.inet_ntop(socket.AF_INET6, address), port)

@implementer(ITCPTransport, IPushProducer, IConsumer)
class TCPConnection:
    """
    One TCP connection of a L{vdetwist.stack.tcp.demux.TCPLayer}, as a
    Twisted transport.

    @ivar machine: the state machine.
    @ivar protocol: the application protocol once connected, else C{None}.
    @ivar localAddress: our address, 4 bytes.
    @ivar localPort: our port.
    @ivar remoteAddress: the peer's address, 4 bytes.
    @ivar remotePort: the peer's port.
    @ivar connected: whether the protocol is connected.
    @ivar disconnecting: whether C{loseConnection} was called.
    """

    def __init__(
        self,
        reactor: Any,
        layer: Any,
        machine: TCPMachine,
        localAddress: bytes,
        remoteAddress: bytes,
        buildProtocol: Callable[["TCPConnection"], Optional[IProtocol]],
        onFailure: Optional[Callable[[failure.Failure], None]] = None,
        onConnected: Optional[Callable[[IProtocol], None]] = None,
    ) -> None:
        """
        @param reactor: an C{IReactorTime}.
        @param layer: the owning layer: it provides C{sendSegments(conn,
            segments)} and C{connectionClosed(conn)}.
        @param machine: the connection's machine.
        @param localAddress: our address, 4 bytes.
        @param remoteAddress: the peer's address, 4 bytes.
        @param buildProtocol: called when the handshake completes; returns
            the protocol to connect, or C{None} to abort.
        @param onFailure: called with the failure if the connection ends
            before the handshake completes.
        @param onConnected: called with the protocol once it is connected.
        """
        self.reactor = reactor
        self.layer = layer
        self.machine = machine
        self.localAddress = localAddress
        self.localPort = machine.localPort
        self.remoteAddress = remoteAddress
        self.remotePort = machine.remotePort
        #: The addresses' part of the checksum of every segment sent.
        self.addressSum = addressSum(localAddress, remoteAddress)
        self._buildProtocol = buildProtocol
        self._onFailure = onFailure
        self._onConnected = onConnected
        self.listener: Any = None
        self.protocol: Optional[IProtocol] = None
        self.connected = False
        self.disconnecting = False
        self.disconnected = False
        self._timer: Optional[IDelayedCall] = None
        self._timerAt = 0.0
        self._soon: Optional[IDelayedCall] = None
        self._busy = False
        self._again = False
        self._readPaused = False
        self._producer: Any = None
        self._streamingProducer = False
        self._producerPaused = False
        self._writeClosed = False
        self._lost = False
        self._closedForGood = False
        self._coalesce = False

    # -- driving ------------------------------------------------------------

    def segmentReceived(self, segment: TCPSegment) -> None:
        """
        An incoming segment for this connection (called by the layer).

        @param segment: the parsed segment.
        """
        now = self.reactor.seconds()
        self.machine.segmentReceived(segment, now)
        self._coalesce = True
        try:
            self._service(now)
        finally:
            self._coalesce = False

    def errorReceived(self, reason: str, seq: int) -> None:
        """
        An ICMP error about this connection (called by the layer).

        @param reason: a machine C{REASON_*}.
        @param seq: the quoted sequence number.
        """
        self.machine.errorReceived(reason, seq)
        self._service(self.reactor.seconds())

    def start(self) -> None:
        """
        Run the first wakeup (sends the SYN or SYN-ACK).
        """
        self._service(self.reactor.seconds())

    def _timerFired(self) -> None:
        """
        The connection's timer expired.
        """
        self._timer = None
        self._service(self.reactor.seconds())

    def _soonFired(self) -> None:
        """
        The wakeup for something due at once came.
        """
        self._soon = None
        self._service(self.reactor.seconds())

    def _poke(self) -> None:
        """
        Something changed outside a wakeup: make sure it gets one (now if
        inside one, else through the timer).
        """
        if self._busy:
            self._again = True
        else:
            self._reschedule(self.reactor.seconds())

    def _service(self, now: float) -> None:
        """
        One wakeup: deliver events and data, emit segments, reschedule.

        @param now: the current time.
        """
        if self._busy:
            self._again = True
            return
        self._busy = True
        machine = self.machine
        try:
            for _ in range(64):
                self._again = False
                if machine.events or machine.finSent or machine.state == TIME_WAIT:
                    self._handleEvents(now)
                elif machine.receiveBuffer.length:
                    # The common case, data and nothing else.
                    self._deliver()
                if self._coalesce and machine.ackCanWait():
                    # Only an ACK for in-order data is due: send it at the
                    # end of this batch of segments (the timer, at once),
                    # so a burst read in one go is acknowledged once.
                    segments = []
                else:
                    segments = machine.dispatch(now)
                if segments:
                    self.layer.sendSegments(self, segments)
                if machine.events or machine.finSent:
                    self._handleEvents(now)
                if self._producer is not None:
                    self._checkProducer()
                if not self._again and not machine.events:
                    break
        finally:
            self._busy = False
        if machine.state == CLOSED:
            self._finish()
        else:
            self._reschedule(now)

    def _reschedule(self, now: float) -> None:
        """
        Point the timer at the machine's next deadline.

        @param now: the current time.
        """
        at = self.machine.pollAt()
        timer = self._timer
        if at is None:
            return
        if timer is not None and self._timerAt <= at:
            # A timer that fires too early costs one idle wakeup; moving it
            # on every segment (the RTO and delayed-ACK deadlines move with
            # each one) would cost a cancel and a callLater per packet.
            return
        if at <= now:
            # Due at once (an ACK deferred to the end of a batch, data
            # written): a wakeup on the next reactor turn, the deadline
            # timer left as it is.  A batch of segments arms the
            # delayed-ACK deadline with its first and needs the ACK now
            # with its second: this spares a cancel and a callLater per
            # batch, for an idle wakeup per delayed-ACK interval.
            if self._soon is None:
                self._soon = self.reactor.callLater(0, self._soonFired)
            return
        if timer is not None:
            timer.cancel()
        self._timerAt = at
        self._timer = self.reactor.callLater(at - now, self._timerFired)

    def _finish(self) -> None:
        """
        The machine is closed: stop the timer and leave the layer's table.
        """
        if self._closedForGood:
            return
        self._closedForGood = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        self.layer.connectionClosed(self)

    def _handleEvents(self, now: float) -> None:
        """
        Give the protocol what the machine produced: connection, data, EOF,
        closure, in order.

        @param now: the current time.
        """
        machine = self.machine
        events = machine.events
        while True:
            if events and events[0][0] == EVENT_CONNECTED:
                del events[0]
                self._connected(now)
                continue
            self._deliver()
            if not events or (self._readPaused and self.protocol is not None
                              and not self._lost):
                # While the application is not reading, the end of the
                # stream waits behind the data it has not taken (as a
                # paused Twisted transport does not see EOF).
                break
            name, detail = events.pop(0)
            if name == EVENT_EOF:
                self._eof(now)
            elif name == EVENT_CLOSED:
                self._connectionLost(failureForReason(detail))
        if (
            self.protocol is not None
            and not self._lost
            and not (self._readPaused and len(machine.receiveBuffer))
            and (machine.state == TIME_WAIT
                 or (self.disconnecting and machine.state == FIN_WAIT_2))
        ):
            self._connectionLost(failureForReason(REASON_DONE))
        if (
            machine.finSent
            and not self._writeClosed
            and self.protocol is not None
            and not self._lost
        ):
            self._writeClosed = True
            halfCloseable = IHalfCloseableProtocol(self.protocol, None)
            if halfCloseable is not None and not self.disconnecting:
                try:
                    halfCloseable.writeConnectionLost()
                except BaseException:
                    log.err(None, "writeConnectionLost raised")  # type: ignore[no-untyped-call]

    def _connected(self, now: float) -> None:
        """
        The handshake completed: build and connect the protocol.

        @param now: the current time.
        """
        try:
            protocol = self._buildProtocol(self)
        except BaseException:
            log.err(None, "building a protocol for a TCP connection")  # type: ignore[no-untyped-call]
            protocol = None
        if protocol is None:
            self.machine.abort(now)
            return
        self.protocol = protocol
        self.connected = True
        self._onFailure = None
        try:
            protocol.makeConnection(self)
        except BaseException:
            log.err(None, "connectionMade raised")  # type: ignore[no-untyped-call]
            self.abortConnection()
        if self._onConnected is not None:
            onConnected, self._onConnected = self._onConnected, None
            onConnected(protocol)

    def _deliver(self) -> None:
        """
        Hand in-order data to the protocol unless reading is paused.
        """
        if self._readPaused or self.protocol is None or self._lost:
            return
        data = self.machine.read()
        if data:
            try:
                self.protocol.dataReceived(data)
            except BaseException:
                log.err(None, "dataReceived raised")  # type: ignore[no-untyped-call]
                self.abortConnection()

    def _eof(self, now: float) -> None:
        """
        The peer closed its sending direction.

        @param now: the current time.
        """
        if self.protocol is None or self._lost:
            return
        halfCloseable = IHalfCloseableProtocol(self.protocol, None)
        if halfCloseable is not None:
            try:
                halfCloseable.readConnectionLost()
            except BaseException:
                log.err(None, "readConnectionLost raised")  # type: ignore[no-untyped-call]
                self.abortConnection()
        else:
            # As Twisted's TCP does: the connection is over for the
            # protocol; the machine finishes the close by itself.
            self.machine.readClosed = True
            self.machine.close(now)
            self.disconnecting = True
            self._connectionLost(failureForReason(REASON_DONE))

    def _connectionLost(self, reason: failure.Failure) -> None:
        """
        Tell the protocol (or the connector) once that the connection is
        over.

        @param reason: why.
        """
        if self._lost:
            return
        self._lost = True
        self.connected = False
        self.disconnected = True
        if self._producer is not None:
            producer = self._producer
            self._producer = None
            try:
                producer.stopProducing()
            except BaseException:
                log.err(None, "stopProducing raised")  # type: ignore[no-untyped-call]
        protocol = self.protocol
        if protocol is None:
            if self._onFailure is not None:
                onFailure, self._onFailure = self._onFailure, None
                onFailure(reason)
            return
        try:
            protocol.connectionLost(reason)
        except BaseException:
            log.err(None, "connectionLost raised")  # type: ignore[no-untyped-call]

    def _checkProducer(self) -> None:
        """
        Pause or resume the registered producer by the send buffer's level
        (L{TCPMachine.sendBacklog}; high-water mark: the send buffer size;
        low-water: half of it).
        """
        producer = self._producer
        if producer is None:
            return
        buffered = self.machine.sendBacklog()
        highWater = self.machine.sendBuffer.capacity
        if self._streamingProducer:
            if not self._producerPaused and buffered > highWater:
                self._producerPaused = True
                producer.pauseProducing()
            elif self._producerPaused and buffered <= highWater // 2:
                self._producerPaused = False
                producer.resumeProducing()
        elif buffered <= highWater // 2 and not self.disconnecting:
            producer.resumeProducing()

    # -- ITransport ---------------------------------------------------------

    def write(self, data: bytes) -> None:
        """
        Send data.  As with Twisted's TCP, data written after
        C{loseConnection} still goes out until the connection is really
        closing (our FIN sent); later writes are ignored.

        @param data: the bytes.
        """
        if not data or self._lost or self.machine.finSent:
            return
        if not isinstance(data, bytes):
            raise TypeError("Data must be bytes")
        self.machine.send(data)
        if (
            self._producer is not None
            and self._streamingProducer
            and not self._producerPaused
            and self.machine.sendBacklog() > self.machine.sendBuffer.capacity
        ):
            self._producerPaused = True
            self._producer.pauseProducing()
        self._poke()

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """
        Send several strings.

        @param data: the strings.
        """
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """
        Close the connection after the buffered data is sent; the protocol's
        C{connectionLost} follows once the peer acknowledged our FIN.
        Data arriving afterwards is acknowledged and discarded.
        """
        if self.disconnecting or self._lost:
            return
        self.disconnecting = True
        machine = self.machine
        machine.readClosed = True
        machine.receiveBuffer.read()
        now = self.reactor.seconds()
        machine.close(now)
        if machine.state == CLOSED:
            self._service(now)
            return
        self._poke()

    def loseWriteConnection(self) -> None:
        """
        Half-close: send FIN after the buffered data; reading goes on.
        """
        if self.disconnecting or self._lost:
            return
        self.machine.close(self.reactor.seconds())
        self._poke()

    def abortConnection(self) -> None:
        """
        Close at once with a RST, dropping buffered data.
        """
        if self._lost:
            return
        self.disconnecting = True
        now = self.reactor.seconds()
        self.machine.abort(now)
        self._service(now)

    def shutdown(self) -> None:
        """
        End this connection whatever its state (the layer is stopping): a
        RST if synchronized, the protocol told with C{ConnectionAborted}
        if it was not told already, the timer cancelled.
        """
        now = self.reactor.seconds()
        if self.machine.state != CLOSED:
            self.machine.abort(now)
        self._service(now)

    def getHost(self) -> Union[IPv4Address, IPv6Address]:
        """
        @return: our address, as C{IPv4Address("TCP", dotted, port)} (an
            C{IPv6Address} on IPv6).
        """
        return socketAddress(self.localAddress, self.localPort)

    def getPeer(self) -> Union[IPv4Address, IPv6Address]:
        """
        @return: the peer's address, as C{IPv4Address("TCP", dotted, port)}
            (an C{IPv6Address} on IPv6).
        """
        return socketAddress(self.remoteAddress, self.remotePort)

    def getTcpNoDelay(self) -> bool:
        """
        @return: whether Nagle's algorithm is off.
        """
        return self.machine.noDelay

    def setTcpNoDelay(self, enabled: bool) -> None:
        """
        @param enabled: C{True} to turn Nagle's algorithm off.
        """
        self.machine.noDelay = bool(enabled)
        self._poke()

    def getTcpKeepAlive(self) -> bool:
        """
        @return: whether keepalive probes are on.
        """
        return self.machine.keepAlive

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """
        @param enabled: C{True} to send keepalive probes when idle.
        """
        self.machine.keepAlive = bool(enabled)
        self._poke()

    # -- IPushProducer (our reading) ----------------------------------------

    def pauseProducing(self) -> None:
        """
        Stop delivering data: it stays in the receive buffer, and the window
        the peer sees closes as that fills.
        """
        self._readPaused = True

    def resumeProducing(self) -> None:
        """
        Deliver buffered data again and reopen the window.
        """
        if not self._readPaused:
            return
        self._readPaused = False
        if not self._lost:
            self._service(self.reactor.seconds())

    def stopProducing(self) -> None:
        """
        Close the connection (as Twisted's transports do).
        """
        self.loseConnection()

    # -- IConsumer (our writing) --------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Register a producer of data to write.  A streaming producer is
        paused while the send buffer holds more than its size and resumed
        below half; a pull producer is asked for more whenever the buffer
        is below half.

        @param producer: an C{IPushProducer} or C{IPullProducer}.
        @param streaming: which of the two.
        @raise RuntimeError: a producer is already registered.
        """
        if self._producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because producer "
                f"{self._producer!r} was never unregistered."
            )
        if self._lost:
            producer.stopProducing()
            return
        self._producer = producer
        self._streamingProducer = bool(streaming)
        self._producerPaused = False
        if not streaming:
            producer.resumeProducing()
        else:
            self._checkProducer()

    def unregisterProducer(self) -> None:
        """
        Forget the registered producer.
        """
        self._producer = None
        self._producerPaused = False

    def __repr__(self) -> str:
        """
        @return: the 4-tuple and state.
        """
        return (
            f"<TCPConnection {formatAddress(self.localAddress)}:{self.localPort}"
            f" <-> {formatAddress(self.remoteAddress)}:{self.remotePort}"
            f" {self.machine.state}>"
        )

