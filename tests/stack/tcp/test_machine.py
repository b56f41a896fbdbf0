# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.machine}: segments in at chosen times, the
exact segments out (smoltcp's socket tests are the model).
"""

from typing import Any, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.helpers import (
    BUFFER,
    ISS,
    LOCAL_PORT,
    REMOTE_PORT,
    RISS,
    config,
    ours,
    passive,
    theirs,
)
from vdetwist.stack.tcp.machine import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    EVENT_CLOSED,
    EVENT_CONNECTED,
    EVENT_EOF,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    REASON_DONE,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMEOUT,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    TCPConfig,
    TCPMachine,
)
from vdetwist.wire.tcp import ACK, FIN, PSH, RST, SYN, TCPSegment


def data(n: int, start: int = 0) -> bytes:
    """
    Recognisable data.

    @param n: its length.
    @param start: where in the pattern it starts.
    @return: C{n} bytes.
    """
    return bytes((start + i) % 251 for i in range(n))


class HandshakeTests(SynchronousTestCase):
    """
    Opening connections.
    """

    def test_passiveOpen(self) -> None:
        """
        A SYN to a listening machine is answered by a SYN-ACK carrying our
        MSS; the ACK completes the handshake.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.listen()
        self.assertEqual(m.dispatch(0), [])
        m.segmentReceived(theirs(RISS, 0, SYN, mss=1200), 0)
        self.assertEqual(m.state, SYN_RECEIVED)
        self.assertEqual(m.dispatch(0), [ours(ISS, RISS + 1, SYN | ACK, BUFFER, mss=1000)])
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 0.01)
        self.assertEqual(m.state, ESTABLISHED)
        self.assertEqual(m.events, [(EVENT_CONNECTED, None)])
        self.assertEqual(m.dispatch(0.01), [])
        self.assertEqual(m.mss, 1000)

    def test_listenIgnoresReset(self) -> None:
        """
        A RST to a listening machine is ignored; an ACK is answered with a
        RST carrying the ACK as its sequence number.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.listen()
        m.segmentReceived(theirs(RISS, 0, RST), 0)
        self.assertEqual(m.dispatch(0), [])
        m.segmentReceived(theirs(RISS, 777), 0)
        self.assertEqual(m.dispatch(0), [ours(777, 0, RST, 0)])
        self.assertEqual(m.state, LISTEN)

    def test_activeOpen(self) -> None:
        """
        C{connect} sends a SYN; the SYN-ACK establishes the connection and
        is acknowledged at once.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.connect(0)
        self.assertEqual(m.pollAt(), 0.0)
        self.assertEqual(m.dispatch(0), [ours(ISS, 0, SYN, BUFFER, mss=1000)])
        self.assertEqual(m.pollAt(), 1.0)
        m.segmentReceived(theirs(RISS, ISS + 1, SYN | ACK, mss=1460), 0.05)
        self.assertEqual(m.state, ESTABLISHED)
        self.assertEqual(m.events, [(EVENT_CONNECTED, None)])
        self.assertEqual(m.dispatch(0.05), [ours(ISS + 1, RISS + 1)])
        self.assertEqual(m.mss, 1000)
        self.assertEqual(m.srtt, 0.05)

    def test_activeOpenOffersOptions(self) -> None:
        """
        With every extension enabled the SYN offers window scaling (enough
        for the buffer), SACK and timestamps, and a SYN-ACK that accepts
        them turns them on.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS,
                       TCPConfig(mss=1460, receiveBufferSize=1 << 20), timestampOffset=5)
        m.connect(2.0)
        self.assertEqual(m.dispatch(2.0), [
            ours(ISS, 0, SYN, 65535, mss=1460, windowScale=5, sackPermitted=True,
                 timestamp=(2005, 0))])
        m.segmentReceived(theirs(RISS, ISS + 1, SYN | ACK, 65535, mss=1460, windowScale=7,
                                 sackPermitted=True, timestamp=(99, 2005)), 2.1)
        self.assertTrue(m.tsEnabled and m.sackEnabled)
        self.assertEqual((m.sndShift, m.rcvShift), (7, 5))
        self.assertEqual(m.mss, 1448)
        # The ACK's window is scaled by our shift and echoes TSval 99.
        self.assertEqual(m.dispatch(2.1), [
            ours(ISS + 1, RISS + 1, ACK, (1 << 20) >> 5, timestamp=(2105, 99))])

    def test_synAckOmitsUnofferedOptions(self) -> None:
        """
        A SYN-ACK carries window scale, SACK-permitted and timestamps only
        when the SYN offered them.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, TCPConfig(mss=1460))
        m.listen()
        m.segmentReceived(theirs(RISS, 0, SYN, 5840, mss=1460), 0)
        self.assertEqual(m.dispatch(0), [ours(ISS, RISS + 1, SYN | ACK, 65535, mss=1460)])

    def test_synAckWithBadAck(self) -> None:
        """
        A SYN-ACK acknowledging something we never sent gets a RST with its
        ACK as sequence number, and the machine keeps waiting.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.connect(0)
        m.dispatch(0)
        m.segmentReceived(theirs(RISS, ISS + 5, SYN | ACK), 0.1)
        self.assertEqual(m.dispatch(0.1), [ours(ISS + 5, 0, RST, 0)])
        self.assertEqual(m.state, SYN_SENT)

    def test_refused(self) -> None:
        """
        A RST acknowledging our SYN refuses the connection; one with an
        unacceptable ACK is ignored.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.connect(0)
        m.dispatch(0)
        m.segmentReceived(theirs(0, ISS + 9, RST | ACK), 0.1)
        self.assertEqual(m.state, SYN_SENT)
        m.segmentReceived(theirs(0, ISS + 1, RST | ACK), 0.1)
        self.assertEqual(m.state, CLOSED)
        self.assertEqual(m.events, [(EVENT_CLOSED, REASON_REFUSED)])
        self.assertEqual(m.dispatch(0.1), [])
        self.assertIsNone(m.pollAt())

    def test_synRetransmissionBackoff(self) -> None:
        """
        An unanswered SYN is sent again after 1, 2, 4... seconds; after
        C{synRetries} retransmissions the attempt times out.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config(synRetries=2))
        m.connect(0)
        syn = ours(ISS, 0, SYN, BUFFER, mss=1000)
        self.assertEqual(m.dispatch(0), [syn])
        self.assertEqual(m.dispatch(0.99), [])
        self.assertEqual(m.dispatch(1.0), [syn])
        self.assertEqual(m.pollAt(), 3.0)
        self.assertEqual(m.dispatch(3.0), [syn])
        self.assertEqual(m.pollAt(), 7.0)
        self.assertEqual(m.dispatch(7.0), [])
        self.assertEqual(m.events, [(EVENT_CLOSED, REASON_TIMEOUT)])

    def test_connectTimeout(self) -> None:
        """
        C{connect} with a timeout gives up at that time.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.connect(0, timeout=2.5)
        m.dispatch(0)
        m.dispatch(1.0)
        self.assertEqual(m.pollAt(), 2.5)
        m.dispatch(2.5)
        self.assertEqual(m.events, [(EVENT_CLOSED, REASON_TIMEOUT)])

    def test_synAckRetransmittedOnDuplicateSyn(self) -> None:
        """
        In SYN_RECEIVED, the peer's SYN again means our SYN-ACK was lost: it
        is sent again at once.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.listen()
        m.segmentReceived(theirs(RISS, 0, SYN, mss=1000), 0)
        synAck = ours(ISS, RISS + 1, SYN | ACK, BUFFER, mss=1000)
        self.assertEqual(m.dispatch(0), [synAck])
        m.segmentReceived(theirs(RISS, 0, SYN, mss=1000), 0.5)
        self.assertEqual(m.dispatch(0.5), [synAck])

    def test_simultaneousOpen(self) -> None:
        """
        Two SYNs cross: each side answers with SYN-ACK (same ISN), and the
        other's SYN-ACK establishes the connection (RFC 9293 figure 7).
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.connect(0)
        m.dispatch(0)
        m.segmentReceived(theirs(RISS, 0, SYN, mss=1000), 0.01)
        self.assertEqual(m.state, SYN_RECEIVED)
        self.assertEqual(m.dispatch(0.01), [ours(ISS, RISS + 1, SYN | ACK, BUFFER, mss=1000)])
        m.segmentReceived(theirs(RISS, ISS + 1, SYN | ACK, mss=1000), 0.02)
        self.assertEqual(m.state, ESTABLISHED)
        self.assertEqual(m.events, [(EVENT_CONNECTED, None)])

    def test_synReceivedBadAck(self) -> None:
        """
        In SYN_RECEIVED an ACK for something else gets a RST.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
        m.listen()
        m.segmentReceived(theirs(RISS, 0, SYN, mss=1000), 0)
        m.dispatch(0)
        m.segmentReceived(theirs(RISS + 1, ISS + 50), 0)
        self.assertEqual(m.dispatch(0), [ours(ISS + 50, 0, RST, 0)])
        self.assertEqual(m.state, SYN_RECEIVED)


class ReceiveTests(SynchronousTestCase):
    """
    Receiving data: ACK policy, windows, reassembly.
    """

    def test_delayedAck(self) -> None:
        """
        One segment is acknowledged after the delayed-ACK timeout.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, ACK | PSH, payload=data(500)), 1.0)
        self.assertEqual(m.dispatch(1.0), [])
        self.assertEqual(m.pollAt(), 1.04)
        self.assertEqual(m.dispatch(1.04), [ours(ISS + 1, RISS + 501, ACK, 7500)])
        self.assertEqual(m.read(), data(500))

    def test_secondSegmentAckedAtOnce(self) -> None:
        """
        The second full-sized segment is acknowledged at once.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, ACK, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [])
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, ACK, payload=data(1000, 1000)), 1.01)
        self.assertEqual(m.pollAt(), 0.0)
        self.assertEqual(m.dispatch(1.01), [ours(ISS + 1, RISS + 2001, ACK, 6000)])
        self.assertEqual(m.read(), data(2000))

    def test_windowClosesAndReopens(self) -> None:
        """
        Data nobody reads closes the window; reading reopens it with a
        window update.  Data beyond a zero window is not accepted.
        """
        m = passive()
        for i in range(8):
            m.segmentReceived(theirs(RISS + 1 + 1000 * i, ISS + 1,
                                     payload=data(1000, 1000 * i)), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 8001, ACK, 0)])
        m.segmentReceived(theirs(RISS + 8001, ISS + 1, payload=b"x"), 1.1)
        self.assertEqual(m.dispatch(1.1), [ours(ISS + 1, RISS + 8001, ACK, 0)])
        self.assertEqual(len(m.receiveBuffer), 8000)
        self.assertEqual(m.read(), data(8000))
        self.assertEqual(m.pollAt(), 0.0)
        self.assertEqual(m.dispatch(1.2), [ours(ISS + 1, RISS + 8001, ACK, 8000)])

    def test_smallReadNoWindowUpdate(self) -> None:
        """
        Reading a little from a mostly open window sends nothing (receiver
        silly window avoidance).
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(100)), 1.0)
        m.read()
        self.assertEqual(m.pollAt(), 1.04)

    def test_outOfOrderReassembly(self) -> None:
        """
        Segments after a hole are held and answered by immediate duplicate
        ACKs; the segment filling the hole delivers everything and is
        acknowledged at once.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, payload=data(1000, 1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1, ACK, BUFFER)])
        m.segmentReceived(theirs(RISS + 2001, ISS + 1, payload=data(1000, 2000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1, ACK, BUFFER)])
        self.assertEqual(m.read(), b"")
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(1000)), 1.1)
        self.assertEqual(m.dispatch(1.1), [ours(ISS + 1, RISS + 3001, ACK, 5000)])
        self.assertEqual(m.read(), data(3000))
        self.assertEqual(m.stats.outOfOrderSegments, 2)

    def test_overlappingRetransmission(self) -> None:
        """
        A retransmission overlapping data already received delivers only
        the new part.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(600)), 1.0)
        m.segmentReceived(theirs(RISS + 301, ISS + 1, payload=data(600, 300)), 1.0)
        self.assertEqual(m.read(), data(900))
        self.assertEqual(m.rcvNxt, RISS + 901)

    def test_sackBlocks(self) -> None:
        """
        With SACK negotiated, duplicate ACKs report the out-of-order data,
        the block holding the newest segment first (RFC 2018).
        """
        m = passive(config(sack=True), sackPermitted=True)
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, sackBlocks=((RISS + 1001, RISS + 2001),))])
        m.segmentReceived(theirs(RISS + 3001, ISS + 1, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, sackBlocks=((RISS + 3001, RISS + 4001),
                                                 (RISS + 1001, RISS + 2001)))])
        m.segmentReceived(theirs(RISS + 2001, ISS + 1, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, sackBlocks=((RISS + 1001, RISS + 4001),))])
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 4001, ACK, 4000)])

    def test_outOfOrderFin(self) -> None:
        """
        A FIN after a hole waits for the hole to be filled.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 101, ISS + 1, FIN | ACK, payload=data(100, 100)), 1.0)
        self.assertEqual(m.state, ESTABLISHED)
        self.assertEqual(m.events, [])
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(100)), 1.1)
        self.assertEqual(m.state, CLOSE_WAIT)
        self.assertEqual(m.events, [(EVENT_EOF, None)])
        self.assertEqual(m.read(), data(200))
        self.assertEqual(m.dispatch(1.1), [ours(ISS + 1, RISS + 202, ACK, 7799)])

    def test_oldDuplicateAcked(self) -> None:
        """
        A segment entirely before RCV.NXT is answered with an ACK and not
        delivered again.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(100)), 1.0)
        m.read()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(100)), 1.01)
        self.assertEqual(m.dispatch(1.01), [ours(ISS + 1, RISS + 101, ACK, 7900)])
        self.assertEqual(m.read(), b"")

    def test_keepaliveProbeAnswered(self) -> None:
        """
        A keepalive (one below RCV.NXT, no data) is answered with an ACK.
        """
        m = passive()
        m.segmentReceived(theirs(RISS, ISS + 1), 9.0)
        self.assertEqual(m.dispatch(9.0), [ours(ISS + 1, RISS + 1)])


class SendTests(SynchronousTestCase):
    """
    Sending data: segmentation, Nagle, windows, retransmission.
    """

    def test_nagle(self) -> None:
        """
        Full segments go at once; a trailing small one waits until the
        outstanding data is acknowledged.
        """
        m = passive()
        m.send(data(2500))
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000)),
            ours(ISS + 1001, RISS + 1, ACK, payload=data(1000, 1000)),
        ])
        self.assertEqual(m.pollAt(), 1.2)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001), 1.05)
        self.assertEqual(m.dispatch(1.05), [
            ours(ISS + 2001, RISS + 1, ACK | PSH, payload=data(500, 2000))])

    def test_noDelay(self) -> None:
        """
        With Nagle off, everything goes at once.
        """
        m = passive()
        m.noDelay = True
        m.send(data(2500))
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000)),
            ours(ISS + 1001, RISS + 1, ACK, payload=data(1000, 1000)),
            ours(ISS + 2001, RISS + 1, ACK | PSH, payload=data(500, 2000)),
        ])

    def test_peerWindowLimits(self) -> None:
        """
        No more than the peer's window is in flight; a window update lets
        the rest go.
        """
        m = passive(cfg=config(), peerWindow=1500)
        m.noDelay = True
        m.send(data(3000))
        # 1000 fits; the remaining 500 of window is less than half the
        # largest window seen (sender SWS avoidance).
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        m.segmentReceived(theirs(RISS + 1, ISS + 1001, window=3000), 1.1)
        self.assertEqual(m.dispatch(1.1), [
            ours(ISS + 1001, RISS + 1, ACK, payload=data(1000, 1000)),
            ours(ISS + 2001, RISS + 1, ACK | PSH, payload=data(1000, 2000)),
        ])

    def test_ackInSameDispatchAsData(self) -> None:
        """
        Data sent while an ACK is owed carries it: no separate pure ACK.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=b"ping"), 1.0)
        m.read()
        m.send(b"pong")
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 5, ACK | PSH, 7996, payload=b"pong")])
        self.assertIsNone(m.ackDeadline)

    def test_retransmissionTimeoutBackoffKarn(self) -> None:
        """
        Unacknowledged data is retransmitted after the RTO, which doubles
        each time; the ACK of a retransmitted segment gives no RTT sample
        (Karn), so the backed-off RTO stays until new data is timed.
        """
        m = passive()  # handshake RTT 0: RTO = minimum, 0.2 s
        self.assertEqual(m.rto, 0.2)
        m.send(data(100))
        segment = ours(ISS + 1, RISS + 1, ACK | PSH, payload=data(100))
        self.assertEqual(m.dispatch(1.0), [segment])
        self.assertEqual(m.pollAt(), 1.2)
        self.assertEqual(m.dispatch(1.2), [segment])
        self.assertEqual(m.pollAt(), 1.6)
        self.assertEqual(m.dispatch(1.6), [segment])
        self.assertAlmostEqual(m.pollAt(), 2.4)
        self.assertEqual(m.stats.retransmissions, 2)
        self.assertEqual(m.stats.retransmissionTimeouts, 2)
        self.assertEqual(m.cwnd, 1000)
        m.segmentReceived(theirs(RISS + 1, ISS + 101), 1.7)
        self.assertEqual(m.rto, 0.8)
        self.assertIsNone(m.pollAt())
        m.send(data(100))
        m.dispatch(2.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 201), 2.05)
        self.assertAlmostEqual(m.srtt, 0.125 * 0.05)
        self.assertEqual(m.rto, 0.2)

    def test_retriesExhausted(self) -> None:
        """
        After C{maxRetries} timeouts the connection is reset and closed.
        """
        m = passive(config(maxRetries=2))
        m.send(data(10))
        m.dispatch(1.0)
        m.dispatch(1.2)
        m.dispatch(1.6)
        self.assertEqual(m.dispatch(2.5), [ours(ISS + 11, RISS + 1, RST | ACK, 0)])
        self.assertEqual(m.events, [(EVENT_CLOSED, REASON_TIMEOUT)])

    def sendFive(self) -> TCPMachine:
        """
        @return: an established machine with five 1000-byte segments in
            flight (ISS+1 .. ISS+5001).
        """
        m = passive()
        m.noDelay = True
        m.send(data(5000))
        self.assertEqual(len(m.dispatch(1.0)), 5)
        return m

    def test_fastRetransmit(self) -> None:
        """
        The third duplicate ACK retransmits the first unacknowledged
        segment at once and sets ssthresh to half the flight, cwnd to
        ssthresh plus three segments (RFC 5681 3.2).
        """
        m = self.sendFive()
        for i in range(2):
            m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.01)
            self.assertEqual(m.dispatch(1.01), [])
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.02)
        self.assertEqual(m.dispatch(1.02), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        self.assertEqual((m.ssthresh, m.cwnd), (2500, 5500))
        self.assertEqual(m.stats.fastRetransmits, 1)
        self.assertEqual(m.stats.duplicateAcks, 3)
        # A fourth inflates the window by one segment.
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.03)
        self.assertEqual(m.cwnd, 6500)

    def test_windowChangeIsNotDuplicate(self) -> None:
        """
        An ACK that changes the window is a window update, not a duplicate.
        """
        m = self.sendFive()
        for window in (7000, 6000, 5000):
            m.segmentReceived(theirs(RISS + 1, ISS + 1, window=window), 1.01)
        self.assertEqual(m.stats.duplicateAcks, 0)
        self.assertEqual(m.dispatch(1.01), [])

    def test_newRenoPartialAck(self) -> None:
        """
        In recovery a partial ACK retransmits the next hole at once; the
        ACK covering everything sent before recovery ends it with cwnd
        deflated (RFC 6582).
        """
        m = self.sendFive()
        for i in range(3):
            m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.01)
        m.dispatch(1.01)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001), 1.05)
        self.assertTrue(m.inRecovery)
        self.assertEqual(m.dispatch(1.05), [
            ours(ISS + 2001, RISS + 1, ACK, payload=data(1000, 2000))])
        m.segmentReceived(theirs(RISS + 1, ISS + 5001), 1.1)
        self.assertFalse(m.inRecovery)
        self.assertEqual(m.cwnd, 1000)
        self.assertEqual(m.dispatch(1.1), [])
        self.assertIsNone(m.pollAt())

    def test_noFastRetransmitAfterTimeout(self) -> None:
        """
        Duplicate ACKs for data sent before a timeout do not start another
        recovery (RFC 6582 section 4.1, the "recover" check).
        """
        m = self.sendFive()
        m.dispatch(1.2)  # timeout: recover = ISS+5001
        for i in range(3):
            m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.25)
        self.assertEqual(m.stats.fastRetransmits, 0)

    def test_zeroWindowProbe(self) -> None:
        """
        Data waits behind a zero window; probes (one below SND.UNA, no
        data) go out with backoff until the window opens.
        """
        m = passive()
        m.send(data(100))
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 101, window=0), 1.01)
        m.send(data(100, 100))
        self.assertEqual(m.dispatch(1.01), [])
        self.assertEqual(m.pollAt(), 1.21)
        probe = ours(ISS + 100, RISS + 1)
        self.assertEqual(m.dispatch(1.21), [probe])
        self.assertAlmostEqual(m.pollAt(), 1.61)
        m.segmentReceived(theirs(RISS + 1, ISS + 101, window=0), 1.22)
        self.assertEqual(m.dispatch(1.61), [probe])
        self.assertAlmostEqual(m.pollAt(), 2.41)
        self.assertEqual(m.stats.zeroWindowProbes, 2)
        m.segmentReceived(theirs(RISS + 1, ISS + 101, window=4000), 1.7)
        self.assertEqual(m.dispatch(1.7), [
            ours(ISS + 101, RISS + 1, ACK | PSH, payload=data(100, 100))])

    def test_ackAboveSndMax(self) -> None:
        """
        An ACK for data never sent is answered with an ACK and the segment
        dropped (RFC 5961 section 5.2).
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 500, payload=b"data"), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1)])
        self.assertEqual(m.read(), b"")

    def test_sequenceWraparound(self) -> None:
        """
        Both directions cross 2**32 without trouble.
        """
        iss = 0xFFFFFFFF - 1500
        riss = 0xFFFFFFFF - 700
        m = passive(iss=iss, riss=riss)
        m.noDelay = True
        m.send(data(3000))
        self.assertEqual(m.dispatch(1.0), [
            ours(iss + 1, riss + 1, ACK, payload=data(1000)),
            ours(iss + 1001, riss + 1, ACK, payload=data(1000, 1000)),
            ours((iss + 2001) & 0xFFFFFFFF, riss + 1, ACK | PSH, payload=data(1000, 2000)),
        ])
        m.segmentReceived(theirs(riss + 1, iss + 3001, payload=data(1000)), 1.1)
        m.segmentReceived(theirs(riss + 1001, iss + 3001, payload=data(1000, 1000)), 1.1)
        self.assertEqual(m.read(), data(2000))
        self.assertEqual(m.sndUna, (iss + 3001) & 0xFFFFFFFF)
        self.assertEqual(len(m.sendBuffer), 0)
        self.assertEqual(m.dispatch(1.1), [ours(iss + 3001, riss + 2001, ACK, 8000)])


class CloseTests(SynchronousTestCase):
    """
    Closing connections, resets and challenge ACKs.
    """

    def test_activeClose(self) -> None:
        """
        close: FIN after the data; FIN_WAIT_1, FIN_WAIT_2 when acknowledged,
        TIME_WAIT on the peer's FIN, CLOSED after 2*MSL.
        """
        m = passive(config(msl=1.0))
        m.send(b"bye")
        m.close(1.0)
        self.assertEqual(m.state, FIN_WAIT_1)
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, ACK | PSH | FIN, payload=b"bye")])
        m.segmentReceived(theirs(RISS + 1, ISS + 5), 1.1)
        self.assertEqual(m.state, FIN_WAIT_2)
        m.segmentReceived(theirs(RISS + 1, ISS + 5, FIN | ACK), 1.2)
        self.assertEqual(m.state, TIME_WAIT)
        self.assertEqual(m.events, [(EVENT_EOF, None)])
        # The FIN takes one sequence number; the window's right edge does
        # not move for one byte (receiver silly window avoidance).
        self.assertEqual(m.dispatch(1.2), [ours(ISS + 5, RISS + 2, ACK, 7999)])
        self.assertEqual(m.pollAt(), 3.2)
        # A retransmitted FIN is acknowledged again and restarts the timer.
        m.segmentReceived(theirs(RISS + 1, ISS + 5, FIN | ACK), 2.0)
        self.assertEqual(m.dispatch(2.0), [ours(ISS + 5, RISS + 2, ACK, 7999)])
        self.assertEqual(m.pollAt(), 4.0)
        self.assertEqual(m.dispatch(4.0), [])
        self.assertEqual(m.state, CLOSED)
        self.assertEqual(m.events[-1], (EVENT_CLOSED, REASON_DONE))

    def test_finRetransmitted(self) -> None:
        """
        A lost FIN is retransmitted by the RTO.
        """
        m = passive()
        m.close(1.0)
        fin = ours(ISS + 1, RISS + 1, FIN | ACK)
        self.assertEqual(m.dispatch(1.0), [fin])
        self.assertEqual(m.dispatch(1.2), [fin])

    def test_passiveCloseHalfOpen(self) -> None:
        """
        The peer's FIN: CLOSE_WAIT, EOF event; we can still send; our close
        goes to LAST_ACK and the ACK of our FIN to CLOSED.
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, FIN | ACK), 1.0)
        self.assertEqual(m.state, CLOSE_WAIT)
        self.assertEqual(m.events, [(EVENT_EOF, None)])
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 2, ACK, 7999)])
        m.send(b"late reply")
        m.close(1.1)
        self.assertEqual(m.state, LAST_ACK)
        self.assertEqual(m.dispatch(1.1), [
            ours(ISS + 1, RISS + 2, ACK | PSH | FIN, 7999, payload=b"late reply")])
        m.segmentReceived(theirs(RISS + 2, ISS + 12), 1.2)
        self.assertEqual(m.state, CLOSED)
        self.assertEqual(m.events[-1], (EVENT_CLOSED, REASON_DONE))

    def test_simultaneousClose(self) -> None:
        """
        FINs cross: FIN_WAIT_1, CLOSING on the peer's FIN, TIME_WAIT on the
        ACK of ours (RFC 9293 figure 13).
        """
        m = passive()
        m.close(1.0)
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, FIN | ACK), 1.01)
        self.assertEqual(m.state, CLOSING)
        self.assertEqual(m.dispatch(1.01), [ours(ISS + 2, RISS + 2, ACK, 7999)])
        m.segmentReceived(theirs(RISS + 2, ISS + 2), 1.02)
        self.assertEqual(m.state, TIME_WAIT)

    def test_finAckedTogether(self) -> None:
        """
        A FIN that also acknowledges our FIN goes straight to TIME_WAIT.
        """
        m = passive()
        m.close(1.0)
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 2, FIN | ACK), 1.01)
        self.assertEqual(m.state, TIME_WAIT)

    def test_abort(self) -> None:
        """
        abort sends RST|ACK at SND.NXT and closes.
        """
        m = passive()
        m.abort(1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1, RST | ACK, 0)])
        self.assertEqual(m.events, [(EVENT_CLOSED, "aborted")])

    def machineIn(self, state: str) -> TCPMachine:
        """
        @param state: a synchronized state.
        @return: a machine in that state whose RCV.NXT is C{RISS + 1} or
            C{RISS + 2} (after a FIN), events cleared.
        """
        if state == SYN_RECEIVED:
            m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config())
            m.listen()
            m.segmentReceived(theirs(RISS, 0, SYN, mss=1000), 0)
            m.dispatch(0)
            return m
        m = passive()
        if state in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT):
            m.close(0)
            m.dispatch(0)
            if state == FIN_WAIT_2:
                m.segmentReceived(theirs(RISS + 1, ISS + 2), 0)
            elif state == CLOSING:
                m.segmentReceived(theirs(RISS + 1, ISS + 1, FIN | ACK), 0)
            elif state == TIME_WAIT:
                m.segmentReceived(theirs(RISS + 1, ISS + 2, FIN | ACK), 0)
        elif state in (CLOSE_WAIT, LAST_ACK):
            m.segmentReceived(theirs(RISS + 1, ISS + 1, FIN | ACK), 0)
            if state == LAST_ACK:
                m.close(0)
        m.dispatch(0)
        self.assertEqual(m.state, state)
        del m.events[:]
        return m

    STATES = (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT,
              CLOSING, LAST_ACK, TIME_WAIT)

    def test_resetInEveryState(self) -> None:
        """
        In every synchronized state a RST at exactly RCV.NXT closes the
        connection with reason "reset".
        """
        for state in self.STATES:
            m = self.machineIn(state)
            m.segmentReceived(theirs(m.rcvNxt, 0, RST), 1.0)
            self.assertEqual((state, m.state), (state, CLOSED))
            self.assertEqual(m.events, [(EVENT_CLOSED, REASON_RESET)])
            self.assertEqual(m.dispatch(1.0), [])
            self.assertEqual(m.stats.resetsReceived, 1)

    def test_inWindowResetChallenged(self) -> None:
        """
        In every synchronized state a RST inside the window but not at
        RCV.NXT gets a challenge ACK and changes nothing; one outside the
        window is ignored silently (RFC 5961 section 3.2).
        """
        for state in self.STATES:
            m = self.machineIn(state)
            m.segmentReceived(theirs(m.rcvNxt + 100, 0, RST), 1.0)
            self.assertEqual(m.state, state)
            self.assertEqual(m.stats.challengeAcks, 1, state)
            out = m.dispatch(1.0)
            self.assertEqual([(s.flags & ACK, s.ack) for s in out][-1:], [(ACK, m.rcvNxt)])
            m.segmentReceived(theirs(m.rcvNxt + 100000, 0, RST), 1.0)
            self.assertEqual(m.state, state)
            self.assertEqual(m.stats.challengeAcks, 1)

    def test_synChallenged(self) -> None:
        """
        A SYN in a synchronized state gets a challenge ACK whatever its
        sequence number (RFC 5961 section 4).
        """
        for state in self.STATES[1:]:
            m = self.machineIn(state)
            m.segmentReceived(theirs(RISS + 3, 0, SYN), 1.0)
            self.assertEqual(m.state, state)
            self.assertEqual(m.stats.challengeAcks, 1, state)

    def test_challengeAckRateLimit(self) -> None:
        """
        At most C{challengeAckLimit} challenge ACKs per second.
        """
        m = passive(config(challengeAckLimit=3))
        for i in range(10):
            m.segmentReceived(theirs(RISS + 50, 0, RST), 1.0 + i * 0.01)
        self.assertEqual(m.stats.challengeAcks, 3)
        m.segmentReceived(theirs(RISS + 50, 0, RST), 2.5)
        self.assertEqual(m.stats.challengeAcks, 4)

    def test_finWait2TimeoutWhenOrphaned(self) -> None:
        """
        A connection the application fully closed leaves FIN_WAIT_2 after
        C{finWait2Timeout}.
        """
        m = passive(config(finWait2Timeout=5.0))
        m.readClosed = True
        m.close(1.0)
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 2), 1.1)
        self.assertEqual(m.state, FIN_WAIT_2)
        self.assertEqual(m.pollAt(), 6.1)
        m.dispatch(6.1)
        self.assertEqual(m.state, CLOSED)


class OptionTests(SynchronousTestCase):
    """
    Window scaling, timestamps and PAWS, keepalive.
    """

    def test_windowScaling(self) -> None:
        """
        The peer's window field is scaled by its shift; ours by our shift.
        """
        m = passive(config(windowScaling=True, receiveBufferSize=200000), windowScale=2)
        self.assertEqual((m.sndShift, m.rcvShift), (2, 2))
        m.segmentReceived(theirs(RISS + 1, ISS + 1, window=100), 1.0)
        self.assertEqual(m.sndWnd, 400)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(1000)), 1.0)
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, payload=data(1000)), 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 2001, ACK, (200000 - 2000) >> 2)])

    def test_timestampsEchoAndPAWS(self) -> None:
        """
        Our segments echo the peer's latest in-order TSval; a segment with
        an older TSval is dropped and answered (PAWS, RFC 7323 section 5).
        """
        m = passive(config(timestamps=True), timestamp=(500, 0))
        self.assertEqual(m.mss, 988)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=b"a", timestamp=(510, 0)), 1.0)
        m.segmentReceived(theirs(RISS + 2, ISS + 1, payload=b"b", timestamp=(505, 0)), 1.0)
        self.assertEqual(m.stats.pawsDropped, 1)
        self.assertEqual(m.read(), b"a")
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 2, ACK, 7999,
                                                timestamp=(1000, 510))])

    def test_timestampRTT(self) -> None:
        """
        With timestamps, RTT samples come from TSecr.
        """
        m = passive(config(timestamps=True), timestamp=(500, 0))
        m.noDelay = True
        m.send(b"x")
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 2, timestamp=(520, 1000)), 1.3)
        self.assertAlmostEqual(m.srtt, 0.875 * 0 + 0.125 * 0.3)

    def test_keepalive(self) -> None:
        """
        After C{keepIdle} of silence probes go every C{keepInterval}; an
        answer resets them; C{keepCount} unanswered ones end the connection
        with a RST.
        """
        m = passive(config(keepIdle=10.0, keepInterval=1.0, keepCount=2))
        m.keepAlive = True
        m.dispatch(0)
        self.assertEqual(m.pollAt(), 10.0)
        probe = ours(ISS, RISS + 1)
        self.assertEqual(m.dispatch(10.0), [probe])
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 10.1)
        self.assertEqual(m.pollAt(), 20.1)
        self.assertEqual(m.dispatch(20.1), [probe])
        self.assertEqual(m.dispatch(21.1), [probe])
        self.assertEqual(m.dispatch(22.1), [ours(ISS + 1, RISS + 1, RST | ACK, 0)])
        self.assertEqual(m.events, [(EVENT_CLOSED, REASON_TIMEOUT)])


class SillyWindowTests(SynchronousTestCase):
    """
    A window too small to fill a segment.
    """

    def test_smallWindowForcedByPersistTimer(self) -> None:
        """
        When the peer's window stays smaller than half its largest and
        nothing is in flight, the persist timer forces out what fits
        instead of waiting forever (RFC 9293 3.8.6.2.1).
        """
        m = passive()
        m.send(data(100))
        m.dispatch(1.0)
        m.segmentReceived(theirs(RISS + 1, ISS + 101, window=300), 1.01)
        m.send(data(2000, 100))
        self.assertEqual(m.dispatch(1.01), [])
        self.assertEqual(m.pollAt(), 1.21)
        self.assertEqual(m.dispatch(1.21), [
            ours(ISS + 101, RISS + 1, ACK, payload=data(300, 100))])
        self.assertEqual(m.stats.zeroWindowProbes, 0)

    def test_sackBlocksShrinkData(self) -> None:
        """
        Data segments that carry SACK blocks carry less data, so the
        segment still fits the MSS.
        """
        m = passive(config(sack=True), sackPermitted=True)
        m.noDelay = True
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, payload=data(10)), 1.0)
        m.send(data(1000))
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(988),
                 sackBlocks=((RISS + 1001, RISS + 1011),)),
            ours(ISS + 989, RISS + 1, ACK | PSH, payload=data(12, 988),
                 sackBlocks=((RISS + 1001, RISS + 1011),)),
        ])


class LossRecoveryTests(SynchronousTestCase):
    """
    Limited transmit, early retransmit, SACK-driven retransmission, and
    the out-of-window ACK limit.
    """

    def sending(self, n: int, sack: bool = False, extra: int = 0) -> TCPMachine:
        """
        @param n: how many 1000-byte segments to put in flight.
        @param sack: negotiate SACK.
        @param extra: further bytes queued beyond them (not sent).
        @return: the machine after sending them at time 1.0.
        """
        if sack:
            # RFC 6675's duplicate ACK counting; RACK is tested in
            # test_rack.
            m = passive(config(sack=True, rack=False), sackPermitted=True)
        else:
            m = passive()
        m.noDelay = True
        m.cwnd = n * 1000
        m.send(data(n * 1000 + extra))
        self.assertEqual(len(m.dispatch(1.0)), n)
        return m

    def test_limitedTransmit(self) -> None:
        """
        The first two duplicate ACKs each let one new segment out (RFC
        3042).
        """
        m = self.sending(4, extra=3000)
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.01)
        self.assertEqual(m.dispatch(1.01), [
            ours(ISS + 4001, RISS + 1, ACK, payload=data(1000, 4000))])
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.02)
        self.assertEqual(m.dispatch(1.02), [
            ours(ISS + 5001, RISS + 1, ACK, payload=data(1000, 5000))])

    def test_earlyRetransmit(self) -> None:
        """
        With two segments outstanding and nothing more to send, one
        duplicate ACK is enough to retransmit (RFC 5827).
        """
        m = self.sending(2)
        m.segmentReceived(theirs(RISS + 1, ISS + 1), 1.01)
        self.assertEqual(m.dispatch(1.01), [ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        self.assertEqual(m.stats.fastRetransmits, 1)

    def test_sackRetransmitsLaterHole(self) -> None:
        """
        With SACK, a second hole is retransmitted as soon as three
        segments are SACKed above it, without waiting for the partial ACK.
        """
        m = self.sending(8, sack=True)

        def dupack(*blocks):  # type: ignore[no-untyped-def]
            """
            Send a duplicate ACK with SACK blocks given in segment numbers.

            @param blocks: C{(first, end)} segment indices.
            @return: what the machine sends.
            """
            m.segmentReceived(theirs(RISS + 1, ISS + 1, sackBlocks=tuple(
                (ISS + 1 + a * 1000, ISS + 1 + b * 1000) for a, b in blocks)), 1.01)
            return m.dispatch(1.01)

        # Segments 0 and 2 lost; 1, 3, 4, 5, 6, 7 arrive.
        self.assertEqual(dupack((1, 2)), [])
        self.assertEqual(dupack((3, 4), (1, 2)), [])
        self.assertEqual(dupack((3, 5), (1, 2)), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        self.assertEqual(dupack((3, 6), (1, 2)), [
            ours(ISS + 2001, RISS + 1, ACK, payload=data(1000, 2000))])
        self.assertEqual(m.stats.sackRetransmissions, 1)
        self.assertEqual(dupack((3, 7), (1, 2)), [])
        m.segmentReceived(theirs(RISS + 1, ISS + 8001), 1.05)
        self.assertFalse(m.inRecovery)
        self.assertEqual(m.scoreboard, [])

    def test_invalidSackBlocksIgnored(self) -> None:
        """
        SACK blocks outside (SND.UNA, SND.MAX] are ignored.
        """
        m = self.sending(2, sack=True)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, sackBlocks=(
            (ISS + 1, ISS + 500), (ISS + 1500, ISS + 9999), (5, 6))), 1.01)
        self.assertEqual(m.scoreboard, [])

    def test_outOfWindowAcksLimited(self) -> None:
        """
        Pure ACKs outside the window are answered at most once per
        C{outOfWindowAckInterval}; retransmitted data always is.
        """
        m = passive()
        for i in range(5):
            m.segmentReceived(theirs(RISS + 50000, ISS + 1), 1.0 + i * 0.01)
        self.assertEqual(m.dispatch(1.1), [ours(ISS + 1, RISS + 1)])
        self.assertEqual(m.stats.outOfWindowAcksLimited, 4)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=b"a"), 1.1)
        m.read()
        for i in range(3):
            m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=b"a"), 1.2)
            self.assertEqual(m.dispatch(1.2), [ours(ISS + 1, RISS + 2, ACK, 7999)])

    def test_pureAckAfterTimeoutCarriesSndMax(self) -> None:
        """
        After a timeout pulls SND.NXT back, pure ACKs still carry SND.MAX:
        the peer may hold everything sent, and would find a lower sequence
        number unacceptable and ignore the ACK (a bidirectional deadlock
        seen on a lossy wire).
        """
        m = passive()
        m.noDelay = True
        m.send(data(3000))
        self.assertEqual(len(m.dispatch(1.0)), 3)
        out = m.dispatch(1.2)  # timeout: go back to ISS+1, cwnd 1 segment
        self.assertEqual([s.seq for s in out], [ISS + 1])
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(100)), 1.21)
        m.segmentReceived(theirs(RISS + 101, ISS + 1, payload=data(100)), 1.21)
        self.assertEqual(m.dispatch(1.21), [ours(ISS + 3001, RISS + 201, ACK, 7800)])

    def test_timeoutRetransmitsDespiteShrunkWindow(self) -> None:
        """
        A timeout retransmits the first unacknowledged segment even when
        the peer has since shrunk its window below it, and neither sender
        silly window avoidance nor Nagle holds back data sent before (a
        connection stalled until it timed out, found by a seeded
        two-sided stress run).
        """
        m = passive(peerWindow=4000)
        m.noDelay = True
        m.send(data(2000))
        self.assertEqual(len(m.dispatch(1.0)), 2)
        m.segmentReceived(theirs(RISS + 1, ISS + 1001, window=500), 1.01)
        self.assertEqual(m.dispatch(1.01), [])
        self.assertEqual(m.dispatch(1.21), [
            ours(ISS + 1001, RISS + 1, ACK | PSH, payload=data(1000, 1000))])
        # The peer still offers only 500 bytes: the next timeout resends
        # the segment again rather than stalling.
        self.assertEqual(m.dispatch(1.61), [
            ours(ISS + 1001, RISS + 1, ACK | PSH, payload=data(1000, 1000))])

    def sackSender(self) -> TCPMachine:
        """
        @return: a SACK machine with 8 segments in flight (cwnd 8000), 4000
            more bytes queued and a 60000-byte peer window, counting
            duplicate ACKs (RFC 6675) rather than timing losses (RACK).
        """
        m = passive(config(sack=True, rack=False), peerWindow=60000, sackPermitted=True)
        m.noDelay = True
        m.cwnd = 8000
        m.send(data(12000))
        self.assertEqual(len(m.dispatch(1.0)), 8)
        return m

    def test_sackRecoveryConservesPackets(self) -> None:
        """
        In SACK recovery cwnd is ssthresh and the pipe (data above the
        highest SACK plus retransmitted holes) limits sending: each further
        duplicate ACK lets exactly one new segment out (RFC 6675).
        """
        m = self.sackSender()

        def dupack(end: int) -> list:
            """
            SACK segments 1 to C{end}.

            @param end: the SACKed range's end, in segments.
            @return: what the machine sends.
            """
            m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
                (ISS + 1001, ISS + 1 + end * 1000),)), 1.01)
            return m.dispatch(1.01)

        # Limited transmit: one new segment for each of the first two.
        self.assertEqual(dupack(2), [
            ours(ISS + 8001, RISS + 1, ACK, payload=data(1000, 8000))])
        self.assertEqual(dupack(3), [
            ours(ISS + 9001, RISS + 1, ACK, payload=data(1000, 9000))])
        # The third: fast retransmit; ssthresh is half the 10000 in flight.
        self.assertEqual(dupack(4), [ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        self.assertTrue(m.sackRecovery)
        self.assertEqual((m.ssthresh, m.cwnd), (5000, 5000))
        # pipe = 6000 above the SACKs + 1000 resent = 7000, then 6000, 5000.
        self.assertEqual(dupack(5), [])
        self.assertEqual(dupack(6), [])
        # 4000 in the pipe: room for one segment per duplicate ACK.
        self.assertEqual(dupack(7), [
            ours(ISS + 10001, RISS + 1, ACK, payload=data(1000, 10000))])
        self.assertEqual(dupack(8), [
            ours(ISS + 11001, RISS + 1, ACK | PSH, payload=data(1000, 11000))])

    def test_sackWithWindowChangeIsDuplicate(self) -> None:
        """
        An ACK that SACKs new data counts as a duplicate even if its window
        differs (Linux's receivers change theirs all the time).
        """
        m = self.sackSender()
        for i, window in enumerate((59000, 58000, 57000)):
            m.segmentReceived(theirs(RISS + 1, ISS + 1, window=window, sackBlocks=(
                (ISS + 1001, ISS + 2001 + i * 1000),)), 1.01)
        self.assertEqual(m.stats.duplicateAcks, 3)
        self.assertTrue(m.inRecovery)

    def test_sackedAboveMeansLost(self) -> None:
        """
        Three segments SACKed above SND.UNA start recovery even from a
        single ACK (RFC 6675's IsLost).
        """
        m = self.sackSender()
        m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
            (ISS + 1001, ISS + 4001),)), 1.01)
        self.assertEqual(m.dispatch(1.01), [ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])

    def test_sendAfterCloseBeforeFin(self) -> None:
        """
        Data queued after close but before the FIN went out is sent ahead
        of the FIN; after the FIN it is dropped.
        """
        m = passive()
        m.close(1.0)
        m.send(b"late")
        self.assertEqual(m.dispatch(1.0), [
            ours(ISS + 1, RISS + 1, ACK | PSH | FIN, payload=b"late")])
        m.send(b"too late")
        self.assertEqual(len(m.sendBuffer), 4)


class AckCoalescingTests(SynchronousTestCase):
    """
    L{TCPMachine.ackCanWait}: which ACKs may wait for the end of a batch.
    """

    def test_inOrderAckMayWait(self) -> None:
        """
        The ACK owed for two in-order segments may wait, up to
        COALESCE_SEGMENTS segments.
        """
        m = passive()
        for i in range(2):
            m.segmentReceived(theirs(RISS + 1 + 1000 * i, ISS + 1, payload=data(1000)), 1.0)
        self.assertTrue(m.ackNow and m.ackCanWait())
        for i in range(2, 8):
            m.segmentReceived(theirs(RISS + 1 + 1000 * i, ISS + 1, payload=data(1000)), 1.0)
        self.assertFalse(m.ackCanWait())

    def test_duplicateAckNeverWaits(self) -> None:
        """
        Out-of-order data is acknowledged at once, and so are the next
        segments for a while (quick-ack mode).
        """
        m = passive()
        m.segmentReceived(theirs(RISS + 1001, ISS + 1, payload=data(1000)), 1.0)
        self.assertTrue(m.ackNow)
        self.assertFalse(m.ackCanWait())
        m.segmentReceived(theirs(RISS + 1, ISS + 1, payload=data(1000)), 1.0)
        m.dispatch(1.0)
        m.read()
        for i in range(2, 4):
            m.segmentReceived(theirs(RISS + 1 + 1000 * i, ISS + 1, payload=data(1000)), 1.0)
        self.assertTrue(m.ackNow)
        self.assertFalse(m.ackCanWait())


class PacingTests(SynchronousTestCase):
    """
    Once the round trip is measured, data goes at most L{pacingBurst}
    segments at a time, spaced at twice the congestion window per smoothed
    RTT in slow start (Linux's pacing rate), instead of a whole window in
    one burst.
    """

    def opened(self, **kwargs: Any) -> TCPMachine:
        """
        An active open whose SYN-ACK comes 0.1 s after the SYN (the first
        RTT sample), a peer window of 64000, and 20000 bytes queued.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config(**kwargs))
        m.connect(0)
        m.dispatch(0)
        m.segmentReceived(theirs(RISS, ISS + 1, SYN | ACK, 64000, mss=1000), 0.1)
        m.dispatch(0.1)
        self.assertEqual(m.srtt, 0.1)
        m.send(data(20000))
        return m

    def test_burstThenSpaced(self) -> None:
        """
        Of the initial window (ten segments) a burst (eight here) goes at
        once; the rest when the pacing rate (2 * 10000 bytes / 0.1 s: 5 ms
        per segment) allows, which L{pollAt} names.
        """
        m = self.opened(pacingBurst=8)
        self.assertEqual(len(m.dispatch(0.1)), 8)
        self.assertAlmostEqual(m.pollAt(), 0.105)
        self.assertEqual(m.dispatch(0.104), [])
        [ninth] = m.dispatch(0.105)
        self.assertEqual(ninth.seq, ISS + 1 + 8000)
        self.assertAlmostEqual(m.pollAt(), 0.110)
        self.assertEqual(len(m.dispatch(0.110)), 1)
        # The window is full: nothing more until an ACK, and pollAt names
        # the retransmission timeout, not the pacing.
        self.assertEqual(m.dispatch(0.2), [])
        self.assertEqual(m.pollAt(), m.rtoDeadline)

    def test_idleGivesOneBurst(self) -> None:
        """
        Time without sending earns no more than one burst.
        """
        m = self.opened(initialWindow=40, pacingBurst=8)
        self.assertEqual(len(m.dispatch(0.1)), 8)
        self.assertEqual(len(m.dispatch(0.35)), 8)
        self.assertEqual(m.dispatch(0.35), [])

    def test_off(self) -> None:
        """
        With C{pacing=False} the whole initial window goes at once.
        """
        m = self.opened(pacing=False)
        self.assertEqual(len(m.dispatch(0.1)), 10)

    def test_burstSize(self) -> None:
        """
        L{TCPConfig.pacingBurst} sets the burst.
        """
        m = self.opened(pacingBurst=3)
        self.assertEqual(len(m.dispatch(0.1)), 3)


class SegmentOffloadTests(SynchronousTestCase):
    """
    With L{TCPMachine.segmentOffload} set (by a layer that cuts segments at
    the MSS), full segments of new data the windows and pacing allow go as
    one segment: cut at the MSS, the same segments as without it.
    """

    def opened(self, offload: bool, **kwargs: Any) -> TCPMachine:
        """
        As L{PacingTests.opened}: an active open, SRTT 0.1 s, a peer window
        of 64000, MSS 1000.
        """
        m = TCPMachine(LOCAL_PORT, REMOTE_PORT, ISS, config(**kwargs))
        m.segmentOffload = offload
        m.connect(0)
        m.dispatch(0)
        m.segmentReceived(theirs(RISS, ISS + 1, SYN | ACK, 64000, mss=1000), 0.1)
        m.dispatch(0.1)
        return m

    def cut(self, segments: List[TCPSegment]) -> List[Tuple[int, int, bytes]]:
        """
        The segments cut at the MSS, as the layer cuts them.

        @return: each piece's sequence number, flags and data.
        """
        pieces = []
        for segment in segments:
            payload = segment.payload
            for start in range(0, max(len(payload), 1), 1000):
                last = start + 1000 >= len(payload)
                pieces.append(((segment.seq + start) & 0xFFFFFFFF,
                               segment.flags if last else segment.flags & ~(PSH | FIN),
                               payload[start:start + 1000]))
        return pieces

    def both(self, size: int, *times: float, **kwargs: Any):
        """
        Queue C{size} bytes on a machine with and one without offload and
        dispatch both at each of C{times}.

        @return: per time, the segments with offload and those without.
        """
        with_ = self.opened(True, **kwargs)
        without = self.opened(False, **kwargs)
        with_.send(data(size))
        without.send(data(size))
        return [(with_.dispatch(t), without.dispatch(t)) for t in times]

    def test_windowAsOneRun(self) -> None:
        """
        Unpaced, the initial window (10 segments) of 20000 queued bytes
        goes as one segment of 10000 bytes: the same bytes as ten.
        """
        [(run, segments)] = self.both(20000, 0.1, pacing=False)
        self.assertEqual([len(s.payload) for s in run], [10000])
        self.assertEqual(len(segments), 10)
        self.assertEqual(self.cut(run), self.cut(segments))

    def test_lastByteAlone(self) -> None:
        """
        The segment ending the queued data (with PSH) is never in a run.
        """
        [(run, segments)] = self.both(5000, 0.1, pacing=False)
        self.assertEqual([(len(s.payload), s.flags) for s in run],
                         [(4000, ACK), (1000, ACK | PSH)])
        self.assertEqual(self.cut(run), self.cut(segments))
        # A short tail waits for Nagle, with or without offload.
        [(run, segments)] = self.both(4500, 0.1, pacing=False)
        self.assertEqual([(len(s.payload), s.flags) for s in run], [(4000, ACK)])
        self.assertEqual(self.cut(run), self.cut(segments))

    def test_paced(self) -> None:
        """
        Pacing bounds a run as it bounds a burst: eight segments, then one
        per pacing interval.
        """
        steps = self.both(20000, 0.1, 0.105, 0.110, pacingBurst=8)
        self.assertEqual([[len(s.payload) for s in run] for run, _ in steps],
                         [[8000], [1000], [1000]])
        for run, segments in steps:
            self.assertEqual(self.cut(run), self.cut(segments))

    def test_sendWindow(self) -> None:
        """
        The peer's window bounds a run.
        """
        with_ = self.opened(True, pacing=False)
        with_.segmentReceived(theirs(RISS + 1, ISS + 1, ACK, 3500), 0.1)
        with_.send(data(20000))
        self.assertEqual([len(s.payload) for s in with_.dispatch(0.1)], [3000])

    def test_noRetransmissionRuns(self) -> None:
        """
        After a timeout, data goes again one segment at a time (go-back-N
        resends what was sent, as it was).
        """
        m = self.opened(True, pacing=False)
        m.send(data(20000))
        [run] = m.dispatch(0.1)
        self.assertEqual(len(run.payload), 10000)
        deadline = m.pollAt()
        resent = m.dispatch(deadline)
        self.assertEqual([len(s.payload) for s in resent], [1000])
        self.assertEqual(resent[0].seq, ISS + 1)
