# -*- test-case-name: tests.test_interfaces -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Every boundary between vdetwist's layers, as a zope Interface.

Frames are Ethernet frames starting at the destination MAC, with no FCS,
passed as C{bytes}.  IPv4 addresses inside the stack are 4-byte C{bytes}
objects in network order (what slicing a packet gives, cheap to hash and
compare); they become dotted strings only at the Twisted API edge
(C{getHost}, C{getPeer}).

The frame path::

    IFrameTransport.sendFrame ──▶ switch / VDE plug ──▶ IFrameReceiver.frameReceived

A frame source (a VDE plug, a switch port attached in-process, a cable) is
an L{IFrameTransport}; whatever consumes frames (a switch port, a stack's
network interface, a capture) is an L{IFrameReceiver}.
"""

from zope.interface import Attribute, Interface


class IFrameReceiver(Interface):
    """
    Something that consumes Ethernet frames.
    """

    def frameReceived(frame: bytes) -> None:
        """
        One Ethernet frame arrived.

        Implementations must not raise: a bad frame is counted and dropped.

        @param frame: the frame, from the destination MAC on, without FCS.
            It may be shorter than a valid Ethernet header; the receiver
            checks lengths before reading any field.
        """


class IFrameTransport(Interface):
    """
    Something that carries Ethernet frames away: the sending half of an
    attachment to a switch (a VDE datagram plug, an in-process port, a cable).
    """

    def sendFrame(frame: bytes) -> None:
        """
        Send one frame.  Never blocks and never raises for a full or dead
        peer: such a frame is dropped (and counted by the transport).

        @param frame: the frame, from the destination MAC on, without FCS.
        """

    def loseConnection() -> None:
        """
        Detach from the switch.  The receiver's C{connectionLost} (if it
        provides L{IFrameProtocol}) is called once the detachment is done.
        """


class IFrameProtocol(IFrameReceiver):
    """
    An L{IFrameReceiver} that is told when its attachment starts and ends,
    as a Twisted protocol is.
    """

    def makeConnection(transport: IFrameTransport) -> None:
        """
        The attachment is up: frames may now be sent through C{transport}.

        @param transport: where this protocol's frames go.
        """

    def connectionLost(reason: object) -> None:
        """
        The attachment ended (the switch went away or closed the port, or
        the protocol asked for it with C{transport.loseConnection}).

        @param reason: a L{twisted.python.failure.Failure} saying why.
        """


class IIPv4Protocol(Interface):
    """
    A transport-layer protocol handler registered with an IPv4 layer
    (TCP, UDP, ICMP) for one IP protocol number.
    """

    def packetReceived(
        source: bytes, destination: bytes, payload: bytes, datagram: bytes
    ) -> None:
        """
        An IPv4 datagram for this protocol arrived (reassembled if it was
        fragmented, header checksum verified).

        Implementations must not raise: a bad packet is counted and dropped.

        @param source: the sender's address, 4 bytes.
        @param destination: the destination address, 4 bytes (one of ours,
            or a broadcast).
        @param payload: the IP payload (the transport header on).
        @param datagram: the whole IP datagram, header included, for quoting
            in ICMP errors.
        """


class IIPv4Sender(Interface):
    """
    The IPv4 layer as its upper protocols see it.

    The IPv6 layer (L{vdetwist.stack.ipv6.IPv6Layer}) offers the same
    methods and attribute with 16-byte addresses (C{protocol} being the
    next header), so that one TCP or UDP implementation serves both
    families; see L{IIPv6Sender}.
    """

    mtu = Attribute("The link MTU in bytes (1500 on a standard VDE link).")

    def sendPacket(
        protocol: int, source: bytes, destination: bytes, payload: bytes
    ) -> None:
        """
        Send one IPv4 datagram: resolve the next hop (ARP), build the header,
        fragment when needed, and hand the frame to the interface.  Never
        raises for an unreachable destination: such a packet is dropped and
        counted (or queued while ARP resolves).

        @param protocol: the IP protocol number (6 TCP, 17 UDP, 1 ICMP).
        @param source: our address to send from, 4 bytes.
        @param destination: the destination, 4 bytes.
        @param payload: the transport header and data, checksums filled in.
        """

    def sourceFor(destination: bytes) -> bytes:
        """
        Choose our address for talking to C{destination}.

        @param destination: a remote address, 4 bytes.
        @return: the local address, 4 bytes.
        """


class IIPv6Sender(IIPv4Sender):
    """
    The IPv6 layer as its upper protocols see it: L{IIPv4Sender}'s
    methods with 16-byte addresses (C{sendPacket}'s C{protocol} is the
    next header; C{sourceFor} returns C{::} when no address is usable),
    plus the path MTU.
    """

    def pathMTU(destination: bytes) -> int:
        """
        The MTU towards C{destination} (the link's, or less when a packet
        too big said so).

        @param destination: 16 bytes.
        @return: bytes.
        """


class ISwitchPort(Interface):
    """
    One endpoint attached to a switch port, as the switch sees it: where
    the switch sends the frames that leave through that port.
    """

    endpointID = Attribute("The endpoint ID shown by port/print (int).")
    module = Attribute("The module name shown by port/print: 'unix prog', 'tuntap', ...")
    description = Attribute("The client's description (str).")

    def sendFrame(frame: bytes) -> None:
        """
        Deliver one frame to this endpoint.  Never blocks, never raises.

        @param frame: the frame.
        """

    def close() -> None:
        """
        Close the endpoint from the switch's side (port/epclose, shutdown):
        the client is told (its control stream is closed).
        """


class AttachError(Exception):
    """
    A switch refused to give a port (L{IPortProvider.attach}).

    @ivar code: an errno value saying why (ENOSPC: no free port, EADDRINUSE:
        the port asked for is taken, EPERM: not allowed, ...), as
        vde_switch's control protocol and console report it.
    @ivar reason: a human-readable explanation, possibly empty.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        Exception.__init__(self, code, reason)
        self.code = code
        self.reason = reason


class IPortAttachment(IFrameTransport):
    """
    The sending half of a port taken from a switch by call
    (L{IPortProvider.attach}): C{sendFrame} puts a frame into the switch as
    if it had arrived on that port, C{loseConnection} gives the port back.
    """

    portNumber = Attribute("The switch port number taken (int).")
    endpointID = Attribute("The endpoint ID the switch gave it, as port/print shows it (int).")


class IPortProvider(Interface):
    """
    The attach contract: a switch that offers ports by call, to whatever
    runs in the same process (virtual hosts, slirp, cables, namespaces).
    Everything that plugs into a switch uses this, never the switch's own
    classes; a switch in another process is reached over a VDE plug, which
    gives the same L{IFrameTransport}.
    """

    mac = Attribute("The switch's own MAC address, 6 bytes (loop probes, FSTP).")

    def attach(receiver: IFrameReceiver, description: str = "in-process",
               port: int = 0) -> IPortAttachment:
        """
        Take a port.  The switch sends the frames leaving that port to
        C{receiver.frameReceived}; when the receiver provides
        L{IFrameProtocol} its C{makeConnection} is called with the
        attachment before this returns, and C{connectionLost} when the
        switch closes the port (port/epclose, port/remove, shutdown).

        @param receiver: gets the frames leaving the port.
        @param description: what port/print shows for this endpoint.
        @param port: the port wanted, 0 for any free one.
        @return: the attachment.
        @raise AttachError: when no port can be given.
        """
