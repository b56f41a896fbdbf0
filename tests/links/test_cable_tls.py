# -*- test-case-name: tests.links.test_cable_tls -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for mutual TLS cables (L{vdetwist.links.cable}) over real loopback
TCP, with certificates made here from two unrelated CAs.

L{makePKI} is also used by the interop tests.
"""

import datetime
import ipaddress
import os
import shutil
import tempfile
from typing import Any, Dict

from twisted.internet import defer, reactor, task
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from tests.switch.test_switch import BROADCAST, MAC1, MAC2, Recorder, frame
from vdetwist.extras import hasExtra, missingExtra
from vdetwist.links.cable import CableError, CableManager, serverEndpoint
from vdetwist.switch.switch import Switch

#: Why these tests are skipped: the tls extra (pyOpenSSL, cryptography) is
#: missing, as it may be on PyPy.
skip = None if hasExtra("tls") else str(missingExtra("tls"))


def _name(common: str) -> Any:
    """
    An X.509 name with one common name.
    """
    from cryptography.x509.oid import NameOID
    from cryptography import x509
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _key() -> Any:
    """
    A fresh P-256 private key.
    """
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject: str, key: Any, issuer: str, issuerKey: Any, ca: bool,
                 names: "tuple[str, ...]" = ()) -> Any:
    """
    One X.509 certificate, valid from yesterday for a year.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    if names:
        alternatives = []
        for name in names:
            try:
                alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternatives.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives),
                                        critical=False)
    return builder.sign(issuerKey, hashes.SHA256())


def makePKI(directory: str) -> Dict[str, str]:
    """
    Two unrelated CAs and certificates for a test: C{ca1}/C{ca2} (each a
    directory holding the CA's PEM, fit for C{trustRoots=}), C{server} (CN
    switch-a, names localhost and 127.0.0.1, by CA 1), C{client} (CN
    switch-b, by CA 1), C{rogue} (CN switch-b, by CA 2), C{wrongname} (CN
    other, name other.example, by CA 1); each of the last four as
    C{NAME.crt} and C{NAME.key} paths.

    @param directory: where the files go.
    @return: name to path.
    """
    from cryptography.hazmat.primitives import serialization
    paths: Dict[str, str] = {}

    def write(name: str, data: bytes) -> str:
        """
        Write a file (mode 0600), making its directory.
        """
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o600)
        return path

    def pem(certificate: Any) -> bytes:
        """
        A certificate in PEM.
        """
        return certificate.public_bytes(serialization.Encoding.PEM)

    def keyPEM(key: Any) -> bytes:
        """
        A private key in unencrypted PKCS#8 PEM.
        """
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    authorities = {}
    for ca in ("ca1", "ca2"):
        key = _key()
        certificate = _certificate("Test CA %s" % (ca,), key, "Test CA %s" % (ca,), key, True)
        write(os.path.join(ca, "ca.pem"), pem(certificate))
        paths[ca] = os.path.join(directory, ca)
        authorities[ca] = (key, "Test CA %s" % (ca,))
    for name, cn, ca, names in [("server", "switch-a", "ca1", ("localhost", "127.0.0.1")),
                                ("client", "switch-b", "ca1", ("switch-b.example",)),
                                ("rogue", "switch-b", "ca2", ("localhost", "127.0.0.1")),
                                ("wrongname", "other", "ca1", ("other.example",))]:
        key = _key()
        caKey, caName = authorities[ca]
        certificate = _certificate(cn, key, caName, caKey, False, names)
        paths[name + ".crt"] = write(name + ".crt", pem(certificate))
        paths[name + ".key"] = write(name + ".key", keyPEM(key))
    return paths


class MutualTLSTests(TestCase):
    """
    Cables over TLS with certificates on both sides.
    """

    def setUp(self) -> None:
        """
        Build the fixture.
        """
        self.directory = tempfile.mkdtemp(prefix="vtcable")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.pki = makePKI(self.directory)
        self.switchA, self.switchB = Switch(), Switch()
        self.hostA, self.hostB = Recorder(), Recorder()
        self.switchA.attach(self.hostA, "a")
        self.switchB.attach(self.hostB, "b")
        self.managerA = CableManager(reactor, self.switchA)
        self.managerB = CableManager(reactor, self.switchB)
        self.managerA.startService()
        self.managerB.startService()
        self.addCleanup(self.managerB.stopService)
        self.addCleanup(self.managerA.stopService)
        self.events: list = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def listen(self) -> Any:
        """
        Switch A listens with mutual TLS, trusting CA 1.
        """
        p = self.pki
        return self.managerA.listen(
            "tls:0:interface=127.0.0.1:privateKey=%s:certKey=%s:trustRoots=%s"
            % (p["server.key"], p["server.crt"], p["ca1"]))

    def dial(self, port: int, who: str = "client", trust: str = "ca1",
             host: str = "localhost") -> Any:
        """
        Switch B dials switch A with a certificate.
        """
        p = self.pki
        certificate = ""
        if who:
            certificate = ":certificate=%s:privateKey=%s" % (p[who + ".crt"], p[who + ".key"])
        return self.managerB.dial("tls:%s:%d%s:trustRoots=%s" % (host, port, certificate, p[trust]),
                                  retryPolicy=lambda attempt: 0.2)

    @defer.inlineCallbacks
    def waitFor(self, condition: Any, timeout: float = 10.0) -> Any:
        """
        Poll the reactor until C{condition()} is true.
        """
        for _ in range(int(timeout / 0.01)):
            if condition():
                return
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.fail("condition not met in %s s" % (timeout,))

    def warnings(self) -> str:
        """
        The warnings logged so far, one per line.
        """
        return "\n".join(formatEvent(e) for e in self.events
                         if e.get("log_level") in (LogLevel.warn, LogLevel.error))

    @defer.inlineCallbacks
    def test_mutualTLS(self) -> None:
        """
        With certificates from the trusted CA on both sides, the cable comes
        up, each side sees the other's identity, and frames pass.
        """
        listener = self.listen()
        yield self.waitFor(lambda: listener.listeningPort is not None)
        dialed = self.dial(listener.listeningPort.getHost().port)
        yield self.waitFor(lambda: dialed.state() == "CONNECTED" and listener.connections()
                           and listener.connections()[0].state == "CONNECTED")
        self.assertEqual(dialed.connection.identity, "CN=switch-a")
        self.assertEqual(listener.connections()[0].identity, "CN=switch-b")
        self.assertIn("TLS identity CN=switch-a", "\n".join(self.managerB.describe()))
        self.hostB.transport.sendFrame(frame(BROADCAST, MAC2))
        self.hostA.transport.sendFrame(frame(BROADCAST, MAC1))
        yield self.waitFor(lambda: self.hostA.frames and self.hostB.frames)

    @defer.inlineCallbacks
    def _refused(self, **kwargs: Any) -> Any:
        """
        Dial with the given certificate choices and check the cable never
        attaches on either switch.
        """
        listener = self.listen()
        yield self.waitFor(lambda: listener.listeningPort is not None)
        dialed = self.dial(listener.listeningPort.getHost().port, **kwargs)
        yield self.waitFor(lambda: dialed.attempts >= 2 or dialed.lastError, 10)
        # The listening side has seen the handshake fail (it logs that) ...
        yield self.waitFor(lambda: any(
            listener.description in line and "refused: TLS handshake failed" in line
            for line in self.warnings().splitlines()), 10)
        # ... and never gave the peer a port (a port, once made, stays in
        # the table).  (With TLS 1.3 the dialling side finishes its
        # handshake before the server has checked its certificate, so it
        # may attach for a moment.)
        self.assertIsNone(self.switchA.ports[2])
        self.managerB.remove(dialed.cableID)
        return self.warnings()

    @defer.inlineCallbacks
    def test_otherCARefused(self) -> None:
        """
        A client certificate from another CA is refused by the listener,
        with the reason logged.
        """
        text = yield self._refused(who="rogue")
        self.assertIn("refused: TLS handshake failed", text)

    @defer.inlineCallbacks
    def test_noCertificateRefused(self) -> None:
        """
        A client without a certificate is refused, with the reason logged.
        """
        text = yield self._refused(who="")
        self.assertIn("refused: TLS handshake failed", text)

    @defer.inlineCallbacks
    def test_serverOfOtherCARefused(self) -> None:
        """
        The dialling side refuses a server whose certificate its CA did not
        issue.
        """
        text = yield self._refused(trust="ca2")
        self.assertIn("TLS handshake failed", text)
        self.assertIn("certificate verify failed", text)

    @defer.inlineCallbacks
    def test_hostnameChecked(self) -> None:
        """
        The dialling side checks the server's name: dialling 127.0.0.1 by
        a name the certificate lacks fails.
        """
        listener = self.listen()
        yield self.waitFor(lambda: listener.listeningPort is not None)
        port = listener.listeningPort.getHost().port
        p = self.pki
        dialed = self.managerB.dial(
            "tls:other.example:%d:certificate=%s:privateKey=%s:trustRoots=%s:"
            "endpoint=tcp\\:127.0.0.1\\:%d"
            % (port, p["client.crt"], p["client.key"], p["ca1"], port),
            retryPolicy=lambda attempt: 0.2)
        yield self.waitFor(lambda: dialed.attempts >= 2, 10)
        self.assertEqual(dialed.connects, 0)
        self.assertIn("other.example", self.warnings())
        self.managerB.remove(dialed.cableID)

    def test_listenNeedsTrustRoots(self) -> None:
        """
        A TLS listening cable without C{trustRoots} is refused: cables are
        mutual TLS.
        """
        p = self.pki
        self.assertRaises(CableError, serverEndpoint, reactor,
                          "tls:0:privateKey=%s:certKey=%s" % (p["server.key"], p["server.crt"]))
        self.assertRaises(CableError, serverEndpoint, reactor,
                          "tls:0:privateKey=%s:trustRoots=%s" % (p["server.key"],
                                                                 self.directory + "/none"))
