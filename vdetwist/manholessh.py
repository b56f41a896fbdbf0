# -*- test-case-name: tests.test_manhole -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The SSH half of L{vdetwist.manhole}: Conch's manhole factory, realm session
and checkers, and the host key.  It needs Twisted Conch and cryptography
(the C{manhole} extra); L{vdetwist.manhole} imports it only when a manhole
is built, so the rest of vdetwist runs without them.
"""

import os
import stat
from typing import Any, Dict, Iterable, List, Optional

from twisted.conch import manhole, manhole_ssh
from twisted.conch.checkers import IAuthorizedKeysDB, SSHPublicKeyChecker, readAuthorizedKeyFile
from twisted.conch.insults import insults
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import userauth
from twisted.conch.ssh.keys import BadKeyError, Key
from twisted.conch.ssh.factory import SSHFactory
from twisted.cred import checkers, portal
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

log = Logger(namespace="vdetwist.manhole")

#: Failed authentication attempts allowed on one connection.
MAX_AUTH_ATTEMPTS = 6
#: Seconds an SSH client has to log in.
LOGIN_TIMEOUT = 120


@implementer(IAuthorizedKeysDB)
class AuthorizedKeysFile:
    """
    The keys of one C{authorized_keys} file, for any username; the file is
    read again at every lookup.

    @ivar path: the file.
    """

    def __init__(self, path: str) -> None:
        """
        @param path: the C{authorized_keys} file.
        """
        self.path = path

    def getAuthorizedKeys(self, username: bytes) -> Iterable[Key]:
        """
        The keys allowed to log in; the same for every username.

        @param username: the SSH username (only logged).
        @return: the keys; none when the file cannot be read.
        """
        try:
            with open(self.path, "rb") as f:
                return list(readAuthorizedKeyFile(f))
        except OSError as e:
            log.error("cannot read manhole keys {path}: {error}", path=self.path, error=e)
            return []


class _UserAuthServer(userauth.SSHUserAuthServer):
    """
    Conch's user authentication with tighter limits.
    """

    attemptsBeforeDisconnect = MAX_AUTH_ATTEMPTS
    loginTimeout = LOGIN_TIMEOUT


class ManholeFactory(manhole_ssh.ConchFactory):
    """
    Conch's manhole SSH factory with per-instance host keys (the base class
    keeps them in class attributes shared by every instance) and
    L{_UserAuthServer}.
    """

    def __init__(self, portal: portal.Portal) -> None:
        """
        @param portal: the portal with the manhole realm and checkers.
        """
        manhole_ssh.ConchFactory.__init__(self, portal)
        self.publicKeys: Dict[bytes, Key] = {}
        self.privateKeys: Dict[bytes, Key] = {}
        self.services = dict(SSHFactory.services)
        self.services[b"ssh-userauth"] = _UserAuthServer

    def setHostKey(self, key: Key) -> None:
        """
        Serve with this host key.

        @param key: a private key.
        """
        name = key.sshType()
        self.publicKeys = {name: key.public()}
        self.privateKeys = {name: key}


class _TerminalSession(manhole_ssh.TerminalSession):
    """
    Conch's manhole session, made to survive what clients do: Conch's own
    raises L{NotImplementedError} into the reactor when a client sends EOF
    (C{ssh} with a closed stdin) or resizes its window.

    @ivar height: the terminal rows (25 until the client sends a pty).
    @ivar width: the terminal columns (80 until the client sends a pty).
    """

    height = 25
    width = 80
    _processProtocol: Any = None
    _chained: Any = None

    def openShell(self, proto: Any) -> None:
        """
        Run the manhole on the session, remembering both protocols.

        @param proto: the session's process protocol.
        """
        self._processProtocol = proto
        self._chained = self.chainedProtocolFactory()
        self.transportFactory(proto, self._chained, IConchUser(self.original),
                              self.width, self.height)

    def windowChanged(self, newWindowSize: Any) -> None:
        """
        Tell the manhole its new size.

        @param newWindowSize: C{(rows, columns, xpixels, ypixels)}.
        """
        self.height, self.width = newWindowSize[:2]
        terminal = getattr(self._chained, "terminalProtocol", None)
        if terminal is not None:
            terminal.terminalSize(self.width, self.height)

    def eofReceived(self) -> None:
        """
        The client has no more input: end the session, as a shell would.
        """
        if self._processProtocol is not None:
            self._processProtocol.loseConnection()

    def closed(self) -> None:
        """
        The channel closed: tell the manhole, so the session's objects go.
        """
        chained, self._chained = self._chained, None
        if chained is not None:
            from twisted.internet.error import ConnectionDone
            chained.connectionLost(Failure(ConnectionDone("session closed")))


class _ChainedProtocolFactory:
    """
    What each manhole session runs: a terminal running L{ColoredManhole}
    on the shared namespace.
    """

    def __init__(self, namespace: Dict[str, Any]) -> None:
        """
        @param namespace: the shared namespace.
        """
        self.namespace = namespace

    def __call__(self) -> insults.ServerProtocol:
        """
        @return: a new terminal protocol.
        """
        return insults.ServerProtocol(manhole.ColoredManhole, self.namespace)


def loadHostKey(path: str) -> Key:
    """
    Load the host key, generating an ed25519 key into a new file of mode
    0600 (in a directory made with mode 0700) when there is none.

    @param path: the key file (C{~} is expanded).
    @return: the private key.
    @raise ValueError: when the file is readable by group or others, or is
        not a private key.
    """
    path = os.path.expanduser(path)
    if not os.path.lexists(path):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        data = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, data)
        finally:
            os.close(fd)
        log.info("generated manhole host key {path}", path=path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077:
            raise ValueError("manhole host key %r is accessible by group or others "
                             "(mode %o); chmod 600 it" % (path, stat.S_IMODE(st.st_mode)))
        chunks: List[bytes] = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        key = Key.fromString(b"".join(chunks))
    except (BadKeyError, ValueError) as e:
        raise ValueError("manhole host key %r: %s" % (path, e))
    if key.isPublic():
        raise ValueError("manhole host key %r is a public key" % (path,))
    return key


def makeFactory(keys: Optional[str], passwordChecker: Optional[checkers.ICredentialsChecker],
                namespace: Dict[str, Any]) -> ManholeFactory:
    """
    The manhole's SSH factory: a terminal realm running the manhole on
    C{namespace}, behind the given credentials.

    @param keys: an C{authorized_keys} file (any listed key logs in), or
        L{None}.
    @param passwordChecker: the password file's checker, or L{None}.
    @param namespace: the shared namespace.
    @return: the factory (without a host key until
        L{ManholeFactory.setHostKey}).
    """
    checkerList: List[checkers.ICredentialsChecker] = []
    if keys:
        checkerList.append(SSHPublicKeyChecker(AuthorizedKeysFile(keys)))
    if passwordChecker is not None:
        checkerList.append(passwordChecker)
    realm = manhole_ssh.TerminalRealm()
    realm.sessionFactory = _TerminalSession
    realm.chainedProtocolFactory = _ChainedProtocolFactory(namespace)
    return ManholeFactory(portal.Portal(realm, checkerList))
