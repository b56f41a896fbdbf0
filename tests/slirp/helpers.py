# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Helpers for the slirp tests: a gateway and guests on an in-memory wire
driven by a L{Clock}, and a host-side fake transport with half-close.
"""

from typing import Any, List, Optional, Tuple

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from zope.interface import implementer

from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.host import VirtualHost
from vdetwist.testing import MemoryWire
from vdetwist.wire.addr import formatIPv4


class HostTransport(StringTransport):
    """
    A L{StringTransport} for the host side of a relay, with
    C{loseWriteConnection} and C{abortConnection} recorded.
    """

    def __init__(self, peer: Tuple[str, int] = ("127.0.0.1", 40000)) -> None:
        """
        @param peer: the host client's address.
        """
        super().__init__(peerAddress=IPv4Address("TCP", *peer))
        self.writeClosed = False
        self.aborted = False
        self.paused = False

    def loseWriteConnection(self) -> None:
        """
        Record a half-close.
        """
        self.writeClosed = True

    def abortConnection(self) -> None:
        """
        Record an abort.
        """
        self.aborted = True
        self.disconnecting = True

    def pauseProducing(self) -> None:
        """
        Record the pause.
        """
        self.paused = True
        super().pauseProducing()

    def resumeProducing(self) -> None:
        """
        Record the resume.
        """
        self.paused = False
        super().resumeProducing()


@implementer(IHalfCloseableProtocol)
class GuestServer(Protocol):
    """
    A guest application: records what it reads, greets with its name.

    @ivar received: the bytes read.
    @ivar eof: whether the peer half-closed.
    @ivar lost: whether the connection ended.
    """

    def __init__(self, name: bytes, log: List["GuestServer"]) -> None:
        self.name = name
        self.received = b""
        self.eof = False
        self.lost = False
        log.append(self)

    def connectionMade(self) -> None:
        """
        Greet.
        """
        self.transport.write(b"hello from " + self.name + b"\n")

    def dataReceived(self, data: bytes) -> None:
        """
        Record.
        """
        self.received += data

    def readConnectionLost(self) -> None:
        """
        Record the half-close.
        """
        self.eof = True

    def writeConnectionLost(self) -> None:
        """
        Nothing.
        """

    def connectionLost(self, reason: Any = None) -> None:
        """
        Record.
        """
        self.lost = True


class Guest:
    """
    A guest virtual host with TCP on the wire.
    """

    def __init__(self, clock: Clock, wire: MemoryWire, address: str, gateway: str) -> None:
        self.host = VirtualHost(clock, address=address, gateway=gateway)
        self.tcp = self.host.tcp
        wire.attach(self.host.interface)
        self.servers: List[GuestServer] = []

    def listen(self, port: int, name: bytes) -> None:
        """
        Run a L{GuestServer} on C{port}.
        """
        factory = Factory.forProtocol(lambda: GuestServer(name, self.servers))
        self.tcp.listen(port, factory)


class Network:
    """
    A gateway and guests on one in-memory wire.
    """

    def __init__(self, network: str = "10.0.2.0/24", **kwargs: Any) -> None:
        self.clock = Clock()
        self.wire = MemoryWire(record=False)
        kwargs.setdefault("dns", False)
        self.gateway = Gateway(self.clock, network, **kwargs)
        self.wire.attach(self.gateway.host.interface)

    def guest(self, address: str, gateway: Optional[str] = None) -> Guest:
        """
        Add a guest.
        """
        if gateway is None:
            gateway = formatIPv4(self.gateway.address)
        return Guest(self.clock, self.wire, address, gateway)

    def run(self, seconds: float = 0.5, step: float = 0.01) -> None:
        """
        Let the wire and the timers run for C{seconds} of fake time.
        """
        elapsed = 0.0
        while elapsed < seconds:
            self.wire.pump()
            self.clock.advance(step)
            elapsed += step
        self.wire.pump()


def discoverAndRequest(gateway: Gateway, mac: bytes) -> bytes:
    """
    Lease an address from the gateway's DHCP server for C{mac}.

    @param gateway: the gateway (with DHCP on).
    @param mac: the client's MAC.
    @return: the leased address.
    """
    from vdetwist.wire.dhcp import DHCPDISCOVER, DHCPREQUEST, OP_REQUEST, DHCPRepr
    server = gateway.dhcp
    assert server is not None
    now = gateway.reactor.seconds()
    offer = server.handle(DHCPRepr(op=OP_REQUEST, transactionID=1, clientHardwareAddress=mac,
                                   messageType=DHCPDISCOVER).emit(), now)
    assert offer is not None
    address = offer.message.yourAddress
    ack = server.handle(DHCPRepr(op=OP_REQUEST, transactionID=2, clientHardwareAddress=mac,
                                 messageType=DHCPREQUEST, requestedAddress=address,
                                 serverIdentifier=gateway.address).emit(), now)
    assert ack is not None
    return address
