# -*- test-case-name: tests.links.test_cableendpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The endpoints cables ride on (L{vdetwist.links.cable}): Twisted's
endpoint strings, plus mutual-TLS listening (Twisted's C{ssl:} server
endpoint does not ask for client certificates), UNIX listening with mode
0600, and SSH cables through Conch running a command (C{vde_plug}) on the
far machine.

TLS needs pyOpenSSL and SSH needs Conch (both need cryptography): the
C{tls} and C{ssh} extras, in the default install on CPython.  Without them
such a cable is refused with a L{CableError} saying what to install
(L{vdetwist.extras.missingExtra}); the other endpoints need neither.
"""

import os
from typing import Any, Dict, List

from twisted.internet import defer
from twisted.internet.interfaces import IStreamClientEndpoint, IStreamServerEndpoint
from twisted.logger import Logger

log = Logger(namespace="vdetwist.links.cable")

class CableError(ValueError):
    """
    A cable description that cannot be used.
    """


def _requireExtra(extra: str) -> None:
    """
    Refuse a TLS or SSH cable when its extra is not installed.

    @param extra: C{"tls"} or C{"ssh"}.
    @raise CableError: saying what to install.
    """
    from vdetwist.extras import MissingExtra, requireExtra
    try:
        requireExtra(extra)
    except MissingExtra as e:
        raise CableError(str(e))


def _splitDescription(description: str) -> "tuple[List[str], Dict[str, str]]":
    """
    Split an endpoint description as Twisted does (C{:} separated, C{\\}
    escapes, C{key=value} keywords).

    @param description: e.g. C{tls:7000:privateKey=k.pem}.
    @return: the positional arguments (the prefix first) and the keywords.
    @raise CableError: for an empty description.
    """
    from twisted.internet.endpoints import _parse
    args, kwargs = _parse(description)  # type: ignore[no-untyped-call]
    if not args or not args[0]:
        raise CableError("empty endpoint description %r" % (description,))
    return [str(a) for a in args], {str(k): str(v) for k, v in kwargs.items()}


def loadCertificates(path: str) -> List[Any]:
    """
    Every PEM certificate in a file, or in the C{.pem}/C{.crt} files of a
    directory.

    @param path: the file or directory.
    @return: L{twisted.internet.ssl.Certificate} objects.
    @raise CableError: when there are none.
    """
    from twisted.internet.ssl import Certificate
    import re
    files = []
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            if name.endswith((".pem", ".crt")):
                files.append(os.path.join(path, name))
    else:
        files.append(path)
    certificates = []
    pattern = re.compile(b"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
    for name in files:
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError as e:
            raise CableError("trustRoots: cannot read %s: %s" % (name, e.strerror))
        for block in pattern.findall(data):
            certificates.append(Certificate.loadPEM(block))
    if not certificates:
        raise CableError("trustRoots: no PEM certificate in %s" % (path,))
    return certificates


def _mutualTLSOptions(kwargs: Dict[str, str]) -> Any:
    """
    Server TLS options that require a client certificate issued by one of
    the C{trustRoots}.

    @param kwargs: C{privateKey}, C{certKey} (default: the key file),
        C{trustRoots}, optionally C{extraCertChain}.
    @return: a L{twisted.internet.ssl.CertificateOptions}.
    @raise CableError: for a missing or unreadable file.
    """
    from twisted.internet.ssl import CertificateOptions, PrivateCertificate
    keyPath = kwargs.pop("privateKey", None)
    if keyPath is None:
        raise CableError("tls listen needs privateKey=FILE")
    certPath = kwargs.pop("certKey", keyPath)
    try:
        with open(certPath, "rb") as f:
            certPEM = f.read()
        with open(keyPath, "rb") as f:
            keyPEM = f.read()
        chain = []
        if "extraCertChain" in kwargs:
            chain = [c.original for c in loadCertificates(kwargs.pop("extraCertChain"))]
    except OSError as e:
        raise CableError("cannot read %s: %s" % (e.filename, e.strerror))
    own = PrivateCertificate.loadPEM(certPEM + b"\n" + keyPEM)  # type: ignore[no-untyped-call]
    authorities = loadCertificates(kwargs.pop("trustRoots"))
    return CertificateOptions(
        privateKey=own.privateKey.original, certificate=own.original,
        extraCertChain=chain or None, verify=True, requireCertificate=True,
        caCerts=[c.original for c in authorities])


def serverEndpoint(reactor: Any, description: str) -> IStreamServerEndpoint:
    """
    The endpoint a listening cable uses.

    C{tls:PORT:privateKey=..:certKey=..:trustRoots=..[:interface=..]
    [:backlog=..]} (and C{ssl:} with C{trustRoots}) listen with mutual TLS;
    C{unix:} listens with mode 0600 unless C{mode=} says otherwise; anything
    else is L{twisted.internet.endpoints.serverFromString}'s.

    @param reactor: the reactor.
    @param description: the endpoint description.
    @return: the endpoint.
    @raise CableError: for a description that cannot be used.
    """
    from twisted.internet import endpoints
    args, kwargs = _splitDescription(description)
    prefix = args[0].lower()
    try:
        if prefix in ("tls", "ssl"):
            _requireExtra("tls")
        if prefix == "tls" or (prefix == "ssl" and "trustRoots" in kwargs):
            if "trustRoots" not in kwargs:
                raise CableError("tls listen needs trustRoots=CAFILE|CADIR "
                                 "(cables use mutual TLS)")
            if len(args) != 2:
                raise CableError("tls listen takes tls:PORT:keyword=value...")
            options = _mutualTLSOptions(kwargs)
            interface = kwargs.pop("interface", "")
            backlog = int(kwargs.pop("backlog", "50"))
            if kwargs:
                raise CableError("unknown keywords: %s" % (", ".join(sorted(kwargs)),))
            return endpoints.SSL4ServerEndpoint(reactor, int(args[1]), options,  # type: ignore[no-untyped-call]
                                                backlog=backlog, interface=interface)
        if prefix == "unix" and "mode" not in kwargs:
            description += ":mode=600"
        return endpoints.serverFromString(reactor, description)  # type: ignore[no-untyped-call,no-any-return]
    except CableError:
        raise
    except Exception as e:
        # int(), the endpoint parsers, pyOpenSSL's loaders: all say "bad".
        raise CableError("bad listen endpoint %r: %s" % (description, e))


def clientEndpoint(reactor: Any, description: str) -> IStreamClientEndpoint:
    """
    The endpoint a dialled cable uses:
    L{twisted.internet.endpoints.clientFromString}'s, so C{tcp:HOST:PORT},
    C{unix:PATH} and C{tls:HOST:PORT:privateKey=..:certificate=..:
    trustRoots=CADIR} (which checks the server's name).

    @param reactor: the reactor.
    @param description: the endpoint description.
    @return: the endpoint.
    @raise CableError: for a description that cannot be used.
    """
    from twisted.internet import endpoints
    args, kwargs = _splitDescription(description)
    if args[0].lower() == "ssh":
        _requireExtra("ssh")
        return sshClientEndpoint(reactor, args, kwargs)
    if args[0].lower() in ("tls", "ssl"):
        _requireExtra("tls")
    try:
        return endpoints.clientFromString(reactor, description)  # type: ignore[no-untyped-call,no-any-return]
    except Exception as e:
        # int(), the endpoint parsers, pyOpenSSL's loaders: all say "bad".
        raise CableError("bad dial endpoint %r: %s" % (description, e))


#: The command an SSH cable runs on the far machine unless told otherwise:
#: Debian's vde_plug (or vdetwist plug) joining its default switch, with
#: frames on its standard input and output.
SSH_DEFAULT_COMMAND = "vde_plug"


class _RefusingUI:
    """
    The SSH client's user interface for a daemon: an unknown or changed
    host key is refused (there is nobody to ask), with a logged reason.
    """

    def prompt(self, text: str) -> Any:
        """
        Refuse.

        @param text: the question.
        @return: a Deferred firing with C{False}.
        """
        log.warn("ssh cable: {text} Refused: add the key to knownHosts.", text=text)
        return defer.succeed(False)

    def warn(self, text: str) -> None:
        """
        Log a warning.

        @param text: the warning.
        """
        log.warn("ssh cable: {text}", text=text)


def sshClientEndpoint(reactor: Any, args: List[str],
                      kwargs: Dict[str, str]) -> IStreamClientEndpoint:
    """
    An SSH cable through Conch: C{ssh:[USER@]HOST[:PORT][:user=USER]
    [:command=COMMAND][:identity=KEYFILE][:knownHosts=FILE]}.  The command
    (L{SSH_DEFAULT_COMMAND} by default, e.g. C{vdetwist plug /run/vde/sw})
    runs on the far machine with frames on its standard input and output.
    The host key must be in C{knownHosts} (default C{~/.ssh/known_hosts});
    authentication uses the C{identity} keys, else the SSH agent.

    @param reactor: the reactor.
    @param args: C{["ssh", "[USER@]HOST", "PORT"?]}.
    @param kwargs: the keywords.
    @return: the endpoint.
    @raise CableError: for a bad description or an unreadable key.
    """
    from twisted.conch.client.knownhosts import KnownHostsFile
    from twisted.conch.endpoints import SSHCommandClientEndpoint
    from twisted.conch.ssh.keys import Key
    from twisted.python.filepath import FilePath
    if len(args) not in (2, 3):
        raise CableError("ssh cables take ssh:[USER@]HOST[:PORT]:keyword=value...")
    user, _, host = args[1].rpartition("@")
    if not host:
        raise CableError("ssh cables take ssh:[USER@]HOST[:PORT]:keyword=value...")
    user = kwargs.pop("user", user) or os.environ.get("USER", "root")
    try:
        port = int(args[2]) if len(args) == 3 else 22
    except ValueError:
        raise CableError("bad ssh port %r" % (args[2],))
    command = kwargs.pop("command", SSH_DEFAULT_COMMAND)
    keys = []
    for path in kwargs.pop("identity", "").split(",") if "identity" in kwargs else []:
        try:
            keys.append(Key.fromFile(path))  # type: ignore[no-untyped-call]
        except Exception as e:
            raise CableError("ssh identity %s: %s" % (path, e))
    knownHostsPath = kwargs.pop("knownHosts", os.path.expanduser("~/.ssh/known_hosts"))
    if kwargs:
        raise CableError("unknown ssh keywords: %s" % (", ".join(sorted(kwargs)),))
    try:
        knownHosts = KnownHostsFile.fromPath(FilePath(knownHostsPath))
    except Exception as e:
        raise CableError("knownHosts %s: %s" % (knownHostsPath, e))
    agent = None
    if not keys and os.environ.get("SSH_AUTH_SOCK"):
        from twisted.internet.endpoints import UNIXClientEndpoint
        agent = UNIXClientEndpoint(reactor, os.environ["SSH_AUTH_SOCK"])  # type: ignore[no-untyped-call]
    return SSHCommandClientEndpoint.newConnection(
        reactor, command.encode("utf-8"), user.encode("utf-8"), host.encode("utf-8"),
        port=port, keys=keys or None, agentEndpoint=agent, knownHosts=knownHosts,  # type: ignore[arg-type]
        ui=_RefusingUI())  # type: ignore[arg-type]


def abortTransport(transport: Any) -> None:
    """
    Close a transport at once, without flushing: abortConnection, or for
    an SSH channel the whole SSH connection's.

    @param transport: the transport.
    """
    abort = getattr(transport, "abortConnection", None)
    if abort is not None:
        abort()
        return
    connection = getattr(transport, "conn", None)
    inner = getattr(getattr(connection, "transport", None), "transport", None)
    if inner is not None and hasattr(inner, "abortConnection"):
        inner.abortConnection()
    else:
        transport.loseConnection()
