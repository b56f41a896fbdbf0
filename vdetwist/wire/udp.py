# -*- test-case-name: tests.wire.test_udp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
UDP headers (RFC 768).

The checksum covers the IPv4 pseudo-header, so parsing and emitting take
the source and destination addresses.  A checksum field of 0 means the
sender computed none; a computed 0 is sent as 0xffff.
"""

import struct
from dataclasses import dataclass
from typing import Union

from vdetwist.wire.checksum import checksumForUDP, internetChecksum, pseudoHeaderSum
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["HEADER_LENGTH", "HEADER", "UDPView", "UDPRepr", "udpChecksumValid"]

PROTOCOL_UDP = 17

SOURCE_PORT_OFFSET = 0
DESTINATION_PORT_OFFSET = 2
LENGTH_OFFSET = 4
CHECKSUM_OFFSET = 6
HEADER_LENGTH = 8

#: Source port, destination port, length, checksum.
HEADER = struct.Struct("!HHHH")


def udpChecksumValid(source: bytes, destination: bytes, datagram: Buffer) -> bool:
    """
    Whether a UDP datagram's checksum is correct (or absent).

    @param source: the IPv4 source, 4 bytes.
    @param destination: the IPv4 destination, 4 bytes.
    @param datagram: the UDP header and payload, exactly the UDP length.
    @return: C{True} when the checksum field is 0 or verifies.
    """
    if datagram[6] == 0 and datagram[7] == 0:
        return True
    return internetChecksum(
        datagram, pseudoHeaderSum(source, destination, PROTOCOL_UDP, len(datagram))
    ) == 0


class UDPView:
    """
    A view over a UDP datagram.

    @ivar buffer: the IP payload.
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the UDP bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "UDPView":
        """
        Wrap C{buffer} after checking that it holds a header and that the
        length field is at least 8 and within the buffer.

        @param buffer: the UDP bytes.
        @return: the view.
        @raise MalformedPacket: the lengths are inconsistent.
        """
        if len(buffer) < HEADER_LENGTH:
            raise MalformedPacket(f"UDP datagram too short: {len(buffer)} bytes")
        view = cls(buffer)
        length = view.length
        if length < HEADER_LENGTH:
            raise MalformedPacket(f"UDP length field too small: {length}")
        if length > len(buffer):
            raise MalformedPacket(f"UDP datagram truncated: {len(buffer)} < {length}")
        return view

    @property
    def sourcePort(self) -> int:
        """
        The source port.
        """
        return int(struct.unpack_from("!H", self.buffer, SOURCE_PORT_OFFSET)[0])

    @property
    def destinationPort(self) -> int:
        """
        The destination port.
        """
        return int(struct.unpack_from("!H", self.buffer, DESTINATION_PORT_OFFSET)[0])

    @property
    def length(self) -> int:
        """
        The length field (header plus payload).
        """
        return int(struct.unpack_from("!H", self.buffer, LENGTH_OFFSET)[0])

    @property
    def checksum(self) -> int:
        """
        The checksum field.
        """
        return int(struct.unpack_from("!H", self.buffer, CHECKSUM_OFFSET)[0])

    @property
    def payload(self) -> Buffer:
        """
        The payload, up to the length field.
        """
        return self.buffer[HEADER_LENGTH:self.length]

    def checksumValid(self, source: bytes, destination: bytes) -> bool:
        """
        Whether the checksum is absent or correct.

        @param source: the IPv4 source, 4 bytes.
        @param destination: the IPv4 destination, 4 bytes.
        @return: the verdict.
        """
        return udpChecksumValid(source, destination, self.buffer[:self.length])


@dataclass(frozen=True)
class UDPRepr:
    """
    A UDP header as a value (the length and checksum are derived).

    @ivar sourcePort: the source port.
    @ivar destinationPort: the destination port.
    """

    sourcePort: int
    destinationPort: int

    @classmethod
    def parse(
        cls, view: UDPView, source: bytes, destination: bytes,
        verifyChecksum: bool = True,
    ) -> "UDPRepr":
        """
        Read a header from a checked view.

        @param view: a view made by L{UDPView.checked}.
        @param source: the IPv4 source, for the checksum.
        @param destination: the IPv4 destination, for the checksum.
        @param verifyChecksum: check the checksum when present.
        @return: the header.
        @raise MalformedPacket: the checksum is wrong, or the destination
            port is 0.
        """
        if view.destinationPort == 0:
            raise MalformedPacket("UDP destination port 0")
        if verifyChecksum and not view.checksumValid(source, destination):
            raise MalformedPacket("UDP checksum is wrong")
        return cls(view.sourcePort, view.destinationPort)

    def bufferLength(self) -> int:
        """
        Always 8.
        """
        return HEADER_LENGTH

    def emitInto(
        self, buffer: Union[bytearray, memoryview], payloadLength: int,
        source: bytes, destination: bytes, checksum: bool = True,
    ) -> None:
        """
        Write the header at the start of C{buffer}, whose payload must
        already be in place after it when C{checksum} is true.

        @param buffer: the UDP header and payload, writable.
        @param payloadLength: the payload's length.
        @param source: the IPv4 source, for the checksum.
        @param destination: the IPv4 destination, for the checksum.
        @param checksum: compute the checksum (else send 0).
        """
        length = HEADER_LENGTH + payloadLength
        HEADER.pack_into(buffer, 0, self.sourcePort, self.destinationPort, length, 0)
        if checksum:
            value = internetChecksum(
                memoryview(buffer)[:length],
                pseudoHeaderSum(source, destination, PROTOCOL_UDP, length),
            )
            struct.pack_into("!H", buffer, CHECKSUM_OFFSET, checksumForUDP(value))

    def emit(
        self, payload: Buffer, source: bytes, destination: bytes,
        checksum: bool = True,
    ) -> bytes:
        """
        Build a datagram.

        @param payload: the payload.
        @param source: the IPv4 source, for the checksum.
        @param destination: the IPv4 destination, for the checksum.
        @param checksum: compute the checksum (else send 0).
        @return: the UDP header and payload.
        """
        buffer = bytearray(HEADER_LENGTH) + payload
        self.emitInto(buffer, len(payload), source, destination, checksum)
        return bytes(buffer)
