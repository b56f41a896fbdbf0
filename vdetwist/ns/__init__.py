# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Network views: any unmodified program in its own network namespace, with
one tap interface whose frames a Twisted process relays to and from a
switch (C{vdetwist ns}, the seed's C{umview bash} on today's kernels).

  - L{vdetwist.ns.system}: the OS calls (unshare, setns, mount), replaceable;
  - L{vdetwist.ns.prepare}: the child's steps (namespaces, loopback, tap,
    configuration, names), and joining a named view;
  - L{vdetwist.ns.child}: the child program, C{python -m vdetwist.ns.child};
  - L{vdetwist.ns.relay}: the tap relay, the data path;
  - L{vdetwist.ns.view}: the parent: switch, child, relay, signals, lifetime.

This package stays light to import: the child imports it before it execs COMMAND.
"""
