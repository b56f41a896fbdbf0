# -*- test-case-name: tests.observe.test_web -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The live web view: C{--web ENDPOINT} (loopback by default).

    twistd -n vdetutorial --web 8080
    xdg-open http://127.0.0.1:8080/

One page per process shows the ports with their descriptions and rates,
VLAN membership, the MAC table, the cables and their link emulation,
slirp's forwards and live NAT connections, and a drawing of the LAN.  The
page's own script (C{static/view.js}, no CDN) draws it and follows
server-sent events from C{/events}: a snapshot every second, computed on a
timer only while event-stream clients are connected, so idle clients cost
nothing per frame.  At most L{MAX_EVENT_CLIENTS} event streams are served
at once (more get 503); a client that does not read misses snapshots
instead of growing a buffer.

Read-only unless started with C{--web-token FILE}: then C{POST /api/action}
with the token in the C{X-VDE-Token} header adds or deletes a forward or
closes a port, each action logged with the peer's address; without the
token, or with a wrong one, 403.  Unknown paths are 404, request bodies
over L{MAX_BODY} bytes are refused (413) and malformed HTTP is
twisted.web's 400.
"""

import hmac
import json
import os
from typing import Any, Dict, Optional, Set

from twisted.application import service
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.protocols.policies import WrappingFactory
from twisted.web import http, resource, server
from zope.interface import implementer

from vdetwist.observe.components import (
    Components, activePorts, cableConnections, portDescription)
from vdetwist.wire.addr import formatIPv4, formatMAC

log = Logger(namespace="vdetwist.observe.web")

#: The most event-stream clients served at once.
MAX_EVENT_CLIENTS = 64
#: The most HTTP connections open at once.
MAX_CONNECTIONS = 256
#: The largest request body accepted, in bytes.
MAX_BODY = 4096
#: Seconds between snapshots pushed to event-stream clients.
SNAPSHOT_INTERVAL = 1.0
#: The most MAC table entries and NAT flows a snapshot lists.
MAX_ROWS = 1000
#: The header carrying the token.
TOKEN_HEADER = b"X-VDE-Token"
#: The static files served, by name, with their content types.
STATIC = {
    "index.html": b"text/html; charset=utf-8",
    "view.js": b"text/javascript; charset=utf-8",
    "view.css": b"text/css; charset=utf-8",
}
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


def snapshot(components: Components, now: float,
             previous: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """
    What the page shows, as JSON-able data.

    @param components: the process's parts.
    @param now: the time (for rates and ages).
    @param previous: the last snapshot, for rates (bytes/s since then).
    @return: the snapshot.
    """
    state: Dict[str, Any] = {"name": components.name, "time": now, "ports": [], "vlans": [],
                             "macs": [], "cables": [], "forwards": [], "flows": [],
                             "hosts": [], "switch": None, "gateway": None}
    old: Dict[int, Dict[str, Any]] = {}
    elapsed = 0.0
    if previous is not None:
        old = {p["number"]: p for p in previous["ports"]}
        elapsed = now - previous["time"]
    switch = components.switch
    if switch is not None:
        state["switch"] = {"mac": formatMAC(switch.mac), "hub": switch.hub,
                           "numports": len(switch.ports), "macCount": switch.fdb.count,
                           "macMax": switch.fdb.maxEntries,
                           "drops": {"runt": switch.runts, "oversize": switch.oversize,
                                     "vlan": switch.vlanDrops,
                                     "fstp": getattr(switch, "fstpDrops", 0)}}
        for port in activePorts(switch):
            row = {"number": port.number, "descr": portDescription(port),
                   "active": bool(port.endpoints), "vlan": port.untagged,
                   "tagged": sorted(port.tagged), "inBytes": port.inBytes,
                   "outBytes": port.outBytes, "inPackets": port.inPackets,
                   "outPackets": port.outPackets, "capture": port.capture is not None,
                   "endpoints": [{"id": e.endpointID, "descr": str(e.description or ""),
                                  "module": str(getattr(e, "module", ""))}
                                 for e in port.endpoints],
                   "rateIn": 0.0, "rateOut": 0.0}
            before = old.get(port.number)
            if before is not None and elapsed > 0:
                row["rateIn"] = max(0.0, (port.inBytes - before["inBytes"]) / elapsed)
                row["rateOut"] = max(0.0, (port.outBytes - before["outBytes"]) / elapsed)
            state["ports"].append(row)
        for vid in sorted(switch.vlans):
            vlan = switch.vlans[vid]
            state["vlans"].append({
                "vid": vid,
                "untagged": [p.number for p in activePorts(switch) if p.untagged == vid],
                "tagged": [p.number for p in activePorts(switch) if vid in p.tagged],
                "active": len(vlan.untaggedActive) + len(vlan.taggedActive)})
        for vid, table in list(switch.fdb.tables.items()):
            for mac, entry in list(table.items()):
                if len(state["macs"]) >= MAX_ROWS:
                    break
                state["macs"].append({"mac": formatMAC(mac), "vlan": vid,
                                      "port": entry[0].number,
                                      "age": max(0, switch.now - entry[1])})
    if components.cables is not None:
        for entry, connection in cableConnections(components.cables):
            link = entry.linkParameters
            row = {"id": entry.cableID, "kind": entry.kind, "state": entry.state(),
                   "descr": str(entry.description),
                   "link": link.describe() if link is not None and not link.isIdentity()
                   else ""}
            if connection is not None:
                row.update({"peer": str(getattr(connection, "peer", "")),
                            "port": getattr(connection, "portNumber", None),
                            "bytesIn": getattr(connection, "bytesIn", 0),
                            "bytesOut": getattr(connection, "bytesOut", 0),
                            "blocked": bool(getattr(connection, "blocked", False))})
                emulated = getattr(connection, "link", None)
                if emulated is not None:
                    row["emulated"] = {k: list(v) for k, v in emulated.counters().items()}
            state["cables"].append(row)
    gateway = components.gateway
    if gateway is not None:
        state["gateway"] = {"address": formatIPv4(gateway.address),
                            "prefixLength": gateway.prefixLength,
                            "dns": formatIPv4(gateway.dnsAddress),
                            "dhcp": gateway.dhcp is not None}
        for (protocol, hostAddress, _), forward in sorted(
                list(gateway.forwards.items()), key=lambda kv: (kv[0][0], kv[0][2])):
            counters = forward.counters
            state["forwards"].append({
                "protocol": protocol, "hostAddress": str(hostAddress or ""),
                "hostPort": forward.hostPort,
                "guest": "%s:%d" % (formatIPv4(forward.spec.guestAddress),
                                    forward.spec.guestPort),
                "connections": counters.connections, "active": counters.active,
                "failed": counters.failed, "bytesToGuest": counters.bytesToGuest,
                "bytesFromGuest": counters.bytesFromGuest})
        for flow in gateway.nat.flows()[:MAX_ROWS]:
            state["flows"].append({
                "protocol": flow.protocol, "guest": "%s:%s" % tuple(flow.guest),
                "destination": "%s:%s" % tuple(flow.destination)
                if isinstance(flow.destination, tuple) else str(flow.destination),
                "bytesOut": flow.bytesOut, "bytesIn": flow.bytesIn, "age": round(flow.age, 1)})
    for name, host in components.hosts():
        state["hosts"].append({"name": name, "address": formatIPv4(host.address),
                               "mac": formatMAC(host.mac),
                               "tcpConnections": len(host.tcp.connections),
                               "retransmissions": host.tcp.stats.retransmissions})
    return state


@implementer(IPushProducer)
class EventClient:
    """
    One event-stream client.  As its connection's producer it learns when
    the client stops reading: while paused, snapshots are skipped.

    @ivar request: the request being streamed to.
    @ivar paused: the client's buffer is full.
    @ivar skipped: snapshots not sent because the client was not reading.
    """

    def __init__(self, view: "WebView", request: server.Request) -> None:
        """
        @param view: the web view.
        @param request: the request.
        """
        self.view = view
        self.request = request
        self.paused = False
        self.skipped = 0

    def send(self, data: bytes) -> None:
        """
        Write one event, unless the client is not reading.

        @param data: the event's bytes.
        """
        if self.paused:
            self.skipped += 1
        else:
            self.request.write(data)

    def pauseProducing(self) -> None:
        """
        The client's buffer is full.
        """
        self.paused = True

    def resumeProducing(self) -> None:
        """
        The client reads again.
        """
        self.paused = False

    def stopProducing(self) -> None:
        """
        The connection is going away.
        """
        self.view.clientGone(self)


class ObserveRequest(server.Request):
    """
    A request whose body is bounded: past L{MAX_BODY} bytes, 413 and the
    connection closes, before the body is stored.
    """

    _refused = False

    def _refuse(self) -> None:
        """
        Answer 413 and close.
        """
        if not self._refused:
            self._refused = True
            transport = self.channel.transport
            transport.write(b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n"
                            b"Content-Length: 0\r\n\r\n")
            transport.loseConnection()

    def gotLength(self, length: Optional[int]) -> None:
        """
        Refuse a declared length over the bound.

        @param length: the Content-Length, or L{None} (chunked).
        """
        if length is not None and length > MAX_BODY:
            self._refuse()
            length = 0
        server.Request.gotLength(self, length)

    def handleContentChunk(self, data: bytes) -> None:
        """
        Store body bytes up to the bound; refuse past it.

        @param data: a piece of the body.
        """
        if self._refused:
            return
        if self.content.tell() + len(data) > MAX_BODY:
            self._refuse()
            return
        server.Request.handleContentChunk(self, data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """
        Process the request unless it was refused.
        """
        if self._refused:
            return
        server.Request.requestReceived(self, command, path, version)


class LimitedFactory(WrappingFactory):
    """
    A factory that refuses connections past a bound (closes them at once).

    @ivar maxConnections: the bound.
    """

    def __init__(self, wrappedFactory: Any, maxConnections: int = MAX_CONNECTIONS) -> None:
        """
        @param wrappedFactory: the site.
        @param maxConnections: the bound.
        """
        WrappingFactory.__init__(self, wrappedFactory)
        self.maxConnections = maxConnections
        self.refused = 0

    def buildProtocol(self, addr: Any) -> Any:
        """
        A protocol, or L{None} past the bound.
        """
        if len(self.protocols) >= self.maxConnections:
            self.refused += 1
            return None
        return WrappingFactory.buildProtocol(self, addr)


class WebView(service.Service):
    """
    The web view of one process.

    @ivar components: what it shows.
    @ivar token: the action token, or L{None} (read-only).
    @ivar clients: the event-stream clients.
    @ivar maxClients: the bound on L{clients}.
    @ivar snapshots: snapshots computed so far (only while clients are
        connected).
    @ivar refusedClients: event streams refused for the bound.
    """

    def __init__(self, reactor: Any, components: Components, token: Optional[bytes] = None,
                 maxClients: int = MAX_EVENT_CLIENTS,
                 interval: float = SNAPSHOT_INTERVAL) -> None:
        """
        @param reactor: the reactor.
        @param components: what to show.
        @param token: the action token, or L{None}.
        @param maxClients: the most event-stream clients.
        @param interval: seconds between snapshots.
        """
        self.reactor = reactor
        self.components = components
        self.token = token
        self.maxClients = maxClients
        self.interval = interval
        self.clients: Set[EventClient] = set()
        self.snapshots = 0
        self.refusedClients = 0
        self._last: Optional[Dict[str, Any]] = None
        self._timer: Optional[LoopingCall] = None

    def site(self) -> Any:
        """
        The HTTP factory: the site behind a connection bound.

        @return: a factory to listen with.
        """
        site = server.Site(_Root(self))
        site.requestFactory = ObserveRequest
        site.displayTracebacks = False
        return LimitedFactory(site)

    # -- snapshots -----------------------------------------------------

    def snapshot(self) -> Dict[str, Any]:
        """
        A snapshot now (rates since the previous one).

        @return: the snapshot.
        """
        state = snapshot(self.components, self.reactor.seconds(), self._last)
        self._last = state
        self.snapshots += 1
        return state

    def _tick(self) -> None:
        """
        Push a snapshot to every event-stream client.
        """
        if not self.clients:
            self._stopTimer()
            return
        data = _event(self.snapshot())
        for client in list(self.clients):
            client.send(data)

    def _stopTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.running:
            timer.stop()

    def addClient(self, request: server.Request) -> Optional[EventClient]:
        """
        Start streaming to a client, if there is room.

        @param request: the request.
        @return: the client, or L{None} when at the bound.
        """
        if len(self.clients) >= self.maxClients:
            self.refusedClients += 1
            return None
        client = EventClient(self, request)
        self.clients.add(client)
        if self._timer is None and self.running:
            self._timer = LoopingCall(self._tick)
            self._timer.clock = self.reactor
            self._timer.start(self.interval, now=False)
        return client

    def clientGone(self, client: EventClient) -> None:
        """
        An event-stream client left.

        @param client: the client.
        """
        self.clients.discard(client)
        if not self.clients:
            self._stopTimer()

    def stopService(self) -> None:
        """
        Stop the timer and end the event streams.
        """
        service.Service.stopService(self)
        self._stopTimer()
        for client in list(self.clients):
            self.clients.discard(client)
            try:
                client.request.finish()
            except Exception:
                pass

    # -- actions -------------------------------------------------------

    def authorized(self, request: server.Request) -> bool:
        """
        Whether a request carries the token (and there is one).

        @param request: the request.
        @return: the answer.
        """
        if self.token is None:
            return False
        given = request.requestHeaders.getRawHeaders(TOKEN_HEADER)
        if not given or len(given) != 1:
            return False
        value = given[0]
        if isinstance(value, str):
            value = value.encode("latin-1")
        return hmac.compare_digest(value, self.token)

    def act(self, action: Dict[str, Any], who: str) -> Dict[str, Any]:
        """
        Carry out an action, logging who asked.

        @param action: C{{"action": "addForward", "protocol": "tcp", "spec":
            "[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT"}}, C{{"action":
            "removeForward", "protocol": "tcp", "hostPort": N}} or
            C{{"action": "closePort", "port": N}}.
        @param who: the peer's address.
        @return: a result for the client.
        @raise ValueError: a bad or impossible action (the message says why).
        """
        kind = action.get("action")
        gateway, switch = self.components.gateway, self.components.switch
        if kind == "addForward":
            if gateway is None:
                raise ValueError("this process has no slirp")
            from vdetwist.slirp.forward import parseForwardSpec
            protocol = str(action.get("protocol", "tcp"))
            if protocol not in ("tcp", "udp"):
                raise ValueError("protocol must be tcp or udp")
            spec = parseForwardSpec(str(action.get("spec", "")))
            from twisted.internet.error import CannotListenError
            try:
                forward = gateway.addForward(protocol, spec)
            except CannotListenError as e:
                raise ValueError("cannot listen: %s" % (e,))
            log.info("web: {who} added the {protocol} forward {spec}", who=who,
                     protocol=protocol, spec=str(spec))
            return {"ok": True, "hostPort": forward.hostPort}
        if kind == "removeForward":
            if gateway is None:
                raise ValueError("this process has no slirp")
            protocol = str(action.get("protocol", "tcp"))
            hostPort = _integer(action.get("hostPort"))
            try:
                gateway.removeForward(protocol, hostPort)
            except KeyError as e:
                raise ValueError(str(e.args[0]) if e.args else "no such forward")
            log.info("web: {who} removed the {protocol} forward on host port {port}",
                     who=who, protocol=protocol, port=hostPort)
            return {"ok": True}
        if kind == "closePort":
            if switch is None:
                raise ValueError("this process has no switch")
            number = _integer(action.get("port"))
            if not 0 <= number < len(switch.ports) or switch.ports[number] is None:
                raise ValueError("no port %d" % (number,))
            port = switch.ports[number]
            for endpoint in list(port.endpoints):
                switch.closeEndpoint(number, endpoint.endpointID)
            log.info("web: {who} closed port {port}", who=who, port=number)
            return {"ok": True}
        raise ValueError("unknown action %r" % (kind,))


def _integer(value: Any) -> int:
    """
    An integer from JSON (a number or digits).

    @raise ValueError: not one.
    """
    if isinstance(value, bool):
        raise ValueError("not a number: %r" % (value,))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError("not a number: %r" % (value,))


def _event(state: Dict[str, Any]) -> bytes:
    """
    A server-sent event carrying a snapshot.
    """
    return b"event: snapshot\ndata: " + json.dumps(state, separators=(",", ":")).encode() + b"\n\n"


def _json(request: server.Request, code: int, body: Dict[str, Any]) -> bytes:
    """
    Answer with JSON.
    """
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    return json.dumps(body).encode()


def _peer(request: server.Request) -> str:
    """
    The client's address as text.
    """
    peer = request.getClientAddress()
    host = getattr(peer, "host", None)
    return "%s:%s" % (host, getattr(peer, "port", "")) if host is not None else str(peer)


class _Root(resource.Resource):
    """
    The page, its assets, the state, the event stream and the actions.
    """

    isLeaf = True

    def __init__(self, view: WebView) -> None:
        resource.Resource.__init__(self)
        self.view = view
        self.files: Dict[str, bytes] = {}
        for name in STATIC:
            with open(os.path.join(STATIC_DIR, name), "rb") as f:
                self.files[name] = f.read()

    def render(self, request: server.Request) -> Any:
        """
        Dispatch on the path.
        """
        path = request.path
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        if path == b"/" or path == b"/index.html":
            return self._static(request, "index.html")
        if path.startswith(b"/static/"):
            name = path[len(b"/static/"):].decode("latin-1")
            if name in STATIC and name != "index.html":
                return self._static(request, name)
        elif path == b"/api/state":
            if request.method not in (b"GET", b"HEAD"):
                return self._notAllowed(request, b"GET")
            return _json(request, 200, self.view.snapshot())
        elif path == b"/events":
            if request.method != b"GET":
                return self._notAllowed(request, b"GET")
            return self._events(request)
        elif path == b"/api/action":
            if request.method != b"POST":
                return self._notAllowed(request, b"POST")
            return self._action(request)
        request.setResponseCode(http.NOT_FOUND)
        request.setHeader(b"Content-Type", b"text/plain")
        return b"not found\n"

    def _notAllowed(self, request: server.Request, allowed: bytes) -> bytes:
        request.setResponseCode(http.NOT_ALLOWED)
        request.setHeader(b"Allow", allowed)
        return b"method not allowed\n"

    def _static(self, request: server.Request, name: str) -> bytes:
        if request.method not in (b"GET", b"HEAD"):
            return self._notAllowed(request, b"GET")
        request.setHeader(b"Content-Type", STATIC[name])
        request.setHeader(b"Cache-Control", b"no-cache")
        return self.files[name]

    def _events(self, request: server.Request) -> Any:
        client = self.view.addClient(request)
        if client is None:
            request.setResponseCode(http.SERVICE_UNAVAILABLE)
            request.setHeader(b"Retry-After", b"10")
            request.setHeader(b"Content-Type", b"text/plain")
            return b"too many event-stream clients\n"
        request.setHeader(b"Content-Type", b"text/event-stream")
        request.setHeader(b"Cache-Control", b"no-store")
        request.registerProducer(client, True)
        request.notifyFinish().addBoth(lambda _: self.view.clientGone(client))
        request.write(b"retry: 2000\n\n")
        request.write(_event(self.view.snapshot()))
        return server.NOT_DONE_YET

    def _action(self, request: server.Request) -> bytes:
        who = _peer(request)
        if not self.view.authorized(request):
            log.warn("web: refused an action from {who} (no or wrong token)", who=who)
            return _json(request, http.FORBIDDEN, {"ok": False, "error": "forbidden"})
        try:
            action = json.loads(request.content.read().decode("utf-8"))
            if not isinstance(action, dict):
                raise ValueError("the body must be a JSON object")
            result = self.view.act(action, who)
        except (ValueError, UnicodeDecodeError) as e:
            return _json(request, http.BAD_REQUEST, {"ok": False, "error": str(e)})
        self.view.reactor.callLater(0, self.view._tick)
        return _json(request, 200, result)


__all__ = ["WebView", "snapshot", "MAX_EVENT_CLIENTS", "MAX_BODY", "TOKEN_HEADER"]

