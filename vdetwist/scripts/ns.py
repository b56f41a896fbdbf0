# -*- test-case-name: tests.ns.test_script -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist ns}: any unmodified program in its own network view on the
virtual LAN (the seed's C{umview bash}; Debian's C{vdens}).

    vdetwist ns -s /tmp/vde -- sh -c 'ip link set vd0 up; ip addr add
        192.168.77.100/24 dev vd0; exec nc -vv -l -n -p 10000'
    vdetwist ns -s /tmp/vde --ip 10.0.0.2/24 --gw 10.0.0.1 --name v1 -- sleep 1d &
    vdetwist ns --join v1 -- ping 10.0.0.1
    vdetwist ns -s /tmp/vde --dhcp -- sh -c 'ip addr; cat /etc/resolv.conf'

COMMAND (the user's shell by default) runs in a new network namespace (and
a user namespace when not root) with the loopback up and one tap
interface, C{vd0}, whose frames this process relays to and from SWITCH
(a vdetwist switch or Debian's vde_switch: a directory or C{vde://} URL).
Nothing is configured unless asked: C{ip} works inside as usual.
C{--ip/--gw} and C{--ip6/--gw6} configure the interface in advance;
C{--dhcp} runs busybox's C{udhcpc} for it inside the view (address, router
and DNS servers from a DHCP server such as slirp's; the servers in a
C{/etc/resolv.conf} bind-mounted for COMMAND only, see
L{vdetwist.ns.dhcp}).  C{vd0}'s MTU is C{--mtu}, else the switch's: 1500,
or what a vdetwist switch started with C{--mtu} announces
(L{vdetwist.vde.announce}; jumbo frames between vdetwist's parts).  The
exit status is COMMAND's (127 when it does not exist, 128 + N when it died
of signal N; 1 when the view could not be made); SIGINT, SIGTERM and
SIGHUP are passed on to it.  When it ends, the port, the tap, the name and
the pid file go.

C{--join NAME -- CMD} runs CMD in the view named NAME (C{--name NAME}, or
C{ip netns add NAME}), as C{ip netns exec NAME CMD} does (without its
C{/sys} and C{/etc/netns} remounts).
"""

import os
import signal
import sys
from typing import Any, List, Optional

from twisted.python import usage

from vdetwist.ns.prepare import ViewConfig, ViewError, checkName, execCommand, joinView
from vdetwist.version import VersionOption
from vdetwist.wire.frames import MAX_FRAME

__all__ = ["Options", "main", "defaultCommand", "FORWARDED_SIGNALS"]

#: The signals passed on to COMMAND.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The largest MTU: the largest frame carried, less the Ethernet header
#: and a VLAN tag.
MAX_MTU = MAX_FRAME - 18
#: The smallest MTU IPv4 allows.
MIN_MTU = 68


def defaultCommand(environ: Any = None) -> List[str]:
    """
    The user's shell.

    @param environ: the environment (ours by default).
    @return: C{[$SHELL]}, or C{["/bin/sh"]}.
    """
    environ = os.environ if environ is None else environ
    return [environ.get("SHELL") or "/bin/sh"]


def _mac(text: str) -> str:
    """
    Check a MAC address.

    @param text: C{aa:bb:cc:dd:ee:ff}.
    @return: it, lower case.
    @raise ValueError: when it is not one, or not unicast.
    """
    parts = text.split(":")
    if len(parts) != 6 or not all(1 <= len(p) <= 2 for p in parts):
        raise ValueError("not a MAC address: %r" % (text,))
    values = [int(p, 16) for p in parts]
    if values[0] & 1:
        raise ValueError("a multicast MAC address cannot be an interface's: %r" % (text,))
    return ":".join("%02x" % (v,) for v in values)


def _mtu(text: str) -> int:
    """
    Check an MTU.

    @param text: a number.
    @return: it.
    @raise ValueError: outside L{MIN_MTU}..L{MAX_MTU}.
    """
    value = int(text)
    if not MIN_MTU <= value <= MAX_MTU:
        raise ValueError("the MTU must be %d to %d" % (MIN_MTU, MAX_MTU))
    return value


def _checkAddress(option: str, value: Any, version: Optional[int], prefix: bool) -> None:
    """
    Check an address option.

    @param option: the option's name.
    @param value: its value, or L{None} when not given.
    @param version: 4 or 6, or L{None} for either.
    @param prefix: whether C{ADDR/PREFIX} is wanted (else an address).
    @raise usage.UsageError: when it is not one.
    """
    if value is None:
        return
    import ipaddress
    example = "fd00::100/64" if version == 6 else "192.168.77.100/24"
    try:
        parsed: Any = (ipaddress.ip_interface(value) if prefix
                       else ipaddress.ip_address(value))
    except ValueError:
        raise usage.UsageError("--%s wants %s, not %r" % (
            option, "ADDR/PREFIX" if prefix else "an address", value))
    if version is not None and parsed.version != version:
        raise usage.UsageError("--%s wants an IPv%d address, not %r" % (option, version, value))
    if prefix and "/" not in value:
        raise usage.UsageError("--%s wants ADDR/PREFIX (e.g. %s)" % (option, example))


class Options(VersionOption, usage.Options):
    """
    C{vdetwist ns}'s options and arguments.
    """

    synopsis = ("[-s SWITCH] [--ifname vd0] [--mac MAC] [--ip ADDR/PREFIX] [--gw GW] "
                "[--ip6 ADDR/PREFIX] [--gw6 GW] [--dhcp] [--mtu N] [--pidfile F] "
                "[--name N | --join N] [-- COMMAND [ARGS...]]")

    optFlags = [
        ["dhcp", None, "Get the interface's address, router and DNS servers by DHCP "
                       "(busybox udhcpc, inside the view)."],
    ]
    command = "vdetwist ns"

    optParameters = [
        ["sock", "s", "", "The switch: a directory or vde:// URL (default: the default "
                          "switch, /var/run/vde.ctl or /tmp/vde.ctl)."],
        ["ifname", "i", "vd0", "The interface's name inside the view."],
        ["mac", None, None, "The interface's MAC address (default: a random one).", _mac],
        ["ip", None, None, "Configure ADDR/PREFIX on the interface and bring it up."],
        ["gw", None, None, "Add a default route via GW (needs --ip)."],
        ["ip6", None, None, "Configure the IPv6 ADDR/PREFIX on the interface (no duplicate "
                            "address detection) and bring it up."],
        ["gw6", None, None, "Add an IPv6 default route via GW (needs --ip6)."],
        ["mtu", None, None, "The interface's MTU, up to %d (default: the switch's: 1500, or "
                            "what a vdetwist switch started with --mtu announces)."
                            % (MAX_MTU,), _mtu],
        ["pidfile", "p", None, "Write our process id to this file (removed at exit)."],
        ["name", None, None, "Name the view, as ip netns add does (/run/netns/NAME, "
                             "removed at exit; root only)."],
        ["join", None, None, "Run COMMAND in the view named NAME (no switch, no interface)."],
        ["descr", "D", "vdetwist ns", "The description the switch shows."],
        ["metrics", None, None, "Serve the relay's Prometheus metrics (frames, bytes, drops) "
         "at /metrics on this Twisted server endpoint, e.g. tcp:9103:interface=127.0.0.1 "
         "(a bare port number listens on 127.0.0.1)."],
    ]

    def parseArgs(self, *command: str) -> None:  # type: ignore[override]
        """
        COMMAND and its arguments (after C{--}); the user's shell by default.
        """
        self["command"] = list(command) or defaultCommand()

    def postOptions(self) -> None:
        """
        Check the combinations.

        @raise usage.UsageError: for --gw without --ip, --name with --join,
            a bad address or name.
        """
        if self["name"] is not None and self["join"] is not None:
            raise usage.UsageError("--name and --join exclude each other")
        for key in ("name", "join"):
            if self[key] is not None:
                try:
                    checkName(self[key])
                except ValueError as e:
                    raise usage.UsageError(str(e))
        from vdetwist.observe.service import checkObserveOptions
        checkObserveOptions(self)
        if self["gw"] is not None and self["ip"] is None:
            raise usage.UsageError("--gw needs --ip")
        if self["gw6"] is not None and self["ip6"] is None:
            raise usage.UsageError("--gw6 needs --ip6")
        if self["dhcp"] and self["ip"] is not None:
            raise usage.UsageError("--dhcp and --ip exclude each other")
        _checkAddress("ip", self["ip"], None, True)
        _checkAddress("gw", self["gw"], None, False)
        _checkAddress("ip6", self["ip6"], 6, True)
        _checkAddress("gw6", self["gw6"], 6, False)

    def linkMTU(self, system: Any = None) -> Optional[int]:
        """
        The interface's MTU: C{--mtu}, else the one the switch announces
        (L{vdetwist.vde.announce.switchMTU}), else L{None} (the kernel's
        1500).

        @param system: the L{vdetwist.vde.system.ISystem} reading the
            announcement.
        @return: the MTU, or L{None}.
        """
        if self["mtu"] is not None:
            return int(self["mtu"])
        from vdetwist.vde.announce import DEFAULT_MTU, switchMTU
        mtu = switchMTU(self["sock"], system)
        return None if mtu == DEFAULT_MTU else min(mtu, MAX_MTU)

    def viewConfig(self) -> ViewConfig:
        """
        @return: the L{ViewConfig} the options ask for.
        """
        return ViewConfig(ifname=self["ifname"], mac=self["mac"], ip=self["ip"], gw=self["gw"],
                          mtu=self["mtu"], name=self["name"], ip6=self["ip6"],
                          gw6=self["gw6"], dhcp=bool(self["dhcp"]))


def join(options: Options, system: Any = None, err: Any = None) -> int:
    """
    C{--join NAME -- CMD}: enter the view and become CMD.

    @param options: the parsed options.
    @param system: the L{vdetwist.ns.system.INamespaceSystem}.
    @param err: binary standard error.
    @return: the status when CMD could not be run.
    """
    if system is None:
        from vdetwist.ns.system import RealNamespaceSystem
        system = RealNamespaceSystem()
    err = sys.stderr.buffer if err is None else err
    try:
        joinView(options["join"], system)
    except ViewError as e:
        err.write(("vdetwist ns: %s\n" % (e,)).encode("utf-8", "replace"))
        err.flush()
        return 1
    return execCommand(options["command"], system, err)


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist ns}.

    @param argv: the arguments after C{ns}.
    @return: the exit status.
    """
    options = Options()
    try:
        options.parseOptions(argv)  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        print("vdetwist ns: %s\n%s" % (e, options), file=sys.stderr)
        return 2
    if options["join"] is not None:
        return join(options)
    from vdetwist.scripts.daemon import PidFile
    pidfile = PidFile(options["pidfile"]) if options["pidfile"] else None
    if pidfile is not None:
        try:
            pidfile.write()
        except OSError as e:
            print("vdetwist ns: cannot write the pid file %s: %s" % (
                pidfile.path, e.strerror), file=sys.stderr)
            return 1
    try:
        return _run(options)
    finally:
        if pidfile is not None:
            pidfile.remove()


def _run(options: Options) -> int:
    """
    Run the view in the reactor.

    @param options: the parsed options.
    @return: the exit status.
    """
    from twisted.internet import reactor

    from vdetwist.ns.view import NamespaceView
    config = options.viewConfig()
    config.mtu = options.linkMTU()
    view = NamespaceView(reactor, options["sock"], config, options["command"],
                         description=options["descr"])
    status = [1]

    def finished(code: int) -> None:
        """
        Record the exit status and stop.
        """
        status[0] = code
        if reactor.running:
            reactor.stop()

    def start() -> None:
        """
        Pass the signals on (Twisted's handlers are installed by now), then
        begin.
        """
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, lambda number, frame: reactor.callFromThread(view.signal, number))
        if options["metrics"]:
            _serveMetrics(reactor, options, view).addCallbacks(
                lambda _: view.start().addCallback(finished), lambda f: finished(1))
        else:
            view.start().addCallback(finished)

    reactor.callWhenRunning(start)
    reactor.run()
    return status[0]


def _serveMetrics(reactor: Any, options: Options, view: Any) -> Any:
    """
    C{--metrics}: serve the relay's counters
    (L{vdetwist.observe.components.relayCounters}), labelled with the
    description; say why on standard error when it cannot listen.

    @param reactor: the reactor.
    @param options: the parsed options.
    @param view: the L{vdetwist.ns.view.NamespaceView}.
    @return: a Deferred firing with the listening port, or failing.
    """
    from vdetwist.observe.components import Components, relayCounters
    from vdetwist.observe.service import listenMetrics
    d = listenMetrics(reactor, options["metrics"], Components(
        "vdetwist ns", hosts=lambda: [],
        attachments=lambda: [(options["descr"], relayCounters(view.relay))]))

    def failed(failure: Any) -> Any:
        print("vdetwist ns: --metrics %s: %s" % (options["metrics"], failure.value),
              file=sys.stderr)
        return failure
    return d.addErrback(failed)

