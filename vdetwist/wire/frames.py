# -*- test-case-name: tests.wire.test_frames -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
What every codec and every frame carrier shares: the frame-size limits of
VDE, and L{MalformedPacket}, the error every checked parse raises.

    from vdetwist.wire.frames import MAX_FRAME, MIN_FRAME, MalformedPacket
"""

__all__ = ["MalformedPacket", "MIN_FRAME", "MAX_FRAME"]

#: The shortest frame carried: an Ethernet header (destination, source,
#: EtherType), without FCS.
MIN_FRAME = 14
#: The longest frame carried: vdeplug4's C{VDE_ETHBUFSIZE} (9216 bytes of
#: payload, the 14-byte header and a 4-byte 802.1Q tag).  Longer frames are
#: counted and dropped by the switch and the plug.
MAX_FRAME = 9234


class MalformedPacket(ValueError):
    """
    Bytes that do not make a valid frame or packet of the expected kind;
    the message says what is wrong, fit for a log line.  Every codec in
    L{vdetwist.wire} raises this (or a subclass) from its checked paths.
    """
