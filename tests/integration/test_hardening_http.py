"""The inbound HTTP server's defences, against the real binary:
every byte a request can make the relay hold is bounded before routing; Transfer-Encoding that
could smuggle a second request is refused; slow clients are cut by a minimum receive rate;
bodies on routes that take none are refused unread; idle and unauthenticated connections make
room for authenticated ones near the caps; the admin listener answers when the main one is
full; a full temp_dir gets 503 with Retry-After. The sustained attacks are in test_overload."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Relay, hub_headers, wait_until

AUTH_LINE = ("Authorization: %s\r\n" % hub_headers()["Authorization"]).encode()


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def read_all(s, timeout=10):
    """Everything the server sends until it closes (or the timeout)."""
    s.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not c:
            return out, True
        out += c
    return out, False


def status_lines(reply):
    return [line for line in reply.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def flood(s, head, line, total, tail=b""):
    """Sends head, then `line` repeated up to `total` bytes, then tail; stops when refused."""
    def run():
        try:
            s.sendall(head)
            block = line * max(1, 65536 // len(line))
            sent = 0
            while sent < total:
                s.sendall(block)
                sent += len(block)
            s.sendall(tail)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


class BoundedRequestBytes(unittest.TestCase):
    """Point 3: trailers and chunk extensions count against the header limit."""

    @classmethod
    def setUpClass(cls):
        cls.relay = Relay({"server": {"limits": {"max_header_bytes": 4096}}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.__exit__(None, None, None)

    def attack(self, head, tail=b"\r\n"):
        pid = self.relay.proc.pid
        before = vm_hwm_kb(pid)
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=30)
        sender = flood(s, head, b"X-Trailer-Filler: " + b"a" * 100 + b"\r\n", 64 * 1024 * 1024, tail)
        reply, closed = read_all(s, timeout=30)
        sender.join(timeout=30)
        s.close()
        grown_mb = (vm_hwm_kb(pid) - before) / 1024.0
        return reply, closed, grown_mb

    def test_trailer_flood_on_a_bodyless_route(self):
        reply, closed, grown_mb = self.attack(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
        self.assertRegex(reply[:12], rb"^HTTP/1\.1 4\d\d", reply[:200])
        self.assertEqual(len(status_lines(reply)), 1, reply[:400])
        self.assertTrue(closed, "the connection must be closed")
        self.assertLess(grown_mb, 16, "the relay's peak memory grew by %.1f MB" % grown_mb)

    def test_trailer_flood_on_a_body_route(self):
        reply, closed, grown_mb = self.attack(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + AUTH_LINE
            + b"\r\n2\r\n{}\r\n0\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:200])
        self.assertIn(b"Connection: close", reply)
        self.assertTrue(closed, "the connection must be closed")
        self.assertLess(grown_mb, 16, "the relay's peak memory grew by %.1f MB" % grown_mb)

    def test_long_chunk_extension_line(self):
        reply, closed, grown_mb = self.attack(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + AUTH_LINE
            + b"\r\n2;ext=", tail=b"\r\n{}\r\n0\r\n\r\n")
        self.assertRegex(reply[:12], rb"^HTTP/1\.1 4\d\d", reply[:200])
        self.assertTrue(closed)
        self.assertLess(grown_mb, 16, "the relay's peak memory grew by %.1f MB" % grown_mb)

    def test_chunk_extensions_add_up_against_the_header_limit(self):
        chunks = b"".join(b"1;e=" + b"x" * 500 + b"\r\n " + b"\r\n" for _ in range(20))
        reply = self.relay.raw(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + AUTH_LINE
                               + b"\r\n1\r\n{\r\n" + chunks + b"1\r\n}\r\n0\r\n\r\n", timeout=10)
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:200])

    def test_trailers_add_up_against_the_header_limit(self):
        trailers = b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 300) for i in range(13))  # ~4 KB, the header ~220 B
        reply = self.relay.raw(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + AUTH_LINE
                               + b"\r\n2\r\n{}\r\n0\r\n" + trailers + b"\r\n", timeout=10)
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:200])

    def test_small_chunked_request_with_a_trailer_is_served(self):
        reply = self.relay.raw(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + AUTH_LINE
                               + b"Connection: close\r\n\r\n1;a=b\r\n{\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n", timeout=10)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
        self.assertIn(b'"integrations"', reply)


class Smuggling(unittest.TestCase):
    """Point 5: only a final `chunked` coding frames a body; anything else is 400 and closed."""

    SMUGGLED = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"

    @classmethod
    def setUpClass(cls):
        cls.relay = Relay().start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.__exit__(None, None, None)

    def send(self, framing, version=b"HTTP/1.1"):
        body = self.SMUGGLED
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        s.sendall(b"POST / " + version + b"\r\nHost: x\r\n" + AUTH_LINE + framing + b"\r\n" + body)
        reply, closed = read_all(s, timeout=10)
        s.close()
        return reply, closed

    def assert_refused(self, framing, status=400, version=b"HTTP/1.1"):
        reply, closed = self.send(framing, version)
        self.assertTrue(reply.startswith(b"HTTP/1.1 %d " % status), (framing, reply[:200]))
        self.assertEqual(len(status_lines(reply)), 1, (framing, reply))  # the smuggled GET never answered
        self.assertNotIn(b'"service":"looker-segment-relay"', reply)
        self.assertIn(b"Connection: close", reply)
        self.assertTrue(closed, framing)

    def test_xchunked(self):
        self.assert_refused(b"Transfer-Encoding: xchunked\r\n")

    def test_identity(self):
        self.assert_refused(b"Transfer-Encoding: identity\r\n")

    def test_chunked_then_identity(self):
        self.assert_refused(b"Transfer-Encoding: chunked, identity\r\n")

    def test_chunked_then_identity_in_two_fields(self):
        self.assert_refused(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n")

    def test_chunked_twice(self):
        self.assert_refused(b"Transfer-Encoding: chunked, chunked\r\n")

    def test_transfer_encoding_with_content_length(self):
        n = b"%d" % len(self.SMUGGLED)
        self.assert_refused(b"Transfer-Encoding: identity\r\nContent-Length: " + n + b"\r\n")
        self.assert_refused(b"Content-Length: " + n + b"\r\nTransfer-Encoding: chunked\r\n")
        self.assert_refused(b"Transfer-Encoding: chunked\r\nContent-Length: " + n + b"\r\n")

    def test_transfer_encoding_on_http10(self):
        self.assert_refused(b"Transfer-Encoding: chunked\r\n", version=b"HTTP/1.0")

    def test_unsupported_coding_before_chunked_is_501(self):
        self.assert_refused(b"Transfer-Encoding: gzip, chunked\r\n", status=501)


class SlowClientsAndBodies(unittest.TestCase):
    """Point 4 (b): a minimum receive rate; routes that take no body refuse one unread."""

    @classmethod
    def setUpClass(cls):
        cls.relay = Relay({"server": {"limits": {
            "min_receive_bytes_per_s": 1000, "receive_window_ms": 1000,
            "read_header_timeout_ms": 30000, "read_body_timeout_ms": 600000}}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.__exit__(None, None, None)

    def dribble(self, head, interval=0.3, limit=15):
        """Sends head, then one byte every `interval` s; returns (reply, seconds until it came)."""
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=limit)
        started = time.monotonic()
        s.sendall(head)
        s.settimeout(interval)
        reply = b""
        while time.monotonic() - started < limit:
            try:
                c = s.recv(4096)
                if not c:
                    break
                reply += c
                if b"\r\n\r\n" in reply:
                    break
            except socket.timeout:
                try:
                    s.sendall(b"x")
                except OSError:
                    break
            except ConnectionResetError:
                break
        s.close()
        return reply, time.monotonic() - started

    def test_slow_authenticated_body_is_cut_by_the_rate(self):
        reply, took = self.dribble(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n" + AUTH_LINE
                                   + b"\r\n{")
        self.assertTrue(reply.startswith(b"HTTP/1.1 408 "), reply[:200])
        self.assertLess(took, 10)
        self.assertGreaterEqual(self.relay.metric_value("lsr_http_slow_clients_total",
                                                        {"phase": "body", "cause": "min_rate"}) or 0, 1)

    def test_slow_headers_are_cut_by_the_rate(self):
        reply, took = self.dribble(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        self.assertTrue(reply.startswith(b"HTTP/1.1 408 ") or reply == b"", reply[:200])
        self.assertLess(took, 10)

    def test_body_on_a_get_route_is_refused_unread(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx")
        reply, closed = read_all(s, timeout=5)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:200])
        self.assertTrue(closed)
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n")
        reply, closed = read_all(s, timeout=5)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:200])

    def test_idle_keepalive_is_not_judged_by_the_rate(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        try:
            for _ in range(2):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200 "))
                time.sleep(2.5)  # idle for more than two receive windows, under idle_timeout_ms
        finally:
            s.close()

    def test_get_with_an_empty_body_is_served(self):
        reply = self.relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])


def hold_busy(relay, n):
    """n authenticated requests whose bodies are still coming: never shed."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n" + AUTH_LINE + b"\r\n{")
        socks.append(s)
    return socks


def hold_idle(relay, n):
    """n keep-alive connections that made one request and now wait."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 200"), data
        socks.append(s)
    return socks


def is_closed(s, wait=0.5):
    s.settimeout(wait)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def any_closed(socks):
    return any(is_closed(s, 0.02) for s in socks)


class ConnectionBudgets(unittest.TestCase):
    """Point 4 (a), (c), (d): the admin listener, shedding near the cap, the per-client cap."""

    def test_admin_listener_serves_the_operator_routes_only(self):
        with Relay() as relay:
            self.assertIsNotNone(relay.admin_port)
            self.assertNotEqual(relay.admin_port, relay.port)
            for path in ("/healthz", "/readyz", "/status", "/metrics"):
                status, _, _ = relay.admin_request("GET", path)
                self.assertEqual(status, 200, path)
            status, _, _ = relay.request("POST", "/", body="{}", headers=hub_headers(), port=relay.admin_port)
            self.assertEqual(status, 404)
            listening = relay.wait_log("listening")
            self.assertEqual(listening["admin_port"], relay.admin_port)

    def test_admin_listener_can_be_turned_off(self):
        with Relay({"server": {"admin_listen": ""}}) as relay:
            self.assertIsNone(relay.admin_port)
            self.assertEqual(relay.get_json("/healthz")[0], 200)

    def test_admin_answers_while_the_main_listener_is_full(self):
        with Relay({"server": {"limits": {"max_connections": 4}}}) as relay:
            socks = hold_busy(relay, 4)
            try:
                time.sleep(0.3)
                reply = relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
                self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply[:200])
                for _ in range(5):
                    self.assertEqual(relay.admin_request("GET", "/healthz")[0], 200)
                status, _, body = relay.admin_request("GET", "/metrics")
                self.assertIn(b'lsr_http_refused_connections_total{listener="main",reason="max_connections"}',
                              body)
            finally:
                for s in socks:
                    s.close()

    def test_idle_keepalive_connections_make_room_near_the_cap(self):
        with Relay({"server": {"limits": {"max_connections": 10, "shed_above_percent": 50}}}) as relay:
            idle = hold_idle(relay, 10)
            try:
                status, _, body = relay.request("POST", "/", body="{}", headers=hub_headers(), timeout=5)
                self.assertEqual(status, 200, body)
                self.assertTrue(wait_until(lambda: any_closed(idle), timeout=5),
                                "an idle connection makes room")
                shed = relay.metric_value("lsr_http_shed_connections_total",
                                          {"listener": "main", "reason": "idle_keepalive"})
                self.assertGreaterEqual(shed or 0, 1)
            finally:
                for s in idle:
                    s.close()

    def test_authenticated_requests_are_not_shed(self):
        with Relay({"server": {"limits": {"max_connections": 4, "shed_above_percent": 50}}}) as relay:
            busy = hold_busy(relay, 4)
            try:
                time.sleep(0.2)
                reply = relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
                self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply[:200])
                for s in busy:  # each still completes its request
                    s.sendall(b"}" + b" " * 998)
                    self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200 "))
            finally:
                for s in busy:
                    s.close()

    def test_per_client_cap(self):
        with Relay({"server": {"limits": {"max_connections_per_client": 3}}}) as relay:
            idle = hold_idle(relay, 3)
            try:
                # At its cap, the client's own idle connection makes room.
                self.assertEqual(relay.get_json("/healthz")[0], 200)
                self.assertTrue(wait_until(lambda: any_closed(idle), timeout=5))
            finally:
                for s in idle:
                    s.close()
            wait_until(lambda: relay.metric_value("lsr_http_open_connections", {"listener": "main"}) <= 1,
                       timeout=5)
            busy = hold_busy(relay, 3)
            try:
                time.sleep(0.2)
                reply = relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
                self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply[:200])
                self.assertGreaterEqual(relay.metric_value("lsr_http_refused_connections_total",
                                                           {"reason": "per_client"}) or 0, 1)
            finally:
                for s in busy:
                    s.close()


def can_mount_tmpfs():
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs in a mount namespace"
    if not shutil.which("unshare"):
        return "unshare is not available"
    d = tempfile.mkdtemp(prefix="lsr-unshare-")
    try:
        r = subprocess.run(["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0"', d],
                           capture_output=True, timeout=10)
        return None if r.returncode == 0 else "cannot mount a tmpfs: %s" % r.stderr.decode()[:200]
    finally:
        os.rmdir(d)


class FullTempDir(unittest.TestCase):
    """Point 13: a body that no longer fits in server.temp_dir gets 503 with Retry-After."""

    def test_temp_dir_full_in_the_middle_of_a_body(self):
        reason = can_mount_tmpfs()
        if reason:
            self.skipTest(reason)
        tmp = tempfile.mkdtemp(prefix="lsr-small-tmp-")
        prefix = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"', tmp]
        try:
            with Relay({"server": {"temp_dir": tmp}}, command_prefix=prefix) as relay:
                body = b'{"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}'
                for attempt in range(2):  # and again: the failed body's file is gone
                    s = socket.create_connection(("127.0.0.1", relay.port), timeout=20)
                    sender = flood(s, b"POST /actions/segment_event/execute HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
                                   + AUTH_LINE + b"\r\n", body, len(body))
                    reply, closed = read_all(s, timeout=20)
                    sender.join(timeout=20)
                    s.close()
                    self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply[:300])
                    self.assertIn(b"Retry-After: ", reply)
                    self.assertIn(b"Connection: close", reply)
                    answer = json.loads(reply.split(b"\r\n\r\n", 1)[1])
                    self.assertFalse(answer["success"])
                    self.assertTrue(closed)
                self.assertIsNotNone(relay.wait_log("cannot store a request body", timeout=5))
                self.assertEqual(relay.get_json("/healthz")[0], 200)
        finally:
            os.rmdir(tmp)


if __name__ == "__main__":
    unittest.main()
