# -*- test-case-name: tests.slirp.test_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's management console (C{-M SOCK}), in vde_switch's console framing
(C{0000 DATA END WITH '.'}, the data lines, C{.}, then C{1000 Success} or
C{1NNN strerror}; the C{vde$ } prompt), so C{unixterm} and scripts work
with it as with C{vde_switch}'s.  The framing, line handling, prefix
dispatch (C{fwd/print} runs C{cmd_fwd_print}), C{help}, C{logout} and
C{shutdown} are L{vdetwist.console}'s; this module adds slirp's command
table (L{SlirpCommands}):

  - C{fwd/add [tcp|udp] [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT}: start a
    forward; host port 0 allocates one, which the reply shows.
  - C{fwd/del [tcp|udp] [HOSTADDR:]HOSTPORT}: stop accepting on a forward;
    live connections go on.
  - C{fwd/print}: each forward with its connection and byte counters.
  - C{conn/print}: the live NAT flows, then the forwarded connections,
    each with its sender towards the guest (round trip, congestion
    window, bytes in flight, the guest's window), as C{ss -ti} shows a
    kernel socket.
  - C{tcp/print}: the counters of the gateway's TCP (segments sent and
    received, retransmissions, ...), IPv4 and IPv6.
  - C{dhcp/print}: the DHCP leases.
  - C{neigh/print}: the gateway's neighbour (ARP) table.
  - C{showinfo}: addresses, switch (with the port's frames in and out and
    drops), tables and their bounds.
"""

import errno
import os
from typing import Any, Callable, List, Optional, Tuple

from twisted.internet import error as netError

from vdetwist.console.builtin import HELP, LOGOUT, SHUTDOWN_FLAGS
from vdetwist.console.framing import MENU, NOARG, STRARG, WITHFILE
from vdetwist.console.session import ConsoleFactory
from vdetwist.console.table import CommandTable, Entry
from vdetwist.slirp.forward import ForwardSpec, TCPForward, formatEndpoint, parseForwardSpec
from vdetwist.wire.addr import formatIPv4, formatMAC

__all__ = ["SlirpCommands", "SlirpConsoleFactory", "COMMANDS", "HEADER"]

#: The banner.
HEADER = "vdetwist slirp (slirpvde compatible)\n"

#: slirp's command table, in lookup order: C{(path, syntax, help, flags)}.
COMMANDS: List[Entry] = [
    HELP,
    LOGOUT,
    ("shutdown", "", "shutdown of slirp", SHUTDOWN_FLAGS),
    ("showinfo", "", "show slirp version and info", NOARG | WITHFILE),
    ("fwd", MENU, "PORT FORWARD MENU", None),
    ("fwd/add", "[tcp|udp] [HA:]HP:GA:GP",
     "add a forward (host port 0: allocate one)", STRARG | WITHFILE),
    ("fwd/del", "[tcp|udp] [HA:]HP", "stop accepting on a forward", STRARG),
    ("fwd/print", "", "print the forwards and their counters", NOARG | WITHFILE),
    ("conn", MENU, "CONNECTION MENU", None),
    ("conn/print", "", "print the live NAT flows", NOARG | WITHFILE),
    ("tcp", MENU, "TCP MENU", None),
    ("tcp/print", "", "print the TCP counters (IPv4, IPv6)", NOARG | WITHFILE),
    ("dhcp", MENU, "DHCP MENU", None),
    ("dhcp/print", "", "print the DHCP leases", NOARG | WITHFILE),
    ("neigh", MENU, "NEIGHBOUR MENU", None),
    ("neigh/print", "", "print the neighbour (ARP) table", NOARG | WITHFILE),
]


def _protocolAndRest(arg: str) -> Tuple[str, str]:
    """
    Split an optional leading C{tcp}/C{udp} from a command's argument.

    @param arg: the argument.
    @return: (protocol, the rest).
    """
    words = arg.split(None, 1)
    if words and words[0].lower() in ("tcp", "udp"):
        return words[0].lower(), (words[1] if len(words) > 1 else "").strip()
    return "tcp", arg.strip()


class SlirpCommands(CommandTable):
    """
    slirp's commands (L{COMMANDS}).

    @ivar gateway: the L{vdetwist.slirp.gateway.Gateway}.
    @ivar mgmtPath: the management socket path as given, or L{None}.
    @ivar mgmtMode: its mode.
    @ivar pid: the pid C{showinfo} prints.
    """

    commands = COMMANDS

    def __init__(self, gateway: Any, mgmtPath: Optional[str] = None, mgmtMode: int = 0o600,
                 pid: Optional[int] = None) -> None:
        """
        @param gateway: the gateway.
        @param mgmtPath: the C{-M} path, for C{showinfo}.
        @param mgmtMode: its mode.
        @param pid: the pid shown, this process's by default.
        """
        self.gateway = gateway
        self.mgmtPath = mgmtPath
        self.mgmtMode = mgmtMode
        self.pid = os.getpid() if pid is None else pid

    def cmd_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{showinfo}: addresses, the switch, the tables and their bounds.
        """
        gateway = self.gateway
        nat = gateway.nat
        out.append(HEADER.rstrip("\n"))
        out.append("pid %d" % (self.pid,))
        out.append("virtual_host=%s/%d MAC %s" % (
            formatIPv4(gateway.address), gateway.prefixLength, formatMAC(gateway.host.mac)))
        out.append("DNS=%s%s" % (formatIPv4(gateway.dnsAddress),
                                 "" if gateway.dns is not None else " (off)"))
        if gateway.dhcpStart is not None:
            out.append("dhcp_start=%s" % (formatIPv4(gateway.dhcpStart),))
        out.append("vde switch=%s %s" % (gateway.switch or "",
                                         "attached" if gateway.attachment else "detached"))
        attachment = gateway.switchAttachment
        if attachment is not None:
            # What went through the switch port, and what the kernel
            # refused (the switch's queue full) or was malformed.
            c = attachment.counters()
            out.append("vde frames in %d out %d drops %d" % (
                c["framesIn"], c["framesOut"], c["drops"]))
        out.append("host loopback %s" % ("allowed" if nat.allowHostLoopback else "denied",))
        out.append("nat tcp %d/%d udp %d/%d icmp %d/%d" % (
            len(nat.relays), nat.maxTCP, len(nat.udpFlows), nat.maxUDPFlows,
            len(nat.icmp.sockets), nat.icmp.maxSockets))
        out.append("stack tcp connections %d neighbours %d" % (
            len(gateway.tcp.connections), len(gateway.neighbours())))
        if self.mgmtPath:
            out.append("mgmt %s perm 0%03o" % (self.mgmtPath, self.mgmtMode))
        return 0

    def _forwardLine(self, protocol: str, forward: Any) -> str:
        """
        One forward as C{fwd/print} shows it.

        @param protocol: C{"tcp"} or C{"udp"}.
        @param forward: the forward.
        @return: the line.
        """
        spec: ForwardSpec = forward.spec
        c = forward.counters
        host = formatEndpoint(spec.hostAddress or "0.0.0.0", forward.hostPort)
        guest = formatEndpoint(spec.guestAddress, spec.guestPort)
        return "%-5s %-21s %-21s %6d %6d %6d %12d %12d" % (
            protocol, host, guest, c.connections, c.active, c.failed,
            c.bytesToGuest, c.bytesFromGuest)

    def cmd_fwd_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{fwd/print}: the forwards with their counters.
        """
        out.append("%-5s %-21s %-21s %6s %6s %6s %12s %12s" % (
            "PROTO", "HOST", "GUEST", "CONNS", "ACTIVE", "FAILED", "TO_GUEST", "FROM_GUEST"))
        for (protocol, _, _), forward in sorted(self.gateway.forwards.items(),
                                                key=lambda item: (item[0][0], item[0][2])):
            out.append(self._forwardLine(protocol, forward))
        return 0

    def cmd_fwd_add(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{fwd/add [tcp|udp] [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT}.
        """
        protocol, rest = _protocolAndRest(arg)
        try:
            spec = parseForwardSpec(rest)
            forward = self.gateway.addForward(protocol, spec)
        except ValueError as e:
            out.append(str(e))
            return errno.EINVAL
        except netError.CannotListenError as e:
            out.append(str(e))
            return errno.EADDRINUSE
        out.append(self._forwardLine(protocol, forward))
        return 0

    def cmd_fwd_del(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{fwd/del [tcp|udp] [HOSTADDR:]HOSTPORT}.
        """
        protocol, rest = _protocolAndRest(arg)
        address, colon, port = rest.rpartition(":")
        if not port.isdigit():
            return errno.EINVAL
        try:
            self.gateway.removeForward(protocol, int(port), address if colon else None)
        except KeyError:
            return errno.ENOENT
        return 0

    def cmd_conn_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{conn/print}: the live NAT flows, then the live forwarded
        connections.
        """
        out.append("%-5s %-21s %-21s %12s %12s %8s" % (
            "PROTO", "GUEST", "DESTINATION", "FROM_GUEST", "TO_GUEST", "AGE"))
        flows = self.gateway.nat.flows()
        if getattr(self.gateway, "ipv6", None) is not None:
            flows += self.gateway.ipv6.nat.flows()
        for flow in flows:
            out.append("%-5s %-21s %-21s %12d %12d %8d" % (
                flow.protocol, formatEndpoint(*flow.guest), formatEndpoint(*flow.destination),
                flow.bytesOut, flow.bytesIn, int(flow.age)))
        now = self.gateway.reactor.seconds()
        for (protocol, _, _), forward in self.gateway.forwards.items():
            if isinstance(forward, TCPForward):
                for relay in forward.relays:
                    guestEnd = relay.guestEnd
                    machine = getattr(getattr(guestEnd, "transport", None), "machine", None)
                    line = "%-5s %s %12d %12d %8d %s" % (
                        "fwd", relay.description,
                        0 if guestEnd is None else guestEnd.bytesRead,
                        relay.hostEnd.bytesRead, int(now - relay.started),
                        getattr(machine, "state", "CONNECTING"))
                    if machine is not None:
                        # The sender towards the guest, as "ss -ti" shows
                        # it: what bounds a forward's host->guest speed.
                        srtt = machine.srtt
                        line += " rtt %s cwnd %d flight %d wnd %d" % (
                            "-" if srtt is None else "%.2fms" % (srtt * 1000,),
                            machine.cwnd, (machine.sndMax - machine.sndUna) & 0xFFFFFFFF,
                            machine.sndWnd)
                    out.append(line)
        return 0

    def cmd_tcp_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{tcp/print}: the counters of the gateway's TCP layers, one line
        each with the IPv4 and the IPv6 value (C{-} when IPv6 is off).
        """
        ipv4 = self.gateway.tcp.stats.asDict()
        ipv6 = getattr(self.gateway, "ipv6", None)
        counters6 = ipv6.tcp.stats.asDict() if ipv6 is not None else {}
        out.append("%-24s %12s %12s" % ("COUNTER", "IPV4", "IPV6"))
        for name, value in ipv4.items():
            out.append("%-24s %12d %12s" % (name, value, counters6.get(name, "-")))
        return 0

    def cmd_dhcp_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{dhcp/print}: the leases (C{ENXIO} when DHCP is off).
        """
        server = self.gateway.dhcp
        if server is None:
            return errno.ENXIO
        now = self.gateway.reactor.seconds()
        out.append("%-15s %-17s %-7s %8s %s" % ("ADDRESS", "MAC", "STATE", "EXPIRES", "HOSTNAME"))
        for lease in server.leases(now):
            out.append("%-15s %-17s %-7s %8d %s" % (
                formatIPv4(lease.address), formatMAC(lease.mac),
                "bound" if lease.bound else "offered", int(lease.expires - now),
                (lease.hostName or b"").decode("ascii", "replace")))
        return 0

    def cmd_neigh_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{neigh/print}: the neighbour table.
        """
        now = self.gateway.reactor.seconds()
        out.append("%-15s %-17s %8s" % ("ADDRESS", "MAC", "EXPIRES"))
        for address, mac, expires in sorted(self.gateway.neighbours()):
            out.append("%-15s %-17s %8d" % (formatIPv4(address), formatMAC(mac),
                                            int(expires - now)))
        return 0


class SlirpConsoleFactory(ConsoleFactory):
    """
    The console of one slirp gateway: slirp's banner and L{SlirpCommands}.

    @ivar gateway: the gateway.
    """

    def __init__(self, gateway: Any, mgmtPath: Optional[str] = None, mgmtMode: int = 0o600,
                 pid: Optional[int] = None, shutdown: Optional[Callable[[], None]] = None,
                 reactor: Any = None) -> None:
        """
        @param gateway: the L{vdetwist.slirp.gateway.Gateway}.
        @param mgmtPath: the C{-M} path, for C{showinfo}.
        @param mgmtMode: its mode.
        @param pid: the pid shown, this process's by default.
        @param shutdown: called after a C{shutdown} session ended.
        @param reactor: the reactor.
        """
        self.gateway = gateway
        ConsoleFactory.__init__(self, [SlirpCommands(gateway, mgmtPath, mgmtMode, pid)],
                                banner=HEADER, shutdown=shutdown, reactor=reactor)
