# -*- test-case-name: tests.wire.test_arp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ARP packets (RFC 826) for IPv4 over Ethernet.

L{ARPView} describes any ARP packet (any hardware/protocol sizes) after
checking lengths; L{ARPRepr} accepts only Ethernet/IPv4 ARP, the only kind
vdetwist answers.
"""

import struct
from dataclasses import dataclass
from typing import Union

from vdetwist.wire.ethernet import ETHERTYPE_IPV4
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "OPERATION_REQUEST",
    "OPERATION_REPLY",
    "HARDWARE_ETHERNET",
    "PACKET_LENGTH",
    "ARPView",
    "ARPRepr",
]

OPERATION_REQUEST = 1
OPERATION_REPLY = 2
HARDWARE_ETHERNET = 1

#: Fixed-part offsets.
HARDWARE_TYPE_OFFSET = 0
PROTOCOL_TYPE_OFFSET = 2
HARDWARE_LENGTH_OFFSET = 4
PROTOCOL_LENGTH_OFFSET = 5
OPERATION_OFFSET = 6
#: The addresses start here; their offsets depend on the two lengths.
ADDRESSES_OFFSET = 8
FIXED_LENGTH = 8

#: Ethernet/IPv4 offsets.
SENDER_HARDWARE_OFFSET = 8
SENDER_PROTOCOL_OFFSET = 14
TARGET_HARDWARE_OFFSET = 18
TARGET_PROTOCOL_OFFSET = 24
#: The length of an Ethernet/IPv4 ARP packet.
PACKET_LENGTH = 28

#: All of an Ethernet/IPv4 ARP packet in one unpack.
PACKET = struct.Struct("!HHBBH6s4s6s4s")


class ARPView:
    """
    A view over an ARP packet.

    @ivar buffer: the packet (the Ethernet payload).
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the packet bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "ARPView":
        """
        Wrap C{buffer} after checking that it holds the fixed part and the
        four addresses its length fields announce.

        @param buffer: the packet bytes.
        @return: the view.
        @raise MalformedPacket: the packet is truncated.
        """
        if len(buffer) < FIXED_LENGTH:
            raise MalformedPacket(f"ARP packet too short: {len(buffer)} bytes")
        view = cls(buffer)
        if len(buffer) < view.packetLength:
            raise MalformedPacket(
                f"ARP packet truncated: {len(buffer)} < {view.packetLength} bytes"
            )
        return view

    @property
    def hardwareType(self) -> int:
        """
        The hardware type (1 for Ethernet).
        """
        return int(struct.unpack_from("!H", self.buffer, HARDWARE_TYPE_OFFSET)[0])

    @property
    def protocolType(self) -> int:
        """
        The protocol type (0x0800 for IPv4).
        """
        return int(struct.unpack_from("!H", self.buffer, PROTOCOL_TYPE_OFFSET)[0])

    @property
    def hardwareLength(self) -> int:
        """
        The length of a hardware address.
        """
        return int(self.buffer[HARDWARE_LENGTH_OFFSET])

    @property
    def protocolLength(self) -> int:
        """
        The length of a protocol address.
        """
        return int(self.buffer[PROTOCOL_LENGTH_OFFSET])

    @property
    def operation(self) -> int:
        """
        1 for a request, 2 for a reply.
        """
        return int(struct.unpack_from("!H", self.buffer, OPERATION_OFFSET)[0])

    @property
    def packetLength(self) -> int:
        """
        The length the header announces: 8 plus two of each address.
        """
        return FIXED_LENGTH + 2 * (self.hardwareLength + self.protocolLength)

    def _address(self, index: int) -> bytes:
        """
        One of the four addresses.

        @param index: 0 sender hardware, 1 sender protocol, 2 target
            hardware, 3 target protocol.
        @return: the address bytes.
        """
        hl, pl = self.hardwareLength, self.protocolLength
        start = ADDRESSES_OFFSET + (index + 1) // 2 * hl + index // 2 * pl
        length = pl if index & 1 else hl
        return bytes(self.buffer[start:start + length])

    @property
    def senderHardwareAddress(self) -> bytes:
        """
        The sender's hardware address.
        """
        return self._address(0)

    @property
    def senderProtocolAddress(self) -> bytes:
        """
        The sender's protocol address.
        """
        return self._address(1)

    @property
    def targetHardwareAddress(self) -> bytes:
        """
        The target's hardware address.
        """
        return self._address(2)

    @property
    def targetProtocolAddress(self) -> bytes:
        """
        The target's protocol address.
        """
        return self._address(3)


@dataclass(frozen=True)
class ARPRepr:
    """
    An Ethernet/IPv4 ARP packet as a value.

    @ivar operation: L{OPERATION_REQUEST} or L{OPERATION_REPLY}.
    @ivar senderHardwareAddress: 6 bytes.
    @ivar senderProtocolAddress: 4 bytes.
    @ivar targetHardwareAddress: 6 bytes (zeros in a request).
    @ivar targetProtocolAddress: 4 bytes.
    """

    operation: int
    senderHardwareAddress: bytes
    senderProtocolAddress: bytes
    targetHardwareAddress: bytes
    targetProtocolAddress: bytes

    @classmethod
    def parse(cls, view: ARPView) -> "ARPRepr":
        """
        Read an Ethernet/IPv4 request or reply from a checked view.

        @param view: a view made by L{ARPView.checked}.
        @return: the packet.
        @raise MalformedPacket: it is not Ethernet/IPv4 ARP, or the
            operation is neither request nor reply.
        """
        if (
            view.hardwareType != HARDWARE_ETHERNET
            or view.protocolType != ETHERTYPE_IPV4
            or view.hardwareLength != 6
            or view.protocolLength != 4
        ):
            raise MalformedPacket("ARP packet is not Ethernet/IPv4")
        operation = view.operation
        if operation not in (OPERATION_REQUEST, OPERATION_REPLY):
            raise MalformedPacket(f"unknown ARP operation {operation}")
        return cls(
            operation,
            view.senderHardwareAddress,
            view.senderProtocolAddress,
            view.targetHardwareAddress,
            view.targetProtocolAddress,
        )

    @classmethod
    def fromBytes(cls, packet: Buffer) -> "ARPRepr":
        """
        Parse untrusted bytes: L{ARPView.checked} then L{parse}.

        @param packet: the Ethernet payload.
        @return: the packet.
        @raise MalformedPacket: see L{ARPView.checked} and L{parse}.
        """
        return cls.parse(ARPView.checked(packet))

    def bufferLength(self) -> int:
        """
        Always 28.
        """
        return PACKET_LENGTH

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the packet at the start of C{buffer}.

        @param buffer: at least 28 writable bytes.
        """
        PACKET.pack_into(
            buffer, 0, HARDWARE_ETHERNET, ETHERTYPE_IPV4, 6, 4, self.operation,
            self.senderHardwareAddress, self.senderProtocolAddress,
            self.targetHardwareAddress, self.targetProtocolAddress,
        )

    def emit(self) -> bytes:
        """
        The packet's bytes.

        @return: 28 bytes.
        """
        buffer = bytearray(PACKET_LENGTH)
        self.emitInto(buffer)
        return bytes(buffer)
