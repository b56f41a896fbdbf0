# -*- test-case-name: tests.scripts.test_slirp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist slirp}: vdetwist's NAT gateway with slirpvde's command line, so
a script written for slirpvde runs with C{vdetwist} in front.

    vdetwist slirp -d -p /tmp/slirp.pid -s /tmp/vde -n 192.168.77.0 \\
        -L30000:192.168.77.100:10000

It takes slirpvde's options, parsed as slirpvde parses them (one-dash
long options: C{-socket DIR}, C{-dhcp}, C{-daemon}, C{-network}; see
L{vdetwist.slirp.tap.longOnly}): those of C{twistd slirp}
(L{vdetwist.slirp.tap.Options}, which builds the same services), and
C{-d/--daemon}, C{-p/--pidfile}, C{-P/--port} (the switch port to ask
for), C{-m/--mod} and C{-g/--group} (accepted; the plug's data socket is
always the owner's only), C{-h/--help}, C{--version} (vdetwist's).  It runs
in the foreground unless C{-d}: then the command returns once slirp is
attached to its switch (0), or with the one line of a failed start (1); C{-p}
writes the daemon's pid, removed at exit.
"""

import os
import sys
from typing import Any, List

from twisted.logger import Logger
from twisted.python import usage

from vdetwist.slirp import tap

__all__ = ["Options", "main"]

_log = Logger()


class Options(tap.Options):
    """
    slirpvde's options.
    """

    command = "vdetwist slirp"

    optFlags = [
        ["daemon", "d", "Daemonize once attached to the switch."],
    ]
    optParameters = [
        ["pidfile", "p", None, "Write the daemon's pid to PIDFILE."],
        ["port", "P", None, "The switch port to ask for.", int],
        ["mod", "m", None, "Mode of the data socket (accepted, ignored: it is 0600)."],
        ["group", "g", None, "Group of the data socket (accepted, ignored)."],
    ]

    def postOptions(self) -> None:
        """
        slirp's checks, then absolute paths (the daemon changes directory
        to C{/}) and the port in the switch's URL.
        """
        super().postOptions()
        for name in ("mgmt", "pcap", "pidfile"):
            if self[name]:
                self[name] = os.path.abspath(self[name])
        sock = self["sock"]
        if "://" not in sock:
            sock = os.path.abspath(sock)
        if self["port"] is not None:
            if not 0 <= self["port"] <= 65535:
                raise usage.UsageError("--port must be 0 to 65535")
            if "[" in sock:
                raise usage.UsageError("the port is given twice (-P and the switch's [N])")
            sock = "%s[%d]" % (sock if "://" in sock else "vde://" + sock, self["port"])
        self["sock"] = sock


def _build(options: Options, reactor: Any) -> Any:
    """
    slirp's services, as C{twistd slirp} builds them.
    """
    if options["mod"] is not None or options["group"] is not None:
        _log.warn("-m and -g are ignored: the data socket is the owner's only")
    return tap.makeService(options, reactor, command=Options.command)


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist slirp}.

    @param argv: the arguments after C{slirp}.
    @return: the exit status.
    """
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        print("vdetwist slirp: %s (vdetwist slirp --help lists the options)" % (e,),
              file=sys.stderr)
        return 1
    from vdetwist.scripts.daemon import runService
    return runService(Options.command, options, _build)
