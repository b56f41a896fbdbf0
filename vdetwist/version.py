# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What every C{vdetwist} command shares: its version.

L{version} reads the installed package's metadata
(C{importlib.metadata.version("vdetwist")}), falling back to
L{vdetwist.__version__} when running from a checkout that is not
installed.  L{VersionOption} gives a L{twisted.python.usage.Options} a
C{--version} that prints it (instead of Twisted's).
"""

import sys
from typing import NoReturn


def version() -> str:
    """
    vdetwist's version.

    @return: e.g. C{"0.1.0.dev0"}.
    """
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as metadataVersion
        try:
            return metadataVersion("vdetwist")
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    import vdetwist
    return vdetwist.__version__


def versionLine(command: str = "vdetwist") -> str:
    """
    What C{--version} prints.

    @param command: the command's name (C{"vdetwist cat"}, ...).
    @return: C{"COMMAND (vdetwist) VERSION"}, or C{"vdetwist VERSION"}.
    """
    if command == "vdetwist":
        return "vdetwist %s" % (version(),)
    return "%s (vdetwist) %s" % (command, version())


class VersionOption:
    """
    A mixin for L{twisted.python.usage.Options}: C{--version} prints
    vdetwist's version and exits 0.

    @cvar command: the command's name in the line printed.
    """

    command = "vdetwist"

    def opt_version(self) -> NoReturn:
        """
        Print vdetwist's version and exit.
        """
        print(versionLine(self.command))
        sys.exit(0)
