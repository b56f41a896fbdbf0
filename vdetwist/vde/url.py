# -*- test-case-name: tests.vde.test_url -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdeplug4 URLs for the C{vde} module (docs/vde-protocol.md sections 1.2 and 9).

Accepted forms::

    /path/to/dir                     a bare path (no "://") is the vde module
    vde://DIR    vde:///DIR          everything after "vde://" is the path
    DIR[5]       vde://DIR[port=6]   an explicit port
    DIR[0]                           the special port 0 (REQ_NEW_PORT0)
    DIR[name]                        a vde_switch4 port group (tried as DIR/name)
    DIR[5/mode=0770/group=kvm]       options inside the brackets, "/"-separated
    DIR[5]/mode=0770/group=kvm       the same options after the brackets
    vde://                           the default switch (empty path)

As in vdeplug4, option names may be abbreviated to any prefix (C{m=0770},
C{g=kvm}, C{p=5}); C{mode} is octal.  vdeplug4's quoting (C{'}, C{"},
C{\\}) is not supported: such characters are refused.

Pure: no I/O.  The path is returned as written; the plug resolves it.
"""

import os
import re
from dataclasses import dataclass
from typing import Optional

#: The default mode of the client's data socket (vdeplug4's 0700).
DEFAULT_MODE = 0o700

#: The largest port number that fits the request's type field
#: (C{port << 8} in a signed 32-bit C enum).
MAX_PORT = (1 << 23) - 1

#: The options, in vdeplug4's matching order (a prefix matches the first).
_TAGS = ("port", "portgroup", "group", "mode")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_OCTAL = re.compile(r"[0-7]{1,4}\Z")
_GROUP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class VDEURL:
    """
    A parsed C{vde://} URL.

    @ivar path: the switch directory as written (not resolved); C{""} means
        the default switch (C{/var/run/vde.ctl}, then C{/tmp/vde.ctl}).
    @ivar port: the requested port, or L{None} for any free port.
    @ivar port0: C{True} when the special port 0 is asked for (C{[0]});
        C{port} is then 0 too.
    @ivar mode: the mode of the client's data socket (default 0700).
    @ivar group: the group (name or number) to give the client's data
        socket, or L{None}.
    @ivar portGroup: a non-numeric bracket parameter: the name of a
        vde_switch4 port-group control socket C{DIR/<name>}, or L{None}.
    """

    path: str
    port: Optional[int] = None
    port0: bool = False
    mode: int = DEFAULT_MODE
    group: Optional[str] = None
    portGroup: Optional[str] = None

    def requestPort(self) -> int:
        """
        The port number to put in a control request's type field.

        @return: the explicit port, or 0 for any port (and for port 0, which
            is asked for with a different request type).
        """
        if self.port is None or self.port0:
            return 0
        return self.port


def _parsePort(value: str, url: str) -> int:
    """
    Parse a decimal port number.

    @param value: the text.
    @param url: the whole URL, for the error message.
    @return: the port.
    @raise ValueError: when it is not a decimal number in range.
    """
    if not value.isdigit() or not value.isascii():
        raise ValueError("bad port %r in VDE URL %r" % (value, url))
    port = int(value, 10)
    if port > MAX_PORT:
        raise ValueError("port %d out of range in VDE URL %r" % (port, url))
    return port


def _matchTag(tag: str) -> Optional[str]:
    """
    Find the option a possibly abbreviated tag names.

    @param tag: the tag as written.
    @return: the full option name, or L{None}.
    """
    for name in _TAGS:
        if name.startswith(tag):
            return name
    return None


def parseVDEURL(url: str) -> VDEURL:
    """
    Parse a vdeplug4 URL for the C{vde} module.

    @param url: the URL: a bare path or C{vde://...}, with optional
        C{[port/options]} and C{/options} after the brackets.
    @return: the parsed URL.
    @raise ValueError: for another scheme, unbalanced brackets, an unknown
        or malformed option, a bad port or mode, or quoting characters.
    """
    if not isinstance(url, str):
        raise ValueError("VDE URL must be a str, not %r" % (type(url).__name__,))
    if "\0" in url:
        raise ValueError("NUL in VDE URL %r" % (url,))
    rest = url
    if "://" in url:
        scheme, rest = url.split("://", 1)
        if scheme != "vde":
            raise ValueError(
                "not a vde:// URL: scheme %r in %r (only the vde module is "
                "supported)" % (scheme, url))
    if any(c in rest for c in "'\"\\"):
        raise ValueError("quoting is not supported in VDE URL %r" % (url,))

    options: list[str] = []
    path = rest
    if "[" in rest:
        path, bracketed = rest.split("[", 1)
        if "]" not in bracketed:
            raise ValueError("unbalanced '[' in VDE URL %r" % (url,))
        inside, after = bracketed.split("]", 1)
        if "[" in inside or "[" in after or "]" in after:
            raise ValueError("more than one bracket group in VDE URL %r" % (url,))
        if after and not after.startswith("/"):
            raise ValueError("unexpected %r after ']' in VDE URL %r" % (after, url))
        options = [o for o in inside.split("/") if o]
        options += [o for o in after.split("/") if o]
    elif "]" in rest:
        raise ValueError("unbalanced ']' in VDE URL %r" % (url,))

    port: Optional[int] = None
    port0 = False
    mode = DEFAULT_MODE
    group: Optional[str] = None
    portGroup: Optional[str] = None
    for option in options:
        if "=" in option:
            tag, value = option.split("=", 1)
            name = _matchTag(tag) if tag else None
            if name is None:
                raise ValueError("unknown option %r in VDE URL %r" % (tag, url))
        else:
            name, value = "", option
        if name in ("", "port", "portgroup"):
            if value.isdigit():
                port = _parsePort(value, url)
                port0 = port == 0
                portGroup = None
            elif name == "port" and value:
                raise ValueError("bad port %r in VDE URL %r" % (value, url))
            elif _NAME.match(value):
                portGroup = value
                port, port0 = None, False
            else:
                raise ValueError("bad port or port group %r in VDE URL %r"
                                 % (value, url))
        elif name == "group":
            if not _GROUP.match(value):
                raise ValueError("bad group %r in VDE URL %r" % (value, url))
            group = value
        else:  # mode
            if not _OCTAL.match(value):
                raise ValueError(
                    "bad mode %r in VDE URL %r (octal expected)" % (value, url))
            mode = int(value, 8)
            if mode > 0o777:
                raise ValueError("mode %r out of range in VDE URL %r"
                                 % (value, url))
    return VDEURL(path=path, port=port, port0=port0, mode=mode, group=group,
                  portGroup=portGroup)


def defaultSocketDirectory() -> str:
    """
    vde_switch's default C{-s}: C{/var/run/vde.ctl} for root, else
    C{/tmp/vde.ctl}.

    @return: the path.
    """
    return "/var/run/vde.ctl" if os.geteuid() == 0 else "/tmp/vde.ctl"
