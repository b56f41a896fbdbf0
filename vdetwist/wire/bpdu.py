# -*- test-case-name: tests.wire.test_bpdu -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The BPDUs of vde_switch's FSTP ("fast spanning tree"), byte for byte as
vde_switch 2.3.2 sends them (docs/vde-protocol.md section 6).

They look like 802.1w RST BPDUs (802.3 length, LLC C{42 42 03}, protocol 0,
version 2, type 2) with two differences that make them vde_switch's own:
the timers are little-endian whole seconds, and the port identifier is
C{0x80 | (port >> 4)} followed by the port's low byte.  The tagged form has
an 802.1Q tag (PCP 0) between the source MAC and the length.

Untagged (53 bytes)::

    01 80 c2 00 00 00 | src (6) | 00 27 | 42 42 03 | 00 00 | 02 | 02 | flags
    root id (8) | root path cost (4, BE) | bridge id (8) | port id (2)
    age (2, LE) | max age (2, LE) | hello (2, LE) | forward delay (2, LE) | 00

Received BPDUs are read as vde_switch reads them: the frame is zero-padded
to 60 bytes first (vde_switch pads every short frame), only version and
type are checked, and the tag, when the frame is tagged, is skipped.
"""

import struct
from typing import Optional

from vdetwist.wire.ethernet import MalformedPacket

__all__ = [
    "BPDU_ADDRESS", "TC", "PROPOSAL", "ROLE_MASK", "ROLE_ROOT", "ROLE_DESIGNATED",
    "ROLE_ALTERNATE", "LEARNING", "FORWARDING", "AGREEMENT", "TC_ACK",
    "BPDU", "portIdentifier", "buildBPDU", "parseBPDU",
]

#: Where BPDUs go (the 802.1D bridge group address).
BPDU_ADDRESS = b"\x01\x80\xc2\x00\x00\x00"

#: Flag bits.
TC = 0x01
PROPOSAL = 0x02
ROLE_MASK = 0x0C
#: Role values (bits 2-3): 01 root, 10 alternate/backup, 11 designated.
ROLE_ROOT = 0x04
ROLE_ALTERNATE = 0x08
ROLE_DESIGNATED = 0x0C
LEARNING = 0x10
FORWARDING = 0x20
AGREEMENT = 0x40
TC_ACK = 0x80

#: After the Ethernet header: 802.3 length (39), LLC, protocol 0, version
#: 2, type 2, flags, root, cost, bridge, port, age, max age, hello, forward
#: delay (the timers little-endian), v1 length.
_BODY = struct.Struct("<2s3s2sBBB8s4s8s2sHHHHB")
_LENGTH = b"\x00\x27"
_LLC = b"\x42\x42\x03"
_PROTOCOL = b"\x00\x00"
#: vde_switch pads every frame shorter than this before it looks at it.
_PADDED = 60


class BPDU:
    """
    The fields of one FSTP BPDU.

    @ivar flags: the flag byte (L{TC}, L{PROPOSAL}, role, L{LEARNING},
        L{FORWARDING}, L{AGREEMENT}, L{TC_ACK}).
    @ivar root: the root's id, 8 bytes (priority, big-endian, then MAC).
    @ivar rootCost: the sender's cost to the root.
    @ivar bridge: the sender's id, 8 bytes.
    @ivar port: the port identifier, 2 bytes as sent.
    @ivar age: message age, seconds.
    @ivar maxAge: max age, seconds.
    @ivar hello: hello time, seconds.
    @ivar forwardDelay: forward delay, seconds.
    @ivar version: the protocol version (2).
    @ivar type: the BPDU type (2).
    """

    __slots__ = ("flags", "root", "rootCost", "bridge", "port", "age", "maxAge",
                 "hello", "forwardDelay", "version", "type")

    def __init__(self, flags: int, root: bytes, rootCost: int, bridge: bytes, port: bytes,
                 age: int = 0, maxAge: int = 40, hello: int = 4, forwardDelay: int = 0,
                 version: int = 2, type: int = 2) -> None:
        """
        @param flags: the flag byte.
        @param root: the root id.
        @param rootCost: the cost to the root.
        @param bridge: the sender's id.
        @param port: the 2-byte port identifier (see L{portIdentifier}).
        @param age: message age.
        @param maxAge: max age.
        @param hello: hello time.
        @param forwardDelay: forward delay.
        @param version: the version byte.
        @param type: the type byte.
        """
        self.flags = flags
        self.root = root
        self.rootCost = rootCost
        self.bridge = bridge
        self.port = port
        self.age = age
        self.maxAge = maxAge
        self.hello = hello
        self.forwardDelay = forwardDelay
        self.version = version
        self.type = type

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BPDU):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        return "BPDU(%s)" % (", ".join("%s=%r" % (n, getattr(self, n))
                                       for n in self.__slots__),)


def portIdentifier(port: int) -> bytes:
    """
    vde_switch's port identifier: C{0x80 | (port >> 4)}, then the port's low
    byte (not the standard priority nibble and 12-bit number).

    @param port: the port number.
    @return: 2 bytes.
    """
    return bytes(((0x80 | (port >> 4)) & 0xFF, port & 0xFF))


def buildBPDU(source: bytes, bpdu: BPDU, vlan: Optional[int] = None) -> bytes:
    """
    The frame vde_switch sends.

    @param source: the switch's MAC.
    @param bpdu: the fields (the age is stored modulo 2**16, as the C code
        stores its two low bytes).
    @param vlan: the VLAN of a tagged port, or L{None} for an untagged one.
    @return: 53 bytes untagged, 57 tagged.
    """
    body = _BODY.pack(_LENGTH, _LLC, _PROTOCOL, bpdu.version, bpdu.type, bpdu.flags,
                      bpdu.root, (bpdu.rootCost & 0xFFFFFFFF).to_bytes(4, "big"),
                      bpdu.bridge, bpdu.port, bpdu.age & 0xFFFF, bpdu.maxAge & 0xFFFF,
                      bpdu.hello & 0xFFFF, bpdu.forwardDelay & 0xFFFF, 0)
    if vlan is None:
        return BPDU_ADDRESS + source + body
    return BPDU_ADDRESS + source + bytes((0x81, 0, (vlan >> 8) & 0x0F, vlan & 0xFF)) + body


def parseBPDU(frame: bytes, tagged: bool = False) -> BPDU:
    """
    Read a BPDU as vde_switch does: pad to 60 bytes, skip the tag of a
    tagged frame, and accept only version 2, type 2.  The LLC and protocol
    bytes are not checked (vde_switch does not check them).

    @param frame: the whole frame, from the destination MAC.
    @param tagged: whether it carries an 802.1Q tag.
    @return: the fields.
    @raise MalformedPacket: for a frame shorter than an Ethernet header, or
        another version or type.
    """
    if len(frame) < (18 if tagged else 14):
        raise MalformedPacket("BPDU: %d bytes is shorter than its header" % (len(frame),))
    if len(frame) < _PADDED:
        frame = bytes(frame) + bytes(_PADDED - len(frame))
    (_, _, _, version, type, flags, root, cost, bridge, port, age, maxAge, hello,
     forwardDelay, _) = _BODY.unpack_from(frame, 16 if tagged else 12)
    if version != 2 or type != 2:
        raise MalformedPacket("BPDU: version %d type %d, not 2/2" % (version, type))
    return BPDU(flags, root, int.from_bytes(cost, "big"), bridge, port, age, maxAge, hello,
                forwardDelay, version, type)
