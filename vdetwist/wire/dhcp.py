# -*- test-case-name: tests.wire.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
DHCP messages (RFC 2131) in BOOTP packets (RFC 951), with the options
(RFC 2132) a small DHCP server such as slirp's and a client need: 53
message type, 54 server identifier, 1 subnet mask, 3 router, 6 DNS
servers, 51 lease time, 58 renewal (T1) and 59 rebinding (T2) times, 50
requested address, 12 host name, 55 parameter request list, 61 client
identifier, and 255 end.  Other options are kept, raw, in
L{DHCPRepr.otherOptions}.
"""

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "OP_REQUEST",
    "OP_REPLY",
    "DHCPDISCOVER",
    "DHCPOFFER",
    "DHCPREQUEST",
    "DHCPDECLINE",
    "DHCPACK",
    "DHCPNAK",
    "DHCPRELEASE",
    "DHCPINFORM",
    "MAGIC_COOKIE",
    "SERVER_PORT",
    "CLIENT_PORT",
    "DHCPRepr",
    "parseOptions",
]

OP_REQUEST = 1
OP_REPLY = 2

DHCPDISCOVER = 1
DHCPOFFER = 2
DHCPREQUEST = 3
DHCPDECLINE = 4
DHCPACK = 5
DHCPNAK = 6
DHCPRELEASE = 7
DHCPINFORM = 8

SERVER_PORT = 67
CLIENT_PORT = 68

MAGIC_COOKIE = b"\x63\x82\x53\x63"

OPTION_PAD = 0
OPTION_SUBNET_MASK = 1
OPTION_ROUTER = 3
OPTION_DNS = 6
OPTION_HOST_NAME = 12
OPTION_REQUESTED_ADDRESS = 50
OPTION_LEASE_TIME = 51
OPTION_RENEWAL_TIME = 58
OPTION_REBINDING_TIME = 59
OPTION_MESSAGE_TYPE = 53
OPTION_SERVER_IDENTIFIER = 54
OPTION_PARAMETER_REQUEST_LIST = 55
OPTION_CLIENT_IDENTIFIER = 61
OPTION_END = 255

#: The options holding a time in seconds, and their L{DHCPRepr} fields.
_TIMES = {
    OPTION_LEASE_TIME: "leaseTime",
    OPTION_RENEWAL_TIME: "renewalTime",
    OPTION_REBINDING_TIME: "rebindingTime",
}

#: BOOTP field offsets.
OP_OFFSET = 0
HTYPE_OFFSET = 1
HLEN_OFFSET = 2
HOPS_OFFSET = 3
XID_OFFSET = 4
SECS_OFFSET = 8
FLAGS_OFFSET = 10
CIADDR_OFFSET = 12
YIADDR_OFFSET = 16
SIADDR_OFFSET = 20
GIADDR_OFFSET = 24
CHADDR_OFFSET = 28
SNAME_OFFSET = 44
FILE_OFFSET = 108
COOKIE_OFFSET = 236
OPTIONS_OFFSET = 240

#: The fixed BOOTP part without the cookie.
BOOTP_LENGTH = 236
#: The BOOTP minimum message (RFC 951: 300 bytes, options padded).
MINIMUM_LENGTH = 300

FLAG_BROADCAST = 0x8000

#: op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr,
#: chaddr (16), sname (64), file (128).
BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")

_ZERO = b"\0" * 4


def parseOptions(buffer: Buffer) -> List[Tuple[int, bytes]]:
    """
    Split DHCP options into (code, value) pairs, stopping at the end
    option; pad options are skipped.

    @param buffer: the bytes after the magic cookie.
    @return: the options in order.
    @raise MalformedPacket: an option runs past the buffer.
    """
    options = []
    i, size = 0, len(buffer)
    while i < size:
        code = buffer[i]
        if code == OPTION_END:
            break
        if code == OPTION_PAD:
            i += 1
            continue
        if i + 1 >= size:
            raise MalformedPacket(f"DHCP option {code} has no length")
        length = buffer[i + 1]
        if i + 2 + length > size:
            raise MalformedPacket(f"DHCP option {code} truncated")
        options.append((code, bytes(buffer[i + 2:i + 2 + length])))
        i += 2 + length
    return options


def _addresses(value: bytes, code: int) -> Tuple[bytes, ...]:
    """
    Split a list-of-addresses option value.

    @param value: the option value.
    @param code: the option code, for the error message.
    @return: 4-byte addresses.
    @raise MalformedPacket: the length is not a positive multiple of 4.
    """
    if not value or len(value) % 4:
        raise MalformedPacket(f"DHCP option {code} has bad length {len(value)}")
    return tuple(value[i:i + 4] for i in range(0, len(value), 4))


def _address(value: bytes, code: int) -> bytes:
    """
    Check a single-address option value.

    @param value: the option value.
    @param code: the option code, for the error message.
    @return: the 4-byte address.
    @raise MalformedPacket: the value is not 4 bytes.
    """
    if len(value) != 4:
        raise MalformedPacket(f"DHCP option {code} has bad length {len(value)}")
    return value


@dataclass(frozen=True)
class DHCPRepr:
    """
    A DHCP message as a value.  Options left C{None} (or empty) are not
    emitted.

    @ivar op: L{OP_REQUEST} (client) or L{OP_REPLY} (server).
    @ivar transactionID: the xid.
    @ivar clientHardwareAddress: the client's MAC, 6 bytes.
    @ivar messageType: option 53 (L{DHCPDISCOVER} ...), or C{None} for
        plain BOOTP.
    @ivar secs: seconds since the client began.
    @ivar broadcast: the broadcast flag.
    @ivar clientAddress: ciaddr.
    @ivar yourAddress: yiaddr.
    @ivar serverAddress: siaddr.
    @ivar relayAgentAddress: giaddr.
    @ivar serverIdentifier: option 54.
    @ivar subnetMask: option 1.
    @ivar routers: option 3.
    @ivar dnsServers: option 6.
    @ivar leaseTime: option 51, seconds.
    @ivar renewalTime: option 58, T1, seconds.
    @ivar rebindingTime: option 59, T2, seconds.
    @ivar requestedAddress: option 50.
    @ivar hostName: option 12.
    @ivar parameterRequestList: option 55, the option codes asked for.
    @ivar clientIdentifier: option 61.
    @ivar otherOptions: any other options, raw, in order.
    """

    op: int
    transactionID: int
    clientHardwareAddress: bytes
    messageType: Optional[int] = None
    secs: int = 0
    broadcast: bool = False
    clientAddress: bytes = _ZERO
    yourAddress: bytes = _ZERO
    serverAddress: bytes = _ZERO
    relayAgentAddress: bytes = _ZERO
    serverIdentifier: Optional[bytes] = None
    subnetMask: Optional[bytes] = None
    routers: Tuple[bytes, ...] = ()
    dnsServers: Tuple[bytes, ...] = ()
    leaseTime: Optional[int] = None
    renewalTime: Optional[int] = None
    rebindingTime: Optional[int] = None
    requestedAddress: Optional[bytes] = None
    hostName: Optional[bytes] = None
    parameterRequestList: Tuple[int, ...] = ()
    clientIdentifier: Optional[bytes] = None
    otherOptions: Tuple[Tuple[int, bytes], ...] = field(default=())

    @classmethod
    def fromBytes(cls, message: Buffer) -> "DHCPRepr":
        """
        Parse an untrusted BOOTP/DHCP message (the UDP payload).

        @param message: the bytes.
        @return: the message.
        @raise MalformedPacket: the message is truncated, its hardware type
            is not Ethernet, the cookie is missing, or an option is
            malformed.
        """
        if len(message) < OPTIONS_OFFSET:
            raise MalformedPacket(f"DHCP message too short: {len(message)} bytes")
        (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr,
         giaddr, chaddr, sname, filename) = BOOTP.unpack_from(message, 0)
        if op not in (OP_REQUEST, OP_REPLY):
            raise MalformedPacket(f"BOOTP op {op}")
        if htype != 1 or hlen != 6:
            raise MalformedPacket("BOOTP hardware is not Ethernet")
        if bytes(message[COOKIE_OFFSET:OPTIONS_OFFSET]) != MAGIC_COOKIE:
            raise MalformedPacket("DHCP magic cookie missing")
        values: Dict[str, object] = {}
        others = []
        for code, value in parseOptions(message[OPTIONS_OFFSET:]):
            if code == OPTION_MESSAGE_TYPE:
                if len(value) != 1:
                    raise MalformedPacket("DHCP message type option length")
                values["messageType"] = value[0]
            elif code == OPTION_SERVER_IDENTIFIER:
                values["serverIdentifier"] = _address(value, code)
            elif code == OPTION_SUBNET_MASK:
                values["subnetMask"] = _address(value, code)
            elif code == OPTION_REQUESTED_ADDRESS:
                values["requestedAddress"] = _address(value, code)
            elif code == OPTION_ROUTER:
                values["routers"] = _addresses(value, code)
            elif code == OPTION_DNS:
                values["dnsServers"] = _addresses(value, code)
            elif code in _TIMES:
                if len(value) != 4:
                    raise MalformedPacket(f"DHCP option {code} length")
                values[_TIMES[code]] = int.from_bytes(value, "big")
            elif code == OPTION_HOST_NAME:
                values["hostName"] = value
            elif code == OPTION_PARAMETER_REQUEST_LIST:
                values["parameterRequestList"] = tuple(value)
            elif code == OPTION_CLIENT_IDENTIFIER:
                values["clientIdentifier"] = value
            else:
                others.append((code, value))
        return cls(
            op=op, transactionID=xid, clientHardwareAddress=chaddr[:6],
            secs=secs, broadcast=bool(flags & FLAG_BROADCAST),
            clientAddress=ciaddr, yourAddress=yiaddr, serverAddress=siaddr,
            relayAgentAddress=giaddr, otherOptions=tuple(others),
            **values,  # type: ignore[arg-type]
        )

    def _options(self) -> bytes:
        """
        Encode the options, the end option last.

        @return: the bytes after the magic cookie.
        """
        out = bytearray()

        def put(code: int, value: bytes) -> None:
            out.append(code)
            out.append(len(value))
            out.extend(value)

        if self.messageType is not None:
            put(OPTION_MESSAGE_TYPE, bytes([self.messageType]))
        if self.serverIdentifier is not None:
            put(OPTION_SERVER_IDENTIFIER, self.serverIdentifier)
        if self.subnetMask is not None:
            put(OPTION_SUBNET_MASK, self.subnetMask)
        if self.routers:
            put(OPTION_ROUTER, b"".join(self.routers))
        if self.dnsServers:
            put(OPTION_DNS, b"".join(self.dnsServers))
        if self.leaseTime is not None:
            put(OPTION_LEASE_TIME, self.leaseTime.to_bytes(4, "big"))
        if self.renewalTime is not None:
            put(OPTION_RENEWAL_TIME, self.renewalTime.to_bytes(4, "big"))
        if self.rebindingTime is not None:
            put(OPTION_REBINDING_TIME, self.rebindingTime.to_bytes(4, "big"))
        if self.requestedAddress is not None:
            put(OPTION_REQUESTED_ADDRESS, self.requestedAddress)
        if self.hostName is not None:
            put(OPTION_HOST_NAME, self.hostName)
        if self.parameterRequestList:
            put(OPTION_PARAMETER_REQUEST_LIST, bytes(self.parameterRequestList))
        if self.clientIdentifier is not None:
            put(OPTION_CLIENT_IDENTIFIER, self.clientIdentifier)
        for code, value in self.otherOptions:
            put(code, value)
        out.append(OPTION_END)
        return bytes(out)

    def bufferLength(self) -> int:
        """
        The message length, padded to the 300-byte BOOTP minimum.
        """
        return max(MINIMUM_LENGTH, OPTIONS_OFFSET + len(self._options()))

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the message at the start of C{buffer} (zeroing the padding).

        @param buffer: at least L{bufferLength} writable bytes.
        """
        options = self._options()
        BOOTP.pack_into(
            buffer, 0, self.op, 1, 6, 0, self.transactionID, self.secs,
            FLAG_BROADCAST if self.broadcast else 0, self.clientAddress,
            self.yourAddress, self.serverAddress, self.relayAgentAddress,
            self.clientHardwareAddress, b"", b"",
        )
        end = max(MINIMUM_LENGTH, OPTIONS_OFFSET + len(options))
        buffer[COOKIE_OFFSET:OPTIONS_OFFSET] = MAGIC_COOKIE
        buffer[OPTIONS_OFFSET:end] = options + b"\0" * (end - OPTIONS_OFFSET - len(options))

    def emit(self) -> bytes:
        """
        The message's bytes.

        @return: the UDP payload.
        """
        buffer = bytearray(self.bufferLength())
        self.emitInto(buffer)
        return bytes(buffer)
