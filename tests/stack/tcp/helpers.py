# Copyright (c) vdetwist authors. See LICENSE for details.
"""
smoltcp-style helpers for driving a L{TCPMachine}: build the peer's
segments (L{theirs}), our expected segments (L{ours}), and a machine
already through the handshake.
"""

from typing import Any, List

from vdetwist.stack.tcp.machine import TCPConfig, TCPMachine
from vdetwist.wire.tcp import ACK, SYN, TCPSegment

LOCAL_PORT = 80
REMOTE_PORT = 49152
#: Our initial sequence number.
ISS = 1000
#: The peer's initial sequence number.
RISS = 5000
#: The peer's window in the helpers' handshakes.
PEER_WINDOW = 8000
#: Our receive buffer (and so our initial window).
BUFFER = 8000


def config(**kwargs: Any) -> TCPConfig:
    """
    A small, option-free configuration (MSS 1000, 8000-byte buffers, no
    timestamps, SACK or window scaling) so expected segments are short.

    @param kwargs: overrides.
    @return: the configuration.
    """
    values: dict = dict(mss=1000, receiveBufferSize=BUFFER, sendBufferSize=64000,
                        timestamps=False, sack=False, windowScaling=False)
    values.update(kwargs)
    return TCPConfig(**values)


def theirs(seq: int, ack: int = 0, flags: int = ACK, window: int = PEER_WINDOW,
           payload: bytes = b"", **kwargs: Any) -> TCPSegment:
    """
    A segment from the peer to us.

    @param seq: its sequence number (mod 2**32 applied).
    @param ack: its acknowledgment number (mod 2**32 applied).
    @param flags: its flags.
    @param window: its window field.
    @param payload: its data.
    @param kwargs: options.
    @return: the segment.
    """
    return TCPSegment(REMOTE_PORT, LOCAL_PORT, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      flags, window, payload, **kwargs)


def ours(seq: int, ack: int = 0, flags: int = ACK, window: int = BUFFER,
         payload: bytes = b"", **kwargs: Any) -> TCPSegment:
    """
    A segment from us to the peer.

    @param seq: its sequence number (mod 2**32 applied).
    @param ack: its acknowledgment number (mod 2**32 applied).
    @param flags: its flags.
    @param window: its window field.
    @param payload: its data.
    @param kwargs: options.
    @return: the segment.
    """
    return TCPSegment(LOCAL_PORT, REMOTE_PORT, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      flags, window, payload, **kwargs)


def passive(cfg: TCPConfig = None, iss: int = ISS, riss: int = RISS,
            now: float = 0.0, peerWindow: int = PEER_WINDOW,
            **synOptions: Any) -> TCPMachine:
    """
    A machine that accepted a connection: SYN, SYN-ACK, ACK all at C{now}.

    @param cfg: the configuration (L{config}() by default).
    @param iss: our ISN.
    @param riss: the peer's ISN.
    @param now: the time of the handshake.
    @param peerWindow: the window the peer advertises.
    @param synOptions: options of the peer's SYN (mss defaults to 1000).
    @return: an ESTABLISHED machine with its events consumed.
    """
    machine = TCPMachine(LOCAL_PORT, REMOTE_PORT, iss, cfg or config())
    machine.listen()
    synOptions.setdefault("mss", 1000)
    machine.segmentReceived(theirs(riss, 0, SYN, peerWindow, **synOptions), now)
    machine.dispatch(now)
    ackOptions = {"timestamp": synOptions["timestamp"]} if "timestamp" in synOptions else {}
    machine.segmentReceived(theirs(riss + 1, iss + 1, ACK, peerWindow, **ackOptions), now)
    assert machine.state == "ESTABLISHED", machine.state
    del machine.events[:]
    return machine


def dispatch(machine: TCPMachine, now: float) -> List[TCPSegment]:
    """
    @param machine: the machine.
    @param now: the time.
    @return: what it sends at C{now}.
    """
    return machine.dispatch(now)
