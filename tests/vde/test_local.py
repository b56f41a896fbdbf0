# -*- test-case-name: tests.vde.test_local -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.local}: the registry of switches this process
serves.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.vde.test_attach import FakeProvider
from vdetwist.vde import local


class RegistryTests(SynchronousTestCase):
    """
    Register, look up, unregister.
    """

    def setUp(self) -> None:
        self.directory = os.path.realpath(self.mktemp())
        os.mkdir(self.directory)
        self.provider = FakeProvider()

    def test_lookup(self) -> None:
        """
        A registered provider is found by its directory until it is
        unregistered.
        """
        self.assertIsNone(local.lookup(self.directory))
        local.register(self.directory, self.provider)
        self.addCleanup(local.unregister, self.directory)
        self.assertIs(local.lookup(self.directory), self.provider)
        local.unregister(self.directory)
        self.assertIsNone(local.lookup(self.directory))

    def test_samePlace(self) -> None:
        """
        Paths that name the same directory (relative, with C{..}, through a
        symbolic link) find the same provider.
        """
        local.register(self.directory, self.provider)
        self.addCleanup(local.unregister, self.directory)
        link = self.directory + "-link"
        os.symlink(self.directory, link)
        self.addCleanup(os.unlink, link)
        dotted = os.path.join(self.directory, "sub", "..")
        relative = os.path.relpath(self.directory)
        for name in (link, dotted, relative, self.directory + "/"):
            self.assertIs(local.lookup(name), self.provider, name)

    def test_unregisterUnknown(self) -> None:
        """
        Unregistering a directory nothing serves does nothing.
        """
        local.unregister(self.directory)
        self.assertIsNone(local.lookup(self.directory))

    def test_replace(self) -> None:
        """
        A later registration of the same directory wins.
        """
        other = FakeProvider()
        local.register(self.directory, self.provider)
        local.register(self.directory, other)
        self.addCleanup(local.unregister, self.directory)
        self.assertIs(local.lookup(self.directory), other)
