# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What a process has to show: its switch, cable manager, slirp gateway and
virtual hosts, each optional, read through their public attributes.

The metrics collectors (L{vdetwist.observe.metrics}) and the web view
(L{vdetwist.observe.web}) both read a L{Components}; neither keeps
counters of its own.
"""

from typing import Any, Callable, Iterable, List, Optional, Tuple

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
    """

    def __init__(self, name: str = "vdetwist", switch: Any = None, cables: Any = None,
                 gateway: Any = None,
                 hosts: Optional[Callable[[], Iterable[Tuple[str, Any]]]] = None,
                 control: Any = None) -> None:
        """
        @param name: see L{name}.
        @param switch: see L{switch}.
        @param cables: see L{cables}.
        @param gateway: see L{gateway}.
        @param hosts: see L{hostsFn}; by default the hosts of the process's
            C{vde:} endpoint registry and the gateway's own host.
        @param control: see L{control}.
        """
        self.name = name
        self.switch = switch
        self.cables = cables
        self.gateway = gateway
        self.control = control
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
