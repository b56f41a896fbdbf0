# -*- test-case-name: tests.switch.test_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch's console commands (C{-M SOCK}), byte-compatible with Debian's
vde_switch 2.3.2+r586: L{SwitchCommands} is the switch's command table,
in vde_switch's registration order, placing the console's own commands
(C{help}, C{logout}, C{load}: L{vdetwist.console.builtin}; the C{debug}
menu: L{vdetwist.console.debug}, fed by the switch's debug events) where
r586 lists them.  L{SwitchConsoleFactory} composes the switch's console;
a face adds other tables (the links' C{cable/*} and C{link/*}) after it.
The protocol, the framing, the dispatch and the argument parsing are
L{vdetwist.console}'s.

Deliberate differences from r586 (those of the framing, C{load} and
scripts are in L{vdetwist.console.session} and
L{vdetwist.console.scripts}):

  - C{port/print}: the current user and the access-control user are
    looked up separately (r586 prints the same name twice, from
    C{getpwuid}'s static buffer).
  - C{hash/find} prints the entry's port (r586 prints the port plus one).
  - The table is bounded, in total and per port, with eviction of the
    least recently seen: C{hash/setmax} and C{hash/setportmax} (listed
    after r586's C{hash} commands) set the bounds, and C{hash/showinfo}
    appends the entry count, the bounds, the evictions and the sources not
    learned after r586's four lines.
  - VLAN 4094 is valid: C{vlan/create}, C{vlan/print}, C{vlan/allprint},
    C{vlan/addport}, C{vlan/delport} and C{fstp/print} accept it (r586
    answers 1022).
  - C{port/create 0} is refused with 1022 (r586 creates the lowest free
    port instead); C{vlan/remove 0} is always refused with 1098 (r586
    removes VLAN 0 when no port is a member).
  - C{port/setnumports} above L{MAX_NUMPORTS} answers 1012.
  - No C plugins are loaded: C{plugin/add} answers 1002 (1022 without an
    argument), as r586 does for a library it cannot load.  FSTP and these
    commands live in L{vdetwist.switch.fstpcommands}.
  - C{port/epclose} on an inactive port does not fire a second C{port/-}
    event; C{vlan/delport} of a port that is not a tagged member answers
    1000, as r586 does, but flushes nothing.
"""

import errno
import grp
import os
import pwd
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from twisted.logger import Logger

from vdetwist.console.arguments import afterFirstWord, cAtoi, cScanf
from vdetwist.console.builtin import HELP, LOAD, LOGOUT, SHUTDOWN_FLAGS
from vdetwist.console.debug import DEBUG_MENU, DebugCommands
from vdetwist.console.framing import INTARG, MENU, NOARG, STRARG, WITHFD, WITHFILE
from vdetwist.console.session import ConsoleFactory
from vdetwist.console.table import CommandTable, Entry
from vdetwist.switch import fstpcommands
from vdetwist.switch.fdb import LAST_SEEN, PORT, bucketOf, roundUpPowerOfTwo
from vdetwist.switch.port import NOBODY, NOVLAN, Port
from vdetwist.switch.switch import DEBUG_CATEGORIES, MAX_VLAN, Switch, SwitchError
from vdetwist.wire.addr import formatMAC

log = Logger(namespace="vdetwist.switch.console")

#: The banner, as vde_switch 2.3.2 writes it (C{showinfo} prints it too).
HEADER = ("VDE switch V.2.3.2\n"
          "(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n")

#: The most ports C{port/setnumports} makes.
MAX_NUMPORTS = 65536

#: The switch's command table, in vde_switch's registration order:
#: C{(path, syntax, help, flags)}; C{flags} is L{None} for menu headers.
#: The C{ds} menu is listed only with a control server.
COMMANDS: List[Entry] = [
    ("ds", MENU, "DATA SOCKET MENU", None),
    ("ds/showinfo", "", "show ds info", NOARG | WITHFILE),
    HELP,
    LOGOUT,
    ("shutdown", "", "shutdown of the switch", SHUTDOWN_FLAGS),
    ("showinfo", "", "show switch version and info", NOARG | WITHFILE),
    LOAD,
    *DEBUG_MENU,
    ("plugin", MENU, "PLUGINS MENU", None),
    ("plugin/list", "", "list plugins", STRARG | WITHFILE),
    ("plugin/add", "library", "load a plugin", STRARG),
    ("plugin/del", "name", "unload a plugin", STRARG),
    ("hash", MENU, "HASH TABLE MENU", None),
    ("hash/showinfo", "", "show hash info", NOARG | WITHFILE),
    ("hash/setsize", "N", "change hash size", INTARG),
    ("hash/setgcint", "N", "change garbage collector interval", INTARG),
    ("hash/setexpire", "N", "change hash entries expire time", INTARG),
    ("hash/setminper", "N", "minimum persistence time", INTARG),
    ("hash/print", "", "print the hash table", NOARG | WITHFILE),
    ("hash/find", "MAC [VLAN]", "MAC lookup", STRARG | WITHFILE),
    # vdetwist's own: the bounds of the table (vdetwist.switch.fdb).
    ("hash/setmax", "N", "maximum number of hash entries (0=learn nothing)", INTARG),
    ("hash/setportmax", "N", "maximum hash entries learned per port (0=no limit)", INTARG),
    ("fstp", MENU, "FAST SPANNING TREE MENU", None),
    ("fstp/showinfo", "", "show fstp info", NOARG | WITHFILE),
    ("fstp/setfstp", "0/1", "Fast spanning tree protocol 1=ON 0=OFF", INTARG | WITHFILE),
    ("fstp/setedge", "VLAN PORT 1/0", "Define an edge port for a vlan 1=Y 0=N", STRARG),
    ("fstp/bonus", "VLAN PORT COST", "set the port bonus for a vlan", STRARG),
    ("fstp/print", "[N]", "print fst data for the defined vlan", STRARG | WITHFILE),
    ("port", MENU, "PORT STATUS MENU", None),
    ("port/showinfo", "", "show port info", NOARG | WITHFILE),
    ("port/setnumports", "N", "set the number of ports", INTARG),
    ("port/sethub", "0/1", "1=HUB 0=switch", INTARG),
    ("port/setvlan", "N VLAN", "set port VLAN (untagged)", STRARG),
    ("port/createauto", "", "create a port with an automatically allocated id "
     "(inactive|notallocatable)", NOARG | WITHFILE),
    ("port/create", "N", "create the port N (inactive|notallocatable)", INTARG),
    ("port/remove", "N", "remove the port N", INTARG),
    ("port/allocatable", "N 0/1", "Is the port allocatable as unnamed? 1=Y 0=N", STRARG),
    ("port/setuser", "N user", "access control: set user", STRARG),
    ("port/setgroup", "N user", "access control: set group", STRARG),
    ("port/epclose", "N ID", "remove the endpoint port N/id ID", STRARG),
    ("port/resetcounter", "[N]", "reset the port (N) counters", STRARG),
    ("port/print", "[N]", "print the port/endpoint table", STRARG | WITHFILE),
    ("port/allprint", "[N]", "print the port/endpoint table (including inactive port)",
     STRARG | WITHFILE),
    # vdetwist's own: pcap capture of a port (vdetwist.switch.capture).
    ("port/capture", "N FILE", "capture port N's traffic to a pcap file", STRARG | WITHFILE),
    ("port/nocapture", "N", "stop capturing port N", STRARG | WITHFILE),
    ("port/stream", "N", "this session becomes a live pcap stream of port N", STRARG | WITHFD),
    ("vlan", MENU, "VLAN MANAGEMENT MENU", None),
    ("vlan/create", "N", "create the VLAN with tag N", INTARG),
    ("vlan/remove", "N", "remove the VLAN with tag N", INTARG),
    ("vlan/addport", "N PORT", "add port to the vlan N (tagged)", STRARG),
    # "add" is upstream's typo, kept: the help text is part of the protocol.
    ("vlan/delport", "N PORT", "add port to the vlan N (tagged)", STRARG),
    ("vlan/print", "[N]", "print the list of defined vlan", STRARG | WITHFILE),
    ("vlan/allprint", "[N]", "print the list of defined vlan (including inactive port)",
     STRARG | WITHFILE),
    # vdetwist's own: a live pcap stream of a VLAN (vdetwist.switch.capture).
    ("vlan/stream", "N", "this session becomes a live pcap stream of vlan N", STRARG | WITHFD),
    ("vlan/nocapture", "N", "stop streaming vlan N", STRARG | WITHFILE),
]

#: Event-only debug categories of r586: never listed or subscribable, but
#: C{debug/del} matches them (C{debug/del m} answers 1002, not 1022).
HIDDEN_CATEGORIES = ["mgmt/+", "mgmt/-", "sig/hup", "packet/in", "packet/out"]


def userName(uid: int) -> str:
    """
    A uid as C{port/print} shows it: C{NONE}, the user name, or the number.

    @param uid: the uid, or L{NOBODY}.
    @return: the text.
    """
    if uid == NOBODY:
        return "NONE"
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError, ValueError):
        return "%d" % (uid & 0xFFFFFFFF,)


def groupName(gid: int) -> str:
    """
    A gid as C{port/print} shows it: C{NONE}, the group name, or the number.

    @param gid: the gid, or L{NOBODY}.
    @return: the text.
    """
    if gid == NOBODY:
        return "NONE"
    try:
        return grp.getgrgid(gid).gr_name
    except (KeyError, OverflowError, ValueError):
        return "%d" % (gid & 0xFFFFFFFF,)


class SwitchCommands(CommandTable):
    """
    The switch's commands (L{COMMANDS}).

    @ivar switch: the L{Switch}.
    @ivar controlServer: the control server (for C{ds/showinfo}), or
        L{None} (then there is no C{ds} menu).
    @ivar mgmtPath: the management socket path as given, or L{None}.
    @ivar mgmtMode: its mode.
    @ivar pid: the pid C{showinfo} prints.
    """

    commands = COMMANDS
    errors = (SwitchError,)

    def __init__(self, switch: Switch, controlServer: Any = None,
                 mgmtPath: Optional[str] = None, mgmtMode: int = 0o600,
                 pid: Optional[int] = None) -> None:
        """
        @param switch: the switch.
        @param controlServer: the L{vdetwist.switch.server.ControlServer}.
        @param mgmtPath: the C{-M} path, for C{showinfo}.
        @param mgmtMode: the C{--mgmtmode}, for C{showinfo}.
        @param pid: the pid to show, this process's by default.
        """
        self.switch = switch
        self.controlServer = controlServer
        self.mgmtPath = mgmtPath
        self.mgmtMode = mgmtMode
        self.pid = os.getpid() if pid is None else pid

    def entries(self) -> Iterator[Entry]:
        """
        The commands, the C{ds} menu only when there is a control server.

        @return: an iterator of C{(path, syntax, help, flags)}.
        """
        hasDS = self.controlServer is not None
        for entry in COMMANDS:
            if hasDS or not (entry[0] == "ds" or entry[0].startswith("ds/")):
                yield entry

    # -- helpers ------------------------------------------------------

    def _portInRange(self, number: int) -> bool:
        """
        Whether C{number} is a port number of this switch.

        @param number: the number.
        @return: the answer.
        """
        return 0 <= number < self.switch.numports

    def _existingPort(self, number: int) -> Port:
        """
        A port, checked as r586 does: C{EINVAL} out of range, C{ENXIO} not
        created.

        @param number: the port number.
        @return: the port.
        @raise SwitchError: as above.
        """
        return self.switch.getPort(number)

    # -- the data socket and general information -------------------------

    def cmd_ds_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{ds/showinfo}: the control directory and the socket mode.
        """
        server = self.controlServer
        out.append("ctl dir %s" % (server.directory,))
        out.append("std mode 0%03o" % (server.mode,))
        return 0

    def cmd_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{showinfo}: banner, pid, MAC, uptime, management socket.
        """
        out.append(HEADER)
        out.append("pid %d MAC %s uptime %d" % (self.pid, formatMAC(self.switch.mac),
                                                self.switch.now))
        if self.mgmtPath:
            out.append("mgmt %s perm 0%03o" % (self.mgmtPath, self.mgmtMode))
        return 0

    def cmd_plugin_list(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{plugin/list}: no plugins, ever.
        """
        out.append("%-22s %s" % ("NAME", "HELP"))
        out.append("%-22s %s" % ("------------", "----"))
        return errno.ENOENT

    # -- hash -----------------------------------------------------------

    def cmd_hash_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{hash/showinfo}: the MAC table's settings (r586's four lines),
        then vdetwist's: the entry count, the bounds, the evictions and the
        sources not learned.
        """
        fdb = self.switch.fdb
        out.append("Hash size %d" % (fdb.size,))
        out.append("GC interval %d secs" % (fdb.gcInterval,))
        out.append("GC expire %d secs" % (fdb.expire,))
        out.append("Min persistence %d secs" % (fdb.minPersistence,))
        out.append("Entries %d" % (fdb.count,))
        out.append("Max entries %d" % (fdb.maxEntries,))
        out.append("Max entries per port %d" % (fdb.maxPortEntries,))
        out.append("Evicted (table full) %d" % (fdb.evicted,))
        out.append("Evicted (port full) %d" % (fdb.portEvicted,))
        out.append("Not learned %d" % (fdb.dropped,))
        return 0

    def cmd_hash_setsize(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setsize N}: round up to a power of two and flush.
        """
        if arg <= 0:
            return errno.EINVAL
        size = roundUpPowerOfTwo(arg)
        if size != arg:
            log.warn("Hash size must be a power of 2. {size} rounded to {rounded}",
                     size=arg, rounded=size)
        self.switch.fdb.setSize(size)
        return 0

    def cmd_hash_setgcint(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setgcint N}: seconds between aging sweeps (any integer).
        """
        self.switch.fdb.gcInterval = arg
        return 0

    def cmd_hash_setexpire(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setexpire N}: seconds before an unseen entry goes.
        """
        self.switch.fdb.expire = arg
        return 0

    def cmd_hash_setminper(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setminper N}: the minimum persistence before a MAC moves.
        """
        self.switch.fdb.minPersistence = arg
        return 0

    def cmd_hash_setmax(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setmax N}: the most entries the table holds; lowering it
        evicts the least recently seen at once.
        """
        if arg < 0:
            return errno.EINVAL
        self.switch.fdb.setMaxEntries(arg)
        return 0

    def cmd_hash_setportmax(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{hash/setportmax N}: the most entries one port learns (0: no
        limit); lowering it evicts each port's least recently seen at once.
        """
        if arg < 0:
            return errno.EINVAL
        self.switch.fdb.setMaxPortEntries(arg)
        return 0

    def _hashLine(self, bucket: int, mac: bytes, vlan: int, entry: List[Any]) -> str:
        """
        One C{hash/print} line.

        @param bucket: the hash bucket.
        @param mac: the MAC.
        @param vlan: the VLAN.
        @param entry: the table entry.
        @return: the line.
        """
        return "Hash: %04d Addr: %s VLAN %04d to port: %03d  age %d secs" % (
            bucket, formatMAC(mac), vlan, entry[PORT].number,
            self.switch.now - entry[LAST_SEEN])

    def cmd_hash_print(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{hash/print}: the MAC table in bucket order.
        """
        for bucket, mac, vlan, entry in self.switch.fdb.entries():
            out.append(self._hashLine(bucket, mac, vlan, entry))
        return 0

    def cmd_hash_find(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{hash/find MAC [VLAN]}: one entry (with its real port, unlike
        r586).
        """
        sep = ":" if ":" in arg else "."
        values = cScanf(arg, sep.join(["%x"] * 6) + " %d")
        if len(values) < 6:
            return errno.EINVAL
        mac = bytes(v & 0xFF for v in values[:6])
        vlan = (values[6] if len(values) > 6 else 0) & 0xFFFF
        entry = self.switch.fdb.find(mac, vlan)
        if entry is None:
            return errno.ENODEV
        out.append(self._hashLine(bucketOf(mac, vlan, self.switch.fdb.size), mac, vlan, entry))
        return 0

    # -- fstp and plugins (vdetwist.switch.fstpcommands) ------------------

    def cmd_plugin_add(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{plugin/add LIBRARY}.
        """
        return fstpcommands.pluginAdd(self.switch, out, arg)

    def cmd_plugin_del(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{plugin/del NAME}.
        """
        return fstpcommands.pluginDel(self.switch, out, arg)

    def cmd_fstp_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{fstp/showinfo}.
        """
        return fstpcommands.fstpShowInfo(self.switch, out, arg)

    def cmd_fstp_setfstp(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{fstp/setfstp 0|1}.
        """
        return fstpcommands.fstpSetFSTP(self.switch, out, arg)

    def cmd_fstp_setedge(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{fstp/setedge VLAN PORT 1|0}.
        """
        return fstpcommands.fstpSetEdge(self.switch, out, arg)

    def cmd_fstp_bonus(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{fstp/bonus VLAN PORT COST}.
        """
        return fstpcommands.fstpBonus(self.switch, out, arg)

    def cmd_fstp_print(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{fstp/print [N]}.
        """
        return fstpcommands.fstpPrint(self.switch, out, arg)

    # -- port -------------------------------------------------------------

    def cmd_port_showinfo(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{port/showinfo}.
        """
        out.append("Numports=%d" % (self.switch.numports,))
        out.append("HUB=%s" % ("true" if self.switch.hub else "false",))
        out.append("counters=true")
        return 0

    def cmd_port_setnumports(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{port/setnumports N}.
        """
        if arg <= 0:
            return errno.EINVAL
        if arg > MAX_NUMPORTS:
            return errno.ENOMEM
        self.switch.setNumPorts(arg)
        return 0

    def cmd_port_sethub(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{port/sethub 0|1}.
        """
        self.switch.setHub(bool(arg))
        return 0

    def cmd_port_setvlan(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/setvlan N VLAN}: the untagged VLAN (4095: none).
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            return errno.EINVAL
        number, vid = values
        if not 0 <= vid <= NOVLAN or not self._portInRange(number):
            return errno.EINVAL
        if (vid != NOVLAN and vid not in self.switch.vlans) or self.switch.ports[number] is None:
            return errno.ENXIO
        self.switch.setPortVLAN(number, vid)
        return 0

    def cmd_port_createauto(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{port/createauto}: the lowest port that is free or inactive and
        allocatable (as r586's C{alloc_port(0)}), made not allocatable.
        """
        out.append("Port %04d" % (self.switch.createPortAuto().number,))
        return 0

    def cmd_port_create(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{port/create N}: an inactive, not allocatable port.
        """
        if not self._portInRange(arg) or arg == 0:
            return errno.EINVAL
        self.switch.createPort(arg)
        return 0

    def cmd_port_remove(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{port/remove N}.
        """
        self.switch.removePort(arg)
        return 0

    def cmd_port_allocatable(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/allocatable N 0|1}.
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2 or not self._portInRange(values[0]):
            return errno.EINVAL
        self._existingPort(values[0])
        self.switch.setAllocatable(values[0], bool(values[1]))
        return 0

    def _setOwner(self, arg: str, lookup: Callable[[str], int],
                  setter: Callable[[int, int], None]) -> int:
        """
        C{port/setuser} and C{port/setgroup}: a name, a number, C{NONE} or
        C{ANY}.
        """
        name = afterFirstWord(arg)
        values = cScanf(arg, "%i")
        if len(values) != 1 or not name:
            return errno.EINVAL
        number = values[0]
        if not self._portInRange(number):
            return errno.EINVAL
        self._existingPort(number)
        try:
            ident = lookup(name)
        except (KeyError, ValueError, UnicodeError, OverflowError):
            if name[0] in "0123456789":
                ident = cAtoi(name) & 0xFFFFFFFF
                if ident == 0xFFFFFFFF:
                    ident = NOBODY
            elif name in ("NONE", "ANY"):
                ident = NOBODY
            else:
                return errno.EINVAL
        setter(number, ident)
        return 0

    def cmd_port_setuser(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/setuser N user|uid|NONE|ANY}.
        """
        return self._setOwner(arg, lambda name: pwd.getpwnam(name).pw_uid,
                              self.switch.setPortUser)

    def cmd_port_setgroup(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/setgroup N group|gid|NONE|ANY}.
        """
        return self._setOwner(arg, lambda name: grp.getgrnam(name).gr_gid,
                              self.switch.setPortGroup)

    def cmd_port_epclose(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/epclose N ID}: close one endpoint (its client sees EOF).
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            return errno.EINVAL
        self.switch.closeEndpoint(values[0], values[1])
        return 0

    def cmd_port_resetcounter(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/resetcounter [N]}.
        """
        if arg:
            number = cAtoi(arg)
            if not self._portInRange(number):
                return errno.EINVAL
            if self.switch.ports[number] is not None:
                self.switch.resetCounters(number)
        else:
            self.switch.resetCounters()
        return 0

    def cmd_port_capture(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/capture N FILE}: write every frame in and out of port N to a
        new pcap file (mode 0600), replacing a capture already running
        there.  Prints the file.
        """
        from vdetwist.switch.capture import PortCapture
        parts = arg.split(None, 1)
        if len(parts) != 2:
            return errno.EINVAL
        number = cAtoi(parts[0])
        if not self._portInRange(number):
            return errno.EINVAL
        if self.switch.ports[number] is None:
            return errno.ENXIO
        try:
            capture = PortCapture(parts[1].strip())
        except OSError as e:
            return e.errno or errno.EIO
        self.switch.startCapture(number, capture)
        out.append("Port %04d capture to %s" % (number, capture.path))
        return 0

    def cmd_port_nocapture(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/nocapture N}: stop port N's capture and close its file;
        prints the frames written (and those not written past the size
        bound).  ENOENT when the port has no capture.
        """
        number = cAtoi(arg)
        if not self._portInRange(number):
            return errno.EINVAL
        if self.switch.ports[number] is None:
            return errno.ENXIO
        capture = self.switch.stopCapture(number)
        if capture is None:
            return errno.ENOENT
        out.append("Port %04d capture to %s: %d frames, %d not written" % (
            number, capture.path, capture.frames, capture.dropped))
        return 0

    def cmd_port_stream(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/stream N}: after its reply (C{1000 Success}) and the prompt,
        this session is a live pcap stream of every frame in and out of
        port N (what C{vdetwist capture} reads); its input is ignored from
        then on.  The stream ends when the session's connection closes or
        with C{port/nocapture N} from another session.  A reader that stops
        reading loses frames (counted), never the switch's memory
        (L{vdetwist.switch.capture.StreamCapture}).  EBUSY when the port is
        captured already; EBADF outside a connected session.
        """
        from vdetwist.switch.capture import StreamCapture
        number = cAtoi(arg)
        if not self._portInRange(number):
            return errno.EINVAL
        port = self.switch.ports[number]
        if port is None:
            return errno.ENXIO
        if port.capture is not None:
            return errno.EBUSY

        def stopped(stream: StreamCapture) -> None:
            current = self.switch.ports[number]
            if current is not None and current.capture is stream:
                self.switch.stopCapture(number)
        return self._becomeStream(
            session, lambda stream: self.switch.startCapture(number, stream), stopped)

    def _becomeStream(self, session: Any, start: Callable[[Any], None],
                      stop: Callable[[Any], None]) -> int:
        """
        Make this session a live pcap stream (C{port/stream},
        C{vlan/stream}): its input is ignored from then on, and the stream
        is its connection's producer (paused when the reader falls behind).

        @param session: the console session.
        @param start: called with the L{StreamCapture} to put it in place.
        @param stop: called with it when the reader's side closes.
        @return: 0, or EBADF outside a connected session.
        """
        from vdetwist.switch.capture import StreamCapture
        transport = getattr(session, "transport", None)
        if (transport is None or getattr(session, "stdio", False)
                or not hasattr(transport, "registerProducer")):
            return errno.EBADF
        stream = StreamCapture(transport, stopped=stop)
        session.dataReceived = _ignoreInput
        transport.unregisterProducer()
        transport.registerProducer(stream, True)
        start(stream)
        reactor = getattr(getattr(session, "factory", None), "reactor", None)
        if reactor is not None:
            # After the reply and the prompt are written.
            reactor.callLater(0, stream.start)
        return 0

    def cmd_vlan_stream(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/stream N}: as C{port/stream}, for every frame the switch
        admits into VLAN N, as it entered (what C{vdetwist capture SOCK
        vlan:N} reads).  Ends when the session's connection closes or with
        C{vlan/nocapture N}.  EINVAL for a bad VLAN, ENXIO when it does not
        exist, EBUSY when it is streamed already.
        """
        vid = cAtoi(arg)
        if not 0 <= vid <= MAX_VLAN or not arg.strip():
            return errno.EINVAL
        if vid not in self.switch.vlans:
            return errno.ENXIO
        if vid in self.switch.vlanCaptures:
            return errno.EBUSY

        def stopped(stream: Any) -> None:
            if self.switch.vlanCaptures.get(vid) is stream:
                self.switch.stopVLANCapture(vid)
        return self._becomeStream(
            session, lambda stream: self.switch.startVLANCapture(vid, stream), stopped)

    def cmd_vlan_nocapture(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/nocapture N}: end VLAN N's stream; prints the frames sent
        and those lost to a slow reader.  ENOENT when it is not streamed.
        """
        vid = cAtoi(arg)
        if not 0 <= vid <= MAX_VLAN or not arg.strip():
            return errno.EINVAL
        capture = self.switch.stopVLANCapture(vid)
        if capture is None:
            return errno.ENOENT
        out.append("VLAN %04d capture to %s: %d frames, %d not written" % (
            vid, capture.path, capture.frames, capture.dropped))
        return 0

    def _printPort(self, out: List[str], port: Optional[Port], inactiveToo: bool) -> int:
        """
        C{port/print}'s lines for one port.

        @param out: where the lines go.
        @param port: the port, or L{None}.
        @param inactiveToo: print it even without endpoints.
        @return: 0, or C{ENXIO} when there is nothing to print.
        """
        if port is None or not (inactiveToo or port.endpoints):
            return errno.ENXIO
        out.append("Port %04d untagged_vlan=%04d %sACTIVE - %sUnnamed Allocatable" % (
            port.number, port.untagged, "" if port.endpoints else "IN",
            "" if port.allocatable else "NOT "))
        out.append(" Current User: %s Access Control: (User: %s - Group: %s)" % (
            userName(port.currentUser), userName(port.user), groupName(port.group)))
        out.append(" IN:  pkts %10d          bytes %20d" % (port.inPackets, port.inBytes))
        out.append(" OUT: pkts %10d          bytes %20d" % (port.outPackets, port.outBytes))
        for endpoint in port.endpoints:
            description = getattr(endpoint, "description", None)
            out.append("  -- endpoint ID %04d module %-12s: %s" % (
                endpoint.endpointID, getattr(endpoint, "module", "unix prog"),
                "no endpoint description" if description is None else description))
        return 0

    def _printPorts(self, out: List[str], arg: str, inactiveToo: bool) -> int:
        """
        C{port/print} and C{port/allprint}.

        @param out: where the lines go.
        @param arg: the port number (C{atoi}), or empty for all.
        @param inactiveToo: include inactive ports.
        @return: the result.
        """
        if arg:
            number = cAtoi(arg)
            if not self._portInRange(number):
                return errno.EINVAL
            return self._printPort(out, self.switch.ports[number], inactiveToo)
        for port in self.switch.ports:
            self._printPort(out, port, inactiveToo)
        return 0

    def cmd_port_print(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/print [N]}: active ports and their endpoints.
        """
        return self._printPorts(out, arg, False)

    def cmd_port_allprint(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{port/allprint [N]}: every created port.
        """
        return self._printPorts(out, arg, True)

    # -- vlan -------------------------------------------------------------

    def cmd_vlan_create(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{vlan/create N}, N in 1..4094.
        """
        self.switch.createVLAN(arg)
        return 0

    def cmd_vlan_remove(self, session: Any, out: List[str], arg: int) -> int:
        """
        C{vlan/remove N}.
        """
        if not 0 <= arg <= MAX_VLAN:
            return errno.EINVAL
        self.switch.removeVLAN(arg)
        return 0

    def _vlanAndPort(self, arg: str) -> Tuple[int, int, Port]:
        """
        Parse and check C{N PORT} for C{vlan/addport} and C{vlan/delport}.

        @return: the VLAN, the port number and the port.
        @raise SwitchError: C{EINVAL} or C{ENXIO}, in r586's order.
        """
        values = cScanf(arg, "%i %i")
        if len(values) != 2:
            raise SwitchError(errno.EINVAL)
        vid, number = values
        if not 0 <= vid <= MAX_VLAN or not self._portInRange(number):
            raise SwitchError(errno.EINVAL)
        port = self.switch.ports[number]
        if vid not in self.switch.vlans or port is None:
            raise SwitchError(errno.ENXIO)
        return vid, number, port

    def cmd_vlan_addport(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/addport N PORT}: PORT carries N tagged (a no-op when N is
        its untagged VLAN).
        """
        vid, number, port = self._vlanAndPort(arg)
        if port.untagged != vid:
            self.switch.addTaggedPort(vid, number)
        return 0

    def cmd_vlan_delport(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/delport N PORT}.
        """
        vid, number, port = self._vlanAndPort(arg)
        if port.untagged == vid:
            return errno.EADDRINUSE
        if vid in port.tagged:
            self.switch.delTaggedPort(vid, number)
        return 0

    def _printVLAN(self, out: List[str], vid: int, inactiveToo: bool) -> None:
        """
        C{vlan/print}'s lines for one VLAN: its member ports in order.

        @param out: where the lines go.
        @param vid: the VLAN.
        @param inactiveToo: include inactive ports.
        """
        out.append("VLAN %04d" % (vid,))
        for port in self.switch.ports:
            if port is None or not port.memberOf(vid):
                continue
            active = bool(port.endpoints)
            if active or inactiveToo:
                out.append(" -- Port %04d tagged=%d active=%d status=%s" % (
                    port.number, port.untagged != vid, active,
                    "Forwarding" if active else "Learning"))

    def _printVLANs(self, out: List[str], arg: str, inactiveToo: bool) -> int:
        """
        C{vlan/print} and C{vlan/allprint}.

        @param out: where the lines go.
        @param arg: the VLAN (C{atoi}), or empty for all.
        @param inactiveToo: include inactive ports.
        @return: the result.
        """
        if arg:
            vid = cAtoi(arg)
            # r586: vlan/allprint 0 is refused (allprint wants N > 0).
            if not (1 if inactiveToo else 0) <= vid <= MAX_VLAN:
                return errno.EINVAL
            if vid not in self.switch.vlans:
                return errno.ENXIO
            self._printVLAN(out, vid, inactiveToo)
        else:
            for vid in sorted(self.switch.vlans):
                self._printVLAN(out, vid, inactiveToo)
        return 0

    def cmd_vlan_print(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/print [N]}: VLANs and their active member ports.
        """
        return self._printVLANs(out, arg, False)

    def cmd_vlan_allprint(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{vlan/allprint [N]}: VLANs and all their member ports.
        """
        return self._printVLANs(out, arg, True)


def _ignoreInput(data: bytes) -> None:
    """
    The input of a session that became a capture stream: ignored.

    @param data: what the reader sent.
    """


class SwitchConsoleFactory(ConsoleFactory):
    """
    The console of one switch: its commands (L{SwitchCommands}), its debug
    events (L{vdetwist.console.debug.DebugCommands}), then any other
    tables a face adds.

    @ivar switch: the switch.
    """

    def __init__(self, switch: Switch, controlServer: Any = None,
                 mgmtPath: Optional[str] = None, mgmtMode: int = 0o600,
                 pid: Optional[int] = None, shutdown: Optional[Callable[[], None]] = None,
                 reactor: Any = None, tables: Sequence[CommandTable] = ()) -> None:
        """
        @param switch: the switch.
        @param controlServer: the L{vdetwist.switch.server.ControlServer}.
        @param mgmtPath: the C{-M} path, for C{showinfo}.
        @param mgmtMode: the C{--mgmtmode}, for C{showinfo}.
        @param pid: the pid to show, this process's by default.
        @param shutdown: called (once) after a C{shutdown} command's
            session has ended.
        @param reactor: the reactor (for the shutdown fallback timer).
        @param tables: more command tables, listed after the switch's.
        """
        self.switch = switch
        ConsoleFactory.__init__(
            self, [SwitchCommands(switch, controlServer, mgmtPath, mgmtMode, pid),
                   DebugCommands(switch, DEBUG_CATEGORIES, HIDDEN_CATEGORIES)] + list(tables),
            banner=HEADER, shutdown=shutdown, reactor=reactor)
