# -*- test-case-name: tests.links.test_linkemu -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Link emulation on a cable or VXLAN port, as Debian's wirefilter offers it
(docs/vde-protocol.md section 8): loss, duplication, delay with jitter,
bandwidth, MTU, and a bound on what is queued.

Values use wirefilter's syntax, C{[LR|RL]value[+jitter][K|M|G][U|N]}:
C{LR} limits the value to frames going out of our switch to the peer,
C{RL} to frames coming in from the peer; without either it applies to both.
C{K}, C{M}, C{G} multiply by 2**10, 2**20, 2**30; C{U} (the default) makes
the jitter uniform, C{N} Gaussian with sigma = jitter / 3.  Units: loss and
duplication in percent, delay and jitter in milliseconds, bandwidth in
bytes per second (0 is unlimited), MTU and capacity in bytes (0 is no
limit).  As in wirefilter the MTU is compared with the whole frame length.

L{LinkDirection} is the pure part: given a frame length and C{now}, it says
when (if ever, and how many times) the frame arrives.  L{EmulatedLink}
holds a delay line per direction on the reactor.  Frames stay in order
(wirefilter's default C{fifo}): jitter never reorders them.
"""

import collections
import random
import re
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

#: Parameter names, in the order C{link/print} shows them.
NAMES = ("loss", "dup", "delay", "bandwidth", "mtu", "capacity")
#: The default bound on bytes queued in one direction.
DEFAULT_CAPACITY = 8 << 20

_VALUE = re.compile(r"^(LR|RL)?([0-9]+(?:\.[0-9]*)?)(?:\+([0-9]+(?:\.[0-9]*)?))?"
                    r"([KMG])?([UN])?$")
_MULTIPLIER = {None: 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class LinkValueError(ValueError):
    """
    A link parameter or value that cannot be parsed.
    """


class DirectionParameters:
    """
    The emulation of one direction.

    @ivar loss: percent of frames lost.
    @ivar dup: percent of frames duplicated.
    @ivar delay: milliseconds added to every frame.
    @ivar jitter: up to this many more milliseconds.
    @ivar gaussian: jitter is Gaussian (else uniform).
    @ivar bandwidth: bytes per second, 0 for unlimited.
    @ivar mtu: larger frames are dropped, 0 for no limit.
    @ivar capacity: bytes queued at most, 0 for no limit (not advised).
    """

    def __init__(self) -> None:
        """
        Set up the state.
        """
        self.loss = 0.0
        self.dup = 0.0
        self.delay = 0.0
        self.jitter = 0.0
        self.gaussian = False
        self.bandwidth = 0.0
        self.mtu = 0
        self.capacity = DEFAULT_CAPACITY

    def isIdentity(self) -> bool:
        """
        Whether this direction changes nothing.

        @return: the answer.
        """
        return not (self.loss or self.dup or self.delay or self.jitter
                    or self.bandwidth or self.mtu)

    def copy(self) -> "DirectionParameters":
        """
        An independent copy.

        @return: the copy.
        """
        other = DirectionParameters()
        other.__dict__.update(self.__dict__)
        return other


def _number(value: float) -> str:
    """
    A value as C{link/print} shows it (no needless decimals).

    @param value: the number.
    @return: the text.
    """
    return ("%d" % (value,)) if value == int(value) else ("%g" % (value,))


class LinkParameters:
    """
    The emulation of a link in both directions: C{out} (wirefilter's LR,
    from our switch to the peer) and C{into} (RL, from the peer to us).
    """

    def __init__(self) -> None:
        """
        Set up the state.
        """
        self.out = DirectionParameters()
        self.into = DirectionParameters()

    def isIdentity(self) -> bool:
        """
        Whether the link changes nothing in either direction.

        @return: the answer.
        """
        return self.out.isIdentity() and self.into.isIdentity()

    def copy(self) -> "LinkParameters":
        """
        An independent copy.

        @return: the copy.
        """
        other = LinkParameters()
        other.out = self.out.copy()
        other.into = self.into.copy()
        return other

    def set(self, name: str, text: str) -> None:
        """
        Set one parameter from wirefilter's value syntax.

        @param name: one of L{NAMES} (C{band} and C{bandwidth} alike).
        @param text: e.g. C{50+10N}, C{LR5}, C{1M}.
        @raise LinkValueError: for an unknown name or a bad value.
        """
        if name == "band":
            name = "bandwidth"
        if name == "chanbufsize":
            name = "capacity"
        if name not in NAMES:
            raise LinkValueError("unknown link parameter %r (one of %s)"
                                 % (name, ", ".join(NAMES)))
        match = _VALUE.match(text.strip())
        if match is None:
            raise LinkValueError("bad value %r for %s: [LR|RL]value[+jitter][K|M|G][U|N]"
                                 % (text, name))
        direction, value, jitter, multiplier, distribution = match.groups()
        factor = _MULTIPLIER[multiplier]
        amount = float(value) * factor
        spread = float(jitter) * factor if jitter else 0.0
        if name in ("loss", "dup") and amount > 100:
            raise LinkValueError("%s is a percentage: %r" % (name, text))
        if spread and name != "delay":
            raise LinkValueError("only delay takes a jitter (+N): %r" % (text,))
        if name in ("mtu", "capacity") and amount != int(amount):
            raise LinkValueError("%s is a whole number of bytes: %r" % (name, text))
        targets = {"LR": [self.out], "RL": [self.into], None: [self.out, self.into]}[direction]
        for target in targets:
            if name == "delay":
                target.delay = amount
                target.jitter = spread
                target.gaussian = distribution == "N"
            elif name in ("mtu", "capacity"):
                setattr(target, name, int(amount))
            else:
                setattr(target, name, amount)

    def setMany(self, spec: str) -> None:
        """
        Set several parameters from C{name=value,name=value}.

        @param spec: e.g. C{delay=50+10,loss=5}.
        @raise LinkValueError: for a bad item.
        """
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, value = item.partition("=")
            if not sep:
                raise LinkValueError("expected name=value, not %r" % (item,))
            self.set(name.strip(), value)

    def describe(self) -> str:
        """
        One line for C{cable/print}: the parameters that are set, each as
        C{name LR x RL y} (or C{name x} when both directions agree).

        @return: the text.
        """
        parts = []
        for name in NAMES:
            texts = []
            for d in (self.out, self.into):
                if name == "delay":
                    text = _number(d.delay)
                    if d.jitter:
                        text += "+%s%s" % (_number(d.jitter), "N" if d.gaussian else "U")
                else:
                    text = _number(getattr(d, name))
                texts.append(text)
            if name == "capacity":
                if self.out.capacity == self.into.capacity == DEFAULT_CAPACITY:
                    continue
            elif texts == ["0", "0"]:
                continue
            if texts[0] == texts[1]:
                parts.append("%s %s" % (name, texts[0]))
            else:
                parts.append("%s LR %s RL %s" % (name, texts[0], texts[1]))
        return " ".join(parts) if parts else "none"


class LinkDirection:
    """
    The pure state of one direction: when frames arrive.

    @ivar params: the L{DirectionParameters} (read at every frame, so
        changes apply at once).
    @ivar queued: bytes scheduled and not yet delivered.
    @ivar lost: frames dropped by the loss rate.
    @ivar duplicated: frames sent twice.
    @ivar tooBig: frames dropped by the MTU.
    @ivar overflows: frames dropped because the queue was at capacity.
    """

    def __init__(self, params: DirectionParameters,
                 rng: Optional[random.Random] = None) -> None:
        """
        @param params: the parameters.
        @param rng: the random source (a seeded one in tests).
        """
        self.params = params
        self.random = rng if rng is not None else random.Random()
        self.queued = 0
        self.lost = self.duplicated = self.tooBig = self.overflows = 0
        self._busyUntil = 0.0
        self._last = 0.0

    def schedule(self, length: int, now: float) -> List[float]:
        """
        Decide the fate of one frame.

        @param length: its length in bytes.
        @param now: the current time in seconds.
        @return: the times it arrives at (empty when dropped; two entries
            when duplicated).  The caller calls L{delivered} for each.
        """
        p = self.params
        if p.mtu and length > p.mtu:
            self.tooBig += 1
            return []
        rnd = self.random.random
        if p.loss and rnd() * 100.0 < p.loss:
            self.lost += 1
            return []
        copies = 1
        if p.dup and rnd() * 100.0 < p.dup:
            copies = 2
            self.duplicated += 1
        if p.capacity and self.queued + length * copies > p.capacity:
            self.overflows += 1
            return []
        if p.bandwidth:
            start = now if now > self._busyUntil else self._busyUntil
            self._busyUntil = start + length * copies / p.bandwidth
            at = self._busyUntil
        else:
            at = now
        delay = p.delay
        if p.jitter:
            if p.gaussian:
                delay += abs(self.random.gauss(0.0, p.jitter / 3.0))
            else:
                delay += rnd() * p.jitter
        at += delay / 1000.0
        if at < self._last:
            at = self._last
        self._last = at
        self.queued += length * copies
        return [at] * copies

    def delivered(self, length: int) -> None:
        """
        One scheduled frame was delivered (or discarded at shutdown).

        @param length: its length.
        """
        self.queued -= length


class _DelayLine:
    """
    One direction on the reactor: frames wait in order for their time.
    """

    def __init__(self, reactor: Any, direction: LinkDirection,
                 deliver: Callable[[bytes], None]) -> None:
        """
        @param reactor: provides C{seconds} and C{callLater}.
        @param direction: the pure state.
        @param deliver: where frames go when their time comes.
        """
        self.reactor = reactor
        self.direction = direction
        self.deliver = deliver
        self.queue: Deque[Tuple[float, bytes]] = collections.deque()
        self._call: Any = None

    def send(self, frame: bytes) -> None:
        """
        One frame into the line.

        @param frame: the frame.
        """
        direction = self.direction
        if direction.params.isIdentity() and not self.queue:
            self.deliver(frame)
            return
        now = self.reactor.seconds()
        times = direction.schedule(len(frame), now)
        if not times:
            return
        for at in times:
            if at <= now and not self.queue:
                direction.delivered(len(frame))
                self.deliver(frame)
            else:
                self.queue.append((at, frame))
        if self.queue and self._call is None:
            self._call = self.reactor.callLater(
                max(0.0, self.queue[0][0] - now), self._wake)

    def _wake(self) -> None:
        """
        Deliver the frames whose time has come, and sleep till the next.
        """
        self._call = None
        now = self.reactor.seconds()
        queue = self.queue
        delivered = self.direction.delivered
        while queue and queue[0][0] <= now:
            at, frame = queue.popleft()
            delivered(len(frame))
            self.deliver(frame)
        if queue and self._call is None:
            self._call = self.reactor.callLater(max(0.0, queue[0][0] - now), self._wake)

    def stop(self) -> None:
        """
        Discard queued frames and cancel the timer.
        """
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        for at, frame in self.queue:
            self.direction.delivered(len(frame))
        self.queue.clear()


class EmulatedLink:
    """
    Both directions of an emulated link.

    @ivar out: the L{LinkDirection} of frames leaving our switch.
    @ivar into: the L{LinkDirection} of frames entering it.
    """

    def __init__(self, reactor: Any, params: LinkParameters,
                 deliverOut: Callable[[bytes], None], deliverIn: Callable[[bytes], None],
                 rng: Optional[random.Random] = None) -> None:
        """
        @param reactor: the reactor.
        @param params: the parameters (shared: changes apply at once).
        @param deliverOut: sends a frame to the peer.
        @param deliverIn: puts a frame into our switch.
        @param rng: the random source.
        """
        rng = rng if rng is not None else random.Random()
        self.out = LinkDirection(params.out, rng)
        self.into = LinkDirection(params.into, rng)
        self._outLine = _DelayLine(reactor, self.out, deliverOut)
        self._inLine = _DelayLine(reactor, self.into, deliverIn)
        self.sendOut = self._outLine.send
        self.sendIn = self._inLine.send

    def counters(self) -> Dict[str, Tuple[int, int]]:
        """
        Frames lost, duplicated, too big and over capacity, out and in.

        @return: name to C{(out, in)}.
        """
        return {name: (getattr(self.out, name), getattr(self.into, name))
                for name in ("lost", "duplicated", "tooBig", "overflows")}

    def stop(self) -> None:
        """
        Discard everything queued.
        """
        self._outLine.stop()
        self._inLine.stop()
