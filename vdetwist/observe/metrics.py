# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Prometheus metrics: C{--metrics ENDPOINT} serves C{/metrics}.

    twistd -n vdeswitch -s /tmp/vde --metrics tcp:9101:interface=127.0.0.1
    curl -s localhost:9101/metrics

The exposition is prometheus-client's, served by its Twisted resource
(L{prometheus_client.twisted.MetricsResource}).  The collectors here are
custom (L{prometheus_client.registry.Collector}): at scrape time they read
the counters the switch, the cables, slirp and the stacks already keep, so
nothing is computed per frame for the metrics.

prometheus-client's resource calls the collectors in a thread of the
reactor's pool; L{ReactorCollector} moves the reading into the reactor
thread (L{twisted.internet.threads.blockingCallFromThread}), so no table is
read while the reactor changes it.

Names have the prefix C{vdetwist_}, units in the name (C{_bytes},
C{_frames}) and C{_total} on counters.
"""

from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from twisted.python import threadable
from twisted.web.resource import Resource
from twisted.web.server import Site

from vdetwist.observe.components import (
    Components, activePorts, cableConnections, portDescription)
from vdetwist.wire.addr import formatIPv4

#: The switch's drop counters and their C{reason} label.
SWITCH_DROPS = (("runts", "runt"), ("oversize", "oversize"), ("vlanDrops", "vlan"),
                ("fstpDrops", "fstp"))

#: Endpoint drop counters (datagram endpoints) and their C{reason} label.
ENDPOINT_DROPS = (("drops", "client_buffer_full"), ("errors", "socket_error"),
                  ("oversize", "oversize"))


def _snake(name: str) -> str:
    """
    A camelCase counter name in snake_case (C{badChecksum} -> C{bad_checksum}).

    @param name: the name.
    @return: the converted name.
    """
    out = []
    for char in name:
        if char.isupper():
            out.append("_" + char.lower())
        else:
            out.append(char)
    return "".join(out).replace(".", "_")


class ReactorCollector(Collector):
    """
    A collector whose families are computed in the reactor thread.

    @ivar reactor: the reactor.
    """

    def __init__(self, reactor: Any) -> None:
        """
        @param reactor: the reactor the observed objects live in.
        """
        self.reactor = reactor

    def collect(self) -> Iterable[Metric]:
        """
        The families, computed in the reactor thread.

        @return: the metric families.
        """
        if threadable.isInIOThread() or not getattr(self.reactor, "running", False):
            return self.families()
        from twisted.internet.threads import blockingCallFromThread
        return blockingCallFromThread(self.reactor, self.families)  # type: ignore[no-any-return]

    def families(self) -> List[Metric]:
        """
        The metric families now (in the reactor thread).

        @return: a list of families.
        """
        raise NotImplementedError()


class SwitchCollector(ReactorCollector):
    """
    A switch's ports, drops, MAC table and VLANs.

    @ivar switch: the L{vdetwist.switch.switch.Switch}.
    """

    def __init__(self, reactor: Any, switch: Any) -> None:
        """
        @param reactor: the reactor.
        @param switch: the switch.
        """
        ReactorCollector.__init__(self, reactor)
        self.switch = switch

    def families(self) -> List[Metric]:
        """
        Per-port frames and bytes in and out, drops by reason, MAC table
        size and losses, VLANs and their members.
        """
        switch = self.switch
        labels = ["port", "vlan", "descr"]
        recvFrames = CounterMetricFamily(
            "vdetwist_port_received_frames", "Frames received from a switch port.", labels=labels)
        recvBytes = CounterMetricFamily(
            "vdetwist_port_received_bytes", "Bytes received from a switch port.", labels=labels)
        sentFrames = CounterMetricFamily(
            "vdetwist_port_sent_frames", "Frames sent to a switch port.", labels=labels)
        sentBytes = CounterMetricFamily(
            "vdetwist_port_sent_bytes", "Bytes sent to a switch port.", labels=labels)
        portDrops = CounterMetricFamily(
            "vdetwist_port_dropped_frames",
            "Frames not delivered to a port's endpoints, by reason.",
            labels=labels + ["reason"])
        endpoints = GaugeMetricFamily(
            "vdetwist_port_endpoints", "Endpoints attached to a port.", labels=labels)
        captured = GaugeMetricFamily(
            "vdetwist_port_capturing", "1 while the port is captured.", labels=labels)
        captureDrops = GaugeMetricFamily(
            "vdetwist_port_capture_dropped_frames",
            "Frames the running capture of a port could not write (a slow reader).",
            labels=labels)
        for port in activePorts(switch):
            values = [str(port.number), str(port.untagged), portDescription(port)]
            recvFrames.add_metric(values, port.inPackets)
            recvBytes.add_metric(values, port.inBytes)
            sentFrames.add_metric(values, port.outPackets)
            sentBytes.add_metric(values, port.outBytes)
            endpoints.add_metric(values, len(port.endpoints))
            captured.add_metric(values, 1 if port.capture is not None else 0)
            if port.capture is not None:
                captureDrops.add_metric(values, getattr(port.capture, "dropped", 0))
            for attribute, reason in ENDPOINT_DROPS:
                total = sum(int(getattr(e, attribute, 0) or 0) for e in port.endpoints)
                portDrops.add_metric(values + [reason], total)
        drops = CounterMetricFamily(
            "vdetwist_switch_dropped_frames",
            "Frames the switch dropped on entry, by reason.", labels=["reason"])
        for attribute, reason in SWITCH_DROPS:
            drops.add_metric([reason], getattr(switch, attribute, 0))
        fdb = switch.fdb
        macEntries = GaugeMetricFamily(
            "vdetwist_mac_table_entries", "Learned MAC addresses.", value=fdb.count)
        macMax = GaugeMetricFamily(
            "vdetwist_mac_table_max_entries", "The bound on learned MAC addresses.",
            value=fdb.maxEntries)
        macPortMax = GaugeMetricFamily(
            "vdetwist_mac_table_max_port_entries",
            "The bound on the MAC addresses one port learns (0: none).",
            value=fdb.maxPortEntries)
        evictions = CounterMetricFamily(
            "vdetwist_mac_table_evictions",
            "MAC entries evicted to learn a new one, by reason: the table was full "
            "(table) or the port was at its bound (port).", labels=["reason"])
        evictions.add_metric(["table"], fdb.evicted)
        evictions.add_metric(["port"], fdb.portEvicted)
        unlearned = CounterMetricFamily(
            "vdetwist_mac_table_unlearned_frames",
            "Frames whose source MAC was not learned (a table bound of 0); they are "
            "forwarded all the same.", value=fdb.dropped)
        families: List[Metric] = [recvFrames, recvBytes, sentFrames, sentBytes, portDrops,
                                  endpoints, captured, captureDrops, drops, macEntries,
                                  macMax, macPortMax, evictions, unlearned]
        vlans = GaugeMetricFamily("vdetwist_vlans", "VLANs defined.", value=len(switch.vlans))
        members = GaugeMetricFamily(
            "vdetwist_vlan_active_ports", "Active ports carrying a VLAN.",
            labels=["vlan", "mode"])
        vlanCapturing = GaugeMetricFamily(
            "vdetwist_vlan_capturing", "1 while the VLAN is streamed (vlan/stream).",
            labels=["vlan"])
        vlanCaptureDrops = GaugeMetricFamily(
            "vdetwist_vlan_capture_dropped_frames",
            "Frames the running stream of a VLAN could not write (a slow reader).",
            labels=["vlan"])
        vlanCaptures = getattr(switch, "vlanCaptures", {})
        for vid in sorted(switch.vlans):
            vlan = switch.vlans[vid]
            members.add_metric([str(vid), "untagged"], len(vlan.untaggedActive))
            members.add_metric([str(vid), "tagged"], len(vlan.taggedActive))
            capture = vlanCaptures.get(vid)
            vlanCapturing.add_metric([str(vid)], 0 if capture is None else 1)
            if capture is not None:
                vlanCaptureDrops.add_metric([str(vid)], getattr(capture, "dropped", 0))
        families += [vlans, members, vlanCapturing, vlanCaptureDrops,
                     GaugeMetricFamily("vdetwist_switch_ports", "Ports the switch has.",
                                       value=len(switch.ports)),
                     GaugeMetricFamily("vdetwist_switch_hub", "1 in hub mode.",
                                       value=1 if switch.hub else 0)]
        return families


class CableCollector(ReactorCollector):
    """
    The cables of a switch: state, traffic, reconnects and emulated
    losses.

    @ivar cables: the L{vdetwist.links.cable.CableManager}.
    """

    def __init__(self, reactor: Any, cables: Any) -> None:
        """
        @param reactor: the reactor.
        @param cables: the cable manager.
        """
        ReactorCollector.__init__(self, reactor)
        self.cables = cables

    def families(self) -> List[Metric]:
        """
        One C{vdetwist_cable_info} per entry and traffic per connection.
        """
        info = GaugeMetricFamily(
            "vdetwist_cable_info", "A cable entry (1), with its kind, state and description.",
            labels=["cable", "kind", "state", "descr"])
        up = GaugeMetricFamily("vdetwist_cable_connections", "Live connections of a cable.",
                               labels=["cable"])
        connects = CounterMetricFamily(
            "vdetwist_cable_connects", "Connections a dialing cable made (reconnects included).",
            labels=["cable"])
        attempts = GaugeMetricFamily(
            "vdetwist_cable_failed_attempts", "Connection attempts since the last success.",
            labels=["cable"])
        conn = ["cable", "peer", "port"]
        recvFrames = CounterMetricFamily(
            "vdetwist_cable_received_frames", "Frames received from a cable's peer.", labels=conn)
        recvBytes = CounterMetricFamily(
            "vdetwist_cable_received_bytes", "Bytes received from a cable's peer.", labels=conn)
        sentFrames = CounterMetricFamily(
            "vdetwist_cable_sent_frames", "Frames sent to a cable's peer.", labels=conn)
        sentBytes = CounterMetricFamily(
            "vdetwist_cable_sent_bytes", "Bytes sent to a cable's peer.", labels=conn)
        drops = CounterMetricFamily(
            "vdetwist_cable_dropped_frames", "Frames a cable did not carry, by reason.",
            labels=conn + ["reason"])
        emulated = CounterMetricFamily(
            "vdetwist_cable_emulated_frames",
            "Frames link emulation lost, duplicated or dropped, by event and direction.",
            labels=conn + ["event", "direction"])
        seen = set()
        for entry, connection in cableConnections(self.cables):
            cable = str(entry.cableID)
            if cable not in seen:
                seen.add(cable)
                info.add_metric([cable, entry.kind, entry.state(), str(entry.description)], 1)
                up.add_metric([cable], len(entry.connections()))
                if hasattr(entry, "connects"):
                    connects.add_metric([cable], entry.connects)
                    attempts.add_metric([cable], entry.attempts)
            if connection is None:
                continue
            portNumber = getattr(connection, "portNumber", None)
            values = [cable, str(getattr(connection, "peer", "")),
                      "" if portNumber is None else str(portNumber)]
            recvFrames.add_metric(values, getattr(connection, "framesIn", 0))
            recvBytes.add_metric(values, getattr(connection, "bytesIn", 0))
            sentFrames.add_metric(values, getattr(connection, "framesOut", 0))
            sentBytes.add_metric(values, getattr(connection, "bytesOut", 0))
            drops.add_metric(values + ["not_sent"], getattr(connection, "drops", 0))
            drops.add_metric(values + ["loop_guard"], getattr(connection, "blockedDrops", 0))
            link = getattr(connection, "link", None)
            if link is not None:
                for event, (out, into) in sorted(link.counters().items()):
                    emulated.add_metric(values + [_snake(event), "out"], out)
                    emulated.add_metric(values + [_snake(event), "in"], into)
        return [info, up, connects, attempts, recvFrames, recvBytes, sentFrames, sentBytes,
                drops, emulated]


class GatewayCollector(ReactorCollector):
    """
    slirp: forwards, NAT flows, refusals and DHCP leases.

    @ivar gateway: the L{vdetwist.slirp.gateway.Gateway}.
    """

    def __init__(self, reactor: Any, gateway: Any) -> None:
        """
        @param reactor: the reactor.
        @param gateway: the gateway.
        """
        ReactorCollector.__init__(self, reactor)
        self.gateway = gateway

    def families(self) -> List[Metric]:
        """
        Forwards (connections, bytes, failures), NAT flows by protocol,
        refusals by reason, DHCP leases.
        """
        gateway = self.gateway
        labels = ["protocol", "host", "host_port", "guest"]
        fwConnections = CounterMetricFamily(
            "vdetwist_slirp_forward_connections",
            "Connections (or UDP flows) a port forward started.", labels=labels)
        fwActive = GaugeMetricFamily(
            "vdetwist_slirp_forward_active_connections",
            "Live connections (or UDP flows) of a port forward.", labels=labels)
        fwFailed = CounterMetricFamily(
            "vdetwist_slirp_forward_refused_connections",
            "Connections a forward refused or could not complete (bound reached, guest "
            "unreachable).", labels=labels)
        fwBytes = CounterMetricFamily(
            "vdetwist_slirp_forward_bytes", "Bytes a forward relayed, by direction.",
            labels=labels + ["direction"])
        for key, forward in sorted(list(gateway.forwards.items()), key=lambda kv: kv[0][2]):
            protocol, hostAddress, _ = key
            spec = forward.spec
            values = [protocol, str(hostAddress or ""), str(forward.hostPort),
                      "%s:%d" % (formatIPv4(spec.guestAddress), spec.guestPort)]
            counters = forward.counters
            fwConnections.add_metric(values, counters.connections)
            fwActive.add_metric(values, counters.active)
            fwFailed.add_metric(values, counters.failed)
            fwBytes.add_metric(values + ["to_guest"], counters.bytesToGuest)
            fwBytes.add_metric(values + ["from_guest"], counters.bytesFromGuest)
        nat = gateway.nat
        flows = GaugeMetricFamily("vdetwist_slirp_nat_flows", "Live NAT flows, by protocol.",
                                  labels=["protocol"])
        flows.add_metric(["tcp"], len(nat.relays))
        flows.add_metric(["udp"], len(nat.udpFlows))
        flows.add_metric(["icmp"], len(nat.icmp.sockets))
        started = CounterMetricFamily("vdetwist_slirp_nat_flows_started",
                                      "NAT flows started, by protocol.", labels=["protocol"])
        natBytes = CounterMetricFamily("vdetwist_slirp_nat_bytes",
                                       "Bytes the NAT relayed, by protocol and direction.",
                                       labels=["protocol", "direction"])
        for protocol, counters in (("tcp", nat.tcpCounters), ("udp", nat.udpCounters)):
            started.add_metric([protocol], counters.connections)
            natBytes.add_metric([protocol, "to_guest"], counters.bytesToGuest)
            natBytes.add_metric([protocol, "from_guest"], counters.bytesFromGuest)
        refused = CounterMetricFamily(
            "vdetwist_slirp_nat_refusals", "NAT refusals and drops, by reason.",
            labels=["reason"])
        for reason, count in sorted(dict(nat.counters).items()):
            refused.add_metric([_snake(reason)], count)
        events = CounterMetricFamily("vdetwist_slirp_gateway_events",
                                     "Gateway events, by name.", labels=["event"])
        for name, count in sorted(dict(getattr(gateway, "counters", {})).items()):
            events.add_metric([_snake(name)], count)
        families: List[Metric] = [fwConnections, fwActive, fwFailed, fwBytes, flows, started,
                                  natBytes, refused, events]
        if gateway.dhcp is not None:
            leases = gateway.dhcp.leases(self.reactor.seconds())
            families.append(GaugeMetricFamily(
                "vdetwist_slirp_dhcp_leases", "DHCP leases and offers held.", value=len(leases)))
            families.append(GaugeMetricFamily(
                "vdetwist_slirp_dhcp_pool_addresses", "Addresses in the DHCP pool.",
                value=gateway.dhcp.poolSize))
        return families


#: TCP statistics given names of their own (the rest are in
#: C{vdetwist_host_tcp_events_total}).
TCP_NAMED = (
    ("retransmissions", "vdetwist_host_tcp_retransmitted_segments",
     "TCP segments retransmitted."),
    ("retransmissionTimeouts", "vdetwist_host_tcp_retransmission_timeouts",
     "TCP retransmission timeouts (RTOs) that fired."),
    ("badChecksums", "vdetwist_host_tcp_checksum_dropped_segments",
     "TCP segments dropped for a bad checksum."),
    ("synFloodDrops", "vdetwist_host_tcp_syn_queue_dropped_segments",
     "SYNs dropped because a listener's handshake queue was full."),
    ("segmentsReceived", "vdetwist_host_tcp_received_segments", "TCP segments received."),
    ("segmentsSent", "vdetwist_host_tcp_sent_segments", "TCP segments sent."),
)


#: The TCP layer's SYN cookie counters and their C{result} label.
SYN_COOKIES = (("synCookiesSent", "sent"), ("synCookiesValidated", "validated"),
               ("synCookiesFailed", "failed"))


#: Layer names for the C{protoN} prefixes of L{VirtualHost.counters}.
LAYER_NAMES = {"proto6": "tcp", "proto17": "udp", "proto1": "icmp"}


class HostCollector(ReactorCollector):
    """
    Each virtual host's interface, IP and TCP counters.

    @ivar hosts: returns the C{(name, VirtualHost)} pairs.
    """

    def __init__(self, reactor: Any, hosts: Callable[[], Iterable[Any]]) -> None:
        """
        @param reactor: the reactor.
        @param hosts: see L{hosts}.
        """
        ReactorCollector.__init__(self, reactor)
        self.hosts = hosts

    def families(self) -> List[Metric]:
        """
        Named TCP counters, IP checksum drops, and every other counter of
        each layer by event name.
        """
        named: Dict[str, Any] = {
            attr: CounterMetricFamily(name, doc, labels=["host"])
            for attr, name, doc in TCP_NAMED}
        ipChecksum = CounterMetricFamily(
            "vdetwist_host_ip_checksum_dropped_packets",
            "IPv4 packets dropped for a bad header checksum.", labels=["host"])
        frames = CounterMetricFamily("vdetwist_host_interface_frames",
                                     "Frames a virtual host's interface received and sent.",
                                     labels=["host", "direction"])
        connections = GaugeMetricFamily("vdetwist_host_tcp_connections",
                                        "TCP connections of a virtual host.", labels=["host"])
        cookies = CounterMetricFamily(
            "vdetwist_host_tcp_syn_cookies",
            "SYN cookies sent (the SYN queue full), and the ACKs that came back with a "
            "valid or an invalid one.", labels=["host", "result"])
        events = CounterMetricFamily(
            "vdetwist_host_events", "Every counter of a virtual host's layers, by layer and event.",
            labels=["host", "layer", "event"])
        for name, host in self.hosts():
            stats = host.tcp.stats
            for attr, family in named.items():
                family.add_metric([name], getattr(stats, attr, 0))
            ipCounters = host.ip.allCounters()
            ipChecksum.add_metric([name], ipCounters.get("badChecksum", 0))
            frames.add_metric([name, "received"], host.interface.counters["framesReceived"])
            frames.add_metric([name, "sent"], host.interface.counters["framesSent"])
            connections.add_metric([name], len(host.tcp.connections))
            for attr, result in SYN_COOKIES:
                cookies.add_metric([name, result], getattr(stats, attr, 0))
            for key, value in sorted(host.counters().items()):
                layer, _, event = key.partition(".")
                layer = LAYER_NAMES.get(layer, layer)
                events.add_metric([name, layer, _snake(event)], value)
        return list(named.values()) + [ipChecksum, frames, connections, cookies, events]


class ControlCollector(ReactorCollector):
    """
    A switch's control socket: the connections it refused, by kind, and
    the handshakes under way.

    @ivar control: the L{vdetwist.switch.server.ControlServer}.
    """

    def __init__(self, reactor: Any, control: Any) -> None:
        """
        @param reactor: the reactor.
        @param control: the control server.
        """
        ReactorCollector.__init__(self, reactor)
        self.control = control

    def families(self) -> List[Metric]:
        """
        C{vdetwist_control_refused_connections_total} by C{kind} (every
        kind the server knows, 0 until it happens) and the pending
        handshakes.
        """
        control = self.control
        refusals = dict(getattr(control, "refusals", {}))
        refused = CounterMetricFamily(
            "vdetwist_control_refused_connections",
            "Control connections the switch refused, by kind: request (malformed), partial "
            "and timeout (too slow), busy (too many handshakes), port (no port), socket "
            "(the data socket could not be made).", labels=["kind"])
        for kind in sorted(set(CONTROL_REFUSALS) | set(refusals)):
            refused.add_metric([kind], refusals.get(kind, 0))
        pending = GaugeMetricFamily(
            "vdetwist_control_pending_handshakes",
            "Control connections whose handshake is unfinished.",
            value=len(getattr(control, "pending", ())))
        return [refused, pending]


#: The kinds of L{vdetwist.switch.server.ControlServer.refusals}.
CONTROL_REFUSALS = ("busy", "partial", "port", "request", "socket", "timeout")

#: Attachment counters (L{vdetwist.vde.attach.SwitchAttachment.counters}'s
#: names) with a metric of their own: C{(key, name, help, kind)}.
ATTACHMENT_NAMED = (
    ("framesIn", "vdetwist_attachment_received_frames", "Frames received from the switch.",
     CounterMetricFamily),
    ("bytesIn", "vdetwist_attachment_received_bytes", "Bytes received from the switch.",
     CounterMetricFamily),
    ("framesOut", "vdetwist_attachment_sent_frames", "Frames sent to the switch.",
     CounterMetricFamily),
    ("bytesOut", "vdetwist_attachment_sent_bytes", "Bytes sent to the switch.",
     CounterMetricFamily),
    ("detachments", "vdetwist_attachment_detachments",
     "Times the switch went away (or the attachment ended).", CounterMetricFamily),
    ("reattachments", "vdetwist_attachment_reattachments",
     "Times the attachment was made again after the switch went away.",
     CounterMetricFamily),
    ("attached", "vdetwist_attachment_attached", "1 while attached to the switch.",
     GaugeMetricFamily),
)

#: Attachment drop counters and their C{reason} label.
ATTACHMENT_DROPS = (("drops", "dropped"), ("detachedDrops", "detached"),
                    ("errors", "error"))


class AttachmentCollector(ReactorCollector):
    """
    A process's own attachments to a switch (C{vdetwist cat}'s virtual
    host, C{vdetwist ns}'s tap relay): frames and bytes each way, drops,
    detachments.

    @ivar attachments: returns C{(name, counters)} pairs, the counters
        named as L{vdetwist.vde.attach.SwitchAttachment.counters} names
        them (a missing one is left out).
    """

    def __init__(self, reactor: Any,
                 attachments: Callable[[], Iterable[Tuple[str, Dict[str, int]]]]) -> None:
        """
        @param reactor: the reactor.
        @param attachments: see L{attachments}.
        """
        ReactorCollector.__init__(self, reactor)
        self.attachments = attachments

    def families(self) -> List[Metric]:
        """
        One family per counter, labelled with the attachment's name.
        """
        named = [(key, kind(name, doc, labels=["attachment"]))
                 for key, name, doc, kind in ATTACHMENT_NAMED]
        drops = CounterMetricFamily(
            "vdetwist_attachment_dropped_frames",
            "Frames an attachment did not carry, by reason: dropped (a full buffer, an "
            "oversized frame, no switch), detached (while the switch was away, counted in "
            "dropped too), error (a failed read or write).",
            labels=["attachment", "reason"])
        for name, counters in self.attachments():
            for key, family in named:
                if key in counters:
                    family.add_metric([name], counters[key])
            for key, reason in ATTACHMENT_DROPS:
                if key in counters:
                    drops.add_metric([name, reason], counters[key])
        return [family for _, family in named] + [drops]


def makeRegistry(reactor: Any, components: Components) -> CollectorRegistry:
    """
    A registry with a collector for each part the process has.

    @param reactor: the reactor.
    @param components: what to collect.
    @return: the registry (no default process/GC collectors: only
        vdetwist's).
    """
    registry = CollectorRegistry(auto_describe=False)
    if components.switch is not None:
        registry.register(SwitchCollector(reactor, components.switch))
    if components.cables is not None:
        registry.register(CableCollector(reactor, components.cables))
    if components.gateway is not None:
        registry.register(GatewayCollector(reactor, components.gateway))
    if components.control is not None:
        registry.register(ControlCollector(reactor, components.control))
    registry.register(HostCollector(reactor, components.hosts))
    if components.attachments is not None:
        registry.register(AttachmentCollector(reactor, components.attachments))
    return registry


def metricsResource(registry: CollectorRegistry) -> Any:
    """
    The C{/metrics} resource: prometheus-client's Twisted resource.

    @param registry: the registry.
    @return: a twisted.web resource.
    """
    from prometheus_client.twisted import MetricsResource
    return MetricsResource(registry)


class QuietSite(Site):
    """
    A site that does not log each request (scrapes come every few seconds).
    """

    def log(self, request: Any) -> None:
        """
        No access log.

        @param request: the request.
        """


def metricsSite(registry: CollectorRegistry) -> Site:
    """
    A site that serves C{/metrics} (and 404 elsewhere).

    @param registry: the registry.
    @return: a L{QuietSite}.
    """
    root = Resource()
    root.putChild(b"metrics", metricsResource(registry))
    site = QuietSite(root)
    site.displayTracebacks = False
    return site


def textExposition(registry: CollectorRegistry) -> str:
    """
    The exposition text now (for tests and the console).

    @param registry: the registry.
    @return: the text.
    """
    from prometheus_client.exposition import generate_latest
    return generate_latest(registry).decode("utf-8")


def iterSamples(registry: CollectorRegistry) -> Iterator[Any]:
    """
    Every sample of a registry.

    @param registry: the registry.
    @return: the samples.
    """
    for family in registry.collect():
        yield from family.samples


__all__ = ["Components", "ReactorCollector", "SwitchCollector", "CableCollector",
           "GatewayCollector", "HostCollector", "ControlCollector", "AttachmentCollector",
           "makeRegistry", "metricsResource",
           "metricsSite", "textExposition", "iterSamples"]

