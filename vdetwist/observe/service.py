# -*- test-case-name: tests.observe.test_metrics -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The options C{--metrics}, C{--web} and C{--web-token} and the services
they start, for the C{twistd} plugins and C{vdetwist} commands.

A tap module adds L{OBSERVE_PARAMETERS} to its C{optParameters}, calls
L{checkObserveOptions} in C{postOptions}, and L{addObserveServices} in
C{makeService}.
"""

import os
from typing import Any, List, Optional

from twisted.application import service, strports
from twisted.python import usage

from vdetwist.observe.components import Components

#: The option entries, to add to a tap module's C{optParameters}.
OBSERVE_PARAMETERS: List[List[Any]] = [
    ["metrics", None, None, "Serve Prometheus metrics at /metrics on this Twisted server "
     "endpoint, e.g. tcp:9101:interface=127.0.0.1."],
    ["web", None, None, "Serve the live web view on this Twisted server endpoint, e.g. "
     "tcp:8080:interface=127.0.0.1 (a bare port number listens on 127.0.0.1)."],
    ["web-token", None, None, "A file holding a secret token; with it the web view accepts "
     "actions (add/delete forwards, close ports) that carry the token."],
]


def endpointDescription(text: str) -> str:
    """
    An endpoint string, loopback by default: a bare port number becomes
    C{tcp:PORT:interface=127.0.0.1}.

    @param text: the option's value.
    @return: the endpoint description.
    """
    if text.isdigit():
        return "tcp:%s:interface=127.0.0.1" % (text,)
    return text


def readToken(path: str) -> bytes:
    """
    The web token in a file: its first line, stripped.

    @param path: the file.
    @return: the token.
    @raise usage.UsageError: unreadable, empty or too short.
    """
    try:
        with open(path, "rb") as f:
            token = f.read(4096).split(b"\n", 1)[0].strip()
    except OSError as e:
        raise usage.UsageError("--web-token: cannot read %s: %s" % (path, e.strerror))
    if len(token) < 8:
        raise usage.UsageError("--web-token: the token in %s is shorter than 8 characters"
                               % (path,))
    return token


def checkObserveOptions(options: Any) -> None:
    """
    Validate the options: endpoints parse, the token file is readable.

    @param options: the parsed options (with L{OBSERVE_PARAMETERS}).
    @raise usage.UsageError: with a clear message.
    """
    from twisted.internet.endpoints import _parseServer  # type: ignore[attr-defined]
    for name in ("metrics", "web"):
        if options.get(name):
            options[name] = endpointDescription(options[name])
            try:
                _parseServer(options[name], None)
            except (ValueError, KeyError, TypeError) as e:
                raise usage.UsageError("--%s: not a server endpoint: %r (%s)" % (
                    name, options[name], e))
    if options.get("web-token"):
        if not options.get("web"):
            raise usage.UsageError("--web-token needs --web")
        options["webToken"] = readToken(os.path.abspath(options["web-token"]))
    else:
        options["webToken"] = None


def addObserveServices(parent: service.MultiService, reactor: Any, options: Any,
                       components: Components) -> Optional[Any]:
    """
    Start what the options ask: the metrics endpoint, the web view.

    @param parent: the service to add them to.
    @param reactor: the reactor.
    @param options: the parsed options.
    @param components: what to show.
    @return: the web view's L{vdetwist.observe.web.WebView}, or L{None}.
    """
    view = None
    if options.get("metrics"):
        from vdetwist.observe.metrics import makeRegistry, metricsSite
        registry = makeRegistry(reactor, components)
        metrics = strports.service(options["metrics"], metricsSite(registry), reactor=reactor)
        metrics.setName("metrics")
        metrics.registry = registry  # type: ignore[attr-defined]
        metrics.setServiceParent(parent)
    if options.get("web"):
        from vdetwist.observe.web import WebView
        view = WebView(reactor, components, token=options.get("webToken"))
        web = strports.service(options["web"], view.site(), reactor=reactor)
        web.setName("web")
        web.setServiceParent(parent)
        view.setServiceParent(parent)
    return view


def listenMetrics(reactor: Any, description: str, components: Components) -> Any:
    """
    Serve C{/metrics} for C{components} on an endpoint, outside a service
    hierarchy (the C{vdetwist} commands that are no C{twistd} plugin).

    @param reactor: the reactor.
    @param description: the server endpoint (checked by
        L{checkObserveOptions}).
    @param components: what to collect.
    @return: a Deferred firing with the listening port; its C{registry}
        attribute is the L{prometheus_client.registry.CollectorRegistry}.
    """
    from twisted.internet.endpoints import serverFromString

    from vdetwist.observe.metrics import makeRegistry, metricsSite
    registry = makeRegistry(reactor, components)

    def listening(port: Any) -> Any:
        port.registry = registry
        return port
    return serverFromString(reactor, description).listen(
        metricsSite(registry)).addCallback(listening)

