# -*- test-case-name: tests.test_tutorial_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{twistd vdetutorial}: the seed tutorial's whole network in one process.

    twistd -n vdetutorial

brings up a switch on /tmp/vde (console /tmp/mgmt), a slirp NAT gateway at
192.168.77.2 forwarding host ports 30000-30002 to port 10000 of
192.168.77.100-102, and three virtual hosts listening there that print
what they receive, as the tutorial's netcat listeners do.  Every part is
the one a user would run alone (C{twistd vdeswitch}, C{twistd slirp}, a
C{vde:} listening endpoint); here they attach to each other by call.
"""

import os
import socket
import sys
from typing import Any, List, Optional

from twisted.application import service
from twisted.internet import defer
from twisted.python import usage

from vdetwist.observe.service import OBSERVE_PARAMETERS, checkObserveOptions
from vdetwist.version import VersionOption
from vdetwist.service import FaceService, addStartupStep, reportStartupFailure
from vdetwist.wire.addr import formatIPv4, parseIPv4


class Options(VersionOption, usage.Options):
    """
    Where the tutorial's network lives.
    """

    optParameters = [
        ["sock", "s", "/tmp/vde", "The switch's socket directory."],
        ["mgmt", "M", "/tmp/mgmt", "The switch's console socket."],
        ["network", "n", "192.168.77.0", "The virtual LAN (a /24)."],
        ["base-port", "b", 30000, "The first forwarded host port.", int],
        ["hosts", None, 3, "How many virtual hosts (at .100, .101, ...).", int],
        ["guest-port", None, 10000, "The port the virtual hosts listen on.", int],
    ] + OBSERVE_PARAMETERS

    def postOptions(self) -> None:
        """
        Check the network, and that the host ports and sockets are free.

        @raise usage.UsageError: with what to do about it.
        """
        try:
            network = parseIPv4(self["network"])
        except ValueError as e:
            raise usage.UsageError(str(e))
        if not 1 <= self["hosts"] <= 100:
            raise usage.UsageError("--hosts must be between 1 and 100")
        self["addresses"] = [formatIPv4(network[:3] + bytes([100 + i]))
                             for i in range(self["hosts"])]
        self["gateway"] = formatIPv4(network[:3] + b"\x02")
        self["ports"] = [self["base-port"] + i for i in range(self["hosts"])]
        if not (1 <= self["ports"][0] and self["ports"][-1] <= 65535):
            raise usage.UsageError("--base-port out of range")
        for port in self["ports"]:
            reason = _portTaken(port)
            if reason:
                raise usage.UsageError(
                    "host port %d is taken (%s): another program, or a tutorial network "
                    "already running, uses it. Stop that, or pick other ports with "
                    "--base-port, e.g. --base-port %d" % (
                        port, reason, self["base-port"] + 1000))
        for path in (os.path.join(self["sock"], "ctl"), self["mgmt"]):
            if _answers(path):
                raise usage.UsageError(
                    "%s is in use by a running switch: stop it, or pick other paths "
                    "with --sock and --mgmt" % (path,))
        checkObserveOptions(self)


def _portTaken(port: int) -> Optional[str]:
    """
    Whether a TCP port cannot be listened on.

    @return: the reason, or L{None} when it is free.
    """
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
    except OSError as e:
        return e.strerror or str(e)
    finally:
        s.close()
    return None


def _answers(path: str) -> bool:
    """
    Whether a UNIX stream socket is served.
    """
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class HostsService(service.Service):
    """
    The virtual hosts: each listens on the guest port and prints what it
    receives.
    """

    def __init__(self, reactor: Any, sock: str, addresses: List[str], gateway: str,
                 port: int, out: Any = None) -> None:
        self.reactor = reactor
        self.sock = sock
        self.addresses = addresses
        self.gateway = gateway
        self.port = port
        self.out = out
        self.listening: List[Any] = []
        self.ready: defer.Deferred[None] = defer.Deferred()

    def write(self, line: str) -> None:
        """
        Print one line at once.
        """
        out = self.out if self.out is not None else sys.__stdout__
        out.write(line + "\n")
        out.flush()

    def startService(self) -> None:
        from vdetwist.stack.endpoints import VDEServerEndpoint
        from vdetwist.tutorial.listener import PrintingFactory
        service.Service.startService(self)
        ds = [VDEServerEndpoint(self.reactor, self.sock, address + "/24", self.port,
                                gateway=self.gateway).listen(PrintingFactory(self.write))
              for address in self.addresses]
        d = defer.gatherResults(ds, consumeErrors=True)
        def listening(ports: List[Any]) -> List[Any]:
            self.listening.extend(ports)
            return ports
        d.addCallback(listening)
        d.addBoth(self.ready.callback)
        addStartupStep(self, self.ready)

    def stopService(self) -> Any:
        service.Service.stopService(self)
        return defer.gatherResults([defer.maybeDeferred(p.stopListening)
                                    for p in self.listening])


def banner(options: Any) -> str:
    """
    What to tell the user once the network is up.
    """
    lines = ["", "The tutorial's network is up:",
             "  switch   %s   console: vdetwist term %s port/print  (or unixterm %s)" % (
                 options["sock"], options["mgmt"], options["mgmt"]),
             "  slirp    %s, forwarding:" % (options["gateway"],)]
    for port, address in zip(options["ports"], options["addresses"]):
        lines.append("             localhost:%d -> %s:%d  (a virtual host printing what it gets)"
                     % (port, address, options["guest-port"]))
    lines += ["  try      nc -N localhost %d <<< hello" % (options["ports"][0],),
              "  Ctrl-C stops everything and removes the sockets.", ""]
    return "\n".join(lines)


def makeService(options: Any, reactor: Optional[Any] = None) -> FaceService:
    """
    The switch, then slirp, then the hosts, all in this process, under
    one L{FaceService}: a part that cannot start ends the whole with one
    line and status 1, leaving nothing behind.

    @param options: parsed L{Options}.
    @param reactor: the reactor; without one (twistd), the global one,
        and a failed start ends the process with status 1.
    @return: the service.
    """
    exitProcess = reactor is None
    if reactor is None:
        from vdetwist.runtime import tuneInterpreter
        tuneInterpreter()
        from twisted.internet import reactor as _reactor
        reactor = _reactor
    from vdetwist.slirp import tap as slirpTap
    from vdetwist.switch import tap as switchTap

    top = FaceService("vdetutorial", reactor, exitProcess=exitProcess)
    switchOptions = switchTap.Options()
    switchOptions.parseOptions(["-s", options["sock"], "-M", options["mgmt"]])
    switchService = switchTap.makeService(switchOptions, reactor)
    switchService.setServiceParent(top)
    top.switch = switchService.switch  # type: ignore[attr-defined]

    slirpArgs = ["-s", options["sock"], "-n", options["network"], "-q"]
    for port, address in zip(options["ports"], options["addresses"]):
        slirpArgs.append("-L%d:%s:%d" % (port, address, options["guest-port"]))
    slirpOptions = slirpTap.Options()
    slirpOptions.parseOptions(slirpArgs)
    slirpService = slirpTap.makeService(slirpOptions, reactor)
    slirpService.setServiceParent(top)
    top.gateway = slirpService.gateway  # type: ignore[attr-defined]

    hosts = HostsService(reactor, options["sock"], options["addresses"], options["gateway"],
                         options["guest-port"])
    hosts.setServiceParent(top)
    top.hosts = hosts  # type: ignore[attr-defined]

    def announce(result: Any) -> None:
        if isinstance(result, list):
            hosts.write(banner(options))
            return
        cause = "the virtual hosts could not start: %s" % (result.getErrorMessage(),)
        if not reportStartupFailure(hosts, cause):
            hosts.write("vdetwist tutorial: " + cause)
    hosts.ready.addBoth(announce)
    from vdetwist.observe.service import Components, addObserveServices
    top.observer = addObserveServices(  # type: ignore[attr-defined]
        top, reactor, options, Components(
            "vdetutorial " + options["sock"], switch=switchService.switch,
            cables=switchService.cables, gateway=slirpService.gateway,
            control=switchService.control))
    return top
