# -*- test-case-name: tests.console.test_session -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console fixture: a switch's console (L{SwitchConsoleFactory}) with a
session on a L{StringTransport}.  The generic console tests run under the
switch's table because vde_switch r586's texts are their oracle (the
expected bytes are r586's, captured from the Debian binary, not derived
from the code under test).
"""

from typing import List, Optional, Tuple

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from vdetwist.console.session import ConsoleProtocol
from vdetwist.interfaces import ISwitchPort
from vdetwist.switch.console import SwitchConsoleFactory
from vdetwist.switch.switch import Switch

MAC = bytes.fromhex("00ff0f60c92e")
PROMPT = b"\nvde$ "
BANNER = (b"VDE switch V.2.3.2\n"
          b"(C) Virtual Square Team (coord. R. Davoli) 2005,2006,2007 - GPLv2\n")
SUCCESS = b"1000 Success\n" + PROMPT


def data(*lines: bytes, result: bytes = b"1000 Success") -> bytes:
    """
    A C{WITHFILE} reply: the data block, the result, the prompt.

    @param lines: the data lines, without newlines.
    @param result: the result line.
    @return: the bytes.
    """
    return (b"0000 DATA END WITH '.'\n" + b"".join(line + b"\n" for line in lines)
            + b".\n" + result + b"\n" + PROMPT)


def result(line: bytes) -> bytes:
    """
    A reply with only a result line.

    @param line: e.g. C{b"1022 Invalid argument"}.
    @return: the bytes, prompt included.
    """
    return line + b"\n" + PROMPT


@implementer(ISwitchPort)
class FakeEndpoint:
    """
    A switch endpoint that records frames and can be closed.
    """

    module = "unix prog"

    def __init__(self, switch: Switch, endpointID: int, description: Optional[str]) -> None:
        """
        @param switch: the switch it will be attached to.
        @param endpointID: what C{port/print} shows as its ID.
        @param description: its description, or L{None}.
        """
        self.switch = switch
        self.endpointID = endpointID
        self.description = description
        self.port = None
        self.frames: List[bytes] = []
        self.closed = False

    def sendFrame(self, frame: bytes) -> None:
        """
        Record a frame.
        """
        self.frames.append(frame)

    def close(self) -> None:
        """
        Leave the switch, once.
        """
        if not self.closed:
            self.closed = True
            self.switch.removeEndpoint(self)


class FakeControlServer:
    """
    What C{ds/showinfo} reads from the control server.
    """

    def __init__(self, directory: str, mode: int) -> None:
        """
        @param directory: C{ctl dir}.
        @param mode: C{std mode}.
        """
        self.directory = directory
        self.mode = mode


def plug(switch: Switch, endpointID: int, description: Optional[str] = "client",
         port: int = 0, port0: bool = False, uid: int = 0) -> FakeEndpoint:
    """
    Attach a fake endpoint as the control server would.

    @return: the endpoint.
    """
    chosen = switch.choosePort(port, port0, uid)
    endpoint = FakeEndpoint(switch, endpointID, description)
    switch.addEndpoint(chosen, endpoint, uid)
    return endpoint


def frame(dst: bytes, src: bytes) -> bytes:
    """
    A 60-byte untagged frame.
    """
    return dst + src + b"\x88\xb5" + b"0" * 46


class ConsoleTestCase(SynchronousTestCase):
    """
    A switch with a console session on a L{StringTransport}.
    """

    def setUp(self) -> None:
        """
        A switch with MAC 00:ff:0f:60:c9:2e, pid 11564 and a session.
        """
        self.clock = Clock()
        self.switch = Switch(mac=MAC)
        self.shutdowns: List[bool] = []
        self.factory = SwitchConsoleFactory(
            self.switch, controlServer=FakeControlServer("/tmp/vde-demo/sw2", 0o600),
            mgmtPath="/tmp/vde-demo/sw2.mgmt", mgmtMode=0o600, pid=11564,
            shutdown=lambda: self.shutdowns.append(True), reactor=self.clock)
        self.session, self.transport = self.connect()

    def connect(self, factory: Optional[SwitchConsoleFactory] = None
                ) -> Tuple[ConsoleProtocol, StringTransport]:
        """
        Open a session, with its greeting already read.
        """
        session = (factory or self.factory).buildProtocol(None)
        transport = StringTransport()
        session.makeConnection(transport)
        transport.clear()
        return session, transport

    def command(self, line: bytes, session: Optional[ConsoleProtocol] = None,
                transport: Optional[StringTransport] = None) -> bytes:
        """
        Send one line and return everything written in reply.
        """
        session = session or self.session
        transport = transport or self.transport
        transport.clear()
        session.dataReceived(line + b"\n")
        return transport.value()
