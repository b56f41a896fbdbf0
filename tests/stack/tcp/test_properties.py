# -*- test-case-name: tests.stack.tcp.test_properties -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Property tests for L{vdetwist.stack.tcp.machine}: arbitrary segments and
application calls never raise and never break the machine's invariants.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.helpers import BUFFER, ISS, RISS, config, passive, theirs
from vdetwist.stack.tcp.machine import CLOSED, TCPMachine
from vdetwist.stack.tcp.seq import seqLE
from vdetwist.wire.tcp import ACK, FIN, PSH, RST, SYN

FLAGS = st.sampled_from([ACK, ACK | PSH, ACK | FIN, FIN, SYN, SYN | ACK, RST, RST | ACK, 0,
                         ACK | SYN | FIN])

segments = st.builds(
    lambda flags, seqOffset, ackOffset, window, size, ts: theirs(
        RISS + 1 + seqOffset, ISS + 1 + ackOffset, flags, window,
        b"z" * size, timestamp=ts),
    FLAGS,
    st.integers(-3000, 12000),
    st.integers(-3000, 6000),
    st.integers(0, 65535),
    st.integers(0, 1500),
    st.one_of(st.none(), st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))),
)

actions = st.one_of(
    segments.map(lambda s: ("segment", s)),
    st.integers(1, 5000).map(lambda n: ("send", n)),
    st.just(("read", None)),
    st.just(("close", None)),
    st.floats(0, 3).map(lambda dt: ("wait", dt)),
)


class MachineInvariantTests(SynchronousTestCase):
    """
    Random input keeps the machine sane.
    """

    def check(self, m: TCPMachine) -> None:
        """
        Assert the invariants.

        @param m: the machine.
        """
        if m.state == CLOSED:
            return
        self.assertTrue(seqLE(m.sndUna, m.sndNxt), (m.sndUna, m.sndNxt))
        self.assertTrue(seqLE(m.sndNxt, m.sndMax), (m.sndNxt, m.sndMax))
        self.assertLessEqual(len(m.receiveBuffer), BUFFER)
        self.assertLessEqual(m.reassembly.bytes, BUFFER)
        self.assertGreaterEqual(m.cwnd, 1)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(actions, max_size=60), st.booleans(), st.booleans())
    def test_randomInput(self, script: list, timestamps: bool, sack: bool) -> None:
        """
        Property: any sequence of peer segments (valid or not), writes,
        reads, closes and waits leaves the sequence variables ordered and
        the buffers within their bounds, and the segments sent never
        exceed the MSS.
        """
        options = {}
        if timestamps:
            options["timestamp"] = (1, 0)
        if sack:
            options["sackPermitted"] = True
        m = passive(config(timestamps=timestamps, sack=sack), **options)
        now = 0.0
        for kind, value in script:
            if kind == "segment":
                m.segmentReceived(value, now)
            elif kind == "send":
                m.send(b"d" * value)
            elif kind == "read":
                m.read()
            elif kind == "close":
                m.close(now)
            else:
                now += value
            for segment in m.dispatch(now):
                self.assertLessEqual(len(segment.payload), 1000)
                if segment.sackBlocks or segment.timestamp:
                    self.assertLessEqual(len(segment.encode(b"\0" * 4, b"\0" * 4)) - 20, 1000)
            self.check(m)
            at = m.pollAt()
            if at is not None:
                self.assertFalse(at != 0.0 and at < now - 1e-9, (at, now))


class SlowPathMachine(TCPMachine):
    """
    A machine that never takes the header-prediction fast path.
    """

    headerPrediction = False


class FastPathEquivalenceTests(SynchronousTestCase):
    """
    The fast path is an optimisation only.
    """

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 1200), st.booleans(), st.floats(0, 0.1),
                              st.booleans()), max_size=40),
           st.booleans())
    def test_sameOutput(self, script: list, timestamps: bool) -> None:
        """
        Property: a stream of mostly in-order data segments (some
        duplicated, some skipped ahead, reads in between) produces the
        same segments, events and data with and without the fast path.
        """
        results = []
        for cls in (TCPMachine, SlowPathMachine):
            options = {"timestamp": (1, 0)} if timestamps else {}
            m = passive(config(timestamps=timestamps), **options)
            m.__class__ = cls
            now = 0.0
            seq = RISS + 1
            out = []
            ts = 2
            for size, skip, dt, read in script:
                now += dt
                ts += 1
                start = seq + (size if skip else 0)
                m.segmentReceived(theirs(start, ISS + 1, ACK, 8000, b"q" * size,
                                         timestamp=(ts, 0) if timestamps else None), now)
                if not skip:
                    seq += size
                if read:
                    out.append(m.read())
                out.append(m.dispatch(now))
                out.append(list(m.events))
            out.append(m.read())
            results.append(out)
        self.assertEqual(results[0], results[1])

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(-1500, 4000), st.integers(0, 3),
                              st.integers(0, 65535), st.floats(0, 0.3),
                              st.integers(0, 3000), st.booleans()), max_size=40),
           st.booleans(), st.booleans())
    def test_sameOutputSending(self, script: list, timestamps: bool, sack: bool) -> None:
        """
        Property: while sending, a stream of ACKs (new, duplicate, old or
        beyond what was sent, with windows that change, timestamps that
        sometimes go back, SACK blocks, data and writes in between)
        produces the same segments, events and sender state with and
        without the fast path.
        """
        results = []
        for cls in (TCPMachine, SlowPathMachine):
            options: dict = {"timestamp": (1, 0)} if timestamps else {}
            if sack:
                options["sackPermitted"] = True
            m = passive(config(timestamps=timestamps, sack=sack), **options)
            m.__class__ = cls
            m.send(b"s" * 20000)
            now = 0.0
            out = [m.dispatch(now)]
            ts = 2
            for ackAhead, kind, window, dt, write, data in script:
                now += dt
                ts += -1 if kind == 3 else 1
                extra: dict = {}
                if timestamps:
                    extra["timestamp"] = (ts, m._tsVal(now) if kind else 0)
                if sack and kind == 2:
                    extra["sackBlocks"] = (((m.sndUna + 2000) & 0xFFFFFFFF,
                                            (m.sndUna + 3000) & 0xFFFFFFFF),)
                m.segmentReceived(theirs(m.rcvNxt, m.sndUna + ackAhead, ACK, window,
                                         b"d" * 100 if data and kind == 1 else b"",
                                         **extra), now)
                if write:
                    m.send(b"w" * write)
                out.append(m.dispatch(now))
                out.append(list(m.events))
                out.append((m.state, m.sndUna, m.sndNxt, m.sndMax, m.sndWnd, m.sndWl1,
                            m.sndWl2, m.maxSndWnd, m.cwnd, m.ssthresh, m.rtoDeadline,
                            m.rto, m.srtt, m.tsRecent, m.rcvNxt, len(m.sendBuffer),
                            m.pollAt(), m.retries, m.scoreboard))
            results.append(out)
        self.assertEqual(results[0], results[1])
