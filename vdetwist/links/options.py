# -*- test-case-name: tests.links.test_cable_options -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The cable options of C{twistd vdeswitch} (C{--cable}, C{--cable-listen},
C{--vxlan}, C{--vxvde}, C{--link}) and the L{CableManager} they make.

This module composes the links package: it registers the VXLAN and vxvde
kinds (L{vdetwist.links.vxlan}) with the manager it makes, so the manager
itself imports no transport.
"""

from typing import Any, Optional

from twisted.internet.testing import MemoryReactor
from twisted.python.usage import UsageError

from vdetwist.interfaces import IPortProvider
from vdetwist.links import vxlan
from vdetwist.links.cable import CableManager
from vdetwist.links.cableendpoints import CableError, clientEndpoint, serverEndpoint
from vdetwist.links.linkemu import LinkParameters, LinkValueError


class CableOptions:
    """
    The cable options of C{twistd vdeswitch}, a mixin for its
    L{twisted.python.usage.Options}.  C{--cable}, C{--cable-listen} and
    C{--vxlan} repeat; C{--link} sets the link emulation of the one given
    just before it.  The parsed list is C{options["cableSpecs"]}: C{(kind,
    description, linkSpec)} tuples.
    """

    optFlags = [
        ["cables", None, "Offer the cable/* and link/* console commands even "
         "without --cable, --cable-listen or --vxlan."],
        ["no-loop-guard", None, "Do not probe cables for loops (see docs/cables.txt)."],
    ]

    def _addCableSpec(self, kind: str, description: str) -> None:
        """
        Record one cable option.

        @param kind: C{dial}, C{listen} or C{vxlan}.
        @param description: its argument.
        """
        specs = self.setdefault("cableSpecs", [])  # type: ignore[attr-defined]
        specs.append([kind, description, None])

    def opt_cable(self, description: str) -> None:
        """
        Dial a cable to a client endpoint, reconnecting when it drops (repeatable): tcp:HOST:PORT, unix:PATH, tls:HOST:PORT:certificate=C:privateKey=K:trustRoots=CADIR, ssh:USER@HOST[:PORT]:identity=KEY:command=vde_plug\ DIR.
        """
        self._addCableSpec("dial", description)

    def opt_cable_listen(self, description: str) -> None:
        """
        Accept cables on a server endpoint (repeatable): tcp:PORT, unix:PATH (mode 0600), tls:PORT:privateKey=K:certKey=C:trustRoots=CA (mutual TLS).
        """
        self._addCableSpec("listen", description)

    def opt_vxlan(self, description: str) -> None:
        """
        A VXLAN port as Linux's vxlan device (repeatable): LOCAL:PORT,VNI[,REMOTE[:PORT]...], e.g. 0.0.0.0:4789,42,192.0.2.7.
        """
        self._addCableSpec("vxlan", description)

    def opt_vxvde(self, description: str) -> None:
        """
        A vdeplug4 vxvde:// segment (repeatable): [GROUP[:PORT]][,VNI[,TTL]], defaults 239.0.0.1:14789,1,1; "" for all defaults.
        """
        self._addCableSpec("vxvde", description)

    def opt_link(self, spec: str) -> None:
        """
        Link emulation on the --cable, --cable-listen or --vxlan just before: name=value,... with loss, dup (%), delay (ms[+jitter]), bandwidth (bytes/s), mtu, capacity (bytes), values as wirefilter's [LR|RL]v[+j][K|M|G][U|N].
        """
        specs = self.get("cableSpecs")  # type: ignore[attr-defined]
        if not specs:
            raise UsageError("--link applies to a --cable, --cable-listen or "
                             "--vxlan given before it")
        specs[-1][2] = spec


def checkCableOptions(options: Any) -> None:
    """
    Validate the cable options without side effects (endpoints are built
    on a memory reactor, certificate files are read).

    @param options: the parsed options.
    @raise twisted.python.usage.UsageError: with a clear message.
    """
    reactor = MemoryReactor()  # type: ignore[no-untyped-call]
    for kind, description, linkSpec in options.get("cableSpecs", []):
        try:
            if kind == "dial":
                clientEndpoint(reactor, description)
            elif kind == "listen":
                serverEndpoint(reactor, description)
            elif kind == "vxvde":
                vxlan.parseVXVDESpec(description)
            else:
                vxlan.parseVXLANSpec(description)
            if linkSpec is not None:
                LinkParameters().setMany(linkSpec)
        except (CableError, LinkValueError, ValueError) as e:
            option = {"dial": "--cable", "listen": "--cable-listen",
                      "vxlan": "--vxlan", "vxvde": "--vxvde"}[kind]
            raise UsageError("%s %s: %s" % (option, description, e))


def makeCableManager(reactor: Any, switch: IPortProvider, options: Any,
                     parent: Any) -> Optional[CableManager]:
    """
    The cable manager C{twistd vdeswitch} runs, when any cable option (or
    C{--cables}) was given.

    @param reactor: the reactor.
    @param switch: the switch.
    @param options: the parsed options.
    @param parent: the service it joins.
    @return: the manager, or L{None}.
    """
    specs = options.get("cableSpecs", [])
    if not specs and not options.get("cables"):
        return None
    manager = CableManager(reactor, switch, loopGuard=not options.get("no-loop-guard"))
    vxlan.registerKinds(manager)
    for kind, description, linkSpec in specs:
        params = None
        if linkSpec is not None:
            params = LinkParameters()
            params.setMany(linkSpec)
        if kind == "dial":
            manager.dial(description, params)
        elif kind == "listen":
            manager.listen(description, params)
        elif kind == "vxvde":
            manager.addVXVDE(description, params)
        else:
            manager.addVXLAN(description, params)
    manager.setName("cables")  # type: ignore[no-untyped-call]
    manager.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return manager
