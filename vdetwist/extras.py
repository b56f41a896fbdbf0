# -*- test-case-name: tests.test_extras -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The optional parts and what they need installed.

The core (switch, stacks, slirp, cables over UNIX/TCP/commands, C{vdetwist
cat/plug/term/ns}) needs no cryptography.  The manhole and the SSH and TLS
cables do (Conch, pyOpenSSL, cryptography): on CPython they are in the
default install; on other interpreters (PyPy) they are the extras of
setup.cfg, and using them without the extra fails with one line naming the
extra to install (L{missingExtra}).
"""

import importlib
import platform
from typing import Optional

#: The extras of setup.cfg: what needs them, and what they pull in.
EXTRAS = {
    "manhole": ("the manhole needs", "Twisted Conch, cryptography"),
    "ssh": ("SSH cables need", "Twisted Conch, cryptography"),
    "tls": ("TLS cables need", "pyOpenSSL, cryptography"),
}


class MissingExtra(ImportError):
    """
    An optional part is used but its extra is not installed; the message is
    one line saying what to install.
    """


def installHint(extra: str, implementation: Optional[str] = None) -> str:
    """
    The pip command installing an extra.

    @param extra: the extra's name (a key of L{EXTRAS}).
    @param implementation: L{platform.python_implementation}'s answer (the
        running interpreter's by default).  On PyPy the hint asks for
        the binary wheels of cryptography and bcrypt: pip would otherwise
        take their newest source releases, which need Rust and the network.
    @return: the command.
    """
    if implementation is None:
        implementation = platform.python_implementation()
    if implementation == "PyPy":
        return "pip install --only-binary=cryptography,bcrypt 'vdetwist[%s]'" % (extra,)
    return "pip install 'vdetwist[%s]'" % (extra,)


def missingExtra(extra: str, error: Optional[BaseException] = None) -> MissingExtra:
    """
    The error for an optional part used without its extra.

    @param extra: the extra's name (a key of L{EXTRAS}).
    @param error: the L{ImportError} met, named in the message.
    @return: a L{MissingExtra} to raise, e.g. C{"the manhole needs the
        'manhole' extra: pip install 'vdetwist[manhole]' (Twisted Conch,
        cryptography)"}.
    """
    what, packages = EXTRAS[extra]
    message = "%s the %r extra: %s (%s)" % (what, extra, installHint(extra), packages)
    if error is not None:
        message += "; %s" % (error,)
    return MissingExtra(message)


def requireExtra(extra: str) -> None:
    """
    Check that an extra's modules import.

    @param extra: the extra's name (a key of L{EXTRAS}).
    @raise MissingExtra: when they do not.
    """
    try:
        if extra == "tls":
            importlib.import_module("OpenSSL")
            importlib.import_module("twisted.internet.ssl")
        else:
            importlib.import_module("twisted.conch.ssh.keys")
    except ImportError as e:
        raise missingExtra(extra, e) from None


def hasExtra(extra: str) -> bool:
    """
    Whether an extra's modules import (for tests that need it).

    @param extra: the extra's name (a key of L{EXTRAS}).
    @return: C{True} when L{requireExtra} passes.
    """
    try:
        requireExtra(extra)
    except MissingExtra:
        return False
    return True
