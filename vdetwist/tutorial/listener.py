# -*- test-case-name: tests.test_tutorial_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The tutorial's netcat listeners, as a protocol: print what a connection
brings, line by line, prefixed by the virtual host's address.
"""

from typing import Any, Callable

from twisted.internet import protocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer

#: The longest line kept before it is printed anyway (a client that never
#: sends a newline cannot grow our memory).
MAX_LINE = 4096


@implementer(IHalfCloseableProtocol)
class PrintingListener(protocol.Protocol):
    """
    Print each received line as C{[ADDRESS] line}, with netcat's connect
    and byte-count messages around them.

    @ivar write: where text goes (a callable taking one string).
    """

    def __init__(self, write: Callable[[str], Any]) -> None:
        """
        @param write: takes one line of text, without newline.
        """
        self.write = write
        self.buffer = b""
        self.received = 0

    def connectionMade(self) -> None:
        host, peer = self.transport.getHost(), self.transport.getPeer()
        self.prefix = "[%s] " % (host.host,)
        self.write("%sconnect to [%s] from (UNKNOWN) [%s] %d" % (
            self.prefix, host.host, peer.host, peer.port))

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        self.buffer += data
        while b"\n" in self.buffer or len(self.buffer) > MAX_LINE:
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
            else:
                line, self.buffer = self.buffer[:MAX_LINE], self.buffer[MAX_LINE:]
            self.write(self.prefix + line.decode("utf-8", "replace"))

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: object = None) -> None:
        if self.buffer:
            self.write(self.prefix + self.buffer.decode("utf-8", "replace"))
            self.buffer = b""
        self.write("%s sent 0, rcvd %d" % (self.prefix, self.received))


class PrintingFactory(protocol.Factory):
    """
    Builds L{PrintingListener}s.
    """

    def __init__(self, write: Callable[[str], Any]) -> None:
        self.write = write

    def buildProtocol(self, addr: Any) -> PrintingListener:
        return PrintingListener(self.write)
