# -*- test-case-name: tests.links.test_commands -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.commands}: the links' command table in a
switch's console.
"""

from tests.links import test_cable
from vdetwist.console.framing import MENU
from vdetwist.links.commands import COMMANDS, CableCommands
from vdetwist.switch.console import SwitchConsoleFactory


class CableConsoleTests(test_cable.CableTestCase):
    """
    The console's C{cable/*} and C{link/*} commands.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        test_cable.CableTestCase.setUp(self)
        self.factory = SwitchConsoleFactory(self.switch, reactor=self.clock,
                                            tables=[CableCommands(self.manager)])
        self.session = self.factory.buildProtocol(None)
        self.session.transport = None

    def command(self, line: str) -> "tuple[int, str]":
        """
        Run one command.
        """
        return self.session.runCommand(line)

    def test_help(self) -> None:
        """
        With cables the help lists the cable and link menus; without, not.
        """
        rv, text = self.command("help cable")
        self.assertIn("cable/print", text)
        self.assertIn("cable/add", text)
        rv, text = self.command("help link")
        self.assertIn("link/delay", text)
        bare = SwitchConsoleFactory(self.switch, reactor=self.clock).buildProtocol(None)
        rv, text = bare.runCommand("help")
        self.assertNotIn("cable", text)
        self.assertEqual(bare.runCommand("cable/print")[0], 38)

    def test_print(self) -> None:
        """
        C{cable/print} lists the table in a data block.
        """
        rv, text = self.command("cable/print")
        self.assertEqual(rv, 0)
        self.assertIn("Cable 0001 listen", text)
        self.assertTrue(text.startswith("0000 DATA END WITH '.'\n"))
        self.assertEqual(self.command("cable/print 77")[0], 6)

    def test_addDel(self) -> None:
        """
        C{cable/add ENDPOINT} dials, C{cable/add listen ENDPOINT} listens,
        C{cable/del ID} removes; bad input gives errors, not exceptions.
        """
        rv, text = self.command("cable/add tcp:127.0.0.1:7009")
        self.assertEqual(rv, 0)
        self.assertIn("Cable 0002 dial", text)
        rv, text = self.command("cable/add listen tcp:7010")
        self.assertEqual(rv, 0)
        self.assertEqual(self.manager.cables[3].kind, "listen")
        self.assertEqual(self.command("cable/del 2")[0], 0)
        self.assertNotIn(2, self.manager.cables)
        self.assertEqual(self.command("cable/del 2")[0], 6)
        self.assertEqual(self.command("cable/del x")[0], 22)
        self.assertEqual(self.command("cable/add")[0], 22)
        self.assertEqual(self.command("cable/add nosuch:1")[0], 22)

    def test_link(self) -> None:
        """
        C{link/delay ID VALUE} and friends set the emulation;
        C{link/print} shows it, C{link/clear} removes it.
        """
        self.assertEqual(self.command("link/delay 1 LR50+10N")[0], 0)
        self.assertEqual(self.command("link/loss 1 5")[0], 0)
        rv, text = self.command("link/print 1")
        self.assertIn("loss 5 delay LR 50+10N RL 0", text)
        self.assertEqual(self.command("link/bandwidth 1 1M")[0], 0)
        self.assertEqual(self.listener.linkParameters.out.bandwidth, 1 << 20)
        self.assertEqual(self.command("link/loss 1 500")[0], 22)
        self.assertEqual(self.command("link/loss 99 5")[0], 6)
        self.assertEqual(self.command("link/clear 1")[0], 0)
        self.assertIsNone(self.listener.linkParameters)

    def test_table(self) -> None:
        """
        The table lists the cable and link menus and implements every
        command it lists.
        """
        table = CableCommands(self.manager)
        self.assertEqual([path for path, syntax, _, _ in COMMANDS if syntax == MENU],
                         ["cable", "link"])
        for path, _, _, flags in COMMANDS:
            if flags is not None:
                self.assertIsNotNone(table.handler(path), path)

    def test_after(self) -> None:
        """
        Composed after the switch's table, the menus come after the
        switch's last menu (C{vlan}).
        """
        rv, text = self.command("help")
        self.assertLess(text.index("vlan/allprint"), text.index("cable "))
        self.assertLess(text.index("cable/del"), text.index("link "))
