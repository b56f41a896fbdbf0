# -*- test-case-name: tests.switch.test_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{twistd vdeswitch}: a VDE switch with vde_switch's options and defaults.

    twistd -n vdeswitch -s /tmp/vde -M /tmp/mgmt

Differences from vde_switch r586, all deliberate: refused control requests
close the control stream (r586 leaves the client hanging), frames up to 9234
bytes pass (r586 truncates at 1518), access control uses the kernel's peer
credentials, and a management socket held by a live process is an error.
C{--mtu N} (not a vde_switch option) announces N to vdetwist's own clients
in C{DIR/.vdetwist} (L{vdetwist.vde.announce}), which they take as their
default MTU: jumbo frames between vdetwist's parts.

A failed start (C{-s} under a directory that does not exist, or where a
live switch serves; C{-M} on a live console) is one line on standard error
and exit status 1, with nothing left behind (L{vdetwist.service}).
C{vdetwist switch} (L{vdetwist.scripts.switch}) runs the same services with
vde_switch's whole command line, C{-d} and C{-p} included.
"""

import grp
import os
from typing import Any, Optional

from twisted.application import internet
from twisted.python import usage

from vdetwist.console.arguments import parseOctalMode
from vdetwist.links.options import CableOptions, checkCableOptions, makeCableManager
from vdetwist.observe.service import OBSERVE_PARAMETERS, checkObserveOptions
from vdetwist.version import VersionOption
from vdetwist.service import FaceService
from vdetwist.vde.url import defaultSocketDirectory
from vdetwist.wire.addr import parseMAC


def lookupGroup(name: str) -> int:
    """
    A group name or number as a gid.

    @param name: the name or number.
    @return: the gid.
    @raise usage.UsageError: when there is no such group.
    """
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise usage.UsageError("no such group: %r" % (name,))


class Options(VersionOption, CableOptions, usage.Options):
    """
    vde_switch's options, for C{twistd vdeswitch}; C{-h} is C{--help} and
    C{--version} prints vdetwist's version, as vde_switch's do.
    """

    command = "twistd vdeswitch"
    synopsis = "[options]"
    longdesc = ("A Virtual Distributed Ethernet switch. Debian's vde_plug, "
                "vde_plug2tap, slirpvde, wirefilter and QEMU plug into it; "
                "unixterm talks to its -M console.")

    optFlags = [
        ["hub", "x", "Hub mode: every frame to every port."],
        ["fstp", "F", "Run FSTP, vde_switch's fast spanning tree (loop protection "
         "shared with Debian's vde_switch -F)."],
    ]
    optParameters = [
        ["sock", "s", None, "Control socket directory "
         "(default /var/run/vde.ctl for root, /tmp/vde.ctl otherwise)."],
        ["mgmt", "M", None, "Management console socket."],
        ["numports", "n", 32, "Number of ports.", int],
        ["macaddr", None, None, "The switch's MAC (default 00:ff: and 4 random bytes)."],
        ["hashsize", None, 128, "MAC hash table size (rounded up to a power of two).", int],
        ["mode", "m", None, "Mode of the control and data sockets, octal (default 0600)."],
        ["dirmode", None, None, "Mode of the socket directory, octal "
         "(default derived from --mode, 02700)."],
        ["group", "g", None, "Group owning the sockets."],
        ["mgmtmode", None, "0600", "Mode of the management socket, octal."],
        ["mgmtgroup", None, None, "Group owning the management socket."],
        ["rcfile", "f", None, "Console commands to run at start."],
        ["mtu", None, 1500, "The MTU vdetwist's own clients (virtual hosts, slirp, vdetwist "
         "cat, vdetwist ns) default to, up to 9216: 9000 gives them jumbo frames; for a "
         "switch with no C tool (vde_plug2tap, slirpvde, wirefilter, QEMU) on it, nor a "
         "cable to one (docs/switch.txt, \"Jumbo frames\").", int],
        ["tap", "t", None, "A Linux tap device to add as one more port."],
        ["manhole", None, None, "Serve a manhole (Python shell over SSH) on this "
         "endpoint, e.g. ssh:2222:interface=127.0.0.1."],
        ["manhole-keys", None, None, "Authorized keys file for the manhole."],
        ["manhole-passwd", None, None, "username:password file for the manhole."],
    ] + OBSERVE_PARAMETERS

    compData = usage.Completions(optActions={
        "sock": usage.CompleteDirs(), "mgmt": usage.CompleteFiles(),
        "rcfile": usage.CompleteFiles()})

    def opt_h(self) -> None:
        """
        Display this help and exit.
        """
        self.opt_help()

    def postOptions(self) -> None:
        """
        Validate and convert the options.

        @raise usage.UsageError: with a clear message.
        """
        if self["numports"] < 1:
            raise usage.UsageError("--numports must be at least 1")
        if self["hub"] and self["fstp"]:
            raise usage.UsageError("-F (FSTP) cannot run in hub mode (-x)")
        if self["hashsize"] < 1:
            raise usage.UsageError("--hashsize must be at least 1")
        from vdetwist.vde.announce import MAX_MTU, MIN_MTU
        if not MIN_MTU <= self["mtu"] <= MAX_MTU:
            raise usage.UsageError("--mtu must be %d to %d" % (MIN_MTU, MAX_MTU))
        if self["macaddr"] is not None:
            try:
                self["macaddr"] = parseMAC(self["macaddr"])
            except ValueError:
                raise usage.UsageError("--macaddr: not a MAC address: %r" % (self["macaddr"],))
        for name in ("mode", "dirmode", "mgmtmode"):
            if self[name] is not None:
                try:
                    self[name] = parseOctalMode(self[name])
                except ValueError:
                    raise usage.UsageError("--%s: not an octal mode: %r" % (name, self[name]))
        if self["mode"] is None and self["dirmode"] is not None:
            self["mode"] = self["dirmode"] & 0o666
        elif self["mode"] is None:
            self["mode"] = 0o600
        for name in ("group", "mgmtgroup"):
            self[name] = -1 if self[name] is None else lookupGroup(self[name])
        if self["sock"] is None:
            self["sock"] = defaultSocketDirectory()
        self["sock"] = os.path.abspath(self["sock"])
        if os.path.exists(self["sock"]) and not os.path.isdir(self["sock"]):
            raise usage.UsageError("--sock: not a directory: %s" % (self["sock"],))
        if len(os.path.join(self["sock"], "000.65535")) > 107:
            raise usage.UsageError("--sock: path too long for a UNIX socket: %r" % (self["sock"],))
        if self["rcfile"] is not None and not os.path.isfile(self["rcfile"]):
            raise usage.UsageError("--rcfile: no such file: %r" % (self["rcfile"],))
        from vdetwist.manhole import checkManholeOptions
        checkManholeOptions(self)
        checkCableOptions(self)
        checkObserveOptions(self)


def makeService(options: Any, reactor: Optional[Any] = None,
                command: str = "vdeswitch") -> FaceService:
    """
    Build the switch: the control server, the console, the 1-second tick,
    and optionally a tap and a manhole, under a L{FaceService}: a start-up
    failure is one line on standard error, a non-zero exit status, and
    nothing left behind.

    @param options: parsed L{Options}.
    @param reactor: the reactor; without one (twistd), the global one,
        and a failed start ends the process with status 1.
    @param command: the name the failure line starts with.
    @return: the service; its C{switch} attribute is the running switch.
    """
    exitProcess = reactor is None
    if reactor is None:
        from twisted.internet import reactor as _reactor
        reactor = _reactor
    from vdetwist.switch.server import ControlServer
    from vdetwist.switch.switch import Switch

    top = FaceService(command, reactor, exitProcess=exitProcess)
    switch = Switch(numports=options["numports"], hub=options["hub"],
                    mac=options["macaddr"], hashSize=options["hashsize"],
                    mtu=options.get("mtu", 1500))
    top.switch = switch
    if options["fstp"]:
        switch.setFSTP(True)
    control = ControlServer(reactor, switch, options["sock"], mode=options["mode"],
                            dirMode=options["dirmode"], group=options["group"])
    control.setName("control")
    control.setServiceParent(top)
    top.setStartupContext(control, "cannot start the switch")
    top.control = control
    ticker = internet.TimerService(1, switch.tick)
    ticker.clock = reactor
    ticker.setName("tick")
    ticker.setServiceParent(top)

    if options["tap"]:
        from vdetwist.switch.tuntap import TapService
        tap = TapService(reactor, switch, options["tap"])
        tap.setServiceParent(top)
        top.setStartupContext(tap, "cannot open the tap %s" % (options["tap"],))

    top.cables = makeCableManager(reactor, switch, options, top)
    consoleFactory = _consoleFactory(reactor, switch, control, top.cables, options)
    top.console = consoleFactory
    if options["mgmt"]:
        from vdetwist.console.mgmt import ManagementService
        mgmt = ManagementService(reactor, consoleFactory, options["mgmt"],
                                 mode=options["mgmtmode"], group=options["mgmtgroup"])
        mgmt.setServiceParent(top)
        top.setStartupContext(mgmt, "cannot open the management console")
    if options["rcfile"]:
        consoleFactory.runRCFile(options["rcfile"])

    if options["manhole"]:
        from vdetwist.manhole import makeManholeService
        manhole = makeManholeService(options["manhole"], {"switch": switch, "control": control},
                                     keys=options["manhole-keys"],
                                     passwd=options["manhole-passwd"])
        manhole.setServiceParent(top)
        top.setStartupContext(manhole, "cannot start the manhole")
    from vdetwist.observe.service import Components, addObserveServices
    top.observer = addObserveServices(top, reactor, options, Components(
        "vdeswitch " + options["sock"], switch=switch, cables=top.cables, control=control))
    return top


def _consoleFactory(reactor: Any, switch: Any, control: Any, cables: Any,
                    options: Any) -> Any:
    """
    The console: the switch's commands, then the cables' when there is a
    cable manager; its C{shutdown} stops the reactor as vde_switch's
    C{shutdown} command exits the process.
    """
    from vdetwist.links.commands import CableCommands
    from vdetwist.switch.console import SwitchConsoleFactory

    def shutdown() -> None:
        reactor.callLater(0, _stop, reactor)

    return SwitchConsoleFactory(switch, controlServer=control, mgmtPath=options["mgmt"],
                                mgmtMode=options["mgmtmode"], shutdown=shutdown,
                                reactor=reactor,
                                tables=[CableCommands(cables)] if cables is not None else [])


def _stop(reactor: Any) -> None:
    """
    Stop the reactor if it is running.
    """
    if reactor.running:
        reactor.stop()
