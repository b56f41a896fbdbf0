# -*- test-case-name: tests.ns.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.dhcp} on the fake namespace system: udhcpc run
with our script, the lease's resolv.conf bind-mounted over
/etc/resolv.conf in a private mount namespace, the files removed; and
the script itself, run by sh with a fake C{ip}.
"""

import errno
import os
import subprocess
import sys
from typing import List

from twisted.trial.unittest import SynchronousTestCase

from tests.ns.fakes import FakeNamespaceSystem
from tests.util import shortTempDir
from vdetwist.ns.dhcp import (SCRIPT, leaseResolvPath, removeLeaseFiles, runDHCP,
                              udhcpcCommand)
from vdetwist.ns.prepare import ViewConfig, ViewError
from vdetwist.ns.system import CLONE_NEWNS, MS_BIND, MS_REC, MS_SLAVE


def found(name: str) -> str:
    """
    A C{which} that finds everything.
    """
    return "/usr/bin/" + name


def notFound(name: str) -> None:
    """
    A C{which} that finds nothing.
    """
    return None


class RunDHCPTests(SynchronousTestCase):
    """
    L{runDHCP}.
    """

    def leasing(self, system: FakeNamespaceSystem, text: str) -> List[str]:
        """
        Make udhcpc's run write C{text} where the script writes DNS.

        @return: the scripts run with (filled in as udhcpc runs).
        """
        scripts: List[str] = []

        def onRun(argv: List[str]) -> None:
            script = argv[argv.index("-s") + 1]
            scripts.append(system.files[script])
            resolv = system.files[script].split("RESOLV=")[1].split("\n")[0]
            system.files[resolv] = text
        system.onRun = onRun
        return scripts

    def test_unnamed(self) -> None:
        """
        An unnamed view: udhcpc runs for the interface with our script in
        a temporary file; the DNS servers go to a temporary resolv.conf,
        bind-mounted over /etc/resolv.conf in a new mount namespace slaved
        to the host's; both temporary files are removed.
        """
        system = FakeNamespaceSystem()
        scripts = self.leasing(system, "nameserver 10.0.2.3\n")
        runDHCP(ViewConfig(ifname="eth1", dhcp=True), system, which=notFound)
        (argv,) = system.runs
        script = argv[argv.index("-s") + 1]
        self.assertEqual(argv, ["busybox", "udhcpc", "-i", "eth1", "-q", "-f", "-n",
                                "-t", "5", "-T", "2", "-s", script])
        resolv = [c[1] for c in system.calls if c[0] == "mount" and c[3] == MS_BIND][0]
        self.assertEqual(scripts, [SCRIPT % {"resolv": resolv}])
        self.assertIn(("temporaryFile", "vdetwist-ns-udhcpc-", scripts[0], 0o700), system.calls)
        self.assertEqual([c for c in system.calls if c[0] in ("unshare", "mount")], [
            ("unshare", CLONE_NEWNS), ("mount", "none", "/", MS_REC | MS_SLAVE),
            ("mount", resolv, "/etc/resolv.conf", MS_BIND)])
        self.assertEqual(sorted(c[1] for c in system.calls if c[0] == "unlink"),
                         sorted([script, resolv]))

    def test_named(self) -> None:
        """
        A named view's DNS servers go to /etc/netns/NAME/resolv.conf (as
        C{ip netns exec} expects), which is kept while the view lives.
        """
        system = FakeNamespaceSystem()
        self.leasing(system, "nameserver 10.0.2.3\n")
        config = ViewConfig(name="v1", dhcp=True)
        runDHCP(config, system, which=found)
        self.assertEqual(system.runs[0][0], "udhcpc")
        self.assertEqual(leaseResolvPath(config), "/etc/netns/v1/resolv.conf")
        self.assertIn(("makeDirectory", "/etc/netns/v1", 0o755), system.calls)
        self.assertIn(("mount", "/etc/netns/v1/resolv.conf", "/etc/resolv.conf", MS_BIND),
                      system.calls)
        self.assertNotIn("/etc/netns/v1/resolv.conf",
                         [c[1] for c in system.calls if c[0] == "unlink"])
        removeLeaseFiles(config, system)
        self.assertEqual(system.calls[-2:], [("unlink", "/etc/netns/v1/resolv.conf"),
                                             ("removeDirectory", "/etc/netns/v1")])

    def test_noDNS(self) -> None:
        """
        A lease without DNS servers leaves /etc/resolv.conf alone.
        """
        system = FakeNamespaceSystem()
        self.leasing(system, "")
        runDHCP(ViewConfig(dhcp=True), system, which=found)
        self.assertNotIn("mount", system.names())
        self.assertNotIn("unshare", system.names())

    def test_noLease(self) -> None:
        """
        udhcpc failing: one line with its last words; the files go.
        """
        system = FakeNamespaceSystem()
        system.runStatus = (1, "udhcpc: started\nudhcpc: no lease, failing")
        e = self.assertRaises(ViewError, runDHCP, ViewConfig(dhcp=True), system, found)
        self.assertEqual(str(e), "no DHCP lease for vd0 (udhcpc: no lease, failing)")
        self.assertEqual(len([c for c in system.calls if c[0] == "unlink"]), 2)

    def test_noUDHCPC(self) -> None:
        """
        No busybox: one line saying what to install.
        """
        system = FakeNamespaceSystem()
        system.runStatus = (127, "busybox: No such file or directory")
        e = self.assertRaises(ViewError, runDHCP, ViewConfig(dhcp=True), system, notFound)
        self.assertIn("--dhcp needs busybox's udhcpc (apt-get install busybox)", str(e))

    def test_mountFails(self) -> None:
        """
        The resolv.conf cannot be put in place: one line.
        """
        system = FakeNamespaceSystem()
        self.leasing(system, "nameserver 10.0.2.3\n")
        system.failures["unshare"] = errno.EPERM
        e = self.assertRaises(ViewError, runDHCP, ViewConfig(dhcp=True), system, found)
        self.assertTrue(str(e).startswith("--dhcp: cannot show the lease's DNS servers in "
                                          "/etc/resolv.conf: "), str(e))

    def test_removeLeaseFilesUnnamed(self) -> None:
        """
        An unnamed view, or one without DHCP, left nothing to remove.
        """
        system = FakeNamespaceSystem()
        removeLeaseFiles(ViewConfig(dhcp=True), system)
        removeLeaseFiles(ViewConfig(name="v"), system)
        self.assertEqual(system.calls, [])

    def test_udhcpcCommand(self) -> None:
        """
        udhcpc on its own when installed so, else busybox's applet.
        """
        self.assertEqual(udhcpcCommand(found), ["udhcpc"])
        self.assertEqual(udhcpcCommand(notFound), ["busybox", "udhcpc"])


class ScriptTests(SynchronousTestCase):
    """
    L{SCRIPT} run by C{sh} as udhcpc runs it, with a fake C{ip} that
    records its arguments.
    """

    def runScript(self, event: str, **lease: str) -> "tuple[List[str], str]":
        """
        Run the script for C{event} with the lease's environment.

        @return: the C{ip} calls and the resolv.conf it wrote.
        """
        directory = shortTempDir(self)
        log = os.path.join(directory, "ip.log")
        ip = os.path.join(directory, "ip")
        with open(ip, "w") as f:
            f.write('#!/bin/sh\necho "$@" >> %s\n' % (log,))
        os.chmod(ip, 0o755)
        resolv = os.path.join(directory, "resolv.conf")
        script = os.path.join(directory, "script")
        with open(script, "w") as f:
            f.write(SCRIPT % {"resolv": resolv})
        env = dict(lease, PATH=directory + ":/usr/bin:/bin", interface="vd0")
        subprocess.run(["sh", script, event], env=env, check=True)
        with open(log) as f:
            calls = f.read().splitlines()
        text = ""
        if os.path.exists(resolv):
            with open(resolv) as f:
                text = f.read()
        return calls, text

    def test_bound(self) -> None:
        """
        bound: the address with its prefix, the first router as default
        route, the DNS servers and search domain in the resolv.conf.
        """
        calls, text = self.runScript("bound", ip="192.168.77.15", mask="24", subnet="255.255.255.0",
                               broadcast="192.168.77.255", router="192.168.77.2 192.168.77.9",
                               dns="192.168.77.3 192.168.77.4", domain="lan")
        self.assertEqual(calls, [
            "-4 addr flush dev vd0",
            "addr add 192.168.77.15/24 broadcast 192.168.77.255 dev vd0",
            "route replace default via 192.168.77.2 dev vd0"])
        self.assertEqual(text, "search lan\nnameserver 192.168.77.3\nnameserver 192.168.77.4\n")

    def test_boundDottedMask(self) -> None:
        """
        Without C{mask} (older busybox), the dotted C{subnet}; without a
        broadcast, C{+}; without router or DNS, neither.
        """
        calls, text = self.runScript("bound", ip="10.0.0.5", subnet="255.255.255.0")
        self.assertEqual(calls, ["-4 addr flush dev vd0",
                                 "addr add 10.0.0.5/255.255.255.0 broadcast + dev vd0"])
        self.assertEqual(text, "")

    def test_deconfig(self) -> None:
        """
        deconfig: the interface up, its IPv4 addresses flushed.
        """
        calls, _ = self.runScript("deconfig")
        self.assertEqual(calls, ["link set dev vd0 up", "-4 addr flush dev vd0"])


if sys.platform != "linux":  # pragma: no cover
    ScriptTests.skip = "the script is for Linux"  # type: ignore[attr-defined]
