# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The names of a TCP connection's states (RFC 9293), of the events a
L{vdetwist.stack.tcp.machine.TCPMachine} reports to its owner, and of the
reasons a connection ends.
"""

__all__ = [
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
    "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
    "TIME_WAIT",
    "EVENT_CONNECTED", "EVENT_EOF", "EVENT_CLOSED",
    "REASON_DONE", "REASON_RESET", "REASON_REFUSED", "REASON_TIMEOUT",
    "REASON_ABORTED", "REASON_UNREACHABLE",
    "RECEIVING_STATES", "KEEPALIVE_STATES", "SENDING_STATES",
]

CLOSED = "CLOSED"
LISTEN = "LISTEN"
SYN_SENT = "SYN_SENT"
SYN_RECEIVED = "SYN_RECEIVED"
ESTABLISHED = "ESTABLISHED"
FIN_WAIT_1 = "FIN_WAIT_1"
FIN_WAIT_2 = "FIN_WAIT_2"
CLOSE_WAIT = "CLOSE_WAIT"
CLOSING = "CLOSING"
LAST_ACK = "LAST_ACK"
TIME_WAIT = "TIME_WAIT"

#: The handshake completed.
EVENT_CONNECTED = "connected"
#: The peer's FIN arrived, after all the data before it.
EVENT_EOF = "eof"
#: The connection is over; the detail is one of the C{REASON_*} values.
EVENT_CLOSED = "closed"

REASON_DONE = "done"
REASON_RESET = "reset"
REASON_REFUSED = "refused"
REASON_TIMEOUT = "timeout"
REASON_ABORTED = "aborted"
REASON_UNREACHABLE = "unreachable"

#: States in which data may be received.
RECEIVING_STATES = frozenset([ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2])
#: States in which keepalives run.
KEEPALIVE_STATES = frozenset([ESTABLISHED, CLOSE_WAIT, FIN_WAIT_2])
#: States in which data and FIN may be sent.
SENDING_STATES = frozenset([ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, LAST_ACK, CLOSING])
