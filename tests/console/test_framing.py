# -*- test-case-name: tests.console.test_framing -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.framing}: result lines, replies and debug
lines as vde_switch r586 writes them (docs/vde-protocol.md section 4).
"""

import errno

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.console.framing import (
    DATA_END,
    DATA_START,
    END_OF_SESSION,
    LOGOUT,
    PROMPT,
    SHUTDOWN,
    debugLine,
    decode,
    encode,
    formatReply,
    resultLine,
)


class FramingTests(SynchronousTestCase):
    """
    The texts of the protocol.
    """

    def test_constants(self) -> None:
        """
        The prompt, the data block's first and last lines and the end of
        session, as r586 writes them.
        """
        self.assertEqual(PROMPT, b"\nvde$ ")
        self.assertEqual(DATA_START, "0000 DATA END WITH '.'")
        self.assertEqual(DATA_END, ".")
        self.assertEqual(END_OF_SESSION, b"9999 END OF SESSION")

    def test_resultLine(self) -> None:
        """
        C{1000 Success}, or C{1NNN} with the errno in three digits and its
        C{strerror}.
        """
        self.assertEqual(resultLine(0), "1000 Success\n")
        self.assertEqual(resultLine(errno.EINVAL), "1022 Invalid argument\n")
        self.assertEqual(resultLine(errno.ENOENT), "1002 No such file or directory\n")
        self.assertEqual(resultLine(errno.ENOSYS), "1038 Function not implemented\n")

    def test_formatReply(self) -> None:
        """
        The lines each end with a newline, then the result line; a reply
        that ends the session has no result line.
        """
        self.assertEqual(formatReply(0, [DATA_START, "a", DATA_END]),
                         "0000 DATA END WITH '.'\na\n.\n1000 Success\n")
        self.assertEqual(formatReply(errno.EEXIST, []), "1017 File exists\n")
        self.assertEqual(formatReply(LOGOUT, []), "")
        self.assertEqual(formatReply(SHUTDOWN, ["x"]), "x\n")

    def test_debugLine(self) -> None:
        """
        C{3}, the tag in three octal digits (9 bits), the category, the
        message.
        """
        self.assertEqual(debugLine(0o21, "port/+", "01"), b"3021 port/+ 01\n")
        self.assertEqual(debugLine(0o1011, "hash/+", "x"), b"3011 hash/+ x\n")

    def test_encodeDecode(self) -> None:
        """
        Undecodable bytes survive a round trip; text is UTF-8.
        """
        data = b"caf\xc3\xa9 \xff\xfe"
        self.assertEqual(encode(decode(data)), data)
        self.assertEqual(encode("\u00e9"), b"\xc3\xa9")
        self.assertEqual(encode("\ud800x"), b"\\ud800x")
