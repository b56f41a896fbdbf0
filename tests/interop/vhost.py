# -*- test-case-name: tests.interop.test_stack_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A virtual host for interop tests, run as its own process:

    python -m tests.interop.vhost SOCK ADDR/PREFIX [--web DIR]

It attaches to the switch at SOCK with vdetwist's stack and serves, on its
virtual address:

    - 5001 sink: reads until EOF, then answers "<bytes> <sha256>\\n";
    - 5002 source: reads a decimal byte count and a newline, sends that many
      pseudo-random bytes (random.Random(count)), then closes;
    - 5003 echo;
    - 8080 a static web site (with --web DIR), as twistd web would.

It prints "ready" on standard output once listening, and
"<name>=<value>" counter lines when it gets SIGUSR1.
"""

import hashlib
import random
import signal
import sys
from typing import Any, Dict

from twisted.internet import protocol, reactor
from twisted.internet.interfaces import IHalfCloseableProtocol
from zope.interface import implementer

from vdetwist.stack.endpoints import VDEServerEndpoint, registry


@implementer(IHalfCloseableProtocol)
class Sink(protocol.Protocol):
    """
    Count and hash until EOF, then report.
    """

    def connectionMade(self) -> None:
        self.hash = hashlib.sha256()
        self.count = 0

    def dataReceived(self, data: bytes) -> None:
        self.hash.update(data)
        self.count += len(data)

    def readConnectionLost(self) -> None:
        self.transport.write(b"%d %s\n" % (self.count, self.hash.hexdigest().encode()))
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass


class Source(protocol.Protocol):
    """
    Send the number of pseudo-random bytes asked for, as a producer.
    """

    buffer = b""
    left = 0

    def dataReceived(self, data: bytes) -> None:
        if self.left:
            return
        self.buffer += data
        if b"\n" in self.buffer:
            self.left = int(self.buffer.split(b"\n")[0])
            self.random = random.Random(self.left)
            self.transport.registerProducer(self, True)
            self.resumeProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        while self.left and not self.paused:
            chunk = self.random.randbytes(min(self.left, 65536))
            self.left -= len(chunk)
            self.transport.write(chunk)
        if not self.left:
            self.transport.unregisterProducer()
            self.transport.loseConnection()

    def pauseProducing(self) -> None:
        self.paused = True

    def stopProducing(self) -> None:
        self.left = 0
        self.paused = True


class Echo(protocol.Protocol):
    """
    Echo.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


def useCongestionControl(name: str) -> None:
    """
    Make C{name} the congestion control of every TCP configuration this
    process makes (the virtual hosts take the default one; a benchmark
    compares them in one run).

    @param name: a L{TCPConfig.congestionControl} value.
    """
    useTCPSettings({"congestionControl": name})


def useTCPSettings(settings: Dict[str, Any]) -> None:
    """
    Make C{settings} the defaults of every TCP configuration this process
    makes (for experiments: C{bench/stack.py --vhost-tcp}).

    @param settings: L{TCPConfig} attribute names and values.
    @raise TypeError: an unknown name.
    """
    from vdetwist.stack.tcp.config import TCPConfig
    TCPConfig(**settings)
    original = TCPConfig.__init__

    def __init__(self, *args, **kwargs) -> None:
        for name, value in settings.items():
            kwargs.setdefault(name, value)
        original(self, *args, **kwargs)
    TCPConfig.__init__ = __init__  # type: ignore[method-assign]


def main(argv) -> None:
    """
    Serve until killed.
    """
    sock, address = argv[0], argv[1]
    web = argv[argv.index("--web") + 1] if "--web" in argv else None
    if "--cc" in argv:
        useCongestionControl(argv[argv.index("--cc") + 1])
    services = [(5001, protocol.Factory.forProtocol(Sink)),
                (5002, protocol.Factory.forProtocol(Source)),
                (5003, protocol.Factory.forProtocol(Echo))]
    if web:
        from twisted.web.server import Site
        from twisted.web.static import File
        services.append((8080, Site(File(web))))

    def listening(_):
        print("ready", flush=True)

    def counters(*args):
        def dump():
            for stackHost in registry.attached():
                for name, value in sorted(stackHost.host.counters().items()):
                    print("%s=%s" % (name, value), flush=True)
            print("end", flush=True)
        reactor.callFromThread(dump)
    signal.signal(signal.SIGUSR1, counters)

    from twisted.internet.defer import gatherResults
    ds = [VDEServerEndpoint(reactor, sock, address, port, backlog=256).listen(f)
          for port, f in services]
    gatherResults(ds).addCallbacks(listening, lambda f: (print(f, flush=True), reactor.stop()))
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1:])
