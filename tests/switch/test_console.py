# -*- test-case-name: tests.switch.test_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.console}: the switch's command table, its
order (prefix lookup, C{help}) and each of its commands.  The console
itself (framing, C{load}, C{debug/*}) is tested in tests/console.

The expected texts are vde_switch r586's, as captured from the Debian
binary in docs/vde-protocol.md section 4 (banner, help, formats, debug
lines) or by the probes noted next to a test; they are not derived from
the code under test.
"""

import os
import pwd
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.internet.error import ConnectionDone
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.console.helpers import (
    BANNER, MAC, PROMPT, SUCCESS, ConsoleTestCase, FakeEndpoint, data, frame, plug, result)
from vdetwist.interfaces import ISwitchPort
from vdetwist.switch.console import COMMANDS, SwitchConsoleFactory
from vdetwist.switch.port import NOVLAN
from vdetwist.switch.switch import Switch


class LookupTests(ConsoleTestCase):
    """
    Prefix lookup in registration order (section 4.1).
    """

    def test_trailingText(self) -> None:
        """
        C{showinfoXYZ} runs C{showinfo}.
        """
        self.assertEqual(self.command(b"showinfoXYZ"), self.command(b"showinfo"))

    def test_helpWithGluedArgument(self) -> None:
        """
        C{helpport} is C{help} with argument C{port}; C{helpfoo} prints the
        header only, with C{1000}.
        """
        self.assertEqual(self.command(b"helpport"), self.command(b"help port"))
        self.assertEqual(self.command(b"helpfoo"), data(
            b"COMMAND PATH       SYNTAX          HELP",
            b"------------       --------------  ------------"))

    def test_createautoBeforeCreate(self) -> None:
        """
        C{port/createauto} is registered before C{port/create}, so it wins
        for any input that starts with it; C{port/create 5} is not it.
        """
        self.assertEqual(self.command(b"port/createautoX"), data(b"Port 0001"))
        self.assertEqual(self.command(b"port/create 5"), SUCCESS)
        self.assertFalse(self.switch.ports[5].allocatable)

    def test_menuHeadersAreNotCommands(self) -> None:
        """
        Menu headers have no handler: C{debug} and C{port} alone are
        unknown.
        """
        for line in [b"debug", b"port", b"ds", b"vlan x"]:
            self.assertEqual(self.command(line), result(b"1038 Function not implemented"))

    def test_dispatchNames(self) -> None:
        """
        Every command of the table has its C{cmd_} method.
        """
        for path, syntax, help, flags in COMMANDS:
            if flags is not None:
                self.assertTrue(callable(self.factory.commands.handlerFor(path)), path)


class HelpTests(ConsoleTestCase):
    """
    C{help}: section 4.5's table, without the commands we lack.
    """

    def test_help(self) -> None:
        """
        The whole table, in r586's format and order, with vdetwist's own
        port/capture, port/nocapture and port/stream after port/allprint,
        vlan/stream and vlan/nocapture after vlan/allprint.
        """
        expected = b"""\
COMMAND PATH       SYNTAX          HELP
------------       --------------  ------------
ds                 ============    DATA SOCKET MENU
ds/showinfo                        show ds info
help               [arg]           Help (limited to arg when specified)
logout                             logout from this mgmt terminal
shutdown                           shutdown of the switch
showinfo                           show switch version and info
load               path            load a configuration script
debug              ============    DEBUG MENU
debug/list                         list debug categories
debug/add          dbgpath         enable debug info for a given category
debug/del          dbgpath         disable debug info for a given category
plugin             ============    PLUGINS MENU
plugin/list                        list plugins
plugin/add         library         load a plugin
plugin/del         name            unload a plugin
hash               ============    HASH TABLE MENU
hash/showinfo                      show hash info
hash/setsize       N               change hash size
hash/setgcint      N               change garbage collector interval
hash/setexpire     N               change hash entries expire time
hash/setminper     N               minimum persistence time
hash/print                         print the hash table
hash/find          MAC [VLAN]      MAC lookup
hash/setmax        N               maximum number of hash entries (0=learn nothing)
hash/setportmax    N               maximum hash entries learned per port (0=no limit)
fstp               ============    FAST SPANNING TREE MENU
fstp/showinfo                      show fstp info
fstp/setfstp       0/1             Fast spanning tree protocol 1=ON 0=OFF
fstp/setedge       VLAN PORT 1/0   Define an edge port for a vlan 1=Y 0=N
fstp/bonus         VLAN PORT COST  set the port bonus for a vlan
fstp/print         [N]             print fst data for the defined vlan
port               ============    PORT STATUS MENU
port/showinfo                      show port info
port/setnumports   N               set the number of ports
port/sethub        0/1             1=HUB 0=switch
port/setvlan       N VLAN          set port VLAN (untagged)
port/createauto                    create a port with an automatically allocated id (inactive|notallocatable)
port/create        N               create the port N (inactive|notallocatable)
port/remove        N               remove the port N
port/allocatable   N 0/1           Is the port allocatable as unnamed? 1=Y 0=N
port/setuser       N user          access control: set user
port/setgroup      N user          access control: set group
port/epclose       N ID            remove the endpoint port N/id ID
port/resetcounter  [N]             reset the port (N) counters
port/print         [N]             print the port/endpoint table
port/allprint      [N]             print the port/endpoint table (including inactive port)
port/capture       N FILE          capture port N's traffic to a pcap file
port/nocapture     N               stop capturing port N
port/stream        N               this session becomes a live pcap stream of port N
vlan               ============    VLAN MANAGEMENT MENU
vlan/create        N               create the VLAN with tag N
vlan/remove        N               remove the VLAN with tag N
vlan/addport       N PORT          add port to the vlan N (tagged)
vlan/delport       N PORT          add port to the vlan N (tagged)
vlan/print         [N]             print the list of defined vlan
vlan/allprint      [N]             print the list of defined vlan (including inactive port)
vlan/stream        N               this session becomes a live pcap stream of vlan N
vlan/nocapture     N               stop streaming vlan N
"""
        self.assertEqual(self.command(b"help"), data(*expected.splitlines()))

    def test_helpPrefix(self) -> None:
        """
        C{help ARG} keeps the entries whose path starts with ARG.
        """
        self.assertEqual(self.command(b"help hash/set"), data(
            b"COMMAND PATH       SYNTAX          HELP",
            b"------------       --------------  ------------",
            b"hash/setsize       N               change hash size",
            b"hash/setgcint      N               change garbage collector interval",
            b"hash/setexpire     N               change hash entries expire time",
            b"hash/setminper     N               minimum persistence time",
            b"hash/setmax        N               maximum number of hash entries "
            b"(0=learn nothing)",
            b"hash/setportmax    N               maximum hash entries learned per port "
            b"(0=no limit)"))

    def test_noControlServer(self) -> None:
        """
        Without a control server there is no C{ds} menu.
        """
        factory = SwitchConsoleFactory(self.switch, reactor=self.clock)
        session, transport = self.connect(factory)
        self.assertEqual(self.command(b"ds/showinfo", session, transport),
                         result(b"1038 Function not implemented"))
        self.assertNotIn(b"ds/showinfo", self.command(b"help", session, transport))


class InfoTests(ConsoleTestCase):
    """
    C{showinfo}, C{ds/showinfo}, C{port/showinfo}, C{fstp/*},
    C{plugin/list}.
    """

    def test_showinfo(self) -> None:
        """
        The banner, pid, MAC, uptime (the switch's tick) and the management
        socket: the capture of section 4.6.
        """
        for _ in range(26):
            self.switch.tick()
        self.assertEqual(self.command(b"showinfo"), data(
            b"VDE switch V.2.3.2",
            b"(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2",
            b"",
            b"pid 11564 MAC 00:ff:0f:60:c9:2e uptime 26",
            b"mgmt /tmp/vde-demo/sw2.mgmt perm 0600"))

    def test_showinfoWithoutManagementSocket(self) -> None:
        """
        The C{mgmt} line appears only with C{-M}; the pid is this
        process's by default.
        """
        factory = SwitchConsoleFactory(self.switch, reactor=self.clock)
        session, transport = self.connect(factory)
        self.assertEqual(self.command(b"showinfo", session, transport), data(
            BANNER.splitlines()[0], BANNER.splitlines()[1], b"",
            b"pid %d MAC 00:ff:0f:60:c9:2e uptime 0" % (os.getpid(),)))

    def test_dsShowinfo(self) -> None:
        """
        The control directory and socket mode.
        """
        self.assertEqual(self.command(b"ds/showinfo"),
                         data(b"ctl dir /tmp/vde-demo/sw2", b"std mode 0600"))

    def test_portShowinfoHub(self) -> None:
        """
        C{port/sethub 1} shows as C{HUB=true}; C{port/setnumports} as
        C{Numports}.
        """
        self.assertEqual(self.command(b"port/sethub 1"), SUCCESS)
        self.assertEqual(self.command(b"port/setnumports 8"), SUCCESS)
        self.assertEqual(self.command(b"port/showinfo"),
                         data(b"Numports=8", b"HUB=true", b"counters=true"))
        self.assertEqual(self.command(b"port/sethub 0"), SUCCESS)
        self.assertFalse(self.switch.hub)

    def test_fstpShowinfo(self) -> None:
        """
        The bridge MAC and priority; FSTP is off.
        """
        self.assertEqual(self.command(b"fstp/showinfo"), data(
            b"MAC 00:ff:0f:60:c9:2e Priority 32768 (0x8000)", b"FSTP=false"))

    def test_fstpPrint(self) -> None:
        """
        With FSTP disabled, C{fstp/print} shows this switch as root and the
        active members (tagged ones with role C{Unknown}): section 4.6's
        capture.
        """
        for _ in range(26):
            self.switch.tick()
        plug(self.switch, 6)
        for _ in range(6):
            plug(self.switch, 7 + _)
        self.command(b"vlan/create 10")
        self.command(b"port/setvlan 7 10")
        self.assertEqual(self.command(b"vlan/addport 0 7"), SUCCESS)
        self.assertEqual(self.command(b"fstp/print 0"), data(
            b"FST DATA VLAN 0000 ROOTSWITCH FSTP IS DISABLED",
            b" ++ root 80:00:00:ff:0f:60:c9:2e",
            b" ++ designated ff:ff:ff:ff:ff:ff:ff:ff",
            b" ++ rootport 0000 cost 0 age 26 bonusport 0000 bonuscost 0",
            b" -- Port 0001 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0002 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0003 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0004 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0005 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0006 tagged=0 portcost=20000000 role=Designated",
            b" -- Port 0007 tagged=1 portcost=20000000 role=Unknown"))

    def test_fstpPrintPortZeroIsRoot(self) -> None:
        """
        Port 0 shows as C{Root} (r586's root port is 0 when it is the root;
        checked against the Debian binary by the interop test).
        """
        plug(self.switch, 5, port0=True)
        self.assertIn(b" -- Port 0000 tagged=0 portcost=20000000 role=Root\n",
                      self.command(b"fstp/print"))

    def test_fstpPrintErrors(self) -> None:
        """
        Out of range is 1022, an undefined VLAN 1006.
        """
        self.assertEqual(self.command(b"fstp/print 4095"),
                         data(result=b"1022 Invalid argument"))
        self.assertEqual(self.command(b"fstp/print 30"),
                         data(result=b"1006 No such device or address"))

    def test_setfstp(self) -> None:
        """
        C{fstp/setfstp 1} (or any non-zero value) starts FSTP, 0 stops it,
        both with an empty data block; hub mode stops FSTP, and in hub mode
        r586's message comes instead.
        """
        self.assertEqual(self.command(b"fstp/setfstp 0"), data())
        self.assertFalse(self.switch.fstp.enabled)
        self.assertEqual(self.command(b"fstp/setfstp 7"), data())
        self.assertTrue(self.switch.fstp.enabled)
        self.assertIn(b"FSTP=true", self.command(b"fstp/showinfo"))
        self.assertEqual(self.command(b"fstp/setfstp 0"), data())
        self.assertFalse(self.switch.fstp.enabled)
        self.command(b"fstp/setfstp 1")
        self.command(b"port/sethub 1")
        self.assertFalse(self.switch.fstp.enabled)
        self.assertEqual(self.command(b"fstp/setfstp 1"), data(b"Can't use fstp in hub mode"))
        self.assertFalse(self.switch.fstp.enabled)

    def test_pluginAddDel(self) -> None:
        """
        No plugin can be loaded or unloaded: r586's answers when the
        library cannot be loaded (1022 without an argument) and when no
        plugin has the name.
        """
        self.assertEqual(self.command(b"plugin/add"), b"1022 Invalid argument\n\nvde$ ")
        self.assertEqual(self.command(b"plugin/add /usr/lib/vde2/plugins/dump.so"),
                         b"1002 No such file or directory\n\nvde$ ")
        self.assertEqual(self.command(b"plugin/del"), b"1002 No such file or directory\n\nvde$ ")
        self.assertEqual(self.command(b"plugin/del dump"),
                         b"1002 No such file or directory\n\nvde$ ")

    def test_pluginList(self) -> None:
        """
        No plugins: the header and 1002.
        """
        self.assertEqual(self.command(b"plugin/list"), data(
            b"NAME                   HELP", b"------------           ----",
            result=b"1002 No such file or directory"))


class PortTests(ConsoleTestCase):
    """
    The C{port/*} commands.
    """

    def test_printExample(self) -> None:
        """
        Section 4.6's C{port/print} capture.
        """
        self.command(b"vlan/create 10")
        self.assertEqual(self.command(b"port/create 5"), SUCCESS)
        self.command(b"port/setvlan 5 10")
        plug(self.switch, 3, "myplug user=root pid=12661", port=5)
        port = self.switch.ports[5]
        port.outPackets, port.outBytes = 10, 600
        self.assertEqual(self.command(b"port/print"), data(
            b"Port 0005 untagged_vlan=0010 ACTIVE - NOT Unnamed Allocatable",
            b" Current User: root Access Control: (User: NONE - Group: NONE)",
            b" IN:  pkts          0          bytes                    0",
            b" OUT: pkts         10          bytes                  600",
            b"  -- endpoint ID 0003 module unix prog   : myplug user=root pid=12661"))

    def test_printOnlyActive(self) -> None:
        """
        C{port/print} skips inactive ports, C{port/allprint} shows them;
        one port on an inactive port is 1006.
        """
        self.command(b"port/createauto")
        self.assertEqual(self.command(b"port/print"), data())
        self.assertEqual(self.command(b"port/print 1"),
                         data(result=b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/allprint"), data(
            b"Port 0001 untagged_vlan=0000 INACTIVE - NOT Unnamed Allocatable",
            b" Current User: NONE Access Control: (User: NONE - Group: NONE)",
            b" IN:  pkts          0          bytes                    0",
            b" OUT: pkts          0          bytes                    0"))

    def test_printEndpointsNewestFirst(self) -> None:
        """
        Endpoints sharing a port are listed newest first; one without a
        description says so.
        """
        plug(self.switch, 6, "first", port=4)
        plug(self.switch, 9, None, port=4)
        self.assertEqual(self.command(b"port/print 4"), data(
            b"Port 0004 untagged_vlan=0000 ACTIVE - Unnamed Allocatable",
            b" Current User: root Access Control: (User: NONE - Group: NONE)",
            b" IN:  pkts          0          bytes                    0",
            b" OUT: pkts          0          bytes                    0",
            b"  -- endpoint ID 0009 module unix prog   : no endpoint description",
            b"  -- endpoint ID 0006 module unix prog   : first"))

    def test_printArgumentIsAtoi(self) -> None:
        """
        C{port/print abc} is port 0 (C{atoi}), C{0x2} too.
        """
        self.command(b"port/create 2")
        for line in [b"port/print abc", b"port/allprint 0x2"]:
            self.assertEqual(self.command(line),
                             data(result=b"1006 No such device or address"))

    def test_currentUserAndACLUser(self) -> None:
        """
        The current user and the access-control user are shown separately
        (r586 prints the same name twice when both are real users).
        """
        try:
            nobody = pwd.getpwnam("nobody")
            root = pwd.getpwuid(0).pw_name
        except KeyError:
            raise SkipTest("no user 'nobody' or uid 0 here")
        plug(self.switch, 3, "x", port=5)
        self.assertEqual(self.command(b"port/setuser 5 nobody"), SUCCESS)
        self.assertEqual(self.switch.ports[5].user, nobody.pw_uid)
        self.assertIn(b" Current User: %s Access Control: (User: nobody - Group: NONE)\n"
                      % (root.encode(),), self.command(b"port/print 5"))

    def test_setuserForms(self) -> None:
        """
        A number, C{NONE} and C{ANY}; unknown names and a missing user are
        1022 (the r586 probe in the report of this module).
        """
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"port/setuser 2 12345"), SUCCESS)
        self.assertEqual(self.command(b"port/setgroup 2 54321"), SUCCESS)
        self.assertIn(b"(User: 12345 - Group: 54321)", self.command(b"port/allprint 2"))
        self.assertEqual(self.command(b"port/setuser 2 ANY"), SUCCESS)
        self.assertEqual(self.command(b"port/setgroup 2 NONE"), SUCCESS)
        self.assertIn(b"(User: NONE - Group: NONE)", self.command(b"port/allprint 2"))
        self.assertEqual(self.command(b"port/setuser 2 bogususer"),
                         result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setuser 2"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setgroup 2 nosuchgroupx"),
                         result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setuser 9 0"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/setuser 99 0"), result(b"1022 Invalid argument"))

    def test_setgroupByName(self) -> None:
        """
        A group name is looked up.
        """
        import grp
        try:
            group = grp.getgrgid(0)
        except KeyError:
            raise SkipTest("no gid 0")
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"port/setgroup 2 " + group.gr_name.encode()), SUCCESS)
        self.assertEqual(self.switch.ports[2].group, 0)

    def test_create(self) -> None:
        """
        C{port/create}: 1017 if it exists, 1022 out of range, and 0 is
        refused (r586 would create the lowest free port).
        """
        self.assertEqual(self.command(b"port/create 7"), SUCCESS)
        self.assertEqual(self.command(b"port/create 7"), result(b"1017 File exists"))
        self.assertEqual(self.command(b"port/create 32"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/create -1"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/create 0"), result(b"1022 Invalid argument"))
        self.assertFalse(self.switch.ports[7].allocatable)

    def test_createauto(self) -> None:
        """
        The lowest port that is free, or inactive and allocatable (as
        r586's C{alloc_port(0)}); 1028 when there is none.
        """
        endpoint = plug(self.switch, 6)
        plug(self.switch, 7)
        endpoint.close()
        self.assertEqual(self.command(b"port/createauto"), data(b"Port 0001"))
        self.assertFalse(self.switch.ports[1].allocatable)
        self.assertEqual(self.command(b"port/createauto"), data(b"Port 0003"))
        self.command(b"port/setnumports 4")
        self.assertEqual(self.command(b"port/createauto"),
                         data(result=b"1028 No space left on device"))

    def test_remove(self) -> None:
        """
        C{port/remove}: 1098 while active (section 10, R9), 1006 when
        missing.
        """
        plug(self.switch, 6)
        self.assertEqual(self.command(b"port/remove 1"),
                         result(b"1098 Address already in use"))
        self.assertEqual(self.command(b"port/remove 2"),
                         result(b"1006 No such device or address"))
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"port/remove 2"), SUCCESS)
        self.assertIsNone(self.switch.ports[2])

    def test_setnumports(self) -> None:
        """
        N <= 0 (and C{0x10}, which C{atoi} reads as 0) is 1022; shrinking
        below a port is 1098; absurd sizes are 1012.
        """
        self.assertEqual(self.command(b"port/setnumports 0"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setnumports 0x10"),
                         result(b"1022 Invalid argument"))
        self.command(b"port/create 9")
        self.assertEqual(self.command(b"port/setnumports 8"),
                         result(b"1098 Address already in use"))
        self.assertEqual(self.command(b"port/setnumports 2000000000"),
                         result(b"1012 Cannot allocate memory"))
        self.assertEqual(self.command(b"port/setnumports 64"), SUCCESS)
        self.assertEqual(self.switch.numports, 64)

    def test_allocatable(self) -> None:
        """
        C{port/allocatable N 0|1}.
        """
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"port/allocatable 2"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/allocatable 2 1"), SUCCESS)
        self.assertTrue(self.switch.ports[2].allocatable)
        self.assertEqual(self.command(b"port/allocatable 7 1"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/allocatable 99 1"),
                         result(b"1022 Invalid argument"))

    def test_epclose(self) -> None:
        """
        C{port/epclose N ID} closes that endpoint; unknown IDs and ports
        are 1006, out of range 1022.
        """
        endpoint = plug(self.switch, 6)
        self.assertEqual(self.command(b"port/epclose 1 5"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/epclose 9 6"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/epclose 99 6"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/epclose 1"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/epclose 1 6"), SUCCESS)
        self.assertTrue(endpoint.closed)
        self.assertFalse(self.switch.ports[1].endpoints)

    def test_resetcounter(self) -> None:
        """
        C{port/resetcounter [N]}: one port or all; a missing port in range
        is fine, out of range is 1022.
        """
        plug(self.switch, 6)
        plug(self.switch, 7)
        for port in self.switch.ports[1:3]:
            port.inPackets = port.outBytes = 5
        self.assertEqual(self.command(b"port/resetcounter 1"), SUCCESS)
        self.assertEqual(self.switch.ports[1].inPackets, 0)
        self.assertEqual(self.switch.ports[2].inPackets, 5)
        self.assertEqual(self.command(b"port/resetcounter 9"), SUCCESS)
        self.assertEqual(self.command(b"port/resetcounter 99"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/resetcounter"), SUCCESS)
        self.assertEqual(self.switch.ports[2].outBytes, 0)

    def test_setvlan(self) -> None:
        """
        C{port/setvlan}: the VLAN must exist (4095 means none); the
        arguments are C{%i} (so C{08} is port 0, VLAN 8).
        """
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"port/setvlan 2 10"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/setvlan 2 4096"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setvlan 99 0"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setvlan 3 0"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"port/setvlan 2"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"port/setvlan 2 4095"), SUCCESS)
        self.assertEqual(self.switch.ports[2].untagged, NOVLAN)
        self.command(b"vlan/create 8")
        self.assertEqual(self.command(b"port/setvlan 2 010"), SUCCESS)
        self.assertEqual(self.switch.ports[2].untagged, 8)
        plug(self.switch, 5, port0=True)
        self.assertEqual(self.command(b"port/setvlan 08"), SUCCESS)
        self.assertEqual(self.switch.ports[0].untagged, 8)


class VLANTests(ConsoleTestCase):
    """
    The C{vlan/*} commands.
    """

    def test_printExample(self) -> None:
        """
        Section 4.6's C{vlan/print} and C{vlan/allprint} capture.
        """
        plug(self.switch, 6, port=1)
        plug(self.switch, 7, port=5)
        plug(self.switch, 8, port=7)
        self.command(b"vlan/create 10")
        self.command(b"port/create 10")
        for line in [b"port/setvlan 5 10", b"port/setvlan 7 4095", b"vlan/addport 10 7",
                     b"port/setvlan 10 10"]:
            self.assertEqual(self.command(line), SUCCESS)
        active = [b"VLAN 0000",
                  b" -- Port 0001 tagged=0 active=1 status=Forwarding",
                  b"VLAN 0010",
                  b" -- Port 0005 tagged=0 active=1 status=Forwarding",
                  b" -- Port 0007 tagged=1 active=1 status=Forwarding"]
        self.assertEqual(self.command(b"vlan/print"), data(*active))
        self.assertEqual(self.command(b"vlan/allprint"), data(
            *active, b" -- Port 0010 tagged=0 active=0 status=Learning"))
        self.assertEqual(self.command(b"vlan/print 10"), data(*active[2:]))

    def test_printErrors(self) -> None:
        """
        C{vlan/print 0} works, C{vlan/allprint 0} is 1022 (r586's quirk),
        an undefined VLAN is 1006, out of range 1022.
        """
        self.assertEqual(self.command(b"vlan/print 0"), data(b"VLAN 0000"))
        self.assertEqual(self.command(b"vlan/allprint 0"),
                         data(result=b"1022 Invalid argument"))
        self.assertEqual(self.command(b"vlan/print 30"),
                         data(result=b"1006 No such device or address"))
        self.assertEqual(self.command(b"vlan/allprint 4095"),
                         data(result=b"1022 Invalid argument"))

    def test_create(self) -> None:
        """
        1..4094 (4094 is refused by r586, on purpose here); twice is 1017
        (section 10, R9); the argument is C{atoi}.
        """
        self.assertEqual(self.command(b"vlan/create 10"), SUCCESS)
        self.assertEqual(self.command(b"vlan/create 10"), result(b"1017 File exists"))
        for line in [b"vlan/create 0", b"vlan/create 4095", b"vlan/create 0x4f",
                     b"vlan/create -3"]:
            self.assertEqual(self.command(line), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"vlan/create 4094"), SUCCESS)
        self.assertEqual(self.command(b"vlan/create 017"), SUCCESS)
        self.assertEqual(sorted(self.switch.vlans), [0, 10, 17, 4094])

    def test_remove(self) -> None:
        """
        1098 while any port is a member, 1006 when undefined; VLAN 0 stays.
        """
        self.command(b"vlan/create 10")
        self.command(b"port/create 3")
        self.command(b"port/setvlan 3 10")
        self.assertEqual(self.command(b"vlan/remove 10"),
                         result(b"1098 Address already in use"))
        self.assertEqual(self.command(b"vlan/remove 11"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"vlan/remove 0"),
                         result(b"1098 Address already in use"))
        self.assertEqual(self.command(b"vlan/remove 5000"), result(b"1022 Invalid argument"))
        self.command(b"port/remove 3")
        self.assertEqual(self.command(b"vlan/remove 10"), SUCCESS)
        self.assertEqual(sorted(self.switch.vlans), [0])

    def test_addportDelport(self) -> None:
        """
        Tagged membership: adding a port's own untagged VLAN is a no-op,
        deleting it is 1098; deleting a non-member is fine.
        """
        self.command(b"vlan/create 5")
        self.command(b"port/create 2")
        self.assertEqual(self.command(b"vlan/addport 0 2"), SUCCESS)
        self.assertEqual(self.switch.ports[2].tagged, set())
        self.assertEqual(self.command(b"vlan/delport 0 2"),
                         result(b"1098 Address already in use"))
        self.assertEqual(self.command(b"vlan/delport 5 2"), SUCCESS)
        self.assertEqual(self.command(b"vlan/addport 5 2"), SUCCESS)
        self.assertEqual(self.switch.ports[2].tagged, {5})
        self.assertEqual(self.command(b"vlan/delport 5 2"), SUCCESS)
        self.assertEqual(self.switch.ports[2].tagged, set())
        self.assertEqual(self.command(b"vlan/addport 6 2"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"vlan/addport 5 3"),
                         result(b"1006 No such device or address"))
        self.assertEqual(self.command(b"vlan/addport 4095 2"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"vlan/addport 5 99"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"vlan/addport 5"), result(b"1022 Invalid argument"))


#: vdetwist's C{hash/showinfo} lines after r586's, for an empty table with
#: the default bounds.
EMPTY_TABLE = (b"Entries 0", b"Max entries 16384", b"Max entries per port 4096",
               b"Evicted (table full) 0", b"Evicted (port full) 0", b"Not learned 0")


class HashTests(ConsoleTestCase):
    """
    The C{hash/*} commands.
    """

    def learn(self) -> None:
        """
        Learn 02:00:00:00:00:01 on port 1 and ...:02 on port 7, at tick 0.
        """
        a = plug(self.switch, 6, port=1)
        b = plug(self.switch, 8, port=7)
        self.switch.frameFromPort(a.port, frame(b"\xff" * 6, bytes.fromhex("020000000001")))
        self.switch.frameFromPort(b.port, frame(b"\xff" * 6, bytes.fromhex("020000000002")))

    def test_showinfo(self) -> None:
        """
        The defaults of section 4.6.
        """
        self.assertEqual(self.command(b"hash/showinfo"), data(
            b"Hash size 128", b"GC interval 2 secs", b"GC expire 100 secs",
            b"Min persistence 3 secs", *EMPTY_TABLE))

    def test_settings(self) -> None:
        """
        C{hash/setsize} rounds up to a power of two (0 is 1022); the
        others take any integer, even negative.
        """
        self.assertEqual(self.command(b"hash/setsize 100"), SUCCESS)
        self.assertEqual(self.command(b"hash/setsize 0"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"hash/setsize -1"), result(b"1022 Invalid argument"))
        for line in [b"hash/setexpire -1", b"hash/setgcint 3", b"hash/setminper 5"]:
            self.assertEqual(self.command(line), SUCCESS)
        self.assertEqual(self.command(b"hash/showinfo"), data(
            b"Hash size 128", b"GC interval 3 secs", b"GC expire -1 secs",
            b"Min persistence 5 secs", *EMPTY_TABLE))

    def test_bounds(self) -> None:
        """
        C{hash/setmax} and C{hash/setportmax} set the bounds (negative is
        1022); C{hash/showinfo} shows them after r586's four lines, with the
        entry count, the evictions and the sources not learned.
        """
        self.learn()
        self.assertEqual(self.command(b"hash/setmax -1"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"hash/setportmax -1"), result(b"1022 Invalid argument"))
        self.assertEqual(self.command(b"hash/setportmax 2"), SUCCESS)
        port = self.switch.getPort(1)
        for i in range(5):
            self.switch.frameFromPort(port, frame(b"\xff" * 6, bytes([2, 0, 0, 0, 1, i])))
        self.assertEqual(self.command(b"hash/setmax 2"), SUCCESS)
        self.assertEqual(self.command(b"hash/find 02:00:00:00:00:02"),
                         data(result=b"1019 No such device"))
        self.assertEqual(self.command(b"hash/showinfo"), data(
            b"Hash size 128", b"GC interval 2 secs", b"GC expire 100 secs",
            b"Min persistence 3 secs", b"Entries 2", b"Max entries 2",
            b"Max entries per port 2", b"Evicted (table full) 1", b"Evicted (port full) 4",
            b"Not learned 0"))
        self.assertEqual(self.command(b"hash/setmax 0"), SUCCESS)
        self.switch.frameFromPort(port, frame(b"\xff" * 6, bytes([2, 0, 0, 0, 2, 0])))
        self.assertIn(b"\nEntries 0\nMax entries 0\n", self.command(b"hash/showinfo"))
        self.assertIn(b"\nNot learned 1\n", self.command(b"hash/showinfo"))

    def test_setsizeFlushes(self) -> None:
        """
        C{hash/setsize} empties the table.
        """
        self.learn()
        self.command(b"hash/setsize 64")
        self.assertEqual(self.command(b"hash/print"), data())

    def test_print(self) -> None:
        """
        Entries in bucket order (43 and 60 for these MACs, section 4.6),
        with ages from the switch's tick.
        """
        self.learn()
        self.switch.tick()
        self.assertEqual(self.command(b"hash/print"), data(
            b"Hash: 0043 Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001  age 1 secs",
            b"Hash: 0060 Addr: 02:00:00:00:00:02 VLAN 0000 to port: 007  age 1 secs"))

    def test_find(self) -> None:
        """
        C{hash/find} prints the entry with its real port (r586 prints port
        7 as 008); both MAC spellings work; not found is 1019, garbage 1022.
        """
        self.learn()
        line = b"Hash: 0060 Addr: 02:00:00:00:00:02 VLAN 0000 to port: 007  age 0 secs"
        self.assertEqual(self.command(b"hash/find 02:00:00:00:00:02"), data(line))
        self.assertEqual(self.command(b"hash/find 2.0.0.0.0.2 0"), data(line))
        self.assertEqual(self.command(b"hash/find 2:0:0:0:0:2 10"),
                         data(result=b"1019 No such device"))
        self.assertEqual(self.command(b"hash/find 02:00:00:00:00:03"),
                         data(result=b"1019 No such device"))
        self.assertEqual(self.command(b"hash/find 1:2:3"), data(result=b"1022 Invalid argument"))
        self.assertEqual(self.command(b"hash/find"), data(result=b"1022 Invalid argument"))


class RobustnessTests(ConsoleTestCase):
    """
    Arbitrary input never breaks a session.
    """

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from([path for path, _, _, _ in COMMANDS]),
                  st.text(max_size=30)).map(lambda t: (t[0] + t[1]).encode("utf-8")),
    ), max_size=8))
    def test_arbitraryInput(self, chunks: List[bytes]) -> None:
        """
        Whatever arrives, nothing raises, and once a newline has ended the
        input every reply has ended with the prompt (or the session ended
        with C{9999 END OF SESSION}).
        """
        switch = Switch(mac=MAC, numports=8)
        plug(switch, 6)
        factory = SwitchConsoleFactory(switch, shutdown=lambda: None, reactor=Clock())
        session, transport = self.connect(factory)
        for chunk in chunks:
            session.dataReceived(chunk)
        session.dataReceived(b"\n")
        output = transport.value()
        if transport.disconnecting:
            self.assertTrue(output.endswith(b"9999 END OF SESSION"))
        else:
            self.assertTrue(output.endswith(PROMPT), output[-200:])
        session.connectionLost(Failure(ConnectionDone()))


class InterfaceTests(SynchronousTestCase):
    """
    The fakes used here are what they claim to be.
    """

    def test_fakeEndpoint(self) -> None:
        """
        L{FakeEndpoint} provides L{ISwitchPort}.
        """
        verifyObject(ISwitchPort, FakeEndpoint(Switch(), 1, "x"))
