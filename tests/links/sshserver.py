# -*- test-case-name: tests.links.test_cable_ssh -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A small Conch SSH server for L{tests.links.test_cable_ssh}: any session
runs its command with C{/bin/sh -c}.  It needs the C{ssh} extra (Conch,
cryptography), so the tests import it only when that is installed.
"""

import os
from typing import Any

from twisted.conch.avatar import ConchUser
from twisted.conch.interfaces import IConchUser, ISession
from twisted.conch.ssh.keys import Key
from twisted.conch.ssh.session import SSHSession
from twisted.internet import reactor
from twisted.python import components
from zope.interface import implementer


def newKey() -> Key:
    """
    A fresh Ed25519 key.
    """
    from cryptography.hazmat.primitives.asymmetric import ed25519
    return Key(ed25519.Ed25519PrivateKey.generate())


class _Avatar(ConchUser):
    """
    A user of the test SSH server: may open sessions.
    """

    def __init__(self, username: bytes) -> None:
        """
        Set up the state.
        """
        ConchUser.__init__(self)
        self.username = username
        self.channelLookup[b"session"] = SSHSession


@implementer(ISession)
class _CommandSession:
    """
    Runs the requested command with C{/bin/sh -c}.
    """

    def __init__(self, avatar: _Avatar) -> None:
        """
        Set up the state.
        """
        self.process: Any = None

    def execCommand(self, proto: Any, command: bytes) -> None:
        """
        Run the command with /bin/sh -c.
        """
        self.process = reactor.spawnProcess(
            proto, "/bin/sh", ["/bin/sh", "-c", command.decode()], env=dict(os.environ))

    def getPty(self, *args: Any) -> None:
        """
        No terminals.
        """
        raise NotImplementedError()

    def openShell(self, proto: Any) -> None:
        """
        No shells.
        """
        raise NotImplementedError()

    def eofReceived(self) -> None:
        """
        The client's end of input: close the command's.
        """
        if self.process is not None:
            self.process.closeStdin()

    def closed(self) -> None:
        """
        The session ended: stop the command.
        """
        if self.process is not None and self.process.pid is not None:
            try:
                self.process.signalProcess("TERM")
            except Exception:
                pass

    def windowChanged(self, size: Any) -> None:
        """
        Ignored.
        """
        pass


components.registerAdapter(_CommandSession, _Avatar, ISession)


class Realm:
    """
    Gives every authenticated user an L{_Avatar}.
    """

    def requestAvatar(self, avatarId: bytes, mind: Any, *interfaces: Any) -> Any:
        """
        An avatar for any authenticated user.
        """
        return IConchUser, _Avatar(avatarId), lambda: None
