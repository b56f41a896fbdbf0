# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The C{vdetwist} command: one subcommand per tool.

    vdetwist cat -s /tmp/vde --ip 192.168.77.100/24 -l -p 10000
    vdetwist switch -d -s /tmp/vde -M /tmp/mgmt -p /tmp/vde.pid
    vdetwist slirp -d -p /tmp/slirp.pid -s /tmp/vde -n 192.168.77.0 -L30000:192.168.77.100:10000

C{vdetwist --version} and C{vdetwist COMMAND --version} print vdetwist's
version (L{vdetwist.version.version}).
"""

import sys
from typing import List, Optional

SUBCOMMANDS = {
    "cat": ("vdetwist.scripts.cat", "netcat on its own virtual TCP/IP stack"),
    "term": ("vdetwist.scripts.term", "a client for the switch's management console"),
    "plug": ("vdetwist.scripts.plug", "vde_plug: a switch on stdin/stdout or a command"),
    "capture": ("vdetwist.scripts.capture", "a live pcap stream of a switch port on stdout"),
    "ns": ("vdetwist.scripts.ns", "any program in its own network view on the switch"),
    "switch": ("vdetwist.scripts.switch", "vde_switch: a switch, with vde_switch's options"),
    "slirp": ("vdetwist.scripts.slirp", "slirpvde: a NAT gateway, with slirpvde's options"),
}

#: The subcommands that run a TCP/IP stack: on PyPy they want a larger
#: nursery (L{vdetwist.runtime}); the others only relay frames.
STACK_COMMANDS = ("cat", "slirp")


def usage() -> str:
    """
    The top-level usage text.

    @return: the text.
    """
    lines = ["usage: vdetwist COMMAND [options]", "", "commands:"]
    for name, (_, help) in sorted(SUBCOMMANDS.items()):
        lines.append("  %-8s %s" % (name, help))
    lines.append("")
    lines.append("vdetwist COMMAND --help for a command's options; "
                 "vdetwist --version for the version.")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run a subcommand.

    @param argv: the arguments after the program name (C{sys.argv[1:]}).
    @return: the exit status.
    """
    from vdetwist.version import versionLine
    if argv is None and sys.argv[1:2] and sys.argv[1] in STACK_COMMANDS:
        from vdetwist.runtime import tuneInterpreter
        tuneInterpreter()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ("--version", "-V"):
        print(versionLine())
        return 0
    name = argv[0]
    if name not in SUBCOMMANDS:
        print("vdetwist: unknown command %r\n\n%s" % (name, usage()), file=sys.stderr)
        return 2
    if "--version" in _ownArguments(argv[1:]):
        print(versionLine("vdetwist " + name))
        return 0
    import importlib
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return module.main(argv[1:])


def _ownArguments(argv: List[str]) -> List[str]:
    """
    A subcommand's own arguments: those before C{=} (C{vdetwist plug URL =
    COMMAND...}) or C{--}, which belong to another program.

    @param argv: the arguments after the subcommand's name.
    @return: the leading part.
    """
    for index, arg in enumerate(argv):
        if arg in ("=", "--"):
            return argv[:index]
    return argv


if __name__ == "__main__":
    sys.exit(main())
