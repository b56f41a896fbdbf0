# -*- test-case-name: tests.test_manhole -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A Python shell into the running process, over SSH only: Conch's manhole,
locked down.

This builds what L{twisted.conch.manhole_tap.makeService} builds for its
C{sshPort} (a L{manhole_ssh.ConchFactory} with a L{manhole_ssh.TerminalRealm}
whose sessions run L{manhole.ColoredManhole} on the live namespace), with
these differences:

  - B{SSH only}: there is no telnet service.

  - B{Authentication is mandatory}: L{makeManholeService} raises
    L{ValueError} unless it gets an authorized-keys file, a password file,
    or both.

      - C{keys}: an OpenSSH C{authorized_keys} file (one public key a line,
        C{#} comments).  It is the whole access list: a client holding any
        listed key gets in, whatever SSH username it gives (the username is
        only logged).  The file is read again at every login, so editing it
        takes effect at once.

      - C{passwd}: a file of C{username:password} lines, checked by
        L{twisted.cred.checkers.FilePasswordDB} (also read again at every
        login).  A password is either plain text or a PBKDF2 hash in
        passlib's C{$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM} form (adapted
        base64: C{.} for C{+}, no padding), which L{hashPassword} makes::

          python -c 'from vdetwist.manhole import hashPassword as h; print("admin:" + h("secret"))'

        Plain-text passwords are compared in constant time; prefer hashes.

    Either file is refused when it is missing or writable by group or
    others (anyone could then let themselves in).

  - B{Loopback by default}: C{ENDPOINT} is a Twisted server endpoint
    description (C{tcp:2222:interface=127.0.0.1}, C{unix:/run/sw.manhole},
    ...).  A leading C{ssh:} is sugar for C{tcp:} (manhole_tap's option is
    called C{--sshPort}; people write C{ssh:2222}).  A C{tcp}/C{tcp6}
    description without C{interface=} listens on the loopback address
    (C{127.0.0.1} / C{::1}), not on every address; name the interface to
    listen elsewhere.  A C{unix} description without C{mode=} gets mode
    C{600} instead of Twisted's C{666}.

  - B{The host key} is an ed25519 key kept in a file of mode 0600 (default
    C{~/.vdetwist/manhole_host_key}, directory mode 0700), generated on the
    first start.  An existing host key that group or others can read is
    refused.  The key is loaded, and the port opened, when the service
    starts (in C{privilegedStartService}, before C{twistd --uid} drops
    root), not when it is built, so building a service touches no files.

  - Logins are limited: at most
    L{MAX_AUTH_ATTEMPTS<vdetwist.manholessh.MAX_AUTH_ATTEMPTS>} failed
    attempts per connection and
    L{LOGIN_TIMEOUT<vdetwist.manholessh.LOGIN_TIMEOUT>} seconds to log in;
    sessions offer only a shell (no exec, no port forwarding).

  - B{The SSH half} (L{vdetwist.manholessh}: Conch's factory, sessions,
    checkers and the host key) needs Twisted Conch and cryptography, the
    C{manhole} extra (in the default install on CPython).  This module
    imports without them and serves that half's names on first use;
    building a manhole without the extra raises
    L{vdetwist.extras.MissingExtra}, one line saying what to install.

The namespace is the given dictionary (the live objects, e.g. C{switch}) plus
C{__name__ = "__manhole__"}; it is shared by all sessions.
"""

import base64
import hashlib
import hmac
import os
import stat
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

from twisted.application.service import IService, Service
from twisted.cred import checkers
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger
from twisted.python.failure import Failure

from vdetwist.extras import missingExtra

if TYPE_CHECKING:
    from vdetwist.manholessh import ManholeFactory

log = Logger(namespace="vdetwist.manhole")

#: Where the host key lives unless C{hostKey} says otherwise.
DEFAULT_HOST_KEY = os.path.join("~", ".vdetwist", "manhole_host_key")
#: The prefix of hashed passwords in the password file (passlib's format).
PBKDF2_PREFIX = b"$pbkdf2-sha256$"
#: Rounds used by L{hashPassword}.
PBKDF2_ROUNDS = 200000


def _ab64Encode(data: bytes) -> bytes:
    """
    passlib's "adapted base64": standard base64 with C{.} for C{+} and no
    padding.

    @param data: the bytes.
    @return: the encoding.
    """
    return base64.b64encode(data).rstrip(b"=").replace(b"+", b".")


def _ab64Decode(data: bytes) -> bytes:
    """
    Decode L{_ab64Encode}'s output.

    @param data: the encoding.
    @return: the bytes.
    @raise ValueError: for malformed input.
    """
    data = data.replace(b".", b"+")
    return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)


def hashPassword(password: str, rounds: int = PBKDF2_ROUNDS,
                 salt: Optional[bytes] = None) -> str:
    """
    Hash a password for the manhole password file.

    @param password: the password.
    @param rounds: PBKDF2 iterations.
    @param salt: the salt, 16 random bytes by default.
    @return: C{$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM}, passlib-compatible.
    """
    if salt is None:
        salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)
    return (PBKDF2_PREFIX + b"%d$%s$%s" % (rounds, _ab64Encode(salt), _ab64Encode(digest))
            ).decode("ascii")


def _matchStoredPassword(username: bytes, password: bytes, stored: bytes) -> bytes:
    """
    The C{hash} callable of L{FilePasswordDB}: return C{stored} exactly when
    C{password} matches it, and something else otherwise.

    A stored value starting with L{PBKDF2_PREFIX} is a hash; anything else
    is a plain-text password, compared in constant time.

    @param username: the username (unused).
    @param password: the password the client sent.
    @param stored: the password field of the file.
    @return: C{stored} on a match, another value otherwise.
    """
    mismatch = b"\0" + stored
    if stored.startswith(PBKDF2_PREFIX):
        try:
            roundsField, saltField, checksumField = stored[len(PBKDF2_PREFIX):].split(b"$")
            rounds = int(roundsField)
            salt = _ab64Decode(saltField)
            expected = _ab64Decode(checksumField)
        except ValueError:
            log.warn("malformed password hash for {user!r}", user=username)
            return mismatch
        if not 0 < rounds <= 10000000:
            return mismatch
        digest = hashlib.pbkdf2_hmac("sha256", password, salt, rounds)
        return stored if hmac.compare_digest(digest, expected) else mismatch
    return stored if hmac.compare_digest(password, stored) else mismatch


#: What L{vdetwist.manhole} serves from L{vdetwist.manholessh}, imported on
#: first use (see L{__getattr__}).
_SSH_NAMES = frozenset([
    "AuthorizedKeysFile", "ManholeFactory", "loadHostKey", "MAX_AUTH_ATTEMPTS",
    "LOGIN_TIMEOUT", "_UserAuthServer", "_TerminalSession", "_ChainedProtocolFactory"])


def _sshModule() -> ModuleType:
    """
    The SSH half of the manhole, which needs the C{manhole} extra.

    @return: L{vdetwist.manholessh}.
    @raise vdetwist.extras.MissingExtra: when Twisted Conch or cryptography
        cannot be imported.
    """
    try:
        from vdetwist import manholessh
    except ImportError as e:
        raise missingExtra("manhole", e) from None
    return manholessh


def __getattr__(name: str) -> Any:
    """
    The SSH half's names (L{ManholeFactory}, L{loadHostKey},
    L{AuthorizedKeysFile}, L{MAX_AUTH_ATTEMPTS}, ...), imported when first
    asked for, so this module imports without cryptography.

    @param name: the attribute.
    @return: its value.
    @raise AttributeError: for other names.
    @raise vdetwist.extras.MissingExtra: when the C{manhole} extra is
        missing.
    """
    if name in _SSH_NAMES:
        return getattr(_sshModule(), name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _checkNotWritableByOthers(path: str, what: str) -> None:
    """
    Refuse a credentials file that is missing or that group or others may
    write.

    @param path: the file.
    @param what: its role, for the message.
    @raise ValueError: when it is refused.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        raise ValueError("manhole %s file %r: %s" % (what, path, e.strerror))
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("manhole %s file %r is not a regular file" % (what, path))
    if st.st_mode & 0o022:
        raise ValueError("manhole %s file %r is writable by group or others (mode %o); "
                         "chmod go-w it" % (what, path, stat.S_IMODE(st.st_mode)))


def _fields(description: str) -> Iterator[str]:
    """
    The C{:}-separated fields of an endpoint description, honouring
    backslash escapes.

    @param description: the description.
    @return: the raw fields (escapes kept).
    """
    field: List[str] = []
    chars = iter(description)
    for c in chars:
        if c == "\\":
            field.append(c)
            field.append(next(chars, ""))
        elif c == ":":
            yield "".join(field)
            field = []
        else:
            field.append(c)
    yield "".join(field)


def normalizeEndpoint(description: str) -> str:
    """
    Apply the manhole's endpoint rules: C{ssh:} means C{tcp:}; TCP without
    C{interface=} listens on loopback; UNIX without C{mode=} gets 600.

    @param description: a server endpoint description.
    @return: the description to listen on.
    @raise ValueError: when it is empty.
    """
    description = description.strip()
    if not description:
        raise ValueError("empty manhole endpoint")
    fields = list(_fields(description))
    kind = fields[0].lower()
    if kind == "ssh":
        fields[0] = kind = "tcp"
    elif fields[0].isdigit():
        fields.insert(0, "tcp")
        kind = "tcp"
    names = {f.split("=", 1)[0] for f in fields[1:] if "=" in f}
    if kind in ("tcp", "tcp6") and "interface" not in names:
        fields.append("interface=" + ("127.0.0.1" if kind == "tcp" else r"\:\:1"))
    elif kind == "unix" and "mode" not in names:
        fields.append("mode=600")
    return ":".join(fields)


class ManholeService(Service):
    """
    The manhole: loads the host key and listens when started, stops
    listening when stopped.

    @ivar endpointDescription: the (normalized) server endpoint description.
    @ivar factory: the L{ManholeFactory}.
    @ivar hostKeyPath: the host key file.
    @ivar namespace: the shared namespace.
    @ivar port: the listening port while listening, else L{None}.
    @ivar whenListening: while started, a L{Deferred} firing with the
        listening port (or L{None} when listening failed, which is logged).
    """

    def __init__(self, reactor: Any, endpointDescription: str, factory: "ManholeFactory",
                 hostKeyPath: str, namespace: Dict[str, Any]) -> None:
        """
        @param reactor: the reactor.
        @param endpointDescription: where to listen.
        @param factory: the SSH factory.
        @param hostKeyPath: the host key file.
        @param namespace: the namespace, for inspection.
        """
        self.reactor = reactor
        self.endpointDescription = endpointDescription
        self.factory = factory
        self.hostKeyPath = hostKeyPath
        self.namespace = namespace
        self.port: Optional[IListeningPort] = None
        self._stopped = False
        self.whenListening: Optional["Deferred[Optional[IListeningPort]]"] = None

    def privilegedStartService(self) -> None:
        """
        Load (or make) the host key and start listening while still
        privileged, so C{twistd --uid} can drop root afterwards (as
        Twisted's own endpoint services listen here).

        @raise ValueError: when the host key is refused.
        """
        self._listen()
        Service.privilegedStartService(self)

    def startService(self) -> None:
        """
        Load (or make) the host key and start listening, unless
        L{privilegedStartService} did.

        @raise ValueError: when the host key is refused.
        """
        Service.startService(self)
        if self.whenListening is None:
            try:
                self._listen()
            except BaseException:
                Service.stopService(self)
                raise

    def _listen(self) -> None:
        """
        Load the host key and start listening.

        @raise ValueError: when the host key is refused.
        """
        from twisted.internet.endpoints import serverFromString
        self.factory.setHostKey(_sshModule().loadHostKey(self.hostKeyPath))
        endpoint = serverFromString(self.reactor, self.endpointDescription)
        self._stopped = False
        d = endpoint.listen(self.factory)
        d.addCallbacks(self._cbListening, self._ebListening)
        self.whenListening = d

    def _cbListening(self, port: IListeningPort) -> IListeningPort:
        """
        Listening started (stop again if the service was stopped first).

        @param port: the port.
        @return: C{port}.
        """
        if self._stopped:
            port.stopListening()
            return port
        self.port = port
        log.info("manhole listening on {address}", address=port.getHost())
        return port

    def _ebListening(self, reason: Failure) -> None:
        """
        Listening failed: log it.

        @param reason: why.
        """
        log.failure("manhole cannot listen on {endpoint}", reason,
                    endpoint=self.endpointDescription)
        return None

    def stopService(self) -> Optional["Deferred[None]"]:
        """
        Stop listening (open sessions stay until their clients leave).

        @return: a L{Deferred} when the port is closed, or L{None}.
        """
        Service.stopService(self)
        self._stopped = True
        port, self.port = self.port, None
        self.whenListening = None
        if port is not None:
            return port.stopListening()
        return None


def makeManholeService(endpointDescription: str, namespace: Dict[str, Any],
                       keys: Optional[str] = None, passwd: Optional[str] = None,
                       hostKey: Optional[str] = None, reactor: Any = None) -> IService:
    """
    Build the manhole service (see the module docstring for the rules).

    @param endpointDescription: C{--manhole}: a server endpoint description
        (C{ssh:} is sugar for C{tcp:}; TCP defaults to loopback).
    @param namespace: the live objects the shell sees (copied; C{__name__}
        is added).
    @param keys: an C{authorized_keys} file; any listed key logs in.
    @param passwd: a file of C{username:password} lines (plain or
        L{hashPassword} hashes).
    @param hostKey: the host key file, L{DEFAULT_HOST_KEY} by default;
        created (mode 0600) on first start.
    @param reactor: the reactor, the global one by default.
    @return: a L{ManholeService}, not yet started.
    @raise ValueError: without C{keys} or C{passwd}, for a missing or
        group/world-writable credentials file, or a bad endpoint.
    @raise vdetwist.extras.MissingExtra: when the C{manhole} extra (Twisted
        Conch, cryptography) is not installed.
    """
    if not keys and not passwd:
        raise ValueError("the manhole needs an authorized keys file or a password file: "
                         "it never runs without authentication")
    if reactor is None:
        from twisted.internet import reactor as globalReactor
        reactor = globalReactor
    if keys:
        _checkNotWritableByOthers(keys, "keys")
    passwordChecker = None
    if passwd:
        _checkNotWritableByOthers(passwd, "password")
        passwordChecker = checkers.FilePasswordDB(passwd, hash=_matchStoredPassword)
    ns = dict(namespace)
    ns["__name__"] = "__manhole__"
    factory = _sshModule().makeFactory(keys, passwordChecker, ns)
    return ManholeService(reactor, normalizeEndpoint(endpointDescription), factory,
                          hostKey if hostKey else DEFAULT_HOST_KEY, ns)


def checkManholeOptions(options: Any) -> None:
    """
    Validate C{--manhole} with its credentials, for the C{twistd} plugins'
    options (building the service has no side effects, so this is a dry
    run of it).

    @param options: options with C{manhole}, C{manhole-keys} and
        C{manhole-passwd}.
    @raise twisted.python.usage.UsageError: when the manhole would run
        without authentication, a file is missing or unsafe, or the
        C{manhole} extra is not installed.
    """
    from twisted.python import usage
    if not options["manhole"]:
        return
    if not (options["manhole-keys"] or options["manhole-passwd"]):
        raise usage.UsageError(
            "--manhole needs --manhole-keys or --manhole-passwd: "
            "the manhole never runs without authentication")
    try:
        makeManholeService(options["manhole"], {}, keys=options["manhole-keys"],
                           passwd=options["manhole-passwd"])
    except (ValueError, ImportError) as e:
        raise usage.UsageError(str(e))
