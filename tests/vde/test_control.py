# -*- test-case-name: tests.vde.test_control -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.control}: the control-socket handshake codec.

The fixtures are the bytes Debian's vdeplug4 4.0.1 C{vde_plug} sent to
Debian's C{vde_switch} 2.3.2+r586, captured with::

    vde_switch -d -s /tmp/cap/sw -M /tmp/cap/mgmt -p /tmp/cap/pid
    (sleep 0.5 | strace -f -e trace=sendto,recvfrom -s 300 -x \\
        vde_plug 'vde:///tmp/cap/sw[...]' >/dev/null)

They are annotated field by field after docs/vde-protocol.md section 1.3.
The capture ran as root with pid 4377 (for C{vde:///tmp/cap/sw}), 4370
(C{[5]}) and 4384 (C{[0]}); those values are part of the bytes.  The
legacy v1 request has no live sender (vdeplug4 only speaks v3), so it is
built from the v1 layout in section 1.3.
"""

import codecs
import struct
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.vde.control import (
    MAX_DESCRIPTION,
    REQ_NEW_CONTROL,
    REQ_NEW_PORT0,
    BadRequest,
    ControlRequest,
    decodeSockaddr,
    encodeReply,
    encodeSockaddr,
    parseReply,
    parseRequest,
    plausiblePrefix,
    requestSize,
)

#: The C{sendto} of C{vde_plug vde:///tmp/cap/sw}, exactly as strace -x
#: printed it (149 bytes).
STRACE_REQUEST_ANY = (
    r"\xce\xfa\xed\xfe\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00\x2f\x74"
    r"\x6d\x70\x2f\x63\x61\x70\x2f\x73\x77\x2f\x2e\x30\x34\x33\x37\x37"
    r"\x2d\x30\x30\x30\x30\x30\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x76\x64\x65\x70\x6c\x75"
    r"\x67\x3a\x20\x75\x73\x65\x72\x3d\x72\x6f\x6f\x74\x20\x70\x69\x64"
    r"\x3d\x34\x33\x37\x37"
)

#: The switch's reply to it (the C{recvfrom}, 110 bytes), as strace printed it.
STRACE_REPLY = (
    r"\x01\x00\x2f\x74\x6d\x70\x2f\x63\x61\x70\x2f\x73\x77\x2f\x30\x30"
    r"\x31\x2e\x36\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)


def straceBytes(text: str) -> bytes:
    """
    Decode a string as C{strace -x} prints it.

    @param text: the C{\\xNN} escapes between strace's quotes.
    @return: the bytes.
    """
    return codecs.escape_decode(text)[0]


# vde:///tmp/cap/sw -- "any free port".
REQUEST_ANY = (
    b"\xce\xfa\xed\xfe"  # magic 0xfeedface, host order (LE)
    b"\x03\x00\x00\x00"  # version 3
    b"\x00\x00\x00\x00"  # type: low byte 0 = REQ_NEW_CONTROL, port (>> 8) 0 = any
    b"\x01\x00"  # sun_family AF_UNIX (u16 LE)
    b"/tmp/cap/sw/.04377-00000"  # sun_path: DIR/.PPPPP-NNNNN (24 bytes)...
    + b"\x00" * 84  # ...NUL padded to 108
    + b"vdeplug: user=root pid=4377"  # description, not NUL-terminated
)
REQUEST_ANY_FIELDS: dict[str, Any] = dict(
    version=3,
    requestType=REQ_NEW_CONTROL,
    port=0,
    path=b"/tmp/cap/sw/.04377-00000",
    description="vdeplug: user=root pid=4377",
)

# vde:///tmp/cap/sw[5]
REQUEST_PORT5 = (
    b"\xce\xfa\xed\xfe"  # magic
    b"\x03\x00\x00\x00"  # version 3
    b"\x00\x05\x00\x00"  # type: REQ_NEW_CONTROL | (5 << 8)
    b"\x01\x00"  # AF_UNIX
    b"/tmp/cap/sw/.04370-00000"
    + b"\x00" * 84
    + b"vdeplug: user=root pid=4370"
)
REQUEST_PORT5_FIELDS: dict[str, Any] = dict(
    version=3,
    requestType=REQ_NEW_CONTROL,
    port=5,
    path=b"/tmp/cap/sw/.04370-00000",
    description="vdeplug: user=root pid=4370",
)

# vde:///tmp/cap/sw[0] -- vdeplug4 maps port 0 to REQ_NEW_PORT0.
REQUEST_PORT0 = (
    b"\xce\xfa\xed\xfe"  # magic
    b"\x03\x00\x00\x00"  # version 3
    b"\x01\x00\x00\x00"  # type: REQ_NEW_PORT0, no port bits
    b"\x01\x00"  # AF_UNIX
    b"/tmp/cap/sw/.04384-00000"
    + b"\x00" * 84
    + b"vdeplug: user=root pid=4384"
)
REQUEST_PORT0_FIELDS: dict[str, Any] = dict(
    version=3,
    requestType=REQ_NEW_PORT0,
    port=0,
    path=b"/tmp/cap/sw/.04384-00000",
    description="vdeplug: user=root pid=4384",
)

# Legacy v1 (old vde2 libvdeplug), from the section 1.3 layout.
REQUEST_V1 = (
    b"\xce\xfa\xed\xfe"  # magic
    b"\x00\x00\x00\x00"  # v1 type: REQ_NEW_CONTROL, any port (the v3 version slot)
    b"\x00\x00\x00\x00\x00\x00"  # 6-byte MAC, unused
    b"\x01\x00"  # AF_UNIX, at offset 14
    b"/tmp/old/.01234-00000"  # 21 bytes...
    + b"\x00" * 87  # ...NUL padded to 108
    + b"oldplug user=root PID=1234"  # description at offset 124
)
REQUEST_V1_FIELDS: dict[str, Any] = dict(
    version=1,
    requestType=REQ_NEW_CONTROL,
    port=0,
    path=b"/tmp/old/.01234-00000",
    description="oldplug user=root PID=1234",
)

# The reply to REQUEST_ANY: the switch's data socket DIR/<port %03d>.<fd>.
REPLY = (
    b"\x01\x00"  # sun_family AF_UNIX
    b"/tmp/cap/sw/001.6"  # port 1, switch fd 6 (17 bytes)...
    + b"\x00" * 91  # ...NUL padded to 108: 110 bytes in all
)


class CaptureTests(SynchronousTestCase):
    """
    The annotated fixtures are the captured bytes.
    """

    def test_requestIsCapture(self) -> None:
        """
        L{REQUEST_ANY} is byte for byte what strace recorded.
        """
        self.assertEqual(straceBytes(STRACE_REQUEST_ANY), REQUEST_ANY)
        self.assertEqual(len(REQUEST_ANY), 149)

    def test_replyIsCapture(self) -> None:
        """
        L{REPLY} is byte for byte what strace recorded, 110 bytes.
        """
        self.assertEqual(straceBytes(STRACE_REPLY), REPLY)
        self.assertEqual(len(REPLY), 110)


class RequestDecodeTests(SynchronousTestCase):
    """
    L{parseRequest} on well-formed requests.
    """

    def test_v3Any(self) -> None:
        """
        A request for any port decodes to type 0, port 0.
        """
        self.assertEqual(parseRequest(REQUEST_ANY), ControlRequest(**REQUEST_ANY_FIELDS))

    def test_v3Port5(self) -> None:
        """
        C{[5]} puts the port in the upper bits of the type.
        """
        self.assertEqual(
            parseRequest(REQUEST_PORT5), ControlRequest(**REQUEST_PORT5_FIELDS))

    def test_v3Port0(self) -> None:
        """
        C{[0]} is a REQ_NEW_PORT0 request.
        """
        self.assertEqual(
            parseRequest(REQUEST_PORT0), ControlRequest(**REQUEST_PORT0_FIELDS))

    def test_v1Legacy(self) -> None:
        """
        A request whose second word is 0 is the v1 layout, with the
        sockaddr at 14 and the description at 124.
        """
        self.assertEqual(parseRequest(REQUEST_V1), ControlRequest(**REQUEST_V1_FIELDS))

    def test_v1Port0(self) -> None:
        """
        A v1 request whose type is 1 is REQ_NEW_PORT0.
        """
        data = REQUEST_V1[:4] + b"\x01\x00\x00\x00" + REQUEST_V1[8:]
        request = parseRequest(data)
        self.assertEqual((request.version, request.requestType), (1, REQ_NEW_PORT0))

    def test_v1WithPortIsRejected(self) -> None:
        """
        A v1 request for port 5 has 0x500 where v3 has its version, so it is
        rejected as an unknown version, as r586 rejects it.
        """
        data = REQUEST_V1[:4] + b"\x00\x05\x00\x00" + REQUEST_V1[8:]
        self.assertRaises(BadRequest, parseRequest, data)

    def test_noDescription(self) -> None:
        """
        A 122-byte request (empty description) is valid.
        """
        request = parseRequest(REQUEST_ANY[:122])
        self.assertEqual(request.description, "")
        self.assertEqual(request.path, b"/tmp/cap/sw/.04377-00000")

    def test_descriptionStopsAtNUL(self) -> None:
        """
        The description ends at the first NUL, as the switch's C string does.
        """
        request = parseRequest(REQUEST_ANY[:122] + b"abc\x00def")
        self.assertEqual(request.description, "abc")

    def test_descriptionCapped(self) -> None:
        """
        A description longer than 127 bytes is cut at 127.
        """
        request = parseRequest(REQUEST_ANY[:122] + b"x" * 130)
        self.assertEqual(request.description, "x" * MAX_DESCRIPTION)

    def test_abstractPath(self) -> None:
        """
        An abstract-namespace path keeps its leading NUL.
        """
        data = (REQUEST_ANY[:12] + b"\x01\x00" + b"\x00abc" + b"\x00" * 104
                + b"d")
        self.assertEqual(parseRequest(data).path, b"\x00abc")

    def test_memoryview(self) -> None:
        """
        The parser accepts a memoryview as well as bytes.
        """
        self.assertEqual(
            parseRequest(memoryview(REQUEST_PORT5)),  # type: ignore[arg-type]
            ControlRequest(**REQUEST_PORT5_FIELDS))


class RequestEncodeTests(SynchronousTestCase):
    """
    L{ControlRequest.encode} produces the captured bytes.
    """

    def test_v3Any(self) -> None:
        """
        The any-port request encodes to the capture.
        """
        self.assertEqual(ControlRequest(**REQUEST_ANY_FIELDS).encode(), REQUEST_ANY)

    def test_v3Port5(self) -> None:
        """
        The port-5 request encodes to the capture.
        """
        self.assertEqual(
            ControlRequest(**REQUEST_PORT5_FIELDS).encode(), REQUEST_PORT5)

    def test_v3Port0(self) -> None:
        """
        The port-0 request encodes to the capture.
        """
        self.assertEqual(
            ControlRequest(**REQUEST_PORT0_FIELDS).encode(), REQUEST_PORT0)

    def test_v1(self) -> None:
        """
        A version-1 request encodes in the legacy layout.
        """
        self.assertEqual(ControlRequest(**REQUEST_V1_FIELDS).encode(), REQUEST_V1)


class MalformedRequestTests(SynchronousTestCase):
    """
    L{parseRequest} refuses what r586 refuses, with L{BadRequest}.
    """

    def assertBad(self, data: bytes, fragment: str) -> None:
        """
        Assert that C{data} is refused with a message containing C{fragment}.

        @param data: the request bytes.
        @param fragment: part of the expected message.
        """
        error = self.assertRaises(BadRequest, parseRequest, data)
        self.assertIn(fragment, str(error))

    def test_wrongMagic(self) -> None:
        """
        A magic other than 0xfeedface is refused.
        """
        self.assertBad(b"\x78\x56\x34\x12" + REQUEST_ANY[4:], "magic")

    def test_bigEndianMagic(self) -> None:
        """
        The magic in the wrong byte order is refused.
        """
        self.assertBad(b"\xfe\xed\xfa\xce" + REQUEST_ANY[4:], "magic")

    def test_version2(self) -> None:
        """
        Version 2 is refused.
        """
        self.assertBad(REQUEST_ANY[:4] + b"\x02\x00\x00\x00" + REQUEST_ANY[8:],
                       "version 2")

    def test_version4(self) -> None:
        """
        Version 4 is refused.
        """
        self.assertBad(REQUEST_ANY[:4] + b"\x04\x00\x00\x00" + REQUEST_ANY[8:],
                       "version 4")

    def test_type7(self) -> None:
        """
        A request type other than 0 and 1 is refused.
        """
        self.assertBad(REQUEST_ANY[:8] + b"\x07\x00\x00\x00" + REQUEST_ANY[12:],
                       "type 7")

    def test_type7WithPort(self) -> None:
        """
        Only the low byte is the type: 7 with port bits is still refused.
        """
        self.assertBad(REQUEST_ANY[:8] + b"\x07\x05\x00\x00" + REQUEST_ANY[12:],
                       "type 7")

    def test_shortAtEveryLength(self) -> None:
        """
        Every prefix shorter than the 122-byte fixed part is refused.
        """
        for length in range(122):
            self.assertRaises(BadRequest, parseRequest, REQUEST_ANY[:length])
        for length in range(124):
            self.assertRaises(BadRequest, parseRequest, REQUEST_V1[:length])

    def test_oversize(self) -> None:
        """
        More than the 256 bytes the switch reads at once is refused.
        """
        self.assertBad(REQUEST_ANY[:122] + b"x" * 135, "oversize")

    def test_largestAccepted(self) -> None:
        """
        256 bytes is the largest request accepted, and it parses whole: the
        fixed part as in L{REQUEST_ANY}, the description capped at
        L{MAX_DESCRIPTION} characters.
        """
        request = parseRequest(REQUEST_ANY[:122] + b"x" * 134)
        self.assertEqual(request, ControlRequest(
            **dict(REQUEST_ANY_FIELDS, description="x" * MAX_DESCRIPTION)))

    def test_emptyPath(self) -> None:
        """
        A sockaddr whose path is all NULs is refused.
        """
        self.assertBad(REQUEST_ANY[:14] + b"\x00" * 108 + b"d", "empty")

    def test_wrongFamily(self) -> None:
        """
        A sockaddr whose family is not AF_UNIX (1) is refused.
        """
        self.assertBad(REQUEST_ANY[:12] + b"\x02\x00" + REQUEST_ANY[14:], "AF_UNIX")


class SockaddrTests(SynchronousTestCase):
    """
    L{encodeSockaddr}, L{decodeSockaddr}, L{encodeReply} and L{parseReply}.
    """

    def test_encodeReply(self) -> None:
        """
        The reply is the 110-byte sockaddr of the data socket.
        """
        self.assertEqual(encodeReply(b"/tmp/cap/sw/001.6"), REPLY)

    def test_parseReply(self) -> None:
        """
        The client reads the data socket path out of the reply.
        """
        self.assertEqual(parseReply(REPLY), b"/tmp/cap/sw/001.6")

    def test_parseShortReply(self) -> None:
        """
        A reply shorter than 110 bytes is unusable.
        """
        for length in range(110):
            self.assertIsNone(parseReply(REPLY[:length]))

    def test_parseEmptyPathReply(self) -> None:
        """
        A reply with an empty path is unusable.
        """
        self.assertIsNone(parseReply(b"\x01\x00" + b"\x00" * 108))

    def test_parseWrongFamilyReply(self) -> None:
        """
        A reply whose family is not AF_UNIX is unusable.
        """
        self.assertIsNone(parseReply(b"\x02\x00" + REPLY[2:]))

    def test_longestPath(self) -> None:
        """
        A 107-byte path fits (a NUL follows it); 108 does not.
        """
        path = b"/" + b"a" * 106
        self.assertEqual(decodeSockaddr(encodeSockaddr(path)), path)
        self.assertRaises(ValueError, encodeSockaddr, path + b"a")

    def test_familyField(self) -> None:
        """
        The family is a little-endian u16 1.
        """
        self.assertEqual(struct.unpack_from("<H", encodeSockaddr(b"/x"))[0], 1)


class PartialRequestTests(SynchronousTestCase):
    """
    L{plausiblePrefix} and L{requestSize}: what the switch knows of a
    request before all of it came.
    """

    def test_plausiblePrefix(self) -> None:
        """
        Every prefix of the magic (and anything starting with it) is
        plausible; a wrong first byte is not.
        """
        request = ControlRequest(3, 0, 0, b"/x", "d").encode()
        for n in range(0, len(request) + 1):
            self.assertTrue(plausiblePrefix(request[:n]), n)
        self.assertFalse(plausiblePrefix(b"\xcf"))
        self.assertFalse(plausiblePrefix(b"\xce\xfa\xed\xff"))
        self.assertFalse(plausiblePrefix(struct.pack(">I", 0xFEEDFACE)))

    def test_requestSize(self) -> None:
        """
        122 bytes for v3 (and before the version is known), 124 for v1;
        a whole request of either layout is at least that long.
        """
        v3 = ControlRequest(3, 0, 0, b"/x", "").encode()
        v1 = ControlRequest(1, 0, 0, b"/x", "").encode()
        for n in range(8):
            self.assertEqual(requestSize(v3[:n]), 122)
            self.assertEqual(requestSize(v1[:n]), 122)
        self.assertEqual(requestSize(v3[:8]), 122)
        self.assertEqual(requestSize(v1[:8]), 124)
        self.assertEqual(len(v3), requestSize(v3))
        self.assertEqual(len(v1), requestSize(v1))
        self.assertEqual(requestSize(codecs.escape_decode(STRACE_REQUEST_ANY)[0]), 122)
