# -*- test-case-name: tests.wire.test_ethernet -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Ethernet II frames, with an optional IEEE 802.1Q VLAN tag.

Frames start at the destination MAC and carry no FCS (VDE never does).
L{EthernetView} reads the fields of an untrusted frame after checking its
length; L{EthernetRepr} is the frozen value that parses from a view and
emits a header.  Hot paths (the switch, the stack's demux) read the header
with one C{struct.unpack_from} of L{HEADER} instead.
"""

import struct
from dataclasses import dataclass
from typing import Optional, Union

from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "ETHERTYPE_IPV4",
    "ETHERTYPE_ARP",
    "ETHERTYPE_VLAN",
    "ETHERTYPE_IPV6",
    "HEADER_LENGTH",
    "VLAN_HEADER_LENGTH",
    "HEADER",
    "EthernetView",
    "EthernetRepr",
]


ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_IPV6 = 0x86DD

#: Field offsets of an untagged header.
DESTINATION_OFFSET = 0
SOURCE_OFFSET = 6
ETHERTYPE_OFFSET = 12
#: With an 802.1Q tag, the tag control information follows the 0x8100 TPID
#: and the real EtherType comes after it.
TCI_OFFSET = 14
INNER_ETHERTYPE_OFFSET = 16

HEADER_LENGTH = 14
VLAN_HEADER_LENGTH = 18
#: The smallest frame on a real wire without FCS (60 bytes); shorter
#: frames are padded by L{EthernetRepr.emit} when asked to.
MINIMUM_FRAME_LENGTH = 60

#: Destination, source, EtherType: the one unpack the hot paths use.
HEADER = struct.Struct("!6s6sH")
_TAG = struct.Struct("!HH")


class EthernetView:
    """
    A view over the bytes of an Ethernet frame.

    Build it with L{EthernetView.checked} for untrusted bytes: that checks
    the length (including the tag, when there is one) before any field is
    read.

    @ivar buffer: the frame.
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the frame bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "EthernetView":
        """
        Wrap C{buffer} after checking that it holds a whole header.

        @param buffer: the frame bytes.
        @return: the view.
        @raise MalformedPacket: the frame is shorter than its header.
        """
        if len(buffer) < HEADER_LENGTH:
            raise MalformedPacket(f"Ethernet frame too short: {len(buffer)} bytes")
        view = cls(buffer)
        if view.outerEtherType == ETHERTYPE_VLAN and len(buffer) < VLAN_HEADER_LENGTH:
            raise MalformedPacket(
                f"802.1Q-tagged frame too short: {len(buffer)} bytes"
            )
        return view

    @property
    def destination(self) -> bytes:
        """
        The destination MAC address, 6 bytes.
        """
        return bytes(self.buffer[DESTINATION_OFFSET:DESTINATION_OFFSET + 6])

    @property
    def source(self) -> bytes:
        """
        The source MAC address, 6 bytes.
        """
        return bytes(self.buffer[SOURCE_OFFSET:SOURCE_OFFSET + 6])

    @property
    def outerEtherType(self) -> int:
        """
        The EtherType right after the addresses (C{0x8100} for a tagged
        frame).
        """
        return int(struct.unpack_from("!H", self.buffer, ETHERTYPE_OFFSET)[0])

    @property
    def tagged(self) -> bool:
        """
        Whether the frame carries an 802.1Q tag.
        """
        return self.outerEtherType == ETHERTYPE_VLAN

    @property
    def etherType(self) -> int:
        """
        The EtherType of the payload (the inner one for a tagged frame).
        """
        if self.tagged:
            return int(struct.unpack_from("!H", self.buffer, INNER_ETHERTYPE_OFFSET)[0])
        return self.outerEtherType

    @property
    def tagControl(self) -> Optional[int]:
        """
        The 802.1Q tag control information (PCP, DEI, VID), or C{None}.
        """
        if not self.tagged:
            return None
        return int(struct.unpack_from("!H", self.buffer, TCI_OFFSET)[0])

    @property
    def vlan(self) -> Optional[int]:
        """
        The VLAN identifier (12 bits) of a tagged frame, or C{None}.
        """
        tci = self.tagControl
        return None if tci is None else tci & 0x0FFF

    @property
    def priority(self) -> int:
        """
        The 802.1Q priority code point (0 for an untagged frame).
        """
        tci = self.tagControl
        return 0 if tci is None else tci >> 13

    @property
    def headerLength(self) -> int:
        """
        14, or 18 for a tagged frame.
        """
        return VLAN_HEADER_LENGTH if self.tagged else HEADER_LENGTH

    @property
    def payload(self) -> Buffer:
        """
        The bytes after the header (including any padding).
        """
        return self.buffer[self.headerLength:]


@dataclass(frozen=True)
class EthernetRepr:
    """
    An Ethernet header as a value.

    @ivar destination: the destination MAC, 6 bytes.
    @ivar source: the source MAC, 6 bytes.
    @ivar etherType: the payload's EtherType.
    @ivar vlan: the 802.1Q VLAN identifier, or C{None} for an untagged
        frame.
    @ivar priority: the 802.1Q priority code point (tagged frames only).
    """

    destination: bytes
    source: bytes
    etherType: int
    vlan: Optional[int] = None
    priority: int = 0

    @classmethod
    def parse(cls, view: EthernetView) -> "EthernetRepr":
        """
        Read a header from a checked view.

        @param view: a view made by L{EthernetView.checked}.
        @return: the header.
        @raise MalformedPacket: the tag's drop-eligible bit is set (vdetwist
            does not relay such frames' semantics).
        """
        tci = view.tagControl
        if tci is not None and tci & 0x1000:
            raise MalformedPacket("802.1Q tag with the DEI/CFI bit set")
        return cls(
            destination=view.destination,
            source=view.source,
            etherType=view.etherType,
            vlan=view.vlan,
            priority=view.priority,
        )

    @classmethod
    def fromBytes(cls, frame: Buffer) -> "EthernetRepr":
        """
        Parse untrusted bytes: L{EthernetView.checked} then L{parse}.

        @param frame: the frame.
        @return: the header.
        @raise MalformedPacket: see L{EthernetView.checked} and L{parse}.
        """
        return cls.parse(EthernetView.checked(frame))

    def bufferLength(self) -> int:
        """
        The header's length: 14, or 18 with a VLAN tag.
        """
        return HEADER_LENGTH if self.vlan is None else VLAN_HEADER_LENGTH

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the header at the start of C{buffer}.

        @param buffer: at least L{bufferLength} writable bytes.
        """
        if self.vlan is None:
            HEADER.pack_into(buffer, 0, self.destination, self.source, self.etherType)
        else:
            HEADER.pack_into(buffer, 0, self.destination, self.source, ETHERTYPE_VLAN)
            _TAG.pack_into(
                buffer, TCI_OFFSET,
                ((self.priority & 7) << 13) | (self.vlan & 0x0FFF),
                self.etherType,
            )

    def emit(self, payload: Buffer = b"", pad: bool = False) -> bytes:
        """
        Build a whole frame.

        @param payload: the bytes after the header.
        @param pad: pad the frame with zeros to the 60-byte minimum.
        @return: the frame.
        """
        header = bytearray(self.bufferLength())
        self.emitInto(header)
        frame = bytes(header) + bytes(payload)
        if pad and len(frame) < MINIMUM_FRAME_LENGTH:
            frame += b"\0" * (MINIMUM_FRAME_LENGTH - len(frame))
        return frame
