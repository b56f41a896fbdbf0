# -*- test-case-name: tests.test_extras -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.extras}: what the optional parts need, and the one
line that says so.
"""

import sys

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.extras import EXTRAS, MissingExtra, hasExtra, installHint, missingExtra, requireExtra


class ExtrasTests(SynchronousTestCase):
    """
    L{missingExtra}, L{installHint}, L{requireExtra} and L{hasExtra}.
    """

    def hide(self, name: str) -> None:
        """
        Make C{name} fail to import for this test.

        @param name: a module name.
        """
        absent = name not in sys.modules
        saved = sys.modules.get(name)

        def restore() -> None:
            if absent:
                del sys.modules[name]
            else:
                sys.modules[name] = saved  # type: ignore[assignment]
        self.addCleanup(restore)
        sys.modules[name] = None  # type: ignore[assignment]

    def test_messages(self) -> None:
        """
        Each extra's message is one line: who needs it, its name, the pip
        command, what it pulls in, and the import error met.
        """
        self.assertEqual(set(EXTRAS), {"manhole", "ssh", "tls"})
        error = missingExtra("manhole", ImportError("No module named 'cryptography'"))
        self.assertIsInstance(error, ImportError)
        self.assertEqual(
            str(error),
            "the manhole needs the 'manhole' extra: %s (Twisted Conch, cryptography); "
            "No module named 'cryptography'" % (installHint("manhole"),))
        self.assertTrue(str(missingExtra("tls")).startswith("TLS cables need the 'tls' extra: "))
        self.assertTrue(str(missingExtra("ssh")).startswith("SSH cables need the 'ssh' extra: "))
        for extra in EXTRAS:
            self.assertNotIn("\n", str(missingExtra(extra)))

    def test_installHint(self) -> None:
        """
        On CPython the hint is plain pip; on PyPy it asks for
        cryptography's and bcrypt's wheels (pip would build the newest source).
        """
        self.assertEqual(installHint("tls", "CPython"), "pip install 'vdetwist[tls]'")
        self.assertEqual(installHint("tls", "PyPy"),
                         "pip install --only-binary=cryptography,bcrypt 'vdetwist[tls]'")

    def test_requireExtra(self) -> None:
        """
        L{requireExtra} raises L{MissingExtra} when the extra's modules do
        not import; L{hasExtra} says the same as a boolean.
        """
        self.hide("OpenSSL")
        error = self.assertRaises(MissingExtra, requireExtra, "tls")
        self.assertIn("'tls' extra", str(error))
        self.assertFalse(hasExtra("tls"))
        self.hide("twisted.conch.ssh.keys")
        self.assertRaises(MissingExtra, requireExtra, "manhole")
        self.assertRaises(MissingExtra, requireExtra, "ssh")
        self.assertFalse(hasExtra("ssh"))

    def test_present(self) -> None:
        """
        With the extras installed (CPython's default install) nothing is
        raised.
        """
        for extra in EXTRAS:
            requireExtra(extra)
            self.assertTrue(hasExtra(extra))

    if not all(hasExtra(extra) for extra in EXTRAS):
        test_present.skip = "the extras are not installed"  # type: ignore[attr-defined]
