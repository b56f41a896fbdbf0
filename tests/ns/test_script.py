# -*- test-case-name: tests.ns.test_script -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.ns}: the command line.
"""

import io

from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from tests.ns.fakes import FakeNamespaceSystem
from vdetwist.ns.prepare import ViewConfig
from vdetwist.scripts import main as dispatcher
from vdetwist.scripts.ns import Options, defaultCommand, join


class OptionsTests(SynchronousTestCase):
    """
    C{vdetwist ns}'s options.
    """

    def parse(self, *argv: str) -> Options:
        options = Options()
        options.parseOptions(list(argv))
        return options

    def test_seed(self) -> None:
        """
        The seed's form: -s SWITCH -- COMMAND...; nothing configured.
        """
        o = self.parse("-s", "/tmp/sw", "--", "sh", "-c", "ip link set vd0 up")
        self.assertEqual((o["sock"], o["command"]), ("/tmp/sw", ["sh", "-c", "ip link set vd0 up"]))
        self.assertEqual(o.viewConfig(), ViewConfig())

    def test_configured(self) -> None:
        """
        --ip, --gw, --mac, --mtu, --ifname, --name reach the configuration.
        """
        o = self.parse("--ip", "10.0.0.2/24", "--gw", "10.0.0.1", "--mac", "02:00:00:00:00:0A",
                       "--mtu", "9000", "--ifname", "eth0", "--name", "v1", "--", "true")
        self.assertEqual(o.viewConfig(), ViewConfig(ifname="eth0", mac="02:00:00:00:00:0a",
                                                    ip="10.0.0.2/24", gw="10.0.0.1",
                                                    mtu=9000, name="v1"))

    def test_configuredIPv6AndDHCP(self) -> None:
        """
        --ip6, --gw6 and --dhcp reach the configuration.
        """
        o = self.parse("--ip6", "fd00::2/64", "--gw6", "fd00::1", "--dhcp", "--", "true")
        self.assertEqual(o.viewConfig(), ViewConfig(ip6="fd00::2/64", gw6="fd00::1", dhcp=True))

    def test_defaultShell(self) -> None:
        """
        COMMAND defaults to $SHELL, else /bin/sh.
        """
        self.assertEqual(defaultCommand({"SHELL": "/bin/zsh"}), ["/bin/zsh"])
        self.assertEqual(defaultCommand({}), ["/bin/sh"])

    def test_bad(self) -> None:
        """
        Bad combinations and values are usage errors.
        """
        for argv in (["--gw", "10.0.0.1"], ["--ip", "10.0.0.2"], ["--ip", "nonsense/24"],
                     ["--name", "a", "--join", "b"], ["--name", "a/b"], ["--mtu", "67"],
                     ["--mtu", "9300"], ["--mac", "01:00:00:00:00:00"], ["--mac", "zz"],
                     ["--ip", "10.0.0.2/24", "--gw", "x"], ["--gw6", "fd00::1"],
                     ["--ip6", "10.0.0.2/24"], ["--ip6", "fd00::2"],
                     ["--ip6", "fd00::2/64", "--gw6", "10.0.0.1"],
                     ["--dhcp", "--ip", "10.0.0.2/24"]):
            self.assertRaises((UsageError, ValueError), self.parse, *argv)

    def test_dispatcher(self) -> None:
        """
        C{vdetwist ns} is a subcommand.
        """
        self.assertEqual(dispatcher.SUBCOMMANDS["ns"][0], "vdetwist.scripts.ns")


class JoinTests(SynchronousTestCase):
    """
    C{--join NAME -- CMD}.
    """

    def test_join(self) -> None:
        """
        The view is entered, then CMD run.
        """
        system = FakeNamespaceSystem()
        options = Options()
        options.parseOptions(["--join", "v1", "--", "ip", "addr"])
        join(options, system, io.BytesIO())
        self.assertEqual([c[0] for c in system.calls], ["open", "setns", "execvp"])
        self.assertEqual(system.calls[-1], ("execvp", "ip", ["ip", "addr"]))

    def test_joinMissing(self) -> None:
        """
        No such view: status 1 and one line.
        """
        import errno
        system = FakeNamespaceSystem()
        system.failures["open"] = errno.ENOENT
        options = Options()
        options.parseOptions(["--join", "v1", "--", "true"])
        err = io.BytesIO()
        self.assertEqual(join(options, system, err), 1)
        self.assertEqual(err.getvalue(),
                         b"vdetwist ns: no network view named v1 (/run/netns/v1 does not exist)\n")


class LinkMTUTests(SynchronousTestCase):
    """
    L{Options.linkMTU}: C{--mtu}, else the switch's.
    """

    def options(self, switchMTU: int, *argv: str) -> Options:
        """
        Options for a switch at C{switchMTU}, served in this process.
        """
        from tests.util import shortTempDir
        from vdetwist.switch.switch import Switch
        from vdetwist.vde import local
        directory = shortTempDir(self)
        local.register(directory, Switch(numports=4, mtu=switchMTU))
        self.addCleanup(local.unregister, directory)
        options = Options()
        options.parseOptions(["-s", directory, *argv])
        return options

    def test_jumboSwitch(self) -> None:
        """
        A switch at 9000 gives the tap 9000.
        """
        self.assertEqual(self.options(9000).linkMTU(), 9000)

    def test_defaultSwitch(self) -> None:
        """
        A switch at 1500 leaves the kernel's default (L{None}: nothing set).
        """
        self.assertIsNone(self.options(1500).linkMTU())

    def test_explicitWins(self) -> None:
        """
        C{--mtu} wins, also when it is 1500 on a jumbo switch.
        """
        self.assertEqual(self.options(9000, "--mtu", "1500").linkMTU(), 1500)
        self.assertEqual(self.options(1500, "--mtu", "4000").linkMTU(), 4000)
