# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The C{vdetwist} command: one subcommand per tool.

    vdetwist cat -s /tmp/vde --ip 192.168.77.100/24 -l -p 10000
"""

import sys
from typing import List, Optional

SUBCOMMANDS = {
    "cat": ("vdetwist.scripts.cat", "netcat on its own virtual TCP/IP stack"),
    "term": ("vdetwist.scripts.term", "a client for the switch's management console"),
    "plug": ("vdetwist.scripts.plug", "vde_plug: a switch on stdin/stdout or a command"),
}


def usage() -> str:
    """
    The top-level usage text.

    @return: the text.
    """
    lines = ["usage: vdetwist COMMAND [options]", "", "commands:"]
    for name, (_, help) in sorted(SUBCOMMANDS.items()):
        lines.append("  %-8s %s" % (name, help))
    lines.append("")
    lines.append("vdetwist COMMAND --help for a command's options.")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """
    Run a subcommand.

    @param argv: the arguments after the program name (C{sys.argv[1:]}).
    @return: the exit status.
    """
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name = argv[0]
    if name not in SUBCOMMANDS:
        print("vdetwist: unknown command %r\n\n%s" % (name, usage()), file=sys.stderr)
        return 2
    import importlib
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
