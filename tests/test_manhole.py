# -*- test-case-name: tests.test_manhole -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.manhole}: the locked-down SSH manhole.

The login tests listen on 127.0.0.1 port 0 and log in with Conch's own SSH
client (transport, user authentication, a session channel with a pty and a
shell), so the server is exercised exactly as C{ssh} would.
"""

import os
import stat
from typing import Any, List, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twisted.application.service import IService
from twisted.conch.ssh import channel, connection, session, transport, userauth
from twisted.conch.ssh.keys import Key
from twisted.internet import defer, protocol, reactor
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from vdetwist import manhole
from vdetwist.manhole import (
    AuthorizedKeysFile, ManholeService, _matchStoredPassword, hashPassword,
    loadHostKey, makeManholeService, normalizeEndpoint)
from vdetwist.switch.switch import Switch

#: A hash made by passlib 1.7.4 (C{pbkdf2_sha256.using(rounds=1000).hash(
#: "correct horse")}), an independent oracle for the hash format:
#: scheme C{pbkdf2-sha256}, 1000 rounds, 16-byte salt and 32-byte checksum in
#: adapted base64.
PASSLIB_HASH = (b"$pbkdf2-sha256$1000$03oPAaC01przXkspBcDYGw"
                b"$K/GXrGU4xq6SCgPLwFUPEcNIollkoLtTCk4caZInv.U")


def newKey() -> Key:
    """
    A fresh ed25519 key pair.

    @return: the private key.
    """
    return Key(Ed25519PrivateKey.generate())


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


class _ShellChannel(channel.SSHChannel):
    """
    A session channel with a pty and a shell that types C{command} and
    collects the output until C{expected} shows up.
    """

    name = b"session"

    def __init__(self, client: "_ClientTransport", **kw: Any) -> None:
        channel.SSHChannel.__init__(self, **kw)
        self.client = client
        self.received = b""
        self.sentEOF = False

    def channelOpen(self, specificData: bytes) -> None:
        """
        Ask for a pty and a shell, then type the command.
        """
        self.conn.sendRequest(self, b"pty-req", session.packRequest_pty_req(
            b"xterm", (25, 80, 0, 0), b""), wantReply=True)
        d = self.conn.sendRequest(self, b"shell", b"", wantReply=True)
        d.addCallback(lambda _: self.write(self.client.command))
        d.addErrback(self.client.done)

    def dataReceived(self, data: bytes) -> None:
        """
        Collect output; finish when the expected text arrived, or, with
        C{hangUp}, resize the window and send EOF then, finishing when the
        server closes the channel.
        """
        self.received += data
        if self.client.expected in self.received:
            if not self.client.hangUp:
                self.client.done(self.received)
            elif not self.sentEOF:
                self.sentEOF = True
                self.conn.sendRequest(self, b"window-change",
                                      session.packRequest_window_change((30, 100, 0, 0)))
                self.conn.sendEOF(self)

    def closed(self) -> None:
        """
        The server closed the channel.
        """
        self.client.channelClosed = True
        self.client.done(self.received)


class _ClientConnection(connection.SSHConnection):
    """
    The connection service: it starts only after a successful login.
    """

    def __init__(self, client: "_ClientTransport") -> None:
        connection.SSHConnection.__init__(self)
        self.client = client

    def serviceStarted(self) -> None:
        """
        Logged in: open the shell.
        """
        connection.SSHConnection.serviceStarted(self)
        self.client.loggedIn = True
        self.openChannel(_ShellChannel(self.client, conn=self))


class _ClientAuth(userauth.SSHUserAuthClient):
    """
    Offers one key and/or one password, each once.
    """

    def __init__(self, user: bytes, instance: Any, key: Optional[Key],
                 password: Optional[bytes]) -> None:
        userauth.SSHUserAuthClient.__init__(self, user, instance)
        self.key = key
        self.password = password

    def getPublicKey(self) -> Optional[Key]:
        """
        The key, the first time only.
        """
        key, self.key = self.key, None
        if key is not None:
            self._private = key
            return key.public()
        return None

    def getPrivateKey(self) -> "Deferred[Key]":
        """
        The private half of the key offered.
        """
        return defer.succeed(self._private)

    def getPassword(self, prompt: Optional[bytes] = None) -> Optional["Deferred[bytes]"]:
        """
        The password, the first time only.
        """
        password, self.password = self.password, None
        if password is None:
            return None
        return defer.succeed(password)


class _ClientTransport(transport.SSHClientTransport):
    """
    Conch's SSH client, checking the host key and recording the outcome.

    @ivar result: fires with the shell output, or with the disconnect
        reason code when the connection ends first.
    """

    def __init__(self, hostKey: Key, user: bytes, key: Optional[Key],
                 password: Optional[bytes], command: bytes, expected: bytes) -> None:
        self.hostKey = hostKey
        self.user = user
        self.key = key
        self.password = password
        self.command = command
        self.expected = expected
        self.loggedIn = False
        self.hangUp = False
        self.channelClosed = False
        self.disconnectCode: Optional[int] = None
        self.hostKeyOK = False
        self.result: "Deferred[Any]" = Deferred()
        self.lost: "Deferred[None]" = Deferred()

    def verifyHostKey(self, pubKey: bytes, fingerprint: bytes) -> "Deferred[bool]":
        """
        Accept only the key in the server's host key file.
        """
        if Key.fromString(pubKey) == self.hostKey.public():
            self.hostKeyOK = True
            return defer.succeed(True)
        return defer.fail(Exception("unexpected host key"))

    def connectionSecure(self) -> None:
        """
        Start the login.
        """
        self.requestService(_ClientAuth(self.user, _ClientConnection(self),
                                        self.key, self.password))

    def sendDisconnect(self, reason: int, desc: bytes) -> None:
        """
        Record why we hang up.
        """
        self.disconnectCode = reason
        transport.SSHClientTransport.sendDisconnect(self, reason, desc)

    def done(self, result: Any) -> None:
        """
        Fire L{result} once, then hang up.
        """
        if not self.result.called:
            self.result.callback(result)
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure) -> None:
        """
        Fire L{result} with the disconnect code when nothing else did.
        """
        transport.SSHClientTransport.connectionLost(self, reason)
        if not self.result.called:
            self.result.callback(self.disconnectCode)
        self.lost.callback(None)


class ManholeLoginTests(TestCase):
    """
    Logging in to a running manhole over real TCP with Conch's client.
    """

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
        client = _ClientTransport(hostKey, user, key, password, b"switch\r",
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
