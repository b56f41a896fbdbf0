# -*- test-case-name: tests.vde.test_announce -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.announce}: the MTU a vdetwist switch announces in
C{DIR/.vdetwist}, and the default MTU its clients take from it.
"""

import os
import stat

from twisted.trial.unittest import SynchronousTestCase

from tests.util import shortTempDir
from vdetwist.switch.switch import Switch
from vdetwist.vde import local
from vdetwist.vde.announce import (
    ANNOUNCEMENT, DEFAULT_MTU, Announcement, encodeAnnouncement, parseAnnouncement,
    readAnnouncedMTU, removeAnnouncement, switchMTU, writeAnnouncement)

#: The file of a switch announcing MTU 9000 whose ctl socket is inode
#: 1234567 on device 64769 (0xfd01, /dev/dm-1), written out by hand:
FIXTURE = (
    b"vdetwist-switch"     # what wrote it
    b" mtu=9000"           # the MTU its clients default to
    b" ctl=64769:1234567"  # st_dev:st_ino of the DIR/ctl it serves
    b"\n")


class CodecTests(SynchronousTestCase):
    """
    The one-line file, both ways, and what the checked parse refuses.
    """

    def test_encode(self) -> None:
        """
        An announcement encodes to the fixture.
        """
        self.assertEqual(encodeAnnouncement(Announcement(9000, 64769, 1234567)), FIXTURE)

    def test_parse(self) -> None:
        """
        The fixture parses to its announcement, with or without its newline.
        """
        self.assertEqual(parseAnnouncement(FIXTURE), Announcement(9000, 64769, 1234567))
        self.assertEqual(parseAnnouncement(FIXTURE[:-1]), Announcement(9000, 64769, 1234567))

    def test_refused(self) -> None:
        """
        Anything else, and MTUs outside 576..9216, are L{ValueError}s.
        """
        for data in [b"", b"vdetwist-switch mtu=9000\n", FIXTURE + b"x",
                     b"vdetwist-switch mtu=9000 ctl=1:2\nmore\n",
                     b"vdetwist-switch mtu=-1 ctl=1:2\n", b"vdetwist-switch mtu=575 ctl=1:2\n",
                     b"vdetwist-switch mtu=9217 ctl=1:2\n", b"\xff" * 40,
                     b"vdetwist-switch mtu=9000 ctl=1:2 \n"]:
            self.assertRaises(ValueError, parseAnnouncement, data)
        self.assertEqual(parseAnnouncement(b"vdetwist-switch mtu=576 ctl=1:2").mtu, 576)
        self.assertEqual(parseAnnouncement(b"vdetwist-switch mtu=9216 ctl=1:2").mtu, 9216)


class FileTests(SynchronousTestCase):
    """
    Writing and reading the file in a real directory (a plain file stands
    for the control socket: only its identity counts).
    """

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.ctl = os.path.join(self.dir, "ctl")
        open(self.ctl, "w").close()

    def test_roundTrip(self) -> None:
        """
        What a switch writes, a client reads; the file has the read bits of
        the socket mode (0600 gives 0400) and names this C{ctl}.
        """
        path = writeAnnouncement(self.dir, 9000, 0o600)
        self.assertEqual(path, os.path.join(self.dir, ANNOUNCEMENT))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o400)
        self.assertEqual(readAnnouncedMTU(self.dir), 9000)
        ctl = os.stat(self.ctl)
        with open(path, "rb") as f:
            self.assertEqual(parseAnnouncement(f.read()),
                             Announcement(9000, ctl.st_dev, ctl.st_ino))

    def test_groupMode(self) -> None:
        """
        A socket mode of 0660 gives 0440; 0666 gives 0444.
        """
        path = writeAnnouncement(self.dir, 9000, 0o660)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o440)
        writeAnnouncement(self.dir, 4000, 0o666)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o444)
        self.assertEqual(readAnnouncedMTU(self.dir), 4000)

    def test_replaced(self) -> None:
        """
        Writing again replaces the file (a read-only one left by a switch
        that was killed included).
        """
        writeAnnouncement(self.dir, 9000, 0o600)
        writeAnnouncement(self.dir, 2000, 0o600)
        self.assertEqual(readAnnouncedMTU(self.dir), 2000)

    def test_none(self) -> None:
        """
        No file: no announcement (Debian's switch, or ours at 1500).
        """
        self.assertIsNone(readAnnouncedMTU(self.dir))
        self.assertEqual(switchMTU(self.dir), DEFAULT_MTU)

    def test_removed(self) -> None:
        """
        L{removeAnnouncement} removes it, and is quiet when there is none.
        """
        writeAnnouncement(self.dir, 9000, 0o600)
        removeAnnouncement(self.dir)
        self.assertFalse(os.path.exists(os.path.join(self.dir, ANNOUNCEMENT)))
        removeAnnouncement(self.dir)

    def test_stale(self) -> None:
        """
        A file naming another C{ctl} than the one there now (left by a
        killed vdetwist switch, then Debian's took the directory) is
        ignored: its clients stay at 1500.
        """
        writeAnnouncement(self.dir, 9000, 0o600)
        newer = os.path.join(self.dir, "ctl.new")
        open(newer, "w").close()
        os.rename(newer, self.ctl)
        self.assertIsNone(readAnnouncedMTU(self.dir))
        self.assertEqual(switchMTU(self.dir), DEFAULT_MTU)

    def test_noControlSocket(self) -> None:
        """
        A file without a C{ctl} beside it is ignored.
        """
        writeAnnouncement(self.dir, 9000, 0o600)
        os.unlink(self.ctl)
        self.assertIsNone(readAnnouncedMTU(self.dir))

    def test_malformed(self) -> None:
        """
        A file that is not an announcement is ignored.
        """
        with open(os.path.join(self.dir, ANNOUNCEMENT), "wb") as f:
            f.write(b"mtu 9000\n")
        self.assertIsNone(readAnnouncedMTU(self.dir))

    def test_symlinkRefused(self) -> None:
        """
        A symbolic link in place of the file is not followed.
        """
        real = os.path.join(self.dir, "elsewhere")
        ctl = os.stat(self.ctl)
        with open(real, "wb") as f:
            f.write(encodeAnnouncement(Announcement(9000, ctl.st_dev, ctl.st_ino)))
        os.symlink(real, os.path.join(self.dir, ANNOUNCEMENT))
        self.assertIsNone(readAnnouncedMTU(self.dir))

    def test_fifoRefused(self) -> None:
        """
        A FIFO in place of the file is not waited on.
        """
        os.mkfifo(os.path.join(self.dir, ANNOUNCEMENT))
        self.assertIsNone(readAnnouncedMTU(self.dir))

    def test_switchMTUFromFile(self) -> None:
        """
        L{switchMTU} reads the file of the directory a path or a C{vde://}
        URL (with a port) names.
        """
        writeAnnouncement(self.dir, 9000, 0o600)
        self.assertEqual(switchMTU(self.dir), 9000)
        self.assertEqual(switchMTU("vde://%s[3]" % (self.dir,)), 9000)

    def test_badURL(self) -> None:
        """
        A URL that does not parse gives the default (the attach reports it).
        """
        self.assertEqual(switchMTU("slirp://x"), DEFAULT_MTU)


class InProcessTests(SynchronousTestCase):
    """
    A switch served by this process tells its MTU by call.
    """

    def test_inProcess(self) -> None:
        """
        L{switchMTU} of a directory this process serves is the switch's
        C{mtu}, file or no file.
        """
        directory = shortTempDir(self)
        local.register(directory, Switch(numports=4, mtu=9000))
        self.addCleanup(local.unregister, directory)
        self.assertEqual(switchMTU(directory), 9000)
        self.assertEqual(switchMTU("vde://" + directory), 9000)

    def test_inProcessDefault(self) -> None:
        """
        A switch without C{--mtu} gives 1500, and so does a provider without
        an C{mtu} (a test fake, a cable's).
        """
        directory = shortTempDir(self)
        local.register(directory, Switch(numports=4))
        self.assertEqual(switchMTU(directory), DEFAULT_MTU)
        local.register(directory, object())  # type: ignore[arg-type]
        self.addCleanup(local.unregister, directory)
        self.assertEqual(switchMTU(directory), DEFAULT_MTU)
