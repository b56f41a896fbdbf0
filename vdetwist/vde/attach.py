# -*- test-case-name: tests.vde.test_attach -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Attach a frame protocol to a switch: in process when this process serves
that switch (L{vdetwist.vde.local}; frames pass by call through
L{IPortProvider.attach}), else over a VDE plug (L{vdetwist.vde.plug}), so
Debian's vde_switch works as well as ours.  The virtual hosts' endpoints,
the slirp gateway and namespaces all attach through L{attachToSwitch}.

    d = attachToSwitch(reactor, "vde:///tmp/sw[3]", interface, "myhost")
    d.addCallback(lambda transport: transport.sendFrame(frame))
"""

from typing import Any, Optional, Union

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from vdetwist.interfaces import AttachError, IFrameReceiver, IFrameTransport
from vdetwist.vde import local
from vdetwist.vde.plug import DEFAULT_TIMEOUT, connectPlug
from vdetwist.vde.url import VDEURL, parseVDEURL

__all__ = ["attachToSwitch"]


def attachToSwitch(reactor: Any, switch: Union[str, VDEURL], protocol: IFrameReceiver,
                   description: str = "vdetwist", inProcessDescription: Optional[str] = None,
                   system: Optional[Any] = None,
                   timeout: float = DEFAULT_TIMEOUT) -> "Deferred[IFrameTransport]":
    """
    Attach C{protocol} to the switch at C{switch}.

    @param reactor: the reactor (used only for a plug).
    @param switch: the switch directory or C{vde://} URL (its port, as in
        C{[5]}, is asked for either way).
    @param protocol: gets the frames; when it provides L{IFrameProtocol},
        also C{makeConnection(transport)} before the Deferred fires and
        C{connectionLost} when the switch closes the port.
    @param description: the program's tag; over a plug the switch shows
        C{"<description> user=<login> pid=<pid>"}.
    @param inProcessDescription: what port/print shows when attached in
        process; C{description} when L{None}.
    @param system: the OS layer for a plug (tests); the real one by default.
    @param timeout: seconds the plug's handshake may take.
    @return: a Deferred firing with the L{IFrameTransport} that sends into
        the switch (its C{loseConnection} gives the port back), or failing
        with L{ValueError} (bad URL), L{vdetwist.interfaces.AttachError}
        (the in-process switch refused) or L{vdetwist.vde.plug.VDEPlugError}.
    """
    try:
        url = switch if isinstance(switch, VDEURL) else parseVDEURL(switch)
    except ValueError:
        return fail(Failure())
    provider = local.lookup(url.path)
    if provider is None:
        return connectPlug(reactor, url, protocol, description=description,
                           system=system, timeout=timeout)
    try:
        attachment = provider.attach(
            protocol, description if inProcessDescription is None else inProcessDescription,
            url.port or 0)
    except AttachError:
        return fail(Failure())
    return succeed(attachment)
