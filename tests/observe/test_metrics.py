# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.observe.metrics}: the exposition of a running
network, read as Prometheus reads it.
"""

import socket
import time

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.observe.tutorial import Tutorial, freePort, httpGet
from vdetwist.observe.components import Components
from vdetwist.observe.metrics import makeRegistry, textExposition
from vdetwist.observe.service import checkObserveOptions, endpointDescription


def samples(text: str) -> dict:
    """
    The samples of an exposition, parsed by prometheus-client's parser.

    @return: C{{(name, frozenset(labels.items())): value}}.
    """
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def byName(parsed: dict, name: str, **labels: str) -> list:
    """
    The samples of one name whose labels include C{labels}.
    """
    return [(dict(key[1]), value) for key, value in parsed.items()
            if key[0] == name and all(dict(key[1]).get(k) == v for k, v in labels.items())]


class InProcessTests(SynchronousTestCase):
    """
    The collectors on objects built in the test.
    """

    def test_switch(self) -> None:
        """
        A switch's ports with their counters and description, the MAC
        table and VLANs; the exposition parses.
        """
        from vdetwist.switch.switch import Switch
        switch = Switch(numports=8)
        received = []

        class Receiver:
            def frameReceived(self, frame):
                received.append(frame)
        a = switch.attach(Receiver(), "host a")
        switch.attach(Receiver(), "host b")
        frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + b"x" * 100
        a.sendFrame(frame)
        parsed = samples(textExposition(makeRegistry(Clock(), Components(
            switch=switch, hosts=lambda: []))))
        self.assertEqual(byName(parsed, "vdetwist_port_received_bytes_total", port="1"),
                         [({"port": "1", "vlan": "0", "descr": "host a"}, len(frame))])
        self.assertEqual(byName(parsed, "vdetwist_port_sent_frames_total", port="2")[0][1], 1)
        self.assertEqual(byName(parsed, "vdetwist_mac_table_entries")[0][1], 1)
        self.assertEqual(byName(parsed, "vdetwist_vlan_active_ports", vlan="0",
                                mode="untagged")[0][1], 2)

    def test_macTableAndControl(self) -> None:
        """
        MAC table evictions by reason, as the forwarding database counts
        them, and the control server's refusals by kind (every kind shown,
        0 until it happens).
        """
        from vdetwist.switch.switch import Switch
        switch = Switch(numports=8)
        switch.fdb.maxPortEntries = 2

        class Receiver:
            def frameReceived(self, frame):
                pass
        a = switch.attach(Receiver(), "host a")
        switch.attach(Receiver(), "host b")
        for last in range(5):
            a.sendFrame(b"\xff" * 6 + b"\x02\x00\x00\x00\x00" + bytes([last + 1])
                        + b"\x08\x00" + b"x" * 50)

        class Control:
            refusals = {"busy": 2, "request": 1}
            pending = {object()}
        parsed = samples(textExposition(makeRegistry(Clock(), Components(
            switch=switch, control=Control(), hosts=lambda: []))))
        self.assertEqual(switch.fdb.portEvicted, 3)
        self.assertEqual(byName(parsed, "vdetwist_mac_table_evictions_total", reason="port"),
                         [({"reason": "port"}, 3)])
        self.assertEqual(byName(parsed, "vdetwist_mac_table_evictions_total",
                                reason="table")[0][1], 0)
        self.assertEqual(byName(parsed, "vdetwist_mac_table_entries")[0][1], 2)
        self.assertEqual(byName(parsed, "vdetwist_mac_table_max_port_entries")[0][1], 2)
        self.assertEqual(byName(parsed, "vdetwist_mac_table_unlearned_frames_total")[0][1], 0)
        self.assertEqual(
            {labels["kind"]: value for labels, value
             in byName(parsed, "vdetwist_control_refused_connections_total")},
            {"busy": 2, "request": 1, "partial": 0, "port": 0, "socket": 0, "timeout": 0})
        self.assertEqual(byName(parsed, "vdetwist_control_pending_handshakes")[0][1], 1)
        self.assertEqual(byName(parsed, "vdetwist_switch_dropped_frames_total",
                                reason="fstp")[0][1], 0)

    def test_gatewayAndHosts(self) -> None:
        """
        A gateway's forwards, NAT flows and DHCP pool, and its host's TCP
        counters.
        """
        from vdetwist.slirp.forward import parseForwardSpec
        from vdetwist.slirp.gateway import Gateway
        clock = Clock()
        gateway = Gateway(clock, "10.0.2.0/24", dhcp=True, dns=False)
        gateway.addForward("tcp", parseForwardSpec("5555:10.0.2.15:22"), listen=False)
        parsed = samples(textExposition(makeRegistry(clock, Components(gateway=gateway))))
        self.assertEqual(byName(parsed, "vdetwist_slirp_forward_connections_total",
                                host_port="5555"),
                         [({"protocol": "tcp", "host": "", "host_port": "5555",
                            "guest": "10.0.2.15:22"}, 0)])
        self.assertEqual(byName(parsed, "vdetwist_slirp_nat_flows", protocol="tcp")[0][1], 0)
        self.assertEqual(byName(parsed, "vdetwist_slirp_dhcp_leases")[0][1], 0)
        self.assertEqual(byName(parsed, "vdetwist_host_tcp_retransmitted_segments_total",
                                host="slirp 10.0.2.2")[0][1], 0)
        self.assertEqual(
            sorted(labels["result"] for labels, _ in byName(
                parsed, "vdetwist_host_tcp_syn_cookies_total", host="slirp 10.0.2.2")),
            ["failed", "sent", "validated"])
        for name in ("vdetwist_host_tcp_retransmission_timeouts_total",
                     "vdetwist_host_tcp_checksum_dropped_segments_total",
                     "vdetwist_host_tcp_syn_queue_dropped_segments_total"):
            self.assertEqual(len(byName(parsed, name)), 1, name)


class OptionsTests(SynchronousTestCase):
    """
    --metrics, --web and --web-token.
    """

    def test_bareNumber(self) -> None:
        """
        A bare port number listens on loopback.
        """
        self.assertEqual(endpointDescription("9101"), "tcp:9101:interface=127.0.0.1")

    def test_badEndpoint(self) -> None:
        """
        An endpoint that does not parse is a usage error naming the option.
        """
        e = self.assertRaises(usage.UsageError, checkObserveOptions, {"metrics": "nope:1"})
        self.assertIn("--metrics", str(e))

    def test_tokenNeedsWeb(self) -> None:
        """
        --web-token alone is refused.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("0123456789abcdef\n")
        e = self.assertRaises(usage.UsageError, checkObserveOptions, {"web-token": path})
        self.assertIn("--web", str(e))

    def test_shortToken(self) -> None:
        """
        A token under 8 characters is refused.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("abc\n")
        e = self.assertRaises(usage.UsageError, checkObserveOptions,
                              {"web": "8080", "web-token": path})
        self.assertIn("shorter", str(e))


class TutorialTests(SynchronousTestCase):
    """
    C{twistd vdetutorial --metrics}, scraped as Prometheus does.
    """

    def test_scrape(self) -> None:
        """
        /metrics is a valid exposition; after 200 kB go through the first
        forward, slirp's port counted at least that many bytes in, and the
        first host's port at least that many out.
        """
        port = freePort()
        tutorial = Tutorial(self, ["--metrics", "tcp:%d:interface=127.0.0.1" % (port,)])
        url = "http://127.0.0.1:%d/metrics" % (port,)
        status, body = httpGet(url)
        self.assertEqual(status, 200)
        before = samples(body.decode())

        def slirpBytes(parsed, name):
            rows = [value for labels, value in byName(parsed, name)
                    if "slirp" in labels["descr"]]
            self.assertEqual(len(rows), 1, parsed)
            return rows[0]
        payload = b"y" * 200000
        s = socket.create_connection(("127.0.0.1", tutorial.base), timeout=20)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        self.addCleanup(s.close)
        deadline = time.monotonic() + 30
        while True:
            after = samples(httpGet(url)[1].decode())
            rise = (slirpBytes(after, "vdetwist_port_received_bytes_total")
                    - slirpBytes(before, "vdetwist_port_received_bytes_total"))
            if rise >= len(payload) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(rise, len(payload))
        forwarded = byName(after, "vdetwist_slirp_forward_bytes_total",
                           host_port=str(tutorial.base), direction="to_guest")
        self.assertEqual(forwarded[0][1], len(payload))
        self.assertEqual(httpGet("http://127.0.0.1:%d/other" % (port,))[0], 404)


class NamespaceRelayTests(SynchronousTestCase):
    """
    C{vdetwist ns --metrics}: the tap relay's counters.
    """

    def test_options(self) -> None:
        """
        C{--metrics} takes a server endpoint (a bare port listens on
        loopback); anything else is a usage error.
        """
        from vdetwist.scripts import ns
        options = ns.Options()
        options.parseOptions(["--metrics", "9103", "--", "true"])
        self.assertEqual(options["metrics"], "tcp:9103:interface=127.0.0.1")
        e = self.assertRaises(usage.UsageError, ns.Options().parseOptions,
                              ["--metrics", "nope:1", "--", "true"])
        self.assertIn("--metrics", str(e))

    def test_relay(self) -> None:
        """
        The relay's frames, its attachment's bytes and its drops are
        served in the attachment families, with the directions seen from
        the switch side (frames read from the tap are sent to the switch);
        without an attachment the bytes are left out and C{attached} is 0.
        """
        from twisted.internet.testing import MemoryReactorClock

        from vdetwist.ns.relay import TapRelay
        from vdetwist.observe.components import relayCounters
        from vdetwist.observe.service import listenMetrics

        class System:
            def read(self, fd, size):
                raise BlockingIOError()

            def write(self, fd, data):
                return len(data)

            def close(self, fd):
                pass

        class Transport:
            bytesIn = 3000
            bytesOut = 1234
        reactor = MemoryReactorClock()
        relay = TapRelay(reactor, System())
        relay.framesIn, relay.framesOut, relay.drops, relay.errors = 7, 5, 2, 1
        relay.transport = Transport()
        port = self.successResultOf(listenMetrics(reactor, "tcp:9103:interface=127.0.0.1",
                                                  Components("vdetwist ns", hosts=lambda: [],
                                                             attachments=lambda: [(
                                                                 "ns", relayCounters(relay))])))
        self.assertEqual(reactor.tcpServers[0][0], 9103)
        parsed = samples(textExposition(port.registry))
        self.assertEqual(byName(parsed, "vdetwist_attachment_sent_frames_total")[0][1], 7)
        self.assertEqual(byName(parsed, "vdetwist_attachment_received_frames_total")[0][1], 5)
        self.assertEqual(byName(parsed, "vdetwist_attachment_sent_bytes_total")[0][1], 1234)
        self.assertEqual(byName(parsed, "vdetwist_attachment_received_bytes_total")[0][1], 3000)
        self.assertEqual(byName(parsed, "vdetwist_attachment_dropped_frames_total",
                                reason="dropped"),
                         [({"attachment": "ns", "reason": "dropped"}, 2)])
        self.assertEqual(byName(parsed, "vdetwist_attachment_dropped_frames_total",
                                reason="error")[0][1], 1)
        self.assertEqual(byName(parsed, "vdetwist_attachment_attached")[0][1], 1)
        relay.transport = None
        parsed = samples(textExposition(port.registry))
        self.assertEqual(byName(parsed, "vdetwist_attachment_sent_bytes_total"), [])
        self.assertEqual(byName(parsed, "vdetwist_attachment_attached")[0][1], 0)
