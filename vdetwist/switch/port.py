# -*- test-case-name: tests.switch.test_port -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Switch ports and VLANs: the state C{port/print} and C{vlan/print} show.

A port exists once created (by a client asking for it, C{port/create} or
C{port/createauto}) and is I{active} while it has at least one endpoint.
Its struct, counters and VLAN membership outlive its endpoints, as in
vde_switch.
"""

from typing import Any, Container, List, Optional, Set

#: The VLAN id meaning "no untagged traffic on this port".
NOVLAN = 4095
#: User or group id meaning "no access control" (printed as NONE).
NOBODY = -1


class Port:
    """
    One switch port.

    @ivar number: the port number.
    @ivar endpoints: the attached endpoints (L{ISwitchPort} providers),
        newest first, as C{port/print} lists them.
    @ivar untagged: the untagged VLAN, or L{NOVLAN}.
    @ivar tagged: the VLANs this port carries tagged.
    @ivar allocatable: whether automatic allocation may pick this port.
    @ivar user: the access-control user id, or L{NOBODY}.
    @ivar group: the access-control group id, or L{NOBODY}.
    @ivar currentUser: the uid of the endpoints now attached, or L{NOBODY}.
    @ivar inPackets: frames received from the port.
    @ivar inBytes: bytes received from the port.
    @ivar outPackets: frames sent to the port (once per frame, whatever the
        number of endpoints).
    @ivar outBytes: bytes sent to the port.
    @ivar capture: a callable given every frame in and out of the port
        (a L{vdetwist.switch.capture.PortCapture}), or L{None}.
    """

    def __init__(self, number: int, allocatable: bool = True) -> None:
        """
        @param number: the port number.
        @param allocatable: whether automatic allocation may pick it.
        """
        self.number = number
        self.endpoints: List[Any] = []
        self.untagged = 0
        self.tagged: Set[int] = set()
        self.allocatable = allocatable
        self.user = NOBODY
        self.group = NOBODY
        self.currentUser = NOBODY
        self.inPackets = 0
        self.inBytes = 0
        self.outPackets = 0
        self.outBytes = 0
        self.capture: Optional[Any] = None
        self.send = self._sendNowhere

    def __repr__(self) -> str:
        return "<Port %d %s endpoints=%d vlan=%d>" % (
            self.number, "ACTIVE" if self.endpoints else "INACTIVE",
            len(self.endpoints), self.untagged)

    @property
    def active(self) -> bool:
        """
        Whether the port has an endpoint.
        """
        return bool(self.endpoints)

    def resetCounters(self) -> None:
        """
        Zero the IN and OUT counters.
        """
        self.inPackets = self.inBytes = self.outPackets = self.outBytes = 0

    def memberOf(self, vlan: int) -> bool:
        """
        Whether the port carries C{vlan}, tagged or untagged.

        @param vlan: the VLAN id.
        @return: the answer.
        """
        return vlan == self.untagged or vlan in self.tagged

    def _sendNowhere(self, frame: bytes) -> None:
        """
        The send function of a port with no endpoint.

        @param frame: dropped.
        """

    def _sendMany(self, frame: bytes) -> None:
        """
        The send function of a port with several endpoints: each gets it.

        @param frame: the frame.
        """
        for endpoint in self.endpoints:
            endpoint.sendFrame(frame)

    def rebind(self) -> None:
        """
        Recompute L{send} after the endpoints changed, so the forwarding path
        makes a single call per frame.
        """
        if not self.endpoints:
            self.send = self._sendNowhere
        elif len(self.endpoints) == 1:
            self.send = self.endpoints[0].sendFrame
        else:
            self.send = self._sendMany
        if self.capture is not None:
            from vdetwist.switch.capture import wrapSend
            self.send = wrapSend(self.send, self.capture)


class VLAN:
    """
    One 802.1Q VLAN and the active ports that carry it, split by how they
    want its frames (with or without a tag), kept ready for flooding.

    @ivar vid: the VLAN id.
    @ivar untaggedActive: active ports with this as their untagged VLAN.
    @ivar taggedActive: active ports carrying it tagged.
    @ivar tag: the 4 bytes inserted for tagged egress (PCP and DEI 0).
    """

    def __init__(self, vid: int) -> None:
        """
        @param vid: the VLAN id.
        """
        self.vid = vid
        self.untaggedActive: List[Port] = []
        self.taggedActive: List[Port] = []
        self.tag = b"\x81\x00" + vid.to_bytes(2, "big")

    def refresh(self, ports: List[Optional[Port]], blocked: Container[int] = ()) -> None:
        """
        Recompute the active member lists from the port table.

        @param ports: the switch's port table.
        @param blocked: numbers of ports left out because they are
            discarding in this VLAN (FSTP).
        """
        self.untaggedActive = [p for p in ports if p is not None and p.endpoints
                               and p.untagged == self.vid and p.number not in blocked]
        self.taggedActive = [p for p in ports if p is not None and p.endpoints
                             and self.vid in p.tagged and p.number not in blocked]
