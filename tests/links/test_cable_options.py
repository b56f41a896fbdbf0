# -*- test-case-name: tests.links.test_cable_options -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for the cable options of C{twistd vdeswitch}
(L{vdetwist.links.options.CableOptions} in L{vdetwist.switch.tap.Options}).
"""

import os
import tempfile

from twisted.internet.testing import MemoryReactorClock
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.extras import hasExtra
from vdetwist.switch.tap import Options, makeService


class CableOptionsTests(SynchronousTestCase):
    """
    C{--cable}, C{--cable-listen}, C{--vxlan}, C{--link}, C{--cables}.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.directory = tempfile.mkdtemp(prefix="vtopt")
        self.addCleanup(os.rmdir, self.directory)

    def parse(self, *args: str) -> Options:
        """
        Parse C{-s DIR} plus C{args}.
        """
        options = Options()
        options.parseOptions(["-s", os.path.join(self.directory, "sw"), *args])
        return options

    def test_repeatableInOrder(self) -> None:
        """
        Each option adds a cable, in order; C{--link} applies to the one
        just before it.
        """
        options = self.parse("--cable-listen", "tcp:7000", "--link", "delay=50",
                             "--cable", "tcp:127.0.0.1:7001", "--cable", "unix:/tmp/c",
                             "--vxlan", "127.0.0.1:4789,42,127.0.0.2", "--link", "loss=5")
        self.assertEqual(options["cableSpecs"], [
            ["listen", "tcp:7000", "delay=50"],
            ["dial", "tcp:127.0.0.1:7001", None],
            ["dial", "unix:/tmp/c", None],
            ["vxlan", "127.0.0.1:4789,42,127.0.0.2", "loss=5"]])

    def test_service(self) -> None:
        """
        The service has a cable manager with those cables and their link
        emulation, and the console offers the cable commands.
        """
        options = self.parse("--cable-listen", "tcp:7000", "--link", "delay=50+5,loss=1",
                             "--cable", "tcp:127.0.0.1:7001")
        top = makeService(options, MemoryReactorClock())
        manager = top.cables
        self.assertIs(top.console.commands.handlerFor("cable/print").__self__.manager,
                      manager)
        self.assertIs(top.getServiceNamed("cables"), manager)
        self.assertEqual([(c.kind, c.description) for c in manager.cables.values()],
                         [("listen", "tcp:7000"), ("dial", "tcp:127.0.0.1:7001")])
        link = manager.cables[1].linkParameters
        self.assertEqual((link.out.delay, link.out.jitter, link.into.loss), (50, 5, 1))

    def test_noCables(self) -> None:
        """
        Without cable options there is no manager (and the console's help
        stays vde_switch's); C{--cables} makes an empty one.
        """
        top = makeService(self.parse(), MemoryReactorClock())
        self.assertIsNone(top.cables)
        self.assertIsNone(top.console.commands.handlerFor("cable/print"))
        top = makeService(self.parse("--cables"), MemoryReactorClock())
        self.assertEqual(top.cables.cables, {})
        self.assertIsNotNone(top.cables.loopGuard)

    def test_noLoopGuard(self) -> None:
        """
        C{--no-loop-guard} turns the loop guard off.
        """
        top = makeService(self.parse("--cables", "--no-loop-guard"), MemoryReactorClock())
        self.assertIsNone(top.cables.loopGuard)

    def test_errors(self) -> None:
        """
        Bad endpoints, VXLAN specs and link values, and a C{--link} with
        nothing before it, are usage errors naming the option.
        """
        for args, text in [
                (["--cable", "tcp:host"], "--cable tcp:host"),
                (["--cable-listen", "nosuch:1"], "--cable-listen nosuch:1"),
                (["--cable-listen", "tls:7000:privateKey=/nonexistent"],
                 "trustRoots" if hasExtra("tls") else "the 'tls' extra: pip install"),
                (["--vxlan", "1.2.3.4"], "--vxlan"),
                (["--cable", "tcp:h:1", "--link", "delay=x"], "bad value"),
                (["--link", "delay=5"], "--link applies to")]:
            error = self.assertRaises(UsageError, self.parse, *args)
            self.assertIn(text, str(error))
