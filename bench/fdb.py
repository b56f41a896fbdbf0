# -*- test-case-name: tests.switch.test_fdb -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Micro benchmark of the switch's per-frame cost, as the MAC table sees it:
L{vdetwist.switch.switch.Switch.frameFromPort} in-process, no sockets.

    .venv/bin/python bench/fdb.py [--repeat N] [--number N]

Cases (each the best of C{--repeat} timeit runs, in nanoseconds per frame):

  - C{known}: unicast between two learned MACs (one source lookup, one
    destination lookup, one send);
  - C{known-tick}: the same, with the switch's tick advanced every 1000
    frames (so an entry's second changes now and then, as in a real run);
  - C{new}: every frame from a new source MAC on one port, after 20,000
    others (the flood of issue 10 item 11: each frame learns and evicts the
    port's least recently seen entry; before eviction existed, nothing was
    learned and the frame only counted a drop);
  - C{new-nocap}: the same with no per-port bound, so the table's bound
    evicts;
  - C{new-learn}: every frame from a new source MAC, no bound reached
    (learning alone).

Run it on two checkouts (before and after a change) back to back, e.g.
C{git archive HEAD~1 vdetwist | tar -x -C /tmp/before} and C{--tree
/tmp/before}; the machine is shared, so compare runs made within the same
minute.

Measured (shared 2-core machine, Python 3.11.7, C{--number 50000 --repeat
15}, two alternating runs each), ns per frame, before -> after the bounds
and LRU eviction:

  known        612, 621 -> 613, 599   (one comparison replaced a store)
  known-tick   631, 1040 -> 667, 660
  new-learn    1142, 1243 -> 1755, 2163   (two OrderedDict inserts more)
  new          808, 999 -> 2022, 2042   (before: not learned, only counted;
                                          after: learned, and one evicted)
"""

import argparse
import os
import sys
import timeit

Switch = None


class Sink:
    """
    An endpoint that drops what it is sent.
    """

    def sendFrame(self, frame: bytes) -> None:
        """
        Drop C{frame}.
        """

    def receiverChanged(self) -> None:
        """
        Nothing to do.
        """


def makeSwitch(maxEntries: int = 16384):
    """
    A switch with three attached ports.

    @return: the switch and its ports 1, 2 and 3.
    """
    switch = Switch(maxFDBEntries=maxEntries)
    ports = []
    for n in (1, 2, 3):
        port = switch.createPort(n)
        switch.addEndpoint(port, _Endpoint(port))
        ports.append(port)
    return switch, ports


class _Endpoint(Sink):
    """
    An L{ISwitchPort}-ish endpoint for L{Switch.addEndpoint}.
    """

    def __init__(self, port) -> None:
        self.port = port
        self.description = "bench"
        self.endpointID = port.number
        self.uid = 0

    def close(self) -> None:
        """
        Nothing to close.
        """


def mac(i: int) -> bytes:
    """
    A locally administered unicast MAC numbered C{i}.
    """
    return b"\x02" + i.to_bytes(5, "big")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=200000)
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="the checkout to measure (default: this one)")
    options = parser.parse_args()
    sys.path.insert(0, options.tree)
    global Switch
    from vdetwist.switch.switch import Switch
    print("vdetwist from", os.path.dirname(sys.modules["vdetwist"].__file__))

    switch, (p1, p2, p3) = makeSwitch()
    a, b = mac(1), mac(2)
    payload = b"\x08\x00" + b"x" * 46
    switch.frameFromPort(p2, b"\xff" * 6 + b + payload)
    known = b + a + payload
    switch.frameFromPort(p1, known)
    send = switch.frameFromPort

    results = {}
    results["known"] = min(timeit.repeat(lambda: send(p1, known), number=options.number,
                                         repeat=options.repeat)) / options.number

    counter = [0]

    def knownTick() -> None:
        counter[0] += 1
        if counter[0] % 1000 == 0:
            switch.now += 1
        send(p1, known)
    results["known-tick"] = min(timeit.repeat(knownTick, number=options.number,
                                              repeat=options.repeat)) / options.number

    for name, maxEntries, portMax in (("new", 16384, 4096), ("new-nocap", 16384, 0),
                                      ("new-learn", 1 << 30, 0)):
        switch, (p1, p2, p3) = makeSwitch(maxEntries)
        if hasattr(switch.fdb, "maxPortEntries"):
            switch.fdb.maxPortEntries = portMax
        send = switch.frameFromPort
        frames = [b + mac(1000 + i) + payload for i in range(options.number * options.repeat
                                                              + 20000)]
        for f in frames[-20000:]:  # fill the table (or the port) first
            send(p1, f)
        it = iter(frames)
        results[name] = min(timeit.repeat(lambda: send(p1, next(it)), number=options.number,
                                          repeat=options.repeat)) / options.number

    for name, seconds in results.items():
        print("%-11s %7.0f ns/frame" % (name, seconds * 1e9))


if __name__ == "__main__":
    main()
