# -*- test-case-name: tests.observe.test_web -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.observe.web}: the page, its event stream, its actions
and what it refuses, over real sockets against C{twistd vdetutorial --web}
and in process with twisted.web's test helpers.
"""

import json
import os
import socket
import time

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from tests.observe.tutorial import Tutorial, freePort, httpGet
from vdetwist.observe.components import Components
from vdetwist.observe.web import MAX_EVENT_CLIENTS, WebView, _Root

TOKEN = b"s3cret-token-for-tests"


def rawRequest(port: int, data: bytes, timeout: float = 10) -> bytes:
    """
    Send raw bytes to the server and read its answer until it closes or
    pauses.
    """
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                # The server closed with our unread bytes pending (a refused
                # request): what it answered first was read already.
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                s.settimeout(0.5)
        return b"".join(chunks)
    finally:
        s.close()


class InProcessTests(SynchronousTestCase):
    """
    The resource with twisted.web's L{DummyRequest}.
    """

    def setUp(self) -> None:
        from vdetwist.switch.switch import Switch
        self.switch = Switch(numports=4)
        self.view = WebView(Clock(), Components(switch=self.switch, hosts=lambda: []),
                            token=TOKEN)
        self.root = _Root(self.view)

    def render(self, path: bytes, method: bytes = b"GET", headers=None, body: bytes = b""):
        request = DummyRequest([])
        request.path = path
        request.uri = path
        request.method = method
        for name, value in (headers or {}).items():
            request.requestHeaders.setRawHeaders(name, [value])
        import io
        request.content = io.BytesIO(body)
        result = self.root.render(request)
        return request.responseCode or 200, result

    def test_unknownPath(self) -> None:
        """
        Unknown paths and static names not listed are 404.
        """
        self.assertEqual(self.render(b"/nope")[0], 404)
        self.assertEqual(self.render(b"/static/../web.py")[0], 404)
        self.assertEqual(self.render(b"/static/index.htm")[0], 404)

    def test_page(self) -> None:
        """
        The page and its assets are served from the package.
        """
        code, body = self.render(b"/")
        self.assertEqual(code, 200)
        self.assertIn(b"/static/view.js", body)
        self.assertEqual(self.render(b"/static/view.js")[0], 200)

    def test_state(self) -> None:
        """
        /api/state lists the switch's ports.
        """
        self.switch.attach(type("R", (), {"frameReceived": lambda self, f: None})(), "a host")
        code, body = self.render(b"/api/state")
        state = json.loads(body)
        self.assertEqual([(p["number"], p["descr"]) for p in state["ports"]], [(1, "a host")])

    def test_actionTokens(self) -> None:
        """
        Actions without the token or with a wrong one are 403; with it, a
        port is closed.
        """
        self.switch.attach(type("R", (), {"frameReceived": lambda self, f: None})(), "a host")
        body = json.dumps({"action": "closePort", "port": 1}).encode()
        self.assertEqual(self.render(b"/api/action", b"POST", body=body)[0], 403)
        self.assertEqual(self.render(b"/api/action", b"POST", {b"X-VDE-Token": b"wrong"},
                                     body)[0], 403)
        self.assertTrue(self.switch.ports[1].endpoints)
        code, _ = self.render(b"/api/action", b"POST", {b"X-VDE-Token": TOKEN}, body)
        self.assertEqual(code, 200)
        self.assertFalse(self.switch.ports[1].endpoints)

    def test_badAction(self) -> None:
        """
        A bad action with the token is 400 with a reason.
        """
        code, body = self.render(b"/api/action", b"POST", {b"X-VDE-Token": TOKEN},
                                 b'{"action": "explode"}')
        self.assertEqual(code, 400)
        self.assertIn("unknown action", json.loads(body)["error"])
        code, body = self.render(b"/api/action", b"POST", {b"X-VDE-Token": TOKEN}, b"{")
        self.assertEqual(code, 400)

    def test_readOnly(self) -> None:
        """
        Without a token configured, every action is 403.
        """
        self.view.token = None
        self.assertEqual(self.render(b"/api/action", b"POST", {b"X-VDE-Token": b""},
                                     b'{"action": "closePort", "port": 1}')[0], 403)

    def test_noSnapshotsWithoutClients(self) -> None:
        """
        With no event-stream client, no snapshot is computed however time
        passes.
        """
        clock = Clock()
        view = WebView(clock, Components(switch=self.switch, hosts=lambda: []))
        view.startService()
        clock.advance(10)
        self.assertEqual(view.snapshots, 0)


class RealSocketTests(SynchronousTestCase):
    """
    C{twistd vdetutorial --web --web-token}, spoken to over TCP.
    """

    def setUp(self) -> None:
        self.port = freePort()
        directory = os.path.join("/tmp", "vt-web-%d" % (os.getpid(),))
        os.makedirs(directory, exist_ok=True)
        self.tokenFile = os.path.join(directory, "token")
        with open(self.tokenFile, "wb") as f:
            f.write(TOKEN + b"\n")
        self.addCleanup(os.remove, self.tokenFile)
        self.tutorial = Tutorial(self, ["--web", "tcp:%d:interface=127.0.0.1" % (self.port,),
                                        "--web-token", self.tokenFile])
        self.url = "http://127.0.0.1:%d" % (self.port,)

    def sendThroughForward(self, hostPort: int, text: bytes, address: str) -> None:
        """
        nc-like: connect to a forward, send a line, and wait until the
        virtual host printed it.
        """
        s = socket.create_connection(("127.0.0.1", hostPort), timeout=20)
        s.sendall(text + b"\n")
        s.shutdown(socket.SHUT_WR)
        self.addCleanup(s.close)
        want = "[%s] %s" % (address, text.decode())
        deadline = time.monotonic() + 20
        while not any(want in line for line in self.tutorial.output):
            self.assertLess(time.monotonic(), deadline, self.tutorial.output[-20:])
            time.sleep(0.05)

    def test_refusals(self) -> None:
        """
        Malformed HTTP is 400, unknown paths 404, oversize bodies 413,
        actions without or with a wrong token 403.
        """
        self.assertIn(b" 400 ", rawRequest(self.port, b"GARBAGE\r\n\r\n").split(b"\r\n")[0])
        self.assertIn(b" 400 ", rawRequest(
            self.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
        ).split(b"\r\n")[0])
        self.assertEqual(httpGet(self.url + "/nope")[0], 404)
        answer = rawRequest(self.port, b"POST /api/action HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 10000000\r\n\r\n" + b"x" * 100000)
        self.assertIn(b" 413 ", answer.split(b"\r\n")[0])
        action = json.dumps({"action": "closePort", "port": 2}).encode()
        self.assertEqual(httpGet(self.url + "/api/action", method="POST", data=action)[0], 403)
        self.assertEqual(httpGet(self.url + "/api/action", method="POST", data=action,
                                 headers={"X-VDE-Token": "wrong-token-123"})[0], 403)
        self.assertIn("refused an action from 127.0.0.1", self.tutorial.logText())
        state = json.loads(httpGet(self.url + "/api/state")[1])
        self.assertTrue([p for p in state["ports"] if p["number"] == 2][0]["active"])

    def test_addForward(self) -> None:
        """
        With the token, a new forward is added, carries traffic to its
        guest, and the action is logged with who asked.
        """
        newPort = freePort()
        action = json.dumps({"action": "addForward", "protocol": "tcp",
                             "spec": "%d:192.168.77.101:10000" % (newPort,)}).encode()
        code, body = httpGet(self.url + "/api/action", method="POST", data=action,
                             headers={"X-VDE-Token": TOKEN.decode(),
                                      "Content-Type": "application/json"})
        self.assertEqual((code, json.loads(body)), (200, {"ok": True, "hostPort": newPort}))
        self.sendThroughForward(newPort, b"through the new forward", "192.168.77.101")
        self.assertIn("added the tcp forward", self.tutorial.logText())
        self.assertIn("127.0.0.1", self.tutorial.logText())

    def test_manyIdleEventClients(self) -> None:
        """
        200 idle event-stream clients: the first MAX_EVENT_CLIENTS get the
        stream, the rest 503; forwarding still works while they hang on.
        """
        sockets = []
        self.addCleanup(lambda: [s.close() for s in sockets])
        for i in range(200):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(s)
        codes = []
        for s in sockets:
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                self.assertTrue(chunk, data)
                data += chunk
            codes.append(data.split(b" ")[1])
        self.assertEqual((codes.count(b"200"), codes.count(b"503")),
                         (MAX_EVENT_CLIENTS, 200 - MAX_EVENT_CLIENTS))
        self.sendThroughForward(self.tutorial.base, b"still forwarding", "192.168.77.100")
