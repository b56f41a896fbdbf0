# -*- test-case-name: tests.test_manhole -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
An SSH client for L{tests.test_manhole}, built on Conch's: it logs in (key
or password), opens a session with a pty and a shell, types a command and
collects the output.  It needs the C{manhole} extra (Conch, cryptography),
so the tests import it only when that is installed.
"""

from typing import Any, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from twisted.conch.ssh import channel, connection, session, transport, userauth
from twisted.conch.ssh.keys import Key
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure


def newKey() -> Key:
    """
    A fresh ed25519 key pair.

    @return: the private key.
    """
    return Key(Ed25519PrivateKey.generate())



class _ShellChannel(channel.SSHChannel):
    """
    A session channel with a pty and a shell that types C{command} and
    collects the output until C{expected} shows up.
    """

    name = b"session"

    def __init__(self, client: "ClientTransport", **kw: Any) -> None:
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

    def __init__(self, client: "ClientTransport") -> None:
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


class ClientTransport(transport.SSHClientTransport):
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
