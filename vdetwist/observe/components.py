# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What a process has to show: its switch, cable manager, slirp gateway and
virtual hosts, each optional, read through their public attributes.

The metrics collectors (L{vdetwist.observe.metrics}) and the web view
(L{vdetwist.observe.web}) both read a L{Components}; neither keeps
counters of its own.
"""

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from vdetwist.wire.addr import formatIPv4


def registryHosts() -> List[Tuple[str, Any]]:
    """
    The virtual hosts that C{vde:} endpoints made in this process.

    @return: C{(name, VirtualHost)} pairs, the name being the host's address.
    """
    from vdetwist.stack.endpoints import registry
    return [(formatIPv4(stackHost.address), stackHost.host) for stackHost in registry.attached()]


class Components:
    """
    The parts of one process that are observed.

    @ivar name: a name for the process (the page's title).
    @ivar switch: the L{vdetwist.switch.switch.Switch}, or L{None}.
    @ivar cables: the L{vdetwist.links.cable.CableManager}, or L{None}.
    @ivar gateway: the L{vdetwist.slirp.gateway.Gateway}, or L{None}.
    @ivar hostsFn: returns the C{(name, VirtualHost)} pairs to show.
    @ivar control: the switch's control server, or L{None}.
    @ivar attachments: returns the process's own switch attachments as
        C{(name, counters)} pairs (L{vdetwist.observe.metrics.AttachmentCollector}),
        or L{None}.
    """

    def __init__(self, name: str = "vdetwist", switch: Any = None, cables: Any = None,
                 gateway: Any = None,
                 hosts: Optional[Callable[[], Iterable[Tuple[str, Any]]]] = None,
                 control: Any = None,
                 attachments: Optional[Callable[[], Iterable[Tuple[str, Dict[str, int]]]]]
                 = None) -> None:
        """
        @param name: see L{name}.
        @param switch: see L{switch}.
        @param cables: see L{cables}.
        @param gateway: see L{gateway}.
        @param hosts: see L{hostsFn}; by default the hosts of the process's
            C{vde:} endpoint registry and the gateway's own host.
        @param control: see L{control}.
        @param attachments: see L{attachments}.
        """
        self.name = name
        self.switch = switch
        self.cables = cables
        self.gateway = gateway
        self.control = control
        self.attachments = attachments
        self.hostsFn = hosts if hosts is not None else self._defaultHosts

    def _defaultHosts(self) -> List[Tuple[str, Any]]:
        """
        The registry's hosts, and the gateway's.
        """
        hosts = registryHosts()
        if self.gateway is not None:
            hosts.append(("slirp " + formatIPv4(self.gateway.address), self.gateway.host))
        return hosts

    def hosts(self) -> List[Tuple[str, Any]]:
        """
        The virtual hosts.

        @return: C{(name, VirtualHost)} pairs.
        """
        return list(self.hostsFn())


def portDescription(port: Any) -> str:
    """
    What a port's endpoints call themselves, as one line.

    @param port: a L{vdetwist.switch.port.Port}.
    @return: the descriptions joined with C{", "} (empty when inactive).
    """
    return ", ".join(str(getattr(endpoint, "description", "") or "")
                     for endpoint in port.endpoints)


def activePorts(switch: Any) -> List[Any]:
    """
    The created ports of a switch.

    @param switch: the switch.
    @return: the ports, by number.
    """
    return [port for port in list(switch.ports) if port is not None]


def cableConnections(cables: Any) -> List[Tuple[Any, Any]]:
    """
    Every cable entry with each of its live connections.

    @param cables: the L{vdetwist.links.cable.CableManager}.
    @return: C{(entry, connection or None)} pairs, one C{None} row for an
        entry without connections.
    """
    rows: List[Tuple[Any, Any]] = []
    for cableID in sorted(cables.cables):
        entry = cables.cables[cableID]
        connections = list(entry.connections())
        if not connections:
            rows.append((entry, None))
        for connection in connections:
            rows.append((entry, connection))
    return rows


def relayCounters(relay: Any) -> Dict[str, int]:
    """
    C{vdetwist ns}'s tap relay (L{vdetwist.ns.relay.TapRelay}) in the
    names of L{vdetwist.vde.attach.SwitchAttachment.counters}: frames from
    the tap are sent to the switch, frames from the switch received.

    The relay counts frames, drops and errors over its whole life; bytes
    are its current attachment's (they start again from 0 when it
    attaches again, a counter reset Prometheus's C{rate} handles), and
    are left out while it has none.

    @param relay: the relay.
    @return: a new dict.
    """
    transport = relay.transport
    counters = {"framesOut": relay.framesIn, "framesIn": relay.framesOut,
                "drops": relay.drops, "errors": relay.errors,
                "attached": 0 if transport is None else 1}
    for key in ("bytesIn", "bytesOut"):
        value = getattr(transport, key, None)
        if isinstance(value, int):
            counters[key] = value
    return counters
