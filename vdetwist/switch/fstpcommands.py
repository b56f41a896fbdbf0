# -*- test-case-name: tests.switch.test_fstp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console commands of FSTP (C{fstp/*}) and of plugins (C{plugin/add},
C{plugin/del}), with vde_switch 2.3.2's text, arguments and errors
(docs/vde-protocol.md sections 4.6 and 4.7).

Each takes the L{vdetwist.switch.switch.Switch}, the output list and the
argument text (C{fstp/setfstp} also takes the integer its table entry
parses), and returns 0 or an errno, as console commands do.  L{COMMANDS}
lists them in vde_switch's help order, with their help columns.

vdetwist loads no plugins: C{plugin/add} answers as vde_switch does when
the library cannot be loaded (1022 with no argument, else 1002), and
C{plugin/del} as it does when no plugin has that name (1002).
"""

import errno
import re
from typing import Any, List, Optional, Tuple, Union

from vdetwist.wire.addr import formatMAC

#: The highest VLAN the C{fstp/*} commands accept (vde_switch: 4094 is
#: refused by C{fstp/print} alone; ours accepts it there, as C{vlan/*} do).
MAX_VLAN = 4094

#: C{(path, syntax, help, argument kind, with a data block, function)}, in
#: vde_switch's registration order within each menu; the kind is
#: C{"int"} (C's C{atoi} of the text) or C{"str"}.
COMMANDS = [
    ("plugin/add", "library", "load a plugin", "str", False, "pluginAdd"),
    ("plugin/del", "name", "unload a plugin", "str", False, "pluginDel"),
    ("fstp/showinfo", "", "show fstp info", "none", True, "fstpShowInfo"),
    ("fstp/setfstp", "0/1", "Fast spanning tree protocol 1=ON 0=OFF", "int", True,
     "fstpSetFSTP"),
    ("fstp/setedge", "VLAN PORT 1/0", "Define an edge port for a vlan 1=Y 0=N", "str", False,
     "fstpSetEdge"),
    ("fstp/bonus", "VLAN PORT COST", "set the port bonus for a vlan", "str", False,
     "fstpBonus"),
    ("fstp/print", "[N]", "print fst data for the defined vlan", "str", True, "fstpPrint"),
]

_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def _cInt(value: int) -> int:
    value = max(-(1 << 63), min((1 << 63) - 1, value)) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _scanInts(text: str, count: int) -> Optional[List[int]]:
    """
    C{sscanf(text, "%i %i ...")} with C{count} conversions.

    @param text: the argument.
    @param count: how many integers.
    @return: the integers, or L{None} when fewer could be read.
    """
    values = []
    pos = 0
    for _ in range(count):
        match = _INT.match(text, pos)
        if match is None:
            return None
        sign, digits = match.groups()
        if digits[:2] in ("0x", "0X"):
            value = int(digits[2:], 16)
        elif digits.startswith("0"):
            value = int(digits, 8)
        else:
            value = int(digits, 10)
        values.append(_cInt(-value if sign == "-" else value))
        pos = match.end()
    return values


def _atoi(text: str) -> int:
    """
    C's C{atoi}.
    """
    match = _ATOI.match(text)
    return _cInt(int(match.group(1))) if match else 0


def fstpShowInfo(switch: Any, out: List[str], arg: object = None) -> int:
    """
    C{fstp/showinfo}: the switch MAC, the priority and whether FSTP runs.

    @param switch: the switch.
    @param out: the output lines.
    @param arg: unused.
    @return: 0.
    """
    fstp = switch.fstp
    out.append("MAC %s Priority %d (0x%x)" % (formatMAC(switch.mac), fstp.priority,
                                              fstp.priority))
    out.append("FSTP=%s" % ("true" if fstp.enabled else "false",))
    return 0


def fstpSetFSTP(switch: Any, out: List[str], arg: Union[int, str]) -> int:
    """
    C{fstp/setfstp 0|1}: any non-zero value switches FSTP on; in hub mode a
    line says it cannot, and the result is still success.

    @param switch: the switch.
    @param out: the output lines.
    @param arg: the value (an C{int}, or the text to C{atoi}).
    @return: 0.
    """
    value = _atoi(arg) if isinstance(arg, str) else arg
    if switch.hub:
        out.append("Can't use fstp in hub mode")
        return 0
    switch.setFSTP(value != 0)
    return 0


def _vlanPort(switch: Any, arg: str) -> Tuple[int, int, int, int]:
    """
    The three integers of C{fstp/setedge} and C{fstp/bonus}, checked.

    @return: C{(0, vlan, port, value)} or C{(errno, ...)}.
    """
    values = _scanInts(arg, 3)
    if values is None:
        return errno.EINVAL, 0, 0, 0
    vid, port, value = values
    if not 0 <= vid <= MAX_VLAN or not 0 <= port < switch.numports:
        return errno.EINVAL, 0, 0, 0
    if vid not in switch.vlans or vid not in switch.fstp.vlans:
        return errno.ENXIO, 0, 0, 0
    return 0, vid, port, value


def fstpSetEdge(switch: Any, out: List[str], arg: str) -> int:
    """
    C{fstp/setedge VLAN PORT 1|0}: an edge port sends and heeds no BPDUs
    and always forwards.  The setting is lost when the port rejoins the
    VLAN (as in vde_switch).

    @param switch: the switch.
    @param out: the output lines.
    @param arg: the argument.
    @return: 0, EINVAL, or ENXIO for an undefined VLAN.
    """
    rv, vid, port, value = _vlanPort(switch, arg)
    if rv:
        return rv
    switch.fstp.setEdge(vid, port, value != 0)
    return 0


def fstpBonus(switch: Any, out: List[str], arg: str) -> int:
    """
    C{fstp/bonus VLAN PORT COST}: subtract COST from the port's cost in the
    VLAN (one bonus port per VLAN).

    @param switch: the switch.
    @param out: the output lines.
    @param arg: the argument.
    @return: 0, EINVAL, or ENXIO for an undefined VLAN.
    """
    rv, vid, port, value = _vlanPort(switch, arg)
    if rv:
        return rv
    switch.fstp.setBonus(vid, port, value)
    return 0


def _printVLAN(switch: Any, out: List[str], vid: int) -> None:
    fstp = switch.fstp
    vlan = fstp.vlans[vid]
    out.append("FST DATA VLAN %04d %s %s" % (
        vid, "ROOTSWITCH" if vlan.root == fstp.myID else "",
        "" if fstp.enabled else "FSTP IS DISABLED"))
    out.append(" ++ root %s" % (":".join("%02x" % (b,) for b in vlan.root),))
    out.append(" ++ designated %s" % (":".join("%02x" % (b,) for b in vlan.designated),))
    out.append(" ++ rootport %04d cost %d age %d bonusport %04d bonuscost %d" % (
        vlan.rootPort, _cInt(vlan.rootCost), switch.now - vlan.rootTimestamp,
        vlan.bonusPort, vlan.bonusCost))
    for port in sorted(vlan.untagged):
        out.append(" -- Port %04d tagged=0 portcost=%d role=%s" % (
            port, fstp.portCost(port), fstp.role(vid, port)))
    for port in sorted(vlan.tagged):
        out.append(" -- Port %04d tagged=1 portcost=%d role=%s" % (
            port, fstp.portCost(port), fstp.role(vid, port)))


def fstpPrint(switch: Any, out: List[str], arg: str) -> int:
    """
    C{fstp/print [N]}: the FSTP state of one VLAN or of all.

    @param switch: the switch.
    @param out: the output lines.
    @param arg: a VLAN or nothing.
    @return: 0, EINVAL out of range, ENXIO for an undefined VLAN.
    """
    if arg:
        vid = _atoi(arg)
        if not 0 <= vid <= MAX_VLAN:
            return errno.EINVAL
        if vid not in switch.vlans or vid not in switch.fstp.vlans:
            return errno.ENXIO
        _printVLAN(switch, out, vid)
    else:
        for vid in sorted(switch.vlans):
            if vid in switch.fstp.vlans:
                _printVLAN(switch, out, vid)
    return 0


def pluginAdd(switch: Any, out: List[str], arg: str) -> int:
    """
    C{plugin/add LIBRARY}: vdetwist loads no C plugins, so this answers as
    vde_switch does when the library cannot be loaded.

    @param switch: the switch.
    @param out: the output lines.
    @param arg: the library.
    @return: EINVAL with no argument, else ENOENT.
    """
    if not arg:
        return errno.EINVAL
    return errno.ENOENT


def pluginDel(switch: Any, out: List[str], arg: str) -> int:
    """
    C{plugin/del NAME}: no plugin is ever loaded, so there is none of that
    name.

    @param switch: the switch.
    @param out: the output lines.
    @param arg: the name.
    @return: ENOENT.
    """
    return errno.ENOENT
