# -*- test-case-name: tests.ns.test_prepare -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What the child of C{vdetwist ns} does before it becomes COMMAND: leave the
host's network namespace (and, when not root, its user namespace), bring
the loopback up, make the tap interface, configure it if asked, and give
the view a name if asked; and, for C{--join}, enter a named view.

Every OS call goes through an L{INamespaceSystem}, so this is tested with
a fake (tests/ns/test_prepare.py); errors become L{ViewError}s whose
message is one line naming what to change (the sysctl, the device's
permission).

    fd = prepareView(ViewConfig(ifname="vd0"), RealNamespaceSystem())
"""

import errno
import json
import os
import struct
from typing import Any, Dict, List, Optional

from vdetwist.ns.system import CLONE_NEWNET, CLONE_NEWUSER, MNT_DETACH, MS_BIND

__all__ = ["ViewConfig", "ViewError", "prepareView", "joinView", "removeName",
           "execCommand", "namePath", "checkName", "NETNS_DIR", "TUN_DEVICE"]

#: Where C{ip netns} keeps named network namespaces.
NETNS_DIR = "/run/netns"
#: The tun/tap clone device.
TUN_DEVICE = "/dev/net/tun"
#: C{_IOW('T', 202, int)}: attach the descriptor to a tun/tap interface.
TUNSETIFF = 0x400454CA
#: Ethernet frames, no packet information header.
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
#: Interface ioctls.
SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFMTU, SIOCSIFHWADDR = 0x8913, 0x8914, 0x8922, 0x8924
#: The interface-up flag.
IFF_UP = 0x1
#: C{ARPHRD_ETHER}: the hardware address family of Ethernet.
ARPHRD_ETHER = 1
#: C{IFNAMSIZ}.
IFNAMSIZ = 16
#: C{struct ifreq} with a short (flags), an int (MTU), a sockaddr (MAC).
_IFR_FLAGS = struct.Struct("16sh22x")
_IFR_MTU = struct.Struct("16si20x")
_IFR_HWADDR = struct.Struct("16sH6s16x")

#: The sysctls that allow unprivileged user namespaces, and the value
#: that forbids them.
USERNS_SYSCTLS = [
    ("/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone=1"),
    ("/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces=15000"),
    ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
     "kernel.apparmor_restrict_unprivileged_userns=0"),
]


class ViewError(Exception):
    """
    The view cannot be made; the message is one line for the user.
    """


class ViewConfig:
    """
    What the view is to look like.

    @ivar ifname: the tap interface's name inside.
    @ivar mac: its MAC address (C{aa:bb:...}), or L{None} for the kernel's.
    @ivar ip: C{ADDR/PREFIX} to configure (and bring the interface up), or L{None}.
    @ivar gw: the default gateway, or L{None}.
    @ivar ip6: an IPv6 C{ADDR/PREFIX} to configure (without duplicate
        address detection; the interface is brought up), or L{None}.
    @ivar gw6: the IPv6 default gateway, or L{None}.
    @ivar dhcp: run a DHCP client for the interface once the view is made
        (L{vdetwist.ns.dhcp}).
    @ivar mtu: the interface MTU, or L{None} for 1500.
    @ivar name: the name to give the view in L{NETNS_DIR}, or L{None}.
    @ivar userNamespace: make a user namespace too; L{None}: when not root.
    """

    def __init__(self, ifname: str = "vd0", mac: Optional[str] = None,
                 ip: Optional[str] = None, gw: Optional[str] = None,
                 mtu: Optional[int] = None, name: Optional[str] = None,
                 userNamespace: Optional[bool] = None, ip6: Optional[str] = None,
                 gw6: Optional[str] = None, dhcp: bool = False) -> None:
        """
        @see: the instance variables.
        """
        self.ifname, self.mac, self.ip, self.gw = ifname, mac, ip, gw
        self.mtu, self.name, self.userNamespace = mtu, name, userNamespace
        self.ip6, self.gw6, self.dhcp = ip6, gw6, dhcp

    def toJSON(self) -> str:
        """
        @return: the configuration as a JSON text, for the child's command line.
        """
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def fromJSON(cls, text: str) -> "ViewConfig":
        """
        @param text: what L{toJSON} made.
        @return: the configuration.
        """
        fields: Dict[str, Any] = json.loads(text)
        return cls(**fields)

    def __eq__(self, other: object) -> bool:
        """
        @return: whether both have the same fields.
        """
        return isinstance(other, ViewConfig) and self.__dict__ == other.__dict__


def checkName(name: str) -> str:
    """
    Validate a view name as C{ip netns add} would.

    @param name: the name.
    @return: the name.
    @raise ValueError: for an empty name, C{.}, C{..}, or one with C{/}.
    """
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(name) > 255:
        raise ValueError("invalid view name %r" % (name,))
    return name


def namePath(name: str) -> str:
    """
    @param name: a view name.
    @return: its file in L{NETNS_DIR}.
    """
    return os.path.join(NETNS_DIR, checkName(name))


def _ifname(name: str) -> bytes:
    """
    @param name: an interface name.
    @return: its bytes for a C{struct ifreq}.
    @raise ViewError: when it cannot be one.
    """
    raw = name.encode("ascii", "replace")
    if not raw or len(raw) >= IFNAMSIZ or any(c in b"/: \t\n\0?" for c in raw):
        raise ViewError("invalid interface name %r (1 to 15 characters, no '/', ':' or blanks)"
                        % (name,))
    return raw


def explainUnshare(error: OSError, userNamespace: bool, system: Any) -> str:
    """
    Say why C{unshare} failed, naming what to change.

    @param error: the error.
    @param userNamespace: whether a user namespace was asked for.
    @param system: the L{INamespaceSystem} (to read the sysctls).
    @return: one line.
    """
    reason = os.strerror(error.errno) if error.errno else str(error)
    if not userNamespace:
        return ("cannot create a network namespace: %s (this needs root or CAP_SYS_ADMIN)"
                % (reason,))
    for path, forbidding, advice in USERNS_SYSCTLS:
        value = system.readFile(path)
        if value is not None and value.strip() == forbidding:
            return ("cannot create a user namespace: unprivileged user namespaces are "
                    "disabled by the sysctl %s = %s (set %s, or run as root)"
                    % (path[len("/proc/sys/"):].replace("/", "."), forbidding, advice))
    if error.errno == errno.ENOSPC:
        return ("cannot create a user namespace: %s (the sysctl user.max_user_namespaces "
                "is reached)" % (reason,))
    return ("cannot create a user namespace: %s (check the sysctls "
            "kernel.unprivileged_userns_clone and user.max_user_namespaces, or run as root)"
            % (reason,))


def explainTap(error: OSError, ifname: str, opening: bool) -> str:
    """
    Say why the tap could not be made.

    @param error: the error.
    @param ifname: the interface name.
    @param opening: whether opening L{TUN_DEVICE} failed (else TUNSETIFF).
    @return: one line.
    """
    reason = os.strerror(error.errno) if error.errno else str(error)
    if opening:
        if error.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return ("cannot open %s: %s (load the tun module: modprobe tun)"
                    % (TUN_DEVICE, reason))
        if error.errno in (errno.EACCES, errno.EPERM):
            return ("cannot open %s: %s (the device must be readable and writable "
                    "by this user: chmod 0666 %s)" % (TUN_DEVICE, reason, TUN_DEVICE))
        return "cannot open %s: %s" % (TUN_DEVICE, reason)
    return "cannot create the tap interface %s: %s" % (ifname, reason)


def _mapIdentity(system: Any, uid: int, gid: int) -> None:
    """
    Map the user's ids to root in the new user namespace (as C{unshare -r}).

    @param system: the L{INamespaceSystem}.
    @param uid: the user id outside.
    @param gid: the group id outside.
    @raise ViewError: when the maps cannot be written.
    """
    try:
        try:
            system.writeFile("/proc/self/setgroups", "deny")
        except FileNotFoundError:
            pass
        system.writeFile("/proc/self/uid_map", "0 %d 1\n" % (uid,))
        system.writeFile("/proc/self/gid_map", "0 %d 1\n" % (gid,))
    except OSError as e:
        raise ViewError("cannot map user %d into the user namespace: %s"
                        % (uid, os.strerror(e.errno) if e.errno else e))


def _setUp(system: Any, ctl: int, name: bytes) -> None:
    """
    Bring an interface up.

    @param system: the L{INamespaceSystem}.
    @param ctl: a control socket.
    @param name: the interface name.
    """
    flags = _IFR_FLAGS.unpack(system.ioctl(ctl, SIOCGIFFLAGS, _IFR_FLAGS.pack(name, 0)))[1]
    system.ioctl(ctl, SIOCSIFFLAGS, _IFR_FLAGS.pack(name, flags | IFF_UP))


def _openTap(system: Any, name: bytes, ifname: str) -> int:
    """
    Make the tap interface.

    @param system: the L{INamespaceSystem}.
    @param name: the interface name's bytes.
    @param ifname: the interface name.
    @return: the nonblocking, close-on-exec descriptor.
    @raise ViewError: when it cannot be made.
    """
    try:
        fd = system.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise ViewError(explainTap(e, ifname, True))
    try:
        system.ioctl(fd, TUNSETIFF, _IFR_FLAGS.pack(name, IFF_TAP | IFF_NO_PI))
    except OSError as e:
        system.close(fd)
        raise ViewError(explainTap(e, ifname, False))
    return fd


def _configure(system: Any, ctl: int, config: ViewConfig, name: bytes) -> None:
    """
    Set the MAC and MTU, the addresses and the default routes, as asked;
    bring the interface up when an address is given or DHCP will run.

    @param system: the L{INamespaceSystem}.
    @param ctl: a control socket.
    @param config: the configuration.
    @param name: the interface name's bytes.
    @raise ViewError: when a step fails.
    """
    step = ""
    try:
        if config.mac is not None:
            step = "set the MAC address %s" % (config.mac,)
            mac = bytes(int(part, 16) for part in config.mac.split(":"))
            system.ioctl(ctl, SIOCSIFHWADDR, _IFR_HWADDR.pack(name, ARPHRD_ETHER, mac))
        if config.mtu is not None:
            step = "set the MTU %d" % (config.mtu,)
            system.ioctl(ctl, SIOCSIFMTU, _IFR_MTU.pack(name, config.mtu))
        if config.ip is not None or config.ip6 is not None or config.dhcp:
            step = "bring %s up" % (config.ifname,)
            _setUp(system, ctl, name)
    except OSError as e:
        raise ViewError("cannot %s on %s: %s" % (step, config.ifname,
                                                 os.strerror(e.errno) if e.errno else e))
    commands: List[List[str]] = []
    if config.ip is not None:
        commands.append(["ip", "addr", "add", config.ip, "dev", config.ifname])
    if config.gw is not None:
        commands.append(["ip", "route", "add", "default", "via", config.gw, "dev", config.ifname])
    if config.ip6 is not None:
        commands.append(["ip", "-6", "addr", "add", config.ip6, "dev", config.ifname, "nodad"])
    if config.gw6 is not None:
        commands.append(["ip", "-6", "route", "add", "default", "via", config.gw6,
                         "dev", config.ifname])
    for argv in commands:
        status, output = system.run(argv)
        if status:
            raise ViewError("%s failed: %s" % (" ".join(argv), output or "status %d" % (status,)))


def _bindName(system: Any, name: str) -> None:
    """
    Give the view a name, as C{ip netns add} does: bind-mount our network
    namespace on C{/run/netns/NAME}.

    @param system: the L{INamespaceSystem}.
    @param name: the name.
    @raise ViewError: when the name is taken or the mount fails.
    """
    path = namePath(name)
    try:
        system.makeDirectory(NETNS_DIR, 0o755)
        system.createFile(path)
    except FileExistsError:
        raise ViewError("a network view named %s already exists (%s)" % (name, path))
    except OSError as e:
        raise ViewError("cannot create %s: %s" % (path, os.strerror(e.errno) if e.errno else e))
    try:
        system.mount("/proc/self/ns/net", path, MS_BIND)
    except OSError as e:
        try:
            system.unlink(path)
        except OSError:
            pass
        raise ViewError("cannot bind the view to %s: %s"
                        % (path, os.strerror(e.errno) if e.errno else e))


def prepareView(config: ViewConfig, system: Any) -> int:
    """
    Turn the calling process into the view: new namespaces, loopback up,
    the tap made (and configured, and the view named, if asked).

    @param config: the configuration.
    @param system: the L{INamespaceSystem}.
    @return: the tap descriptor (nonblocking, close-on-exec).
    @raise ViewError: when any step fails (the message names the cause).
    """
    name = _ifname(config.ifname)
    userNamespace = config.userNamespace
    if userNamespace is None:
        userNamespace = system.geteuid() != 0
    if userNamespace and config.name is not None:
        raise ViewError("naming a view (--name) needs root: it bind-mounts it in %s"
                        % (NETNS_DIR,))
    uid, gid = system.getuid(), system.getgid()
    try:
        system.unshare(CLONE_NEWNET | (CLONE_NEWUSER if userNamespace else 0))
    except OSError as e:
        raise ViewError(explainUnshare(e, userNamespace, system))
    if userNamespace:
        _mapIdentity(system, uid, gid)
    try:
        ctl = system.controlSocket()
    except OSError as e:
        raise ViewError("cannot open a control socket: %s" % (os.strerror(e.errno),))
    try:
        try:
            _setUp(system, ctl, b"lo")
        except OSError as e:
            raise ViewError("cannot bring the loopback up: %s" % (os.strerror(e.errno),))
        fd = _openTap(system, name, config.ifname)
        try:
            _configure(system, ctl, config, name)
            if config.name is not None:
                _bindName(system, config.name)
        except BaseException:
            system.close(fd)
            raise
    finally:
        system.close(ctl)
    return fd


def joinView(name: str, system: Any) -> None:
    """
    Enter the network namespace of the view named C{name}, as C{ip netns
    exec} does.

    @param name: the view's name.
    @param system: the L{INamespaceSystem}.
    @raise ViewError: when there is no such view or it cannot be entered.
    """
    try:
        path = namePath(name)
    except ValueError as e:
        raise ViewError(str(e))
    try:
        fd = system.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ViewError("no network view named %s (%s does not exist)" % (name, path))
    except OSError as e:
        raise ViewError("cannot open %s: %s" % (path, os.strerror(e.errno)))
    try:
        system.setns(fd, CLONE_NEWNET)
    except OSError as e:
        raise ViewError("cannot enter the view %s: %s" % (name, os.strerror(e.errno)))
    finally:
        system.close(fd)


def removeName(name: str, system: Any) -> None:
    """
    Remove a view's name (the bind mount and its file), as C{ip netns
    delete} does.  Missing pieces are not an error.

    @param name: the name.
    @param system: the L{INamespaceSystem}.
    """
    path = namePath(name)
    try:
        system.umount(path, MNT_DETACH)
    except OSError:
        pass
    try:
        system.unlink(path)
    except OSError:
        pass


def execCommand(argv: List[str], system: Any, err: Any) -> int:
    """
    Become COMMAND; when it cannot be run, say so in one line.

    @param argv: the command and its arguments.
    @param system: the L{INamespaceSystem}.
    @param err: binary standard error.
    @return: only on failure: 127 when the command does not exist, 126
        when it cannot be executed (as shells do).
    """
    try:
        system.execvp(argv[0], argv)
    except OSError as e:
        err.write(("vdetwist ns: %s: %s\n" % (
            argv[0], os.strerror(e.errno) if e.errno else e)).encode("utf-8", "replace"))
        err.flush()
        return 127 if e.errno in (errno.ENOENT, errno.ENOTDIR) else 126
    return 126  # pragma: no cover (execvp does not return)
