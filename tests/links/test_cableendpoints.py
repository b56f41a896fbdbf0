# -*- test-case-name: tests.links.test_cableendpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.cableendpoints}: endpoint descriptions to
Twisted endpoints (mutual TLS, UNIX 0600, SSH), reading trust roots, and
aborting a transport.
"""

import os
import shutil
import sys
import tempfile
from importlib.util import find_spec
from typing import List

from twisted.internet import endpoints
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.extras import hasExtra, missingExtra
from vdetwist.links.cableendpoints import (
    CableError, _splitDescription, abortTransport, clientEndpoint, loadCertificates,
    serverEndpoint)

from tests.links.test_cable_tls import makePKI

#: Making test certificates needs cryptography (an optional extra on PyPy).
NO_CRYPTOGRAPHY = None if find_spec("cryptography") else "cryptography is not installed"


class DescriptionTests(SynchronousTestCase):
    """
    Splitting descriptions and building endpoints from them.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def test_split(self) -> None:
        """
        Descriptions split on C{:} with C{\\} escapes, keywords apart; an
        empty one is a L{CableError}.
        """
        self.assertEqual(_splitDescription("tls:7000:privateKey=k.pem:certKey=c\\:1.pem"),
                         (["tls", "7000"], {"privateKey": "k.pem", "certKey": "c:1.pem"}))
        self.assertRaises(CableError, _splitDescription, "")

    def test_unixListenMode(self) -> None:
        """
        A UNIX listening cable is made with mode 0600 unless told.
        """
        endpoint = serverEndpoint(self.reactor, "unix:/tmp/x")
        self.assertEqual(endpoint._mode, 0o600)
        endpoint = serverEndpoint(self.reactor, "unix:/tmp/x:mode=660")
        self.assertEqual(endpoint._mode, 0o660)
        self.assertIsNotNone(clientEndpoint(self.reactor, "unix:/tmp/x"))

    def test_plainEndpoints(self) -> None:
        """
        TCP descriptions are Twisted's own endpoints.
        """
        self.assertIsInstance(serverEndpoint(self.reactor, "tcp:7000:interface=127.0.0.1"),
                              endpoints.TCP4ServerEndpoint)
        self.assertIsInstance(clientEndpoint(self.reactor, "tcp:127.0.0.1:7000"),
                              endpoints.TCP4ClientEndpoint)

    def test_badDescriptions(self) -> None:
        """
        What Twisted cannot parse, and TLS listening without trust roots
        (cables are mutual TLS) or with extra arguments, is a
        L{CableError} with a message.
        """
        for text in ["nosuch:1", "tcp:notaport"]:
            e = self.assertRaises(CableError, serverEndpoint, self.reactor, text)
            self.assertIn("bad listen endpoint", str(e))
        e = self.assertRaises(CableError, clientEndpoint, self.reactor, "tcp:host")
        self.assertIn("bad dial endpoint", str(e))

    def test_badTLSDescriptions(self) -> None:
        """
        TLS listening without trust roots (cables are mutual TLS), with
        extra arguments or without a key is a L{CableError} with a message.
        """
        e = self.assertRaises(CableError, serverEndpoint, self.reactor,
                              "tls:7000:privateKey=k.pem")
        self.assertIn("trustRoots", str(e))
        e = self.assertRaises(CableError, serverEndpoint, self.reactor,
                              "tls:7000:8000:privateKey=k:trustRoots=ca")
        self.assertIn("tls:PORT", str(e))
        e = self.assertRaises(CableError, serverEndpoint, self.reactor,
                              "tls:7000:trustRoots=ca")
        self.assertIn("privateKey", str(e))

    def test_badSSH(self) -> None:
        """
        SSH descriptions are checked: a host, a numeric port, known
        keywords.
        """
        for text in ["ssh:", "ssh:host:port", "ssh:host:nosuch=1", "ssh:a:1:2"]:
            self.assertRaises(CableError, clientEndpoint, self.reactor, text)

    if not hasExtra("tls"):
        test_badTLSDescriptions.skip = str(missingExtra("tls"))  # type: ignore[attr-defined]
    if not hasExtra("ssh"):
        test_badSSH.skip = str(missingExtra("ssh"))  # type: ignore[attr-defined]


class MissingExtraTests(SynchronousTestCase):
    """
    Without the C{tls} or C{ssh} extra (cryptography: PyPy may lack it)
    such cables are refused with one line saying what to install, and the
    other endpoints still work.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def hide(self, name: str) -> None:
        """
        Make C{name} fail to import for this test.

        @param name: a module name.
        """
        absent = name not in sys.modules
        saved = sys.modules.get(name)

        def restore() -> None:
            if absent:
                del sys.modules[name]
            else:
                sys.modules[name] = saved  # type: ignore[assignment]
        self.addCleanup(restore)
        sys.modules[name] = None  # type: ignore[assignment]

    def test_tls(self) -> None:
        """
        Without pyOpenSSL, TLS (and SSL) cables, listening or dialled, are
        refused naming the C{tls} extra; TCP still works.
        """
        self.hide("OpenSSL")
        for make, description in [
                (serverEndpoint, "tls:7000:privateKey=k:trustRoots=ca"),
                (serverEndpoint, "ssl:7000:privateKey=k"),
                (clientEndpoint, "tls:example.com:7000"),
                (clientEndpoint, "ssl:example.com:7000")]:
            e = self.assertRaises(CableError, make, self.reactor, description)
            self.assertIn("TLS cables need the 'tls' extra: pip install ", str(e))
            self.assertIn("'vdetwist[tls]'", str(e))
        self.assertIsInstance(serverEndpoint(self.reactor, "tcp:7000:interface=127.0.0.1"),
                              endpoints.TCP4ServerEndpoint)

    def test_ssh(self) -> None:
        """
        Without Conch's keys (cryptography), SSH cables are refused naming
        the C{ssh} extra.
        """
        self.hide("twisted.conch.ssh.keys")
        e = self.assertRaises(CableError, clientEndpoint, self.reactor, "ssh:host")
        self.assertIn("SSH cables need the 'ssh' extra: pip install ", str(e))
        self.assertIn("'vdetwist[ssh]'", str(e))


class TrustRootTests(SynchronousTestCase):
    """
    Reading CA certificates and building mutual-TLS listeners.
    """

    skip = NO_CRYPTOGRAPHY

    def setUp(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="vtends")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.pki = makePKI(self.directory)

    def test_loadFileAndDirectory(self) -> None:
        """
        A PEM file gives its certificates; a directory those of its C{.pem}
        and C{.crt} files.
        """
        [one] = loadCertificates(self.pki["server.crt"])
        self.assertIn("switch-a", str(one.getSubject()))
        both = os.path.join(self.directory, "both")
        os.mkdir(both)
        for name in ("server.crt", "client.crt"):
            shutil.copy(self.pki[name], both)
        with open(os.path.join(both, "notes.txt"), "w") as f:
            f.write("not a certificate")
        names: List[str] = sorted(str(c.getSubject()) for c in loadCertificates(both))
        self.assertEqual(len(names), 2)

    def test_noCertificates(self) -> None:
        """
        A file without certificates, or a missing one, is a L{CableError}.
        """
        empty = os.path.join(self.directory, "empty.pem")
        open(empty, "w").close()
        self.assertIn("no PEM certificate", str(self.assertRaises(
            CableError, loadCertificates, empty)))
        self.assertIn("cannot read", str(self.assertRaises(
            CableError, loadCertificates, os.path.join(self.directory, "none.pem"))))

    def test_mutualTLSListener(self) -> None:
        """
        A TLS listener requires and verifies client certificates.
        """
        p = self.pki
        endpoint = serverEndpoint(MemoryReactorClock(), "tls:0:privateKey=%s:certKey=%s:"
                                  "trustRoots=%s" % (p["server.key"], p["server.crt"], p["ca1"]))
        self.assertIsInstance(endpoint, endpoints.SSL4ServerEndpoint)
        options = endpoint._sslContextFactory
        self.assertTrue(options.verify)
        self.assertTrue(options.requireCertificate)
        self.assertEqual(len(options.caCerts), 1)


class AbortTests(SynchronousTestCase):
    """
    L{abortTransport}.
    """

    def test_abortConnection(self) -> None:
        """
        A transport with C{abortConnection} is aborted.
        """
        transport = StringTransport()
        transport.abortConnection = lambda: aborted.append(True)  # type: ignore[method-assign]
        aborted: List[bool] = []
        abortTransport(transport)
        self.assertEqual(aborted, [True])
        self.assertFalse(transport.disconnecting)

    def test_sshChannel(self) -> None:
        """
        An SSH channel aborts its connection's TCP transport.
        """
        tcp = StringTransport()
        aborted: List[bool] = []
        tcp.abortConnection = lambda: aborted.append(True)  # type: ignore[method-assign]

        class Holder:
            pass
        channel, conn, ssh = Holder(), Holder(), Holder()
        ssh.transport = tcp  # type: ignore[attr-defined]
        conn.transport = ssh  # type: ignore[attr-defined]
        channel.conn = conn  # type: ignore[attr-defined]
        abortTransport(channel)
        self.assertEqual(aborted, [True])

    def test_otherwiseLoseConnection(self) -> None:
        """
        Anything else loses its connection.
        """
        lost: List[bool] = []

        class Plain:
            def loseConnection(self) -> None:
                lost.append(True)
        abortTransport(Plain())
        self.assertEqual(lost, [True])
