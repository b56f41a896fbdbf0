# -*- test-case-name: tests.stack.test_fuzz -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A fuzz run over the whole stack: 100,000 frames mutated from a real
exchange (ARP, TCP handshake, data, UDP, ICMP, fragments) thrown at a
virtual host with live TCP connections.  No exception may escape, and a
connection whose segments were not in the corpus must still carry data both
ways afterwards.
"""

import random

from twisted.internet import protocol, task
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.host import VirtualHost
from vdetwist.wire.checksum import internetChecksum, pseudoHeaderSum
from vdetwist.testing import MemoryWire, icmpEchoFrame, udpFrame

FRAMES = 100_000


class Collect(protocol.Protocol):
    """
    Collect data; echo it back when C{echo} is set.
    """

    def __init__(self, echo: bool = False) -> None:
        self.data = b""
        self.echo = echo

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.echo:
            self.transport.write(data)


def mutate(rnd: random.Random, frame: bytes) -> bytes:
    """
    One mutation of a frame: flipped bytes, a truncation, an extension, a
    rewritten length or offset field, or a spliced tail.
    """
    data = bytearray(frame)
    kind = rnd.randrange(6)
    if kind == 0:
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    elif kind == 1:
        del data[rnd.randrange(len(data)):]
    elif kind == 2:
        data += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 64)))
    elif kind == 3 and len(data) > 20:
        # IPv4 version/IHL, total length, flags/fragment offset, TTL, protocol
        offset = rnd.choice([14, 16, 17, 20, 21, 22, 23])
        data[offset] = rnd.randrange(256)
    elif kind == 4 and len(data) >= 54 and data[12:14] == b"\x08\x00" and data[23] == 6:
        # TCP sequence, ack, data offset, flags, window, options; then the
        # checksum is made right again, so the segment reaches the machine.
        for _ in range(rnd.randint(1, 3)):
            offset = rnd.choice([38, 39, 41, 42, 45, 46, 47, 48, 49, 54, 55, 56, 57])
            if offset < len(data):
                data[offset] = rnd.randrange(256)
        _fixTCPChecksum(data)
    else:
        cut = rnd.randrange(len(data))
        data[cut:] = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40)))
    return bytes(data)


def _fixTCPChecksum(data: bytearray) -> None:
    """
    Recompute the TCP checksum of an untagged IPv4/TCP frame in place.
    """
    ihl = (data[14] & 0x0F) * 4
    total = int.from_bytes(data[16:18], "big")
    start, end = 14 + ihl, min(len(data), 14 + total)
    if end - start < 20:
        return
    data[start + 16:start + 18] = b"\0\0"
    segment = bytes(data[start:end])
    initial = pseudoHeaderSum(bytes(data[26:30]), bytes(data[30:34]), 6, len(segment))
    data[start + 16:start + 18] = internetChecksum(segment, initial).to_bytes(2, "big")


class StackFuzzTests(SynchronousTestCase):
    """
    The fuzz run.
    """

    def test_mutatedFrames(self) -> None:
        """
        100,000 mutated frames: nothing raises, no ACK storm follows (the
        wire's pump limit), another live connection keeps working both ways,
        and the drops were counted.
        """
        clock = task.Clock()
        wire = MemoryWire()
        hosts = []
        for address, mac in [("10.9.0.1/24", "020000000901"), ("10.9.0.2/24", "020000000902")]:
            host = VirtualHost(clock, address=address, mac=bytes.fromhex(mac))
            wire.attach(host.interface)
            hosts.append((host, host.tcp))
        (server, serverTCP), (client, clientTCP) = hosts

        def settle() -> None:
            for _ in range(50):
                wire.pump()
                clock.advance(0.01)

        echo = Collect(echo=True)
        serverTCP.listen(7, protocol.Factory.forProtocol(lambda: echo))
        d = clientTCP.connect(bytes([10, 9, 0, 1]), 7, protocol.Factory.forProtocol(Collect))
        settle()
        proto = self.successResultOf(d)
        proto.transport.write(b"before the storm " * 200)
        # Seed the corpus with the real exchange plus UDP, ICMP and fragments.
        client.ip.sendPacket(17, client.address, server.address, b"\x30\x39\x00\x35\x00\x0c\x00\x00abcd")
        client.ip.sendPacket(17, client.address, server.address, b"\x30\x39\x00\x35" + b"z" * 3000)
        settle()
        corpus = [frame for sender, frame in wire.frames]
        # A second connection whose segments are not in the corpus: mutated
        # segments with valid checksums can desynchronise the first one
        # (they are indistinguishable from real in-window data), but no
        # other connection may be affected.
        other = Collect(echo=True)
        serverTCP.listen(9, protocol.Factory.forProtocol(lambda: other))
        d = clientTCP.connect(bytes([10, 9, 0, 1]), 9, protocol.Factory.forProtocol(Collect))
        settle()
        bystander = self.successResultOf(d)
        macs = (bytes.fromhex("020000000901"), bytes.fromhex("020000000902"))
        corpus.append(udpFrame(macs[0], macs[1], "10.9.0.2", 5, "10.9.0.1", 9, b"x" * 20))
        corpus.append(icmpEchoFrame(macs[0], macs[1], "10.9.0.2", "10.9.0.1"))
        self.assertGreater(len(corpus), 10)
        self.assertEqual(proto.data, b"before the storm " * 200)

        rnd = random.Random(20261125)
        receive = server.interface.frameReceived
        for i in range(FRAMES):
            receive(mutate(rnd, rnd.choice(corpus)))
            if i % 1000 == 0:
                clock.advance(0.01)
                wire.queue.clear()
        settle()
        bystander.transport.write(b"after the storm")
        for _ in range(300):
            wire.pump()
            clock.advance(0.05)
        self.assertEqual(bystander.data, b"after the storm")
        self.assertEqual(other.data, b"after the storm")
        counters = server.counters()
        dropped = sum(v for k, v in counters.items()
                      if any(w in k.lower() for w in ("drop", "bad", "malformed", "invalid",
                                                      "short", "checksum")))
        self.assertGreater(dropped, FRAMES // 10, counters)
        # The checksum-fixing mutations reached TCP's segment processing.
        self.assertGreater(counters["proto6.segmentsReceived"], FRAMES // 20, counters)
