# -*- test-case-name: tests.slirp.test_inprocess -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The seed tutorial in one process: vdetwist's switch, three virtual hosts
(L{vdetwist.stack.endpoints.StackHost}) listening on 10000, and the slirp
gateway attached in-process, with real host sockets on loopback for the
forwards.
"""

from typing import Any, List

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from tests.util import shortTempDir
from vdetwist.slirp.forward import parseForwardSpec
from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.endpoints import StackHost
from vdetwist.switch.switch import Switch
from vdetwist.vde import local


@implementer(IHalfCloseableProtocol)
class Greeter(Protocol):
    """
    A guest server: greets with its name, collects input until the
    client's FIN, answers with the byte count, closes.
    """

    def __init__(self, name: bytes, log: List[bytes]) -> None:
        self.name = name
        self.log = log
        self.data = b""

    def connectionMade(self) -> None:
        self.transport.write(b"hello from " + self.name + b"\n")

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def readConnectionLost(self) -> None:
        self.log.append(self.data)
        self.transport.write(b"got %d\n" % (len(self.data),))
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass


@implementer(IHalfCloseableProtocol)
class Client(Protocol):
    """
    A host client: sends its lines, half-closes, collects the answer.
    """

    def __init__(self, lines: bytes) -> None:
        self.lines = lines
        self.received = b""
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.lines)
        self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Any = None) -> None:
        if not self.done.called:
            self.done.callback(self.received)


class InProcessTutorialTests(TestCase):
    """
    The tutorial on vdetwist's switch with virtual hosts, in one process.
    """

    timeout = 30

    @defer.inlineCallbacks
    def test_threeVirtualHosts(self) -> Any:
        """
        Three forwards reach three virtual hosts, each its own; the host
        clients' half-close is carried to the guests, and the switch shows
        four endpoints.
        """
        directory = shortTempDir(self)
        switch = Switch()
        local.register(directory, switch)
        self.addCleanup(local.unregister, directory)
        received: List[List[bytes]] = [[], [], []]
        hosts = []
        for i in range(3):
            host = StackHost(reactor, "192.168.77.%d/24" % (100 + i,), gateway="192.168.77.2")
            yield host.attach(directory, "guest%d" % (i,))
            host.tcp.listen(10000, Factory.forProtocol(
                lambda i=i: Greeter(b"host%d" % (i,), received[i])))
            self.addCleanup(host.host.stop)
            self.addCleanup(host.tcp.stop)
            hosts.append(host)
        gateway = Gateway(reactor, "192.168.77.0", dns=False)
        forwards = [gateway.addForward(
            "tcp", parseForwardSpec("127.0.0.1:0:192.168.77.%d:10000" % (100 + i,)))
            for i in range(3)]
        self.addCleanup(gateway.stop)
        yield gateway.attach(directory)
        self.assertEqual(len(list(switch.endpoints())), 4)
        for i, forward in enumerate(forwards):
            client = Client(b"foo\nbar\nbaz%d\n" % (i,))
            yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", forward.hostPort),
                                  client)
            answer = yield client.done
            self.assertEqual(answer, b"hello from host%d\ngot 13\n" % (i,))
            self.assertEqual(received[i], [b"foo\nbar\nbaz%d\n" % (i,)])
        for forward in forwards:
            self.assertEqual(forward.counters.connections, 1)
        # Let the closes finish.
        for _ in range(20):
            if all(not f.relays for f in forwards):
                break
            d: defer.Deferred[None] = defer.Deferred()
            reactor.callLater(0.05, d.callback, None)
            yield d
        self.assertEqual([len(f.relays) for f in forwards], [0, 0, 0])
