# -*- test-case-name: tests.stack.tcp.test_connection -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The tunables of TCP connections (L{TCPConfig}) and the counters their
layer keeps (L{TCPStatistics}).
"""

from typing import Dict

__all__ = ["TCPConfig", "TCPStatistics", "windowShiftFor",
           "COALESCE_SEGMENTS", "QUICK_ACKS"]

#: At most this many full-sized segments are acknowledged by one ACK
#: deferred to the end of a batch (see L{TCPMachine.ackCanWait}).
COALESCE_SEGMENTS = 8
#: After out-of-order data, this many in-order segments are acknowledged
#: without coalescing, so the sender's loss recovery gets every ACK
#: (Linux's quick-ack mode).
QUICK_ACKS = 64


class TCPConfig:
    """
    Tunables of a connection.  Times are in seconds, sizes in bytes.

    @ivar mss: the MSS we announce (link MTU minus 40).
    @ivar sendBufferSize: the send buffer's soft bound (producer high-water
        mark) on data not yet sent.
    @ivar sendFlightAllowance: the most data in flight (sent, not yet
        acknowledged) the send buffer holds beyond L{sendBufferSize}
        (Linux's largest send buffer, net.ipv4.tcp_wmem, is 4 MiB).
    @ivar receiveBufferSize: the receive buffer, which bounds the window.
    @ivar maxOutOfOrder: the most out-of-order pieces held.
    @ivar initialRTO: the RTO before any RTT sample (RFC 6298: 1 s).
    @ivar minRTO: the lower bound of the RTO.
    @ivar maxRTO: the upper bound of the RTO and of backoff.
    @ivar ackDelay: the delayed ACK timeout.
    @ivar msl: the maximum segment lifetime; TIME_WAIT lasts twice this.
    @ivar synRetries: SYN (or SYN-ACK) retransmissions before giving up.
    @ivar maxRetries: data retransmissions (one segment, consecutive
        timeouts) before giving up.
    @ivar finWait2Timeout: how long a connection the application has fully
        closed waits in FIN_WAIT_2 for the peer's FIN.
    @ivar keepIdle: idle time before the first keepalive probe.
    @ivar keepInterval: time between keepalive probes.
    @ivar keepCount: unanswered probes before the connection is dropped.
    @ivar initialWindow: the initial congestion window in segments.
    @ivar challengeAckLimit: challenge ACKs allowed per second.
    @ivar outOfWindowAckInterval: the least time between two ACKs sent in
        answer to unacceptable segments (Linux's tcp_invalid_ratelimit).
    @ivar timestamps: offer/accept RFC 7323 timestamps.
    @ivar windowScaling: offer/accept RFC 7323 window scaling.
    @ivar sack: offer/accept SACK-permitted (we send SACK blocks).
    @ivar pacing: spread data segments over the round trip once it is
        measured, at twice the congestion window per smoothed RTT in slow
        start and 1.2 times after (Linux's pacing rate; with BBR, at the
        model's rate), instead of sending
        a window in one burst: a VDE path queues few frames (an AF_UNIX
        datagram queue holds net.unix.max_dgram_qlen = 10), so whole-window
        bursts are dropped there.
    @ivar pacingBurst: the segments that may go back to back before pacing
        spaces them: 16 (8 until 2026-12-06; once the receive offload
        merged a batch's ACKs into one, bursts of 8 left a CPython virtual
        host waking per burst: 1.30 Gbit/s to a kernel peer, 1.72 with 16,
        the path's losses alike, 0.01-0.06 %; docs/performance.txt).
    @ivar segmentOffload: the sender decides a run of full segments at
        once, as one segment the TCP layer cuts at the MSS (what TSO does
        for Linux; L{vdetwist.wire.tcp.encodeSegments}): the same segments
        on the wire, with Python's per-segment work paid per run.
    @ivar rack: with a peer that sends SACK blocks, find losses by time
        (RACK, RFC 8985: a segment is lost once something sent after it
        has been delivered and a round trip and a reordering window have
        passed; lost retransmissions are found the same way) and probe
        the tail of a flight before the RTO (TLP), instead of counting
        duplicate ACKs (RFC 6675).
    @ivar congestionControl: C{"newreno"} (RFC 5681 and 6582: the window
        halves on each loss) or C{"bbr"} (a model of the path after BBR
        v1: paces at the measured bandwidth, keeps twice the
        bandwidth-delay product in flight, and does not take random loss
        for congestion; needs L{rack} and SACK to recover losses well), or
        C{"auto"} (the default: BBR for a connection whose handshake round
        trip is at least L{bbrAboveRTT}, NewReno below).
    @ivar bbrAboveRTT: with C{"auto"}, the round trip (seconds) from which
        a connection uses BBR: 10 ms, above any LAN of virtual machines
        (0.1-3 ms here, loaded) and below most WAN paths.
    """

    def __init__(self, **kwargs: object) -> None:
        """
        @param kwargs: values overriding the defaults, by attribute name.
        @raise TypeError: an unknown name.
        """
        self.mss = 1460
        self.sendBufferSize = 256 * 1024
        self.sendFlightAllowance = 4 * 1024 * 1024
        # 128 KiB: on a VDE link a larger window lets a Linux sender burst
        # past what the switch can queue to a datagram socket (AF_UNIX
        # datagram queues hold net.unix.max_dgram_qlen = 10 frames), and
        # measured throughput halves with the losses (see the report).
        self.receiveBufferSize = 128 * 1024
        self.maxOutOfOrder = 256
        self.initialRTO = 1.0
        self.minRTO = 0.2
        self.maxRTO = 60.0
        self.ackDelay = 0.04
        self.msl = 5.0
        self.synRetries = 6
        self.maxRetries = 12
        self.finWait2Timeout = 60.0
        self.keepIdle = 7200.0
        self.keepInterval = 75.0
        self.keepCount = 9
        self.initialWindow = 10
        self.challengeAckLimit = 10
        self.outOfWindowAckInterval = 0.5
        self.timestamps = True
        self.windowScaling = True
        self.sack = True
        self.pacing = True
        self.pacingBurst = 16
        self.segmentOffload = True
        self.rack = True
        self.congestionControl = "auto"
        self.bbrAboveRTT = 0.010
        for name, value in kwargs.items():
            if not hasattr(self, name):
                raise TypeError(f"unknown TCP setting {name!r}")
            setattr(self, name, value)

    def copy(self, **kwargs: object) -> "TCPConfig":
        """
        @param kwargs: values to change in the copy.
        @return: a copy with C{kwargs} applied.
        """
        new = TCPConfig(**self.__dict__)
        for name, value in kwargs.items():
            if not hasattr(new, name):
                raise TypeError(f"unknown TCP setting {name!r}")
            setattr(new, name, value)
        return new


class TCPStatistics:
    """
    Counters, shared by all the connections of a TCP layer.
    """

    names = (
        "segmentsReceived", "segmentsSent", "retransmissions",
        "retransmissionTimeouts", "fastRetransmits", "duplicateAcks",
        "outOfOrderSegments", "badChecksums", "malformedSegments",
        "resetsSent", "resetsReceived", "challengeAcks", "pawsDropped",
        "zeroWindowProbes", "keepaliveProbes", "synFloodDrops",
        "forwarderDrops", "connectionsOpened", "connectionsAccepted",
        "outOfWindowAcksLimited", "timeWaitRecycled",
        "reassemblyDrops", "noConnection", "icmpErrors", "sackRetransmissions",
        "synCookiesSent", "synCookiesValidated", "synCookiesFailed",
        "tailLossProbes", "rackLosses", "segmentsCoalesced",
    )

    def __init__(self) -> None:
        """
        All counters start at zero.
        """
        self.segmentsReceived = 0
        self.segmentsSent = 0
        self.retransmissions = 0
        self.retransmissionTimeouts = 0
        self.fastRetransmits = 0
        self.duplicateAcks = 0
        self.outOfOrderSegments = 0
        self.badChecksums = 0
        self.malformedSegments = 0
        self.resetsSent = 0
        self.resetsReceived = 0
        self.challengeAcks = 0
        self.outOfWindowAcksLimited = 0
        self.timeWaitRecycled = 0
        self.pawsDropped = 0
        self.zeroWindowProbes = 0
        self.keepaliveProbes = 0
        self.synFloodDrops = 0
        self.forwarderDrops = 0
        self.connectionsOpened = 0
        self.connectionsAccepted = 0
        self.reassemblyDrops = 0
        self.noConnection = 0
        self.icmpErrors = 0
        self.sackRetransmissions = 0
        self.outOfWindowAcksLimited = 0
        self.synCookiesSent = 0
        self.synCookiesValidated = 0
        self.synCookiesFailed = 0
        self.tailLossProbes = 0
        self.rackLosses = 0
        #: Segments merged into the one before them by the receive offload
        #: (L{vdetwist.stack.tcp.offload}); each is in C{segmentsReceived}.
        self.segmentsCoalesced = 0

    def asDict(self) -> Dict[str, int]:
        """
        @return: the counters by name.
        """
        return {name: getattr(self, name) for name in self.names}


def windowShiftFor(size: int) -> int:
    """
    The smallest window scale that lets C{size} be advertised.

    @param size: a buffer size.
    @return: a shift count, 0 to 14.
    """
    shift = 0
    while (65535 << shift) < size and shift < 14:
        shift += 1
    return shift
