# -*- test-case-name: tests.ns.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist ns --dhcp}: the child, once it has handed the tap over (so that
the parent relays the client's frames), runs busybox's C{udhcpc} for the
interface inside the view with a small script of ours (L{SCRIPT}) that
applies the lease with C{ip}: the address, the default route, and the DNS
servers written to a resolv.conf.

The view shares the host's files, so its programs would read the host's
C{/etc/resolv.conf}.  The child therefore makes a private mount namespace
(as C{ip netns exec} does, its mounts slaved to the host's) and
bind-mounts the lease's resolv.conf over C{/etc/resolv.conf} before it
becomes COMMAND:

 - a named view (C{--name NAME}) keeps the file where C{ip netns exec}
   looks, C{/etc/netns/NAME/resolv.conf}, so C{ip netns exec NAME CMD}
   sees the same servers; the parent removes it (and the directory, when
   empty) with the name (L{removeLeaseFiles});
 - an unnamed view uses a temporary file, unlinked at once after the bind
   mount (the mount keeps it alive as long as COMMAND's processes are
   around), so nothing is left behind.

C{udhcpc} runs with C{-q}: it exits once it holds a lease and nothing
renews it; the address stays configured until the view ends.

    runDHCP(ViewConfig(dhcp=True), RealNamespaceSystem())
"""

import os
import shlex
import shutil
from typing import Any, Callable, List, Optional

from vdetwist.ns.prepare import ViewConfig, ViewError, checkName
from vdetwist.ns.system import CLONE_NEWNS, MS_BIND, MS_REC, MS_SLAVE

__all__ = ["SCRIPT", "NETNS_ETC", "RESOLV_CONF", "udhcpcCommand", "leaseResolvPath",
           "runDHCP", "removeLeaseFiles"]

#: Where C{ip netns exec NAME} finds files to bind over C{/etc}.
NETNS_ETC = "/etc/netns"
#: The resolver's configuration that programs read.
RESOLV_CONF = "/etc/resolv.conf"
#: Discover messages sent before giving up, and seconds between them.
TRIES, TRY_SECONDS = 5, 2

#: The udhcpc script: C{$1} is the event; the lease is in the environment
#: (C{interface}, C{ip}, C{mask} or C{subnet}, C{broadcast}, C{router},
#: C{dns}, C{domain}, C{mtu}).  C{%(resolv)s} is where DNS servers go.
SCRIPT = """#!/bin/sh
# Written by vdetwist ns --dhcp for busybox udhcpc: apply the lease.
RESOLV=%(resolv)s
case "$1" in
deconfig)
    ip link set dev "$interface" up
    ip -4 addr flush dev "$interface"
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-$subnet}" broadcast "${broadcast:-+}" dev "$interface" || exit 1
    if [ -n "$mtu" ]; then ip link set dev "$interface" mtu "$mtu"; fi
    for r in $router; do
        ip route replace default via "$r" dev "$interface" && break
    done
    : > "$RESOLV"
    if [ -n "$domain" ]; then echo "search $domain" >> "$RESOLV"; fi
    for d in $dns; do echo "nameserver $d" >> "$RESOLV"; done
    ;;
esac
exit 0
"""


def udhcpcCommand(which: Callable[[str], Optional[str]] = shutil.which) -> List[str]:
    """
    How to run udhcpc here.

    @param which: looks a program up on C{PATH}.
    @return: C{["udhcpc"]} when installed as a program of its own, else
        busybox's applet.
    """
    return ["udhcpc"] if which("udhcpc") else ["busybox", "udhcpc"]


def leaseResolvPath(config: ViewConfig) -> Optional[str]:
    """
    @param config: the view's configuration.
    @return: the resolv.conf a named view's lease writes, or L{None} for
        an unnamed view (a temporary file).
    """
    if config.name is None:
        return None
    return os.path.join(NETNS_ETC, checkName(config.name), "resolv.conf")


def _lastLine(output: str) -> str:
    """
    @param output: a program's output.
    @return: its last non-empty line, or C{"no output"}.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def runDHCP(config: ViewConfig, system: Any,
            which: Callable[[str], Optional[str]] = shutil.which) -> None:
    """
    Get a lease for the view's interface and apply it (in the view, after
    the tap was handed over); then show its DNS servers to COMMAND.

    @param config: the view's configuration.
    @param system: the L{vdetwist.ns.system.INamespaceSystem}.
    @param which: looks a program up on C{PATH}.
    @raise ViewError: when there is no udhcpc, no lease, or the resolver
        file cannot be put in place.
    """
    resolv = leaseResolvPath(config)
    temporary = resolv is None
    try:
        if resolv is None:
            resolv = system.temporaryFile("vdetwist-ns-resolv-", "", 0o644)
        else:
            system.makeDirectory(os.path.dirname(resolv), 0o755)
    except OSError as e:
        raise ViewError("--dhcp: cannot make a resolv.conf for the view: %s"
                        % (os.strerror(e.errno) if e.errno else e,))
    try:
        _lease(config, system, resolv, which)
        text = system.readFile(resolv)
        if text and text.strip():
            _showResolv(system, resolv)
    finally:
        if temporary:
            try:
                system.unlink(resolv)
            except OSError:
                pass


def _lease(config: ViewConfig, system: Any, resolv: str,
           which: Callable[[str], Optional[str]]) -> None:
    """
    Run udhcpc with our script until it holds a lease.

    @param config: the view's configuration.
    @param system: the L{INamespaceSystem}.
    @param resolv: where the script writes the DNS servers.
    @param which: looks a program up on C{PATH}.
    @raise ViewError: when it fails.
    """
    try:
        script = system.temporaryFile("vdetwist-ns-udhcpc-",
                                      SCRIPT % {"resolv": shlex.quote(resolv)}, 0o700)
    except OSError as e:
        raise ViewError("--dhcp: cannot write the udhcpc script: %s"
                        % (os.strerror(e.errno) if e.errno else e,))
    argv = udhcpcCommand(which) + ["-i", config.ifname, "-q", "-f", "-n",
                                   "-t", str(TRIES), "-T", str(TRY_SECONDS), "-s", script]
    try:
        status, output = system.run(argv)
    finally:
        try:
            system.unlink(script)
        except OSError:
            pass
    if status == 127:
        raise ViewError("--dhcp needs busybox's udhcpc (apt-get install busybox): %s"
                        % (_lastLine(output),))
    if status:
        raise ViewError("no DHCP lease for %s (%s)" % (config.ifname, _lastLine(output)))


def _showResolv(system: Any, resolv: str) -> None:
    """
    Make a private mount namespace whose C{/etc/resolv.conf} is C{resolv}.

    @param system: the L{INamespaceSystem}.
    @param resolv: the lease's resolv.conf.
    @raise ViewError: when a step fails.
    """
    try:
        system.unshare(CLONE_NEWNS)
        system.mount("none", "/", MS_REC | MS_SLAVE)
        system.mount(resolv, RESOLV_CONF, MS_BIND)
    except OSError as e:
        raise ViewError("--dhcp: cannot show the lease's DNS servers in %s: %s"
                        % (RESOLV_CONF, os.strerror(e.errno) if e.errno else e))


def removeLeaseFiles(config: ViewConfig, system: Any) -> None:
    """
    Remove what a named view's lease left in L{NETNS_ETC} (missing pieces
    are not an error; a directory holding other files is kept).

    @param config: the view's configuration.
    @param system: the L{INamespaceSystem}.
    """
    resolv = leaseResolvPath(config) if config.dhcp else None
    if resolv is None:
        return
    for remove, path in ((system.unlink, resolv),
                         (system.removeDirectory, os.path.dirname(resolv))):
        try:
            remove(path)
        except OSError:
            pass
