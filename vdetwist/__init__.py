# -*- test-case-name: tests -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist: Virtual Distributed Ethernet rebuilt on Twisted.

Layers, from the bottom: L{vdetwist.wire} (pure codecs), L{vdetwist.vde}
(VDE's control, datagram and stream protocols), L{vdetwist.switch} (the
switch and its console), L{vdetwist.stack} (user-space TCP/IP hosts whose
sockets are Twisted transports) and L{vdetwist.slirp} (the NAT gateway).
"""

__version__ = "0.1.0.dev0"
