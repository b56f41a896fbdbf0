# -*- test-case-name: tests.vde.test_control -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The VDE control-socket handshake codec: requests (v3 and legacy v1) and the
110-byte C{sockaddr_un} reply (docs/vde-protocol.md section 1.3).

Pure: no I/O.  L{parseRequest} is the checked path for untrusted bytes; it
raises L{BadRequest} with a message fit for a log line.
"""

import struct
from dataclasses import dataclass
from typing import Optional

MAGIC = 0xFEEDFACE
VERSION = 3

REQ_NEW_CONTROL = 0
REQ_NEW_PORT0 = 1

#: C{struct sockaddr_un} size on Linux: 2-byte family + 108-byte path.
SOCKADDR_UN_SIZE = 110
SUN_PATH_SIZE = 108
AF_UNIX = 1

#: v3: magic, version, type, then sockaddr_un at 12, description at 122.
V3_SOCKADDR_OFFSET = 12
V3_DESCRIPTION_OFFSET = V3_SOCKADDR_OFFSET + SOCKADDR_UN_SIZE
#: v1: magic, type, 6-byte MAC, then sockaddr_un at 14, description at 124.
V1_SOCKADDR_OFFSET = 14
V1_DESCRIPTION_OFFSET = V1_SOCKADDR_OFFSET + SOCKADDR_UN_SIZE

#: The largest request the switch reads in one go (vde_switch reads 256 bytes).
MAX_REQUEST_SIZE = 256
#: Descriptions are capped as vdeplug4 caps them (MAXDESCR 128, minus the NUL).
MAX_DESCRIPTION = 127

_HEAD = struct.Struct("<III")
#: The magic as it starts a request on the wire (little-endian).
MAGIC_BYTES = struct.pack("<I", MAGIC)


class BadRequest(ValueError):
    """
    A control request that the switch must refuse; the message says why.
    """


@dataclass(frozen=True)
class ControlRequest:
    """
    A parsed control request.

    @ivar version: 3, or 1 for the legacy layout.
    @ivar requestType: L{REQ_NEW_CONTROL} or L{REQ_NEW_PORT0}.
    @ivar port: the requested port, 0 meaning "any free port" (ignored for
        L{REQ_NEW_PORT0}).
    @ivar path: the client's datagram socket path as bytes; a leading NUL
        marks an abstract name.
    @ivar description: the client's description, decoded leniently.
    """

    version: int
    requestType: int
    port: int
    path: bytes
    description: str

    def encode(self) -> bytes:
        """
        Serialise this request as a client library would send it.

        @return: the request bytes (v3 or v1 layout per C{version}).
        """
        kind = self.requestType if self.requestType == REQ_NEW_PORT0 else (
            self.requestType | (self.port << 8))
        sockaddr = encodeSockaddr(self.path)
        descr = self.description.encode("utf-8", "replace")[:MAX_DESCRIPTION]
        if self.version == 1:
            return struct.pack("<II6s", MAGIC, kind, b"\0" * 6) + sockaddr + descr
        return _HEAD.pack(MAGIC, VERSION, kind) + sockaddr + descr


def encodeSockaddr(path: bytes) -> bytes:
    """
    Build a 110-byte C{sockaddr_un} for C{path}, NUL padded.

    @param path: the socket path (at most 107 bytes, so a NUL follows).
    @return: 110 bytes.
    @raise ValueError: when the path is too long.
    """
    if len(path) >= SUN_PATH_SIZE:
        raise ValueError("socket path longer than 107 bytes: %r" % (path,))
    return struct.pack("<H", AF_UNIX) + path.ljust(SUN_PATH_SIZE, b"\0")


def decodeSockaddr(data: bytes) -> bytes:
    """
    Read the path out of a C{sockaddr_un}.

    @param data: at least 110 bytes, the family first.
    @return: the path, up to its first NUL (an abstract name keeps its
        leading NUL and runs to the last non-NUL byte).
    @raise BadRequest: when the data is short or the family is not AF_UNIX.
    """
    if len(data) < SOCKADDR_UN_SIZE:
        raise BadRequest("short sockaddr_un (%d bytes)" % (len(data),))
    (family,) = struct.unpack_from("<H", data, 0)
    if family != AF_UNIX:
        raise BadRequest("address family %d is not AF_UNIX" % (family,))
    raw = bytes(data[2:SOCKADDR_UN_SIZE])
    if raw[:1] == b"\0":
        return raw.rstrip(b"\0") and b"\0" + raw[1:].rstrip(b"\0")
    return raw.split(b"\0", 1)[0]


def plausiblePrefix(data: bytes) -> bool:
    """
    Whether C{data} can be the start of a request: its first bytes are
    (a prefix of) the magic.

    @param data: the bytes received so far.
    @return: C{False} when no request starts this way.
    """
    return MAGIC_BYTES.startswith(bytes(data[:4]))


def requestSize(data: bytes) -> int:
    """
    The fewest bytes a request that starts with C{data} has: 122 for v3,
    124 for the legacy v1 layout (known once the field at offset 4 is).  A
    control connection holding fewer has a partial request.

    @param data: the bytes received so far (any length).
    @return: the minimum request length.
    """
    if len(data) >= 8:
        (version,) = struct.unpack_from("<I", data, 4)
        if version in (0, 1):
            return V1_DESCRIPTION_OFFSET
    return V3_DESCRIPTION_OFFSET


def parseRequest(data: bytes) -> ControlRequest:
    """
    Parse one control request, checking every length before reading.

    @param data: the bytes of one read from the control stream.
    @return: the request.
    @raise BadRequest: for wrong magic, an unsupported version, a bad type,
        a short or oversize request, or an empty client path.
    """
    if len(data) > MAX_REQUEST_SIZE:
        raise BadRequest("oversize request (%d bytes)" % (len(data),))
    if len(data) < _HEAD.size:
        raise BadRequest("short request (%d bytes)" % (len(data),))
    magic, version, kind = _HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        raise BadRequest("bad magic 0x%08x (V0 request not supported)" % (magic,))
    if version == VERSION:
        sockOffset, descrOffset = V3_SOCKADDR_OFFSET, V3_DESCRIPTION_OFFSET
    elif version in (0, 1):
        # The v3 version field is the v1 type field.
        version, kind = 1, version
        sockOffset, descrOffset = V1_SOCKADDR_OFFSET, V1_DESCRIPTION_OFFSET
    else:
        raise BadRequest(
            "request for a version %d port, which this switch doesn't support"
            % (version,))
    requestType = kind & 0xFF
    if requestType not in (REQ_NEW_CONTROL, REQ_NEW_PORT0):
        raise BadRequest("bad request type %d" % (requestType,))
    if len(data) < descrOffset:
        raise BadRequest("short request (%d bytes)" % (len(data),))
    path = decodeSockaddr(data[sockOffset:descrOffset])
    if not path:
        raise BadRequest("empty client socket path")
    descr = bytes(data[descrOffset:]).split(b"\0", 1)[0][:MAX_DESCRIPTION]
    port = 0 if requestType == REQ_NEW_PORT0 else (kind >> 8) & 0xFFFFFF
    return ControlRequest(
        version=version,
        requestType=requestType,
        port=port,
        path=path,
        description=descr.decode("utf-8", "replace"),
    )


def encodeReply(path: bytes) -> bytes:
    """
    The switch's reply: the data socket's C{sockaddr_un}, exactly 110 bytes
    (a shorter reply leaves stale bytes in the client's buffer).

    @param path: the switch-side data socket path.
    @return: 110 bytes.
    """
    return encodeSockaddr(path)


def parseReply(data: bytes) -> Optional[bytes]:
    """
    Parse the switch's reply as a client.

    @param data: the bytes received.
    @return: the data socket path, or L{None} when the reply is unusable.
    """
    try:
        return decodeSockaddr(data) or None
    except BadRequest:
        return None
