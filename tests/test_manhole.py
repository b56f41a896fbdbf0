# -*- test-case-name: tests.test_manhole -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.manhole}: the locked-down SSH manhole.

The login tests listen on 127.0.0.1 port 0 and log in with Conch's own SSH
client (transport, user authentication, a session channel with a pty and a
shell), so the server is exercised exactly as C{ssh} would.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING, Any, List, Optional

from twisted.application.service import IService
from twisted.internet import defer, protocol, reactor
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from vdetwist import manhole
from vdetwist.extras import MissingExtra, hasExtra, missingExtra
from vdetwist.manhole import (
    ManholeService, _matchStoredPassword, hashPassword, makeManholeService,
    normalizeEndpoint)
from vdetwist.switch.switch import Switch

#: Why the tests that log in or make keys are skipped: the manhole extra
#: (Conch, cryptography) is missing, as it may be on PyPy.
needsExtra: Optional[str] = None
if hasExtra("manhole"):
    from twisted.conch.ssh import transport

    from tests.manholeclient import ClientTransport, newKey
    from vdetwist.manholessh import AuthorizedKeysFile, loadHostKey
else:
    needsExtra = str(missingExtra("manhole"))
if TYPE_CHECKING:
    from twisted.conch.ssh.keys import Key

#: A hash made by passlib 1.7.4 (C{pbkdf2_sha256.using(rounds=1000).hash(
#: "correct horse")}), an independent oracle for the hash format:
#: scheme C{pbkdf2-sha256}, 1000 rounds, 16-byte salt and 32-byte checksum in
#: adapted base64.
PASSLIB_HASH = (b"$pbkdf2-sha256$1000$03oPAaC01przXkspBcDYGw"
                b"$K/GXrGU4xq6SCgPLwFUPEcNIollkoLtTCk4caZInv.U")


def writeFile(path: str, data: bytes, mode: int = 0o600) -> str:
    """
    Write a file with a given mode.

    @param path: where.
    @param data: the contents.
    @param mode: its mode.
    @return: C{path}.
    """
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


class ManholeLoginTests(TestCase):
    """
    Logging in to a running manhole over real TCP with Conch's client.
    """

    skip = needsExtra

    def setUp(self) -> None:
        """
        A switch, an authorized key, a password file and a host key path.
        """
        self.switch = Switch(numports=4)
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.userKey = newKey()
        self.keysPath = writeFile(os.path.join(self.dir, "authorized_keys"),
                                  b"# the admin\n" + self.userKey.public().toString("openssh")
                                  + b" admin@example\n", 0o644)
        self.passwdPath = writeFile(os.path.join(self.dir, "passwd"),
                                    b"plain:s3cret\nhashed:" + PASSLIB_HASH + b"\n")
        self.hostKeyPath = os.path.join(self.dir, "state", "host_key")
        self.serverSides: List[Deferred[None]] = []

    def startManhole(self, **kw: Any) -> "Deferred[int]":
        """
        Start a manhole on 127.0.0.1 port 0.

        @return: a Deferred firing with the port number.
        """
        svc = makeManholeService("tcp:0:interface=127.0.0.1", {"switch": self.switch},
                                 hostKey=self.hostKeyPath, **kw)
        assert isinstance(svc, ManholeService)
        self.service = svc
        factory = svc.factory
        originalBuild = factory.buildProtocol
        serverSides = self.serverSides

        def buildProtocol(addr: Any) -> Any:
            proto = originalBuild(addr)
            lost: Deferred[None] = Deferred()
            serverSides.append(lost)
            originalLost = proto.connectionLost

            def connectionLost(reason: Failure) -> None:
                originalLost(reason)
                lost.callback(None)
            proto.connectionLost = connectionLost
            return proto
        factory.buildProtocol = buildProtocol  # type: ignore[method-assign]
        svc.startService()
        self.addCleanup(self._stop)
        assert svc.whenListening is not None
        return svc.whenListening.addCallback(lambda port: port.getHost().port)

    def _stop(self) -> "Deferred[Any]":
        """
        Stop the manhole and wait for every server-side connection to end.
        """
        return defer.gatherResults(
            [defer.maybeDeferred(self.service.stopService)] + self.serverSides)

    @defer.inlineCallbacks
    def login(self, user: bytes = b"admin", key: Optional[Key] = None,
              password: Optional[bytes] = None, hangUp: bool = False, **kw: Any) -> Any:
        """
        Log in and type C{switch} (then, with C{hangUp}, resize and send EOF).

        @return: a Deferred firing with the client transport, once closed.
        """
        port = yield self.startManhole(**kw)
        hostKey = loadHostKey(self.hostKeyPath)
        client = ClientTransport(hostKey, user, key, password, b"switch\r",
                                  repr(self.switch).encode())
        client.hangUp = hangUp
        factory = protocol.ClientFactory()
        factory.protocol = lambda: client  # type: ignore[assignment]
        connector = reactor.connectTCP("127.0.0.1", port, factory, timeout=5)
        self.addCleanup(connector.disconnect)
        timer = reactor.callLater(10, client.done, "timeout")
        client.outcome = yield client.result
        if timer.active():
            timer.cancel()
        yield client.lost
        return client

    @defer.inlineCallbacks
    def test_keyLogin(self) -> Any:
        """
        A client holding a key from the keys file, under any username, gets
        a shell where C{switch} shows the live switch's repr; the server
        presented the host key from its file.
        """
        client = yield self.login(user=b"whoever", key=self.userKey, keys=self.keysPath)
        self.assertTrue(client.loggedIn)
        self.assertTrue(client.hostKeyOK)
        self.assertIsInstance(client.outcome, bytes)
        self.assertIn(repr(self.switch).encode(), client.outcome)

    @defer.inlineCallbacks
    def test_resizeAndEOF(self) -> Any:
        """
        A window resize is accepted and EOF from the client (C{ssh} with
        its input closed) ends the session from the server's side, with no
        error raised into the reactor (Conch's own session raises
        L{NotImplementedError} for both).
        """
        client = yield self.login(key=self.userKey, keys=self.keysPath, hangUp=True)
        self.assertTrue(client.channelClosed)
        self.assertIn(repr(self.switch).encode(), client.outcome)

    @defer.inlineCallbacks
    def test_plainPasswordLogin(self) -> Any:
        """
        A user with a plain-text password in the password file logs in.
        """
        client = yield self.login(user=b"plain", password=b"s3cret", passwd=self.passwdPath)
        self.assertTrue(client.loggedIn)
        self.assertIn(repr(self.switch).encode(), client.outcome)

    @defer.inlineCallbacks
    def test_hashedPasswordLogin(self) -> Any:
        """
        A user whose password is stored as a passlib PBKDF2 hash logs in
        with the password; keys and passwords can be configured together.
        """
        client = yield self.login(user=b"hashed", password=b"correct horse",
                                  keys=self.keysPath, passwd=self.passwdPath)
        self.assertTrue(client.loggedIn)
        self.assertIn(repr(self.switch).encode(), client.outcome)

    @defer.inlineCallbacks
    def test_noCredentialsRefused(self) -> Any:
        """
        A client with neither key nor password is refused: it runs out of
        authentication methods and never gets a shell.
        """
        client = yield self.login(keys=self.keysPath, passwd=self.passwdPath)
        self.assertFalse(client.loggedIn)
        self.assertEqual(client.outcome, transport.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE)

    @defer.inlineCallbacks
    def test_wrongKeyRefused(self) -> Any:
        """
        A key not in the keys file is refused.
        """
        client = yield self.login(key=newKey(), keys=self.keysPath)
        self.assertFalse(client.loggedIn)
        self.assertEqual(client.outcome, transport.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE)

    @defer.inlineCallbacks
    def test_wrongPasswordRefused(self) -> Any:
        """
        A wrong password is refused (the hash is not accepted as the
        password either).
        """
        self.patch(manhole._UserAuthServer, "passwordDelay", 0)
        client = yield self.login(user=b"hashed", password=PASSLIB_HASH, passwd=self.passwdPath)
        self.assertFalse(client.loggedIn)
        self.assertEqual(client.outcome, transport.DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE)

    @defer.inlineCallbacks
    def test_passwordRefusedWhenOnlyKeys(self) -> Any:
        """
        With only a keys file, a password (even a valid one for the password
        file) does not log in.
        """
        client = yield self.login(user=b"plain", password=b"s3cret", keys=self.keysPath)
        self.assertFalse(client.loggedIn)

    @defer.inlineCallbacks
    def test_hostKeyFile(self) -> Any:
        """
        The first start generates the host key into a file of mode 0600 in
        a directory of mode 0700.
        """
        yield self.startManhole(keys=self.keysPath)
        self.assertEqual(stat.S_IMODE(os.stat(self.hostKeyPath).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.hostKeyPath)).st_mode),
                         0o700)
        self.assertFalse(loadHostKey(self.hostKeyPath).isPublic())


class MakeManholeServiceTests(SynchronousTestCase):
    """
    Building the manhole service, without starting it.
    """

    skip = needsExtra

    def setUp(self) -> None:
        """
        A directory with a keys file.
        """
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.keysPath = writeFile(os.path.join(self.dir, "keys"),
                                  newKey().public().toString("openssh") + b"\n", 0o644)

    def test_noCredentialsRaises(self) -> None:
        """
        Without a keys file or a password file the manhole is not built.
        """
        e = self.assertRaises(ValueError, makeManholeService, "tcp:0", {})
        self.assertIn("authentication", str(e))
        self.assertRaises(ValueError, makeManholeService, "tcp:0", {}, keys="", passwd="")

    def test_missingFileRaises(self) -> None:
        """
        A keys or password file that does not exist is refused at once.
        """
        missing = os.path.join(self.dir, "nope")
        self.assertRaises(ValueError, makeManholeService, "tcp:0", {}, keys=missing)
        self.assertRaises(ValueError, makeManholeService, "tcp:0", {}, passwd=missing)

    def test_writableByOthersRaises(self) -> None:
        """
        A credentials file writable by group or others is refused.
        """
        os.chmod(self.keysPath, 0o666)
        e = self.assertRaises(ValueError, makeManholeService, "tcp:0", {}, keys=self.keysPath)
        self.assertIn("writable", str(e))
        os.chmod(self.keysPath, 0o620)
        self.assertRaises(ValueError, makeManholeService, "tcp:0", {}, keys=self.keysPath)

    def test_service(self) -> None:
        """
        The result is an L{IService} whose namespace holds the given objects
        and C{__name__}, without changing the caller's dictionary; building
        it creates no host key.
        """
        namespace = {"switch": object()}
        hostKey = os.path.join(self.dir, "hk")
        svc = makeManholeService("ssh:2222", namespace, keys=self.keysPath, hostKey=hostKey)
        self.assertTrue(verifyObject(IService, svc))
        assert isinstance(svc, ManholeService)
        self.assertIs(svc.namespace["switch"], namespace["switch"])
        self.assertEqual(svc.namespace["__name__"], "__manhole__")
        self.assertNotIn("__name__", namespace)
        self.assertEqual(svc.endpointDescription, "tcp:2222:interface=127.0.0.1")
        self.assertFalse(os.path.exists(hostKey))

    def test_privilegedStart(self) -> None:
        """
        The host key is loaded and the port opened in
        C{privilegedStartService}; C{startService} then does not listen
        again; stopping closes the port.
        """
        reactor = MemoryReactor()
        hostKey = os.path.join(self.dir, "hk")
        svc = makeManholeService("ssh:2222", {}, keys=self.keysPath, hostKey=hostKey,
                                 reactor=reactor)
        svc.privilegedStartService()
        self.assertTrue(os.path.exists(hostKey))
        svc.startService()
        [(port, factory, backlog, interface)] = reactor.tcpServers
        self.assertEqual((port, interface), (2222, "127.0.0.1"))
        assert isinstance(svc, ManholeService)
        self.assertIs(factory, svc.factory)
        self.assertEqual(list(svc.factory.privateKeys), [b"ssh-ed25519"])
        listening = svc.port
        assert listening is not None
        svc.stopService()
        self.assertIsNone(svc.port)
        self.assertFalse(svc.running)

    def test_refusedHostKeyStopsStart(self) -> None:
        """
        A host key readable by others makes C{startService} raise, leaving
        the service stopped and nothing listening.
        """
        reactor = MemoryReactor()
        hostKey = os.path.join(self.dir, "hk")
        loadHostKey(hostKey)
        os.chmod(hostKey, 0o644)
        svc = makeManholeService("tcp:0", {}, keys=self.keysPath, hostKey=hostKey,
                                 reactor=reactor)
        self.assertRaises(ValueError, svc.startService)
        self.assertFalse(svc.running)
        self.assertEqual(reactor.tcpServers, [])

    def test_defaultHostKey(self) -> None:
        """
        Without C{hostKey}, the host key lives in the user's C{~/.vdetwist}.
        """
        svc = makeManholeService("tcp:0", {}, keys=self.keysPath)
        assert isinstance(svc, ManholeService)
        self.assertEqual(svc.hostKeyPath, "~/.vdetwist/manhole_host_key")

    def test_factoriesIndependent(self) -> None:
        """
        Host keys are per factory, not in the class attributes Conch's
        L{ConchFactory} would share.
        """
        one = makeManholeService("tcp:0", {}, keys=self.keysPath)
        two = makeManholeService("tcp:0", {}, keys=self.keysPath)
        assert isinstance(one, ManholeService) and isinstance(two, ManholeService)
        one.factory.setHostKey(newKey())
        self.assertEqual(two.factory.privateKeys, {})


class EndpointTests(SynchronousTestCase):
    """
    L{normalizeEndpoint}: C{ssh:} sugar and loopback defaults.
    """

    def test_sshSugar(self) -> None:
        """
        C{ssh:PORT} is C{tcp:PORT} on 127.0.0.1.
        """
        self.assertEqual(normalizeEndpoint("ssh:2222"), "tcp:2222:interface=127.0.0.1")

    def test_bareTCPLoopback(self) -> None:
        """
        TCP without an interface listens on loopback; a bare port number
        means TCP.
        """
        self.assertEqual(normalizeEndpoint("tcp:2222"), "tcp:2222:interface=127.0.0.1")
        self.assertEqual(normalizeEndpoint("2222"), "tcp:2222:interface=127.0.0.1")
        self.assertEqual(normalizeEndpoint("tcp6:2222"), r"tcp6:2222:interface=\:\:1")

    def test_explicitInterfaceKept(self) -> None:
        """
        A named interface (even one with escaped colons) is kept.
        """
        self.assertEqual(normalizeEndpoint("tcp:2222:interface=0.0.0.0"),
                         "tcp:2222:interface=0.0.0.0")
        self.assertEqual(normalizeEndpoint(r"tcp6:port=22:interface=fe80\:\:1"),
                         r"tcp6:port=22:interface=fe80\:\:1")

    def test_unixMode(self) -> None:
        """
        A UNIX socket gets mode 600 unless a mode is given.
        """
        self.assertEqual(normalizeEndpoint("unix:/run/x"), "unix:/run/x:mode=600")
        self.assertEqual(normalizeEndpoint("unix:/run/x:mode=660"), "unix:/run/x:mode=660")

    def test_empty(self) -> None:
        """
        An empty description is refused.
        """
        self.assertRaises(ValueError, normalizeEndpoint, " ")


class PasswordTests(SynchronousTestCase):
    """
    Password hashing and matching, against passlib's format.
    """

    def test_passlibHash(self) -> None:
        """
        A passlib-made hash matches its password and nothing else.
        """
        self.assertEqual(_matchStoredPassword(b"u", b"correct horse", PASSLIB_HASH),
                         PASSLIB_HASH)
        self.assertNotEqual(_matchStoredPassword(b"u", b"correct horsE", PASSLIB_HASH),
                            PASSLIB_HASH)

    def test_hashPasswordRoundTrip(self) -> None:
        """
        L{hashPassword} output has passlib's shape and matches its password.
        """
        stored = hashPassword("pw", rounds=1000).encode()
        scheme, rounds, salt, checksum = stored.split(b"$")[1:]
        self.assertEqual((scheme, rounds, len(salt), len(checksum)),
                         (b"pbkdf2-sha256", b"1000", 22, 43))
        self.assertEqual(_matchStoredPassword(b"u", b"pw", stored), stored)
        self.assertNotEqual(_matchStoredPassword(b"u", b"px", stored), stored)

    def test_plain(self) -> None:
        """
        A plain-text stored password matches only itself.
        """
        self.assertEqual(_matchStoredPassword(b"u", b"abc", b"abc"), b"abc")
        self.assertNotEqual(_matchStoredPassword(b"u", b"abd", b"abc"), b"abc")
        self.assertNotEqual(_matchStoredPassword(b"u", b"", b""), b"\0")

    def test_malformedHash(self) -> None:
        """
        A malformed hash matches nothing and does not raise.
        """
        for stored in [b"$pbkdf2-sha256$x$y$z", b"$pbkdf2-sha256$10$a",
                       b"$pbkdf2-sha256$0$AAAA$AAAA", b"$pbkdf2-sha256$10$!!$AAAA"]:
            self.assertNotEqual(_matchStoredPassword(b"u", stored, stored), stored)


class HostKeyTests(SynchronousTestCase):
    """
    L{loadHostKey}.
    """

    skip = needsExtra

    def test_generatedOnceThenReused(self) -> None:
        """
        The key is generated on first use and the same key is loaded after.
        """
        path = os.path.join(self.mktemp(), "k")
        first = loadHostKey(path)
        self.assertEqual(loadHostKey(path), first)
        self.assertEqual(first.sshType(), b"ssh-ed25519")

    def test_readableByOthersRefused(self) -> None:
        """
        A host key readable by group or others is refused.
        """
        path = os.path.join(self.mktemp(), "k")
        loadHostKey(path)
        os.chmod(path, 0o640)
        e = self.assertRaises(ValueError, loadHostKey, path)
        self.assertIn("chmod 600", str(e))

    def test_publicKeyRefused(self) -> None:
        """
        A public key is not a host key.
        """
        d = self.mktemp()
        os.makedirs(d)
        path = writeFile(os.path.join(d, "k"), newKey().public().toString("openssh"))
        self.assertRaises(ValueError, loadHostKey, path)


class AuthorizedKeysFileTests(SynchronousTestCase):
    """
    L{AuthorizedKeysFile}.
    """

    skip = needsExtra

    def test_anyUserReadEachTime(self) -> None:
        """
        Every username gets the file's keys, read again at each lookup; an
        unreadable file gives none.
        """
        d = self.mktemp()
        os.makedirs(d)
        one, two = newKey(), newKey()
        path = writeFile(os.path.join(d, "k"), one.public().toString("openssh") + b"\n")
        db = AuthorizedKeysFile(path)
        self.assertEqual(list(db.getAuthorizedKeys(b"a")), [one.public()])
        writeFile(path, b"# c\n" + two.public().toString("openssh") + b"\n")
        self.assertEqual(list(db.getAuthorizedKeys(b"b")), [two.public()])
        os.unlink(path)
        self.assertEqual(list(db.getAuthorizedKeys(b"a")), [])


class CheckManholeOptionsTests(SynchronousTestCase):
    """
    L{manhole.checkManholeOptions}, the dry run the twistd plugins' options
    make.
    """

    def options(self, **values: Any) -> Any:
        """
        Options with the three manhole keys.
        """
        result = {"manhole": None, "manhole-keys": None, "manhole-passwd": None}
        result.update({key.replace("_", "-"): value for key, value in values.items()})
        return result

    def test_noManhole(self) -> None:
        """
        Without C{--manhole} nothing is checked.
        """
        manhole.checkManholeOptions(self.options(manhole_keys="/nonexistent"))

    def test_needsAuthentication(self) -> None:
        """
        A manhole without keys or a password file is a usage error.
        """
        from twisted.python.usage import UsageError
        error = self.assertRaises(UsageError, manhole.checkManholeOptions,
                                  self.options(manhole="tcp:0"))
        self.assertIn("never runs without authentication", str(error))

    def test_missingFile(self) -> None:
        """
        A missing credentials file is a usage error.
        """
        from twisted.python.usage import UsageError
        self.assertRaises(UsageError, manhole.checkManholeOptions,
                          self.options(manhole="tcp:0", manhole_passwd="/nonexistent/passwd"))


class MissingExtraTests(SynchronousTestCase):
    """
    Without the C{manhole} extra (Conch, cryptography: PyPy may lack them)
    the module imports, everything but the SSH half works, and building a
    manhole fails with one line saying what to install.
    """

    def setUp(self) -> None:
        """
        Hide L{vdetwist.manholessh} as if its imports failed, and make a
        password file.
        """
        import vdetwist
        name = "vdetwist.manholessh"
        saved = sys.modules.get(name)
        sys.modules[name] = None  # type: ignore[assignment]
        attribute = vdetwist.__dict__.pop("manholessh", None)

        def restore() -> None:
            if saved is None:
                del sys.modules[name]
            else:
                sys.modules[name] = saved
            if attribute is not None:
                vdetwist.manholessh = attribute  # type: ignore[attr-defined]
        self.addCleanup(restore)
        d = self.mktemp()
        os.makedirs(d)
        self.passwdPath = writeFile(os.path.join(d, "passwd"), b"admin:secret\n")

    def assertSaysWhatToInstall(self, message: str) -> None:
        """
        The message names the extra and the pip command installing it.
        """
        self.assertIn("the manhole needs the 'manhole' extra: pip install ", message)
        self.assertIn("'vdetwist[manhole]'", message)
        self.assertNotIn("\n", message)

    def test_makeManholeService(self) -> None:
        """
        L{makeManholeService} raises L{MissingExtra} once the options are
        checked.
        """
        error = self.assertRaises(MissingExtra, makeManholeService, "tcp:0", {},
                                  passwd=self.passwdPath)
        self.assertSaysWhatToInstall(str(error))
        self.assertRaises(ValueError, makeManholeService, "tcp:0", {})

    def test_checkManholeOptions(self) -> None:
        """
        The twistd plugins' check turns it into a usage error; without
        C{--manhole} nothing is needed.
        """
        from twisted.python.usage import UsageError
        options = {"manhole": "tcp:0", "manhole-keys": None, "manhole-passwd": self.passwdPath}
        error = self.assertRaises(UsageError, manhole.checkManholeOptions, options)
        self.assertSaysWhatToInstall(str(error))
        manhole.checkManholeOptions(dict(options, manhole=None))

    def test_lazyNames(self) -> None:
        """
        The SSH half's names raise L{MissingExtra}; unknown names are still
        L{AttributeError}s; the rest of the module works.
        """
        error = self.assertRaises(MissingExtra, getattr, manhole, "loadHostKey")
        self.assertSaysWhatToInstall(str(error))
        self.assertRaises(AttributeError, getattr, manhole, "noSuchName")
        self.assertEqual(normalizeEndpoint("ssh:2222"), "tcp:2222:interface=127.0.0.1")
