# -*- test-case-name: tests.ns.test_prepare -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.prepare}: the child's steps on a fake system, and
the one-line errors naming what to change.
"""

import errno
import io
import struct

from twisted.trial.unittest import SynchronousTestCase

from tests.ns.fakes import FakeNamespaceSystem
from vdetwist.ns.prepare import (
    IFF_NO_PI,
    IFF_TAP,
    IFF_UP,
    SIOCSIFFLAGS,
    SIOCSIFHWADDR,
    SIOCSIFMTU,
    TUN_DEVICE,
    TUNSETIFF,
    ViewConfig,
    ViewError,
    checkName,
    execCommand,
    joinView,
    prepareView,
    removeName,
)
from vdetwist.ns.system import CLONE_NEWNET, CLONE_NEWUSER, MNT_DETACH, MS_BIND


def ioctls(system: FakeNamespaceSystem, request: int):
    """
    @return: the arguments of the ioctls C{request} made.
    """
    return [call[3] for call in system.calls if call[0] == "ioctl" and call[2] == request]


class PrepareAsRootTests(SynchronousTestCase):
    """
    As root: a network namespace only, loopback up, the tap, nothing else
    unless asked.
    """

    def test_plain(self) -> None:
        """
        unshare(CLONE_NEWNET), lo up, /dev/net/tun opened and TUNSETIFF
        for a tap without packet information named vd0; no address, no
        route, vd0 left down.
        """
        system = FakeNamespaceSystem()
        fd = prepareView(ViewConfig(), system)
        self.assertEqual(system.calls[0], ("unshare", CLONE_NEWNET))
        self.assertEqual([struct.unpack("16sh22x", a)[0].rstrip(b"\0")
                          for a in ioctls(system, SIOCSIFFLAGS)], [b"lo"])
        self.assertEqual(struct.unpack("16sh22x", ioctls(system, SIOCSIFFLAGS)[0])[1] & IFF_UP,
                         IFF_UP)
        opened = [c for c in system.calls if c[0] == "open"]
        self.assertEqual(opened[0][1], TUN_DEVICE)
        (tunsetiff,) = ioctls(system, TUNSETIFF)
        self.assertEqual(struct.unpack("16sh22x", tunsetiff),
                         (b"vd0" + b"\0" * 13, IFF_TAP | IFF_NO_PI))
        self.assertEqual(system.runs, [])
        self.assertNotIn("writeFile", system.names())
        self.assertEqual(fd, system.nextFD)
        self.assertNotIn(fd, system.closed)
        self.assertIn(5, system.closed)

    def test_configured(self) -> None:
        """
        --mac, --mtu, --ip and --gw: the MAC and MTU by ioctl, vd0 up, the
        address and default route by ip inside.
        """
        system = FakeNamespaceSystem()
        prepareView(ViewConfig(mac="02:00:00:00:00:01", mtu=9000, ip="10.0.0.2/24",
                               gw="10.0.0.1"), system)
        (hw,) = ioctls(system, SIOCSIFHWADDR)
        self.assertEqual(struct.unpack("16sH6s16x", hw)[1:], (1, b"\x02\0\0\0\0\x01"))
        (mtu,) = ioctls(system, SIOCSIFMTU)
        self.assertEqual(struct.unpack("16si20x", mtu)[1], 9000)
        self.assertEqual([struct.unpack("16sh22x", a)[0].rstrip(b"\0")
                          for a in ioctls(system, SIOCSIFFLAGS)], [b"lo", b"vd0"])
        self.assertEqual(system.runs, [
            ["ip", "addr", "add", "10.0.0.2/24", "dev", "vd0"],
            ["ip", "route", "add", "default", "via", "10.0.0.1", "dev", "vd0"]])

    def test_configuredIPv6(self) -> None:
        """
        --ip6 and --gw6: vd0 up, the address without duplicate address
        detection and the IPv6 default route by ip inside.
        """
        system = FakeNamespaceSystem()
        prepareView(ViewConfig(ip6="fd00::2/64", gw6="fd00::1"), system)
        self.assertEqual([struct.unpack("16sh22x", a)[0].rstrip(b"\0")
                          for a in ioctls(system, SIOCSIFFLAGS)], [b"lo", b"vd0"])
        self.assertEqual(system.runs, [
            ["ip", "-6", "addr", "add", "fd00::2/64", "dev", "vd0", "nodad"],
            ["ip", "-6", "route", "add", "default", "via", "fd00::1", "dev", "vd0"]])

    def test_dhcpUp(self) -> None:
        """
        --dhcp: vd0 is brought up for the client; nothing is run yet (the
        client runs once the tap is handed over).
        """
        system = FakeNamespaceSystem()
        prepareView(ViewConfig(dhcp=True), system)
        self.assertEqual([struct.unpack("16sh22x", a)[0].rstrip(b"\0")
                          for a in ioctls(system, SIOCSIFFLAGS)], [b"lo", b"vd0"])
        self.assertEqual(system.runs, [])

    def test_ipFails(self) -> None:
        """
        A failing ip command: its output in the error; the tap is closed.
        """
        system = FakeNamespaceSystem()
        system.runStatus = (2, "Error: any valid prefix is expected")
        e = self.assertRaises(ViewError, prepareView, ViewConfig(ip="10.0.0.2/24"), system)
        self.assertEqual(str(e), "ip addr add 10.0.0.2/24 dev vd0 failed: "
                                 "Error: any valid prefix is expected")
        self.assertIn(system.nextFD, system.closed)

    def test_name(self) -> None:
        """
        --name: /run/netns/NAME created and our namespace bind-mounted on it.
        """
        system = FakeNamespaceSystem()
        prepareView(ViewConfig(name="v1"), system)
        self.assertIn(("createFile", "/run/netns/v1"), system.calls)
        self.assertIn(("mount", "/proc/self/ns/net", "/run/netns/v1", MS_BIND), system.calls)

    def test_nameTaken(self) -> None:
        """
        An existing name is an error, and nothing of it is removed.
        """
        system = FakeNamespaceSystem()
        system.failures["createFile"] = errno.EEXIST
        e = self.assertRaises(ViewError, prepareView, ViewConfig(name="v1"), system)
        self.assertEqual(str(e), "a network view named v1 already exists (/run/netns/v1)")
        self.assertNotIn("unlink", system.names())

    def test_mountFails(self) -> None:
        """
        A failed bind mount removes the file it made.
        """
        system = FakeNamespaceSystem()
        system.failures["mount"] = errno.EPERM
        self.assertRaises(ViewError, prepareView, ViewConfig(name="v1"), system)
        self.assertIn(("unlink", "/run/netns/v1"), system.calls)

    def test_unshareRefused(self) -> None:
        """
        unshare refused to root: the message says what it needs.
        """
        system = FakeNamespaceSystem()
        system.failures["unshare"] = errno.EPERM
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertEqual(str(e), "cannot create a network namespace: Operation not "
                                 "permitted (this needs root or CAP_SYS_ADMIN)")

    def test_badInterfaceName(self) -> None:
        """
        An interface name that cannot be one is refused before anything.
        """
        system = FakeNamespaceSystem()
        self.assertRaises(ViewError, prepareView, ViewConfig(ifname="a" * 16), system)
        self.assertRaises(ViewError, prepareView, ViewConfig(ifname="a/b"), system)
        self.assertEqual(system.calls, [])


class PrepareUnprivilegedTests(SynchronousTestCase):
    """
    Not root: a user namespace too, with the user mapped to root inside;
    clear errors when the system forbids it.
    """

    def test_userNamespace(self) -> None:
        """
        unshare(CLONE_NEWUSER | CLONE_NEWNET), then setgroups denied and the
        uid and gid mapped.
        """
        system = FakeNamespaceSystem(euid=1000, gid=1001)
        prepareView(ViewConfig(), system)
        self.assertEqual(system.calls[0], ("unshare", CLONE_NEWNET | CLONE_NEWUSER))
        self.assertEqual(system.written, {"/proc/self/setgroups": "deny",
                                          "/proc/self/uid_map": "0 1000 1\n",
                                          "/proc/self/gid_map": "0 1001 1\n"})

    def test_sysctlNamed(self) -> None:
        """
        Debian's kernel.unprivileged_userns_clone = 0 is named, with the fix.
        """
        system = FakeNamespaceSystem(euid=1000)
        system.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
        system.failures["unshare"] = errno.EPERM
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertEqual(str(e), (
            "cannot create a user namespace: unprivileged user namespaces are disabled by "
            "the sysctl kernel.unprivileged_userns_clone = 0 (set "
            "kernel.unprivileged_userns_clone=1, or run as root)"))

    def test_maxUserNamespaces(self) -> None:
        """
        user.max_user_namespaces = 0 is named.
        """
        system = FakeNamespaceSystem(euid=1000)
        system.files["/proc/sys/kernel/unprivileged_userns_clone"] = "1\n"
        system.files["/proc/sys/user/max_user_namespaces"] = "0\n"
        system.failures["unshare"] = errno.ENOSPC
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertIn("the sysctl user.max_user_namespaces = 0", str(e))

    def test_apparmor(self) -> None:
        """
        Ubuntu's AppArmor restriction is named.
        """
        system = FakeNamespaceSystem(euid=1000)
        system.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1"
        system.failures["unshare"] = errno.EACCES
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertIn("kernel.apparmor_restrict_unprivileged_userns = 1", str(e))

    def test_unknownRefusal(self) -> None:
        """
        With no sysctl to blame, the message names the ones to check.
        """
        system = FakeNamespaceSystem(euid=1000)
        system.failures["unshare"] = errno.EPERM
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertIn("kernel.unprivileged_userns_clone and user.max_user_namespaces", str(e))

    def test_tunPermission(self) -> None:
        """
        /dev/net/tun not accessible: the device and its permission named.
        """
        system = FakeNamespaceSystem(euid=1000)
        system.failures["open"] = errno.EACCES
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertEqual(str(e), "cannot open /dev/net/tun: Permission denied (the device "
                                 "must be readable and writable by this user: chmod 0666 "
                                 "/dev/net/tun)")

    def test_tunMissing(self) -> None:
        """
        No /dev/net/tun: the module named.
        """
        system = FakeNamespaceSystem()
        system.failures["open"] = errno.ENOENT
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertIn("modprobe tun", str(e))

    def test_tunsetiffRefused(self) -> None:
        """
        TUNSETIFF refused: the interface named; the descriptor closed.
        """
        system = FakeNamespaceSystem()
        original = system.ioctl

        def ioctl(fd, request, arg):
            if request == TUNSETIFF:
                raise OSError(errno.EPERM, "Operation not permitted")
            return original(fd, request, arg)
        system.ioctl = ioctl
        e = self.assertRaises(ViewError, prepareView, ViewConfig(), system)
        self.assertEqual(str(e), "cannot create the tap interface vd0: Operation not permitted")
        self.assertIn(system.nextFD, system.closed)

    def test_nameNeedsRoot(self) -> None:
        """
        --name without root: refused before anything is made.
        """
        system = FakeNamespaceSystem(euid=1000)
        e = self.assertRaises(ViewError, prepareView, ViewConfig(name="v"), system)
        self.assertIn("needs root", str(e))
        self.assertEqual(system.calls, [])


class JoinAndNameTests(SynchronousTestCase):
    """
    L{joinView}, L{removeName}, L{checkName}.
    """

    def test_join(self) -> None:
        """
        The view's file is opened and setns'd into, then closed.
        """
        system = FakeNamespaceSystem()
        joinView("v1", system)
        self.assertEqual(system.calls[0][:2], ("open", "/run/netns/v1"))
        self.assertEqual(system.calls[1], ("setns", system.nextFD, CLONE_NEWNET))
        self.assertEqual(system.closed, [system.nextFD])

    def test_joinMissing(self) -> None:
        """
        No such view: one line naming it.
        """
        system = FakeNamespaceSystem()
        system.failures["open"] = errno.ENOENT
        e = self.assertRaises(ViewError, joinView, "v1", system)
        self.assertEqual(str(e), "no network view named v1 (/run/netns/v1 does not exist)")

    def test_remove(self) -> None:
        """
        Unmount (detached), then unlink; errors ignored.
        """
        system = FakeNamespaceSystem()
        system.failures["umount"] = errno.EINVAL
        removeName("v1", system)
        self.assertEqual(system.calls, [("umount", "/run/netns/v1", MNT_DETACH),
                                        ("unlink", "/run/netns/v1")])

    def test_checkName(self) -> None:
        """
        Names with a slash, empty, . and .. are refused.
        """
        for bad in ["", ".", "..", "a/b"]:
            self.assertRaises(ValueError, checkName, bad)
        self.assertEqual(checkName("v-1"), "v-1")

    def test_configRoundTrip(self) -> None:
        """
        The configuration survives the child's command line.
        """
        config = ViewConfig(ifname="eth0", mac="02:00:00:00:00:01", ip="10.0.0.2/24",
                            gw="10.0.0.1", mtu=9000, name="v", userNamespace=False,
                            ip6="fd00::2/64", gw6="fd00::1", dhcp=True)
        self.assertEqual(ViewConfig.fromJSON(config.toJSON()), config)


class ExecCommandTests(SynchronousTestCase):
    """
    L{execCommand}: 127 and one line for a missing command, 126 for one
    that cannot be run.
    """

    def test_missing(self) -> None:
        """
        ENOENT: 127 and C{vdetwist ns: CMD: No such file or directory}.
        """
        system = FakeNamespaceSystem()
        system.failures["execvp"] = errno.ENOENT
        err = io.BytesIO()
        self.assertEqual(execCommand(["nosuch", "x"], system, err), 127)
        self.assertEqual(err.getvalue(), b"vdetwist ns: nosuch: No such file or directory\n")

    def test_notExecutable(self) -> None:
        """
        EACCES: 126.
        """
        system = FakeNamespaceSystem()
        system.failures["execvp"] = errno.EACCES
        self.assertEqual(execCommand(["/etc/passwd"], system, io.BytesIO()), 126)
