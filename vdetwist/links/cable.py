# -*- test-case-name: tests.links.test_cable -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Cables: switch ports that carry frames over a byte stream to another switch
(ours, or Debian's through C{vde_plug} in stream mode), with VDE's 2-byte
big-endian length framing (docs/vde-protocol.md section 3).

A cable rides on any Twisted stream endpoint:

    tcp:7000                                   listen (C{--cable-listen})
    tcp:host.example:7000                      dial (C{--cable})
    unix:/run/vde/cable                        listen, mode 0600 unless C{mode=}
    tls:7001:privateKey=k.pem:certKey=c.pem:trustRoots=CADIR
                                               listen, mutual TLS
    tls:host.example:7001:privateKey=k.pem:certificate=c.pem:trustRoots=CADIR
                                               dial, mutual TLS

TLS is mutual: a listening C{tls:} (or C{ssl:} given C{trustRoots}) asks
for a client certificate and refuses a peer without one, or with one not
issued by a CA in C{trustRoots} (a PEM file or a directory of them); a
dialing C{tls:} is Twisted's own, which checks the server's certificate
against C{trustRoots} and its name (service_identity) against the host.  A
cable is attached to the switch only once its TLS handshake has completed;
a peer refused during it is logged with the reason.

Dialled cables reconnect by themselves with backoff (L{ClientService}).
Frames that arrive on a cable are checked strictly: a length above 9236, a
frame shorter than an Ethernet header, or a peer that stops reading for
L{STALL_TIMEOUT} seconds drops that cable (with a logged reason), and
nothing else.  What we write to a peer that is not reading is bounded by
L{MAX_BACKLOG}; frames beyond it are dropped and counted.

The endpoints (mutual TLS, UNIX 0600, SSH through Conch) are in
L{vdetwist.links.cableendpoints}; the loop guard is in
L{vdetwist.links.loopguard}; VXLAN ports, entries of the same cable table,
in L{vdetwist.links.vxlan}.
"""

from typing import Any, Callable, Dict, List, Optional

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from twisted.internet.protocol import Factory, ServerFactory
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IPortProvider
from vdetwist.links.cableendpoints import CableError, clientEndpoint, serverEndpoint
from vdetwist.links.cableprotocol import (
    HANDSHAKE_TIMEOUT, MAX_BACKLOG, STALL_TIMEOUT, CableProtocol, describeFailure,
    formatAddress)
from vdetwist.links.loopguard import LoopGuard
from vdetwist.links.switchport import FIRST_ENDPOINT_ID
from vdetwist.wire.frames import MIN_FRAME

log = Logger(namespace="vdetwist.links.cable")

__all__ = [
    "CableError", "CableManager", "CableProtocol", "Cable", "AcceptedCable",
    "ListeningCable", "DialedCable", "clientEndpoint", "serverEndpoint",
    "HANDSHAKE_TIMEOUT", "MAX_BACKLOG", "STALL_TIMEOUT", "FIRST_ENDPOINT_ID",
    "MIN_FRAME", "MAX_ACCEPTED", "MAX_CABLES"]

#: Connections one listening cable accepts at once.
MAX_ACCEPTED = 64
#: Cables (listening, dialled and accepted together) one manager holds.
MAX_CABLES = 1024
#: Reconnection backoff of dialled cables, in seconds.
RETRY_INITIAL = 0.5
RETRY_MAX = 5.0
#: A dialled connection that ends sooner than this many seconds after
#: attaching does not reset the reconnection backoff.
FLAP_TIME = 2.0
#: A link kind's constructor (L{CableManager.registerKind}): given the
#: manager, a description and link parameters, a started (if the manager
#: runs) and remembered entry, or L{CableError}.
LinkKindFactory = Callable[["CableManager", str, Any], "Cable"]


class Cable:
    """
    One entry of the cable table: a listening endpoint, a dialled one, or
    a connection a listener accepted.

    @ivar manager: the L{CableManager}.
    @ivar cableID: the ID.
    @ivar kind: C{listen}, C{dial} or C{accepted}.
    @ivar description: the endpoint description.
    @ivar linkParameters: the link emulation of its connections, or
        L{None}.
    @ivar lastError: the last failure, as text.
    """

    kind = ""

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param linkParameters: a L{vdetwist.links.linkemu.LinkParameters}.
        """
        self.manager = manager
        self.cableID = cableID
        self.description = description
        self.linkParameters = linkParameters
        self.lastError: Optional[str] = None

    def connections(self) -> List[CableProtocol]:
        """
        The live connections of this entry.

        @return: a list.
        """
        return []

    def state(self) -> str:
        """
        The state C{cable/print} shows.

        @return: the text.
        """
        return ""

    def start(self) -> None:
        """
        Start listening or dialling.
        """

    def stop(self) -> Any:
        """
        Stop, dropping connections.

        @return: a Deferred or L{None}.
        """
        return None

    def connectionUp(self, connection: CableProtocol) -> None:
        """
        A connection attached to the switch.

        @param connection: it.
        """

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        A connection ended.

        @param connection: it.
        @param reason: why.
        """
        self.lastError = reason

    def setLink(self, params: Any) -> None:
        """
        Change the link emulation of this entry and its live connections.

        @param params: a L{vdetwist.links.linkemu.LinkParameters} or
            L{None}.
        """
        self.linkParameters = params
        for connection in self.connections():
            connection.linkChanged()


class AcceptedCable(Cable):
    """
    A connection accepted by a listening cable, as a table entry.

    @ivar listener: the L{ListeningCable}.
    @ivar protocol: the connection.
    """

    kind = "accepted"

    def __init__(self, listener: "ListeningCable", cableID: int) -> None:
        """
        @param listener: the listener.
        @param cableID: the ID.
        """
        Cable.__init__(self, listener.manager, cableID, listener.description,
                       listener.linkParameters.copy()
                       if listener.linkParameters is not None else None)
        self.listener = listener
        self.protocol = CableProtocol(self, cableID)

    def connections(self) -> List[CableProtocol]:
        """
        The connection, while it lives.

        @return: a list of it.
        """
        return [self.protocol] if self.protocol.state != "CLOSED" else []

    def state(self) -> str:
        """
        The connection's state.

        @return: the text.
        """
        return "%s by %d" % (self.protocol.state, self.listener.cableID)

    def stop(self) -> Any:
        """
        Close the connection.
        """
        self.protocol.drop("removed by cable/del")
        return None

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        Leave the table.
        """
        Cable.connectionDown(self, connection, reason)
        self.listener.accepted.pop(self.cableID, None)
        self.manager._forget(self)


class ListeningCable(Cable, ServerFactory):
    """
    A listening endpoint; each accepted connection is a cable of its own.

    @ivar endpoint: the server endpoint.
    @ivar accepted: the live accepted entries by ID.
    @ivar refused: connections refused for being over L{MAX_ACCEPTED}.
    """

    kind = "listen"

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 endpoint: IStreamServerEndpoint, linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param endpoint: the endpoint to listen on.
        @param linkParameters: the link emulation new connections start with.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.endpoint = endpoint
        self.accepted: Dict[int, AcceptedCable] = {}
        self.refused = 0
        self.listeningPort: Any = None
        self._state = "STOPPED"

    def state(self) -> str:
        """
        C{LISTENING}, C{STARTING}, C{FAILED} or C{STOPPED}.

        @return: the text.
        """
        return "%s %d connection%s" % (self._state, len(self.accepted),
                                       "" if len(self.accepted) == 1 else "s")

    def connections(self) -> List[CableProtocol]:
        """
        The accepted connections.

        @return: the list.
        """
        return [entry.protocol for entry in self.accepted.values()]

    def setLink(self, params: Any) -> None:
        """
        Change the link emulation of new connections, and of every live
        one (each keeps its own copy).

        @param params: the parameters or L{None}.
        """
        self.linkParameters = params
        for entry in list(self.accepted.values()):
            entry.setLink(params.copy() if params is not None else None)

    def start(self) -> None:
        """
        Start listening; a failure is logged and kept in L{lastError}.
        """
        self._state = "STARTING"
        d = self.endpoint.listen(self)

        def listening(port: Any) -> None:
            """
            Listening: note the port.
            """
            self.listeningPort = port
            self._state = "LISTENING"
            log.info("cable {id}: listening on {descr}", id=self.cableID,
                     descr=self.description)

        def failed(failure: Failure) -> None:
            """
            Log and remember a failure.
            """
            self._state = "FAILED"
            self.lastError = describeFailure(failure)
            log.error("cable {id}: cannot listen on {descr}: {error}", id=self.cableID,
                      descr=self.description, error=self.lastError)
        d.addCallbacks(listening, failed)

    def stop(self) -> Any:
        """
        Stop listening and drop the accepted connections.

        @return: the Deferred of stopping to listen, or L{None}.
        """
        self._state = "STOPPED"
        for entry in list(self.accepted.values()):
            entry.stop()
        port, self.listeningPort = self.listeningPort, None
        if port is not None:
            return port.stopListening()
        return None

    def buildProtocol(self, addr: Any) -> Optional[CableProtocol]:
        """
        A new connection: a new cable, unless too many are open.

        @param addr: the peer's address.
        @return: the protocol, or L{None} to refuse.
        """
        if self._state != "LISTENING" and self._state != "STARTING":
            return None
        if len(self.accepted) >= MAX_ACCEPTED or not self.manager.hasRoom():
            self.refused += 1
            log.warn("cable {id}: refused a connection from {peer}: too many cables",
                     id=self.cableID, peer=formatAddress(addr))
            return None
        cableID = self.manager.allocateID()
        entry = AcceptedCable(self, cableID)
        self.accepted[cableID] = entry
        self.manager.remember(entry)
        entry.protocol.factory = self
        return entry.protocol


@implementer(IStreamClientEndpoint)
class _RecordingEndpoint:
    """
    A client endpoint wrapper that remembers why the last attempt failed,
    for C{cable/print}.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, cable: "DialedCable") -> None:
        """
        @param endpoint: the real endpoint.
        @param cable: the entry to tell.
        """
        self.endpoint = endpoint
        self.cable = cable

    def connect(self, factory: Any) -> Any:
        """
        Connect, noting a failure.

        @param factory: the protocol factory.
        @return: the endpoint's Deferred.
        """
        self.cable.attempts += 1

        def failed(failure: Failure) -> Failure:
            """
            Log and remember a failure.
            """
            self.cable.lastError = describeFailure(failure)
            if self.cable.attempts <= 3 or self.cable.attempts % 20 == 0:
                log.warn("cable {id}: cannot connect to {descr}: {error} (attempt {n})",
                         id=self.cable.cableID, descr=self.cable.description,
                         error=self.cable.lastError, n=self.cable.attempts)
            return failure
        return self.endpoint.connect(factory).addErrback(failed)


class DialedCable(Cable, Factory):
    """
    A dialled cable: keeps one connection up, reconnecting with backoff.

    @ivar service: the L{ClientService}.
    @ivar connection: the current connection, or L{None}.
    @ivar attempts: connection attempts so far.
    @ivar connects: connections that attached to the switch.
    """

    kind = "dial"

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 endpoint: IStreamClientEndpoint, linkParameters: Any = None,
                 retryPolicy: Optional[Callable[[int], float]] = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param endpoint: the endpoint to dial.
        @param linkParameters: the link emulation.
        @param retryPolicy: seconds to wait after N failed attempts;
            L{backoffPolicy} from L{RETRY_INITIAL} to L{RETRY_MAX} by default.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.connection: Optional[CableProtocol] = None
        self.attempts = 0
        self.connects = 0
        if retryPolicy is None:
            retryPolicy = backoffPolicy(RETRY_INITIAL, RETRY_MAX)
        self._policy = retryPolicy
        self._flaps = 0
        self._upSince: Optional[float] = None
        self.service = ClientService(_RecordingEndpoint(endpoint, self),
                                     self, retryPolicy=self._retryDelay,
                                     clock=manager.reactor)
        self._running = False

    def _retryDelay(self, attempt: int) -> float:
        """
        The delay before the next attempt.  L{ClientService} counts from 1
        again after any connection; connections that ended within
        L{FLAP_TIME} of attaching (a TLS 1.3 server refusing our
        certificate after our side of the handshake completed, a peer that
        closes at once) keep the backoff growing instead.

        @param attempt: the service's count of failed attempts.
        @return: seconds.
        """
        return self._policy(attempt + self._flaps)

    def buildProtocol(self, addr: Any) -> CableProtocol:
        """
        A new connection for this cable.

        @param addr: the peer's address.
        @return: the protocol.
        """
        protocol = CableProtocol(self, self.cableID)
        protocol.factory = self
        self.connection = protocol
        return protocol

    def connections(self) -> List[CableProtocol]:
        """
        The current connection, if any.

        @return: a list.
        """
        p = self.connection
        return [p] if p is not None and p.state != "CLOSED" else []

    def state(self) -> str:
        """
        The connection's state, or C{CONNECTING}/C{STOPPED}.

        @return: the text.
        """
        if not self._running:
            return "STOPPED"
        p = self.connection
        if p is None or p.state == "CLOSED":
            return "CONNECTING attempt %d" % (self.attempts,)
        return p.state

    def connectionUp(self, connection: CableProtocol) -> None:
        """
        Attached: count it and reset the attempt counter.
        """
        self.connects += 1
        self.attempts = 0
        self._upSince = self.manager.reactor.seconds()

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        A connection ended: note whether it flapped.
        """
        Cable.connectionDown(self, connection, reason)
        upSince, self._upSince = self._upSince, None
        if upSince is not None and self.manager.reactor.seconds() - upSince >= FLAP_TIME:
            self._flaps = 0
        else:
            self._flaps += 1

    def start(self) -> None:
        """
        Start dialling.
        """
        self._running = True
        self.service.startService()

    def stop(self) -> Any:
        """
        Stop dialling and drop the connection.

        @return: the service's Deferred.
        """
        self._running = False
        return self.service.stopService()


class CableManager(MultiService):
    """
    The cables of one switch: what C{--cable-listen}, C{--cable} and the
    console's C{cable/*} commands make.

    Stream cables (C{listen}, C{dial}) are its own; other kinds of link
    (C{vxlan}, C{vxvde}: L{vdetwist.links.vxlan}) register themselves with
    L{registerKind}, so the manager imports no transport.

    @ivar reactor: the reactor.
    @ivar switch: the switch, as the attach contract offers it.
    @ivar cables: every entry by ID.
    @ivar kinds: the registered link kinds, name to constructor.
    @ivar loopGuard: the L{LoopGuard} on the stream cables, or L{None}.
    """

    def __init__(self, reactor: Any, switch: IPortProvider, loopGuard: bool = True) -> None:
        """
        @param reactor: the reactor.
        @param switch: the switch.
        @param loopGuard: run a L{LoopGuard} on the cables.
        """
        MultiService.__init__(self)  # type: ignore[no-untyped-call]
        self.reactor = reactor
        self.switch = switch
        self.cables: Dict[int, Cable] = {}
        self.kinds: Dict[str, LinkKindFactory] = {}
        self._nextID = 1
        self.loopGuard: Optional[LoopGuard] = (
            LoopGuard(reactor, switch.mac, self.streamConnections) if loopGuard else None)

    def streamConnections(self) -> List[CableProtocol]:
        """
        The attached stream cable connections (what the loop guard probes).

        @return: a list.
        """
        result = []
        for entry in list(self.cables.values()):
            if entry.kind in ("dial", "accepted"):
                for connection in entry.connections():
                    if connection.state == "CONNECTED":
                        result.append(connection)
        return result

    def registerKind(self, kind: str, factory: LinkKindFactory) -> None:
        """
        Offer another kind of link (C{cable/add KIND ...}, L{add}).

        @param kind: its name, e.g. C{vxlan}.
        @param factory: called as C{factory(manager, description,
            linkParameters)}; it makes the entry (with L{allocateID}),
            L{remember}s it and starts it if the manager runs, or raises
            L{CableError} for a bad description.
        """
        self.kinds[kind] = factory

    def allocateID(self) -> int:
        """
        A new cable ID.

        @return: the lowest unused ID.
        """
        cableID = self._nextID
        while cableID in self.cables:
            cableID += 1
        self._nextID = cableID + 1
        return cableID

    def hasRoom(self) -> bool:
        """
        Whether one more entry fits.

        @return: the answer.
        """
        return len(self.cables) < MAX_CABLES

    def remember(self, entry: Cable) -> None:
        """
        Put an entry in the table.

        @param entry: it.
        """
        self.cables[entry.cableID] = entry

    def _forget(self, entry: Cable) -> None:
        """
        Take an entry out of the table.

        @param entry: it.
        """
        if self.cables.get(entry.cableID) is entry:
            del self.cables[entry.cableID]

    def listen(self, description: str, linkParameters: Any = None) -> ListeningCable:
        """
        Accept cables on an endpoint.

        @param description: a server endpoint description (L{serverEndpoint}).
        @param linkParameters: link emulation for its connections.
        @return: the entry (listening now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        if not self.hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        endpoint = serverEndpoint(self.reactor, description)
        entry = ListeningCable(self, self.allocateID(), description, endpoint,
                               linkParameters)
        self.remember(entry)
        if self.running:
            entry.start()
        return entry

    def dial(self, description: str, linkParameters: Any = None,
             retryPolicy: Optional[Callable[[int], float]] = None) -> DialedCable:
        """
        Keep a cable to an endpoint up.

        @param description: a client endpoint description (L{clientEndpoint}).
        @param linkParameters: link emulation.
        @param retryPolicy: reconnection delays (see L{DialedCable}).
        @return: the entry (dialling now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        if not self.hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        endpoint = clientEndpoint(self.reactor, description)
        entry = DialedCable(self, self.allocateID(), description, endpoint,
                            linkParameters, retryPolicy)
        self.remember(entry)
        if self.running:
            entry.start()
        return entry

    def add(self, kind: str, description: str, linkParameters: Any = None) -> Cable:
        """
        Add a link of a registered kind (L{registerKind}).

        @param kind: e.g. C{vxlan}.
        @param description: its description.
        @param linkParameters: link emulation.
        @return: the entry (started now if the manager is running).
        @raise CableError: for an unknown kind, a bad description or a full
            table.
        """
        factory = self.kinds.get(kind)
        if factory is None:
            raise CableError("no %s links in this switch" % (kind,))
        if not self.hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        return factory(self, description, linkParameters)

    def addVXLAN(self, description: str, linkParameters: Any = None) -> Cable:
        """
        Add a VXLAN port (the C{vxlan} kind, L{vdetwist.links.vxlan}).

        @param description: C{LOCAL:PORT,VNI[,REMOTE[:PORT]...]}.
        @param linkParameters: link emulation.
        @return: the entry (bound now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        return self.add("vxlan", description, linkParameters)

    def addVXVDE(self, description: str, linkParameters: Any = None) -> Cable:
        """
        Add a vdeplug4 C{vxvde://} segment (the C{vxvde} kind,
        L{vdetwist.links.vxlan}).

        @param description: C{[GROUP[:PORT]][,VNI[,TTL]]}.
        @param linkParameters: link emulation.
        @return: the entry (bound now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        return self.add("vxvde", description, linkParameters)

    def remove(self, cableID: int) -> Any:
        """
        Stop and forget a cable (C{cable/del}).

        @param cableID: its ID.
        @return: a Deferred or L{None}.
        @raise KeyError: when there is no such cable.
        """
        entry = self.cables[cableID]
        result = entry.stop()
        self._forget(entry)
        return result

    def startService(self) -> None:
        """
        Start every listening and dialled cable.
        """
        MultiService.startService(self)  # type: ignore[no-untyped-call]
        if self.loopGuard is not None:
            self.loopGuard.start()
        for entry in list(self.cables.values()):
            if entry.kind != "accepted":
                entry.start()

    def stopService(self) -> Any:
        """
        Stop every cable.

        @return: a Deferred that fires when all have stopped.
        """
        MultiService.stopService(self)  # type: ignore[no-untyped-call]
        if self.loopGuard is not None:
            self.loopGuard.stop()
        waits = []
        for entry in list(self.cables.values()):
            if entry.kind != "accepted":
                result = entry.stop()
                if isinstance(result, defer.Deferred):
                    waits.append(result)
        return defer.DeferredList(waits)

    def describe(self, cableID: Optional[int] = None) -> List[str]:
        """
        The lines of C{cable/print}.

        @param cableID: one cable, or all when L{None}.
        @return: the lines.
        @raise KeyError: for an unknown ID.
        """
        if cableID is not None:
            entries = [self.cables[cableID]]
        else:
            entries = [self.cables[k] for k in sorted(self.cables)]
        lines: List[str] = []
        for entry in entries:
            lines.append("Cable %04d %-8s %s %s" % (
                entry.cableID, entry.kind, entry.state(), entry.description))
            for connection in entry.connections():
                if entry.kind == "listen":
                    continue
                portNumber = connection.portNumber
                lines.append(" peer %s port %s%s" % (
                    connection.peer,
                    "%04d" % (portNumber,) if portNumber is not None else "none",
                    " TLS identity %s" % (connection.identity,)
                    if connection.identity else (" TLS" if connection._tls else "")))
                lines.append(" IN:  pkts %10d          bytes %20d" % (
                    connection.framesIn, connection.bytesIn))
                lines.append(" OUT: pkts %10d          bytes %20d drops %d" % (
                    connection.framesOut, connection.bytesOut, connection.drops))
                if getattr(connection, "blocked", False):
                    lines.append(" BLOCKED by the loop guard (%d frames dropped)" % (
                        connection.blockedDrops,))
            if entry.linkParameters is not None and not entry.linkParameters.isIdentity():
                lines.append(" link %s" % (entry.linkParameters.describe(),))
            if entry.lastError and not entry.connections():
                lines.append(" last error: %s" % (entry.lastError,))
        return lines
