"""The service's skeleton: operator endpoints, HTTP limits, drain on SIGTERM, check-config."""

import json
import os
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import BINARY, Relay, hub_headers, run_binary, wait_until

AUTH_LINE = ("Authorization: %s\r\n" % hub_headers()["Authorization"]).encode()


class OperatorEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = Relay(
            {"server": {"limits": {"max_header_bytes": 2048, "max_small_body_bytes": 4096,
                                   "read_header_timeout_ms": 700, "idle_timeout_ms": 1000}}}
        ).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.__exit__(None, None, None)

    def test_healthz(self):
        status, body = self.relay.get_json("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"status": "ok"})

    def test_readyz(self):
        status, body = self.relay.get_json("/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"ready": True})

    def test_status(self):
        status, body = self.relay.get_json("/status")
        self.assertEqual(status, 200)
        self.assertEqual(body["service"], "looker-segment-relay")
        self.assertRegex(body["version"], r"^\d+\.\d+\.\d+")
        self.assertGreaterEqual(body["uptime_s"], 0)
        self.assertFalse(body["draining"])
        for key in ("batches", "events", "bytes", "oldest_event_age_s", "dead_letters"):
            self.assertIn(key, body["queue"])
        self.assertIn("delivery", body)

    def test_metrics(self):
        self.relay.request("GET", "/healthz")
        status, headers, body = self.relay.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        self.assertIn("# TYPE lsr_http_requests_total counter", text)
        self.assertIn('lsr_http_requests_total{code="200",method="GET",route="/healthz"}', text)
        self.assertIn("# TYPE lsr_http_request_duration_seconds histogram", text)
        self.assertIn("lsr_http_open_connections", text)

    def test_unknown_route_is_404_json(self):
        status, headers, body = self.relay.request("GET", "/nope")
        self.assertEqual(status, 404)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"success": False, "error": "No such route."})

    def test_wrong_method_is_405_json(self):
        status, _, body = self.relay.request("POST", "/healthz", body="")
        self.assertEqual(status, 405)
        self.assertEqual(json.loads(body)["success"], False)

    def test_keep_alive_serves_several_requests(self):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=5)
        for _ in range(3):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
        conn.close()

    def test_malformed_request_line(self):
        reply = self.relay.raw(b"THIS IS NOT HTTP\r\n\r\n", timeout=5)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:80])
        self.assertIn(b'"success":false', reply)

    def test_headers_over_the_limit(self):
        big = b"X-Filler: " + b"a" * 4096 + b"\r\n"
        reply = self.relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n", timeout=5)
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:80])

    def test_body_over_the_limit(self):
        body = b"{" + b" " * 10000 + b"}"
        reply = self.relay.raw(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            % len(body) + AUTH_LINE + b"\r\n" + body,
            timeout=5,
        )
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply[:80])

    def test_unauthenticated_large_body_is_refused_before_it_is_read(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=5)
        s.sendall(b"POST /actions/segment_event/execute HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Token token=\"nope\"\r\nContent-Length: 500000000\r\n\r\n{")
        reply = s.recv(4096)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 403 "), reply[:80])
        self.assertIn(b'{"success":false,"error":"Invalid \'Authorization\' header."}', reply)

    def test_expect_100_continue(self):
        body = b"{}"
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=5)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
                  + AUTH_LINE + b"\r\n")
        self.assertEqual(s.recv(4096), b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        reply = s.recv(65536)
        s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:80])

    def test_slow_headers_are_cut_off(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        started = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed = False
        try:
            for _ in range(40):  # one header byte every 100 ms would take 4 s
                s.sendall(b"X")
                time.sleep(0.1)
                s.settimeout(0.01)
                try:
                    if s.recv(1024) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                finally:
                    s.settimeout(10)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        elapsed = time.monotonic() - started
        s.close()
        self.assertTrue(closed, "connection was not closed")
        self.assertLess(elapsed, 3.0)

    def test_idle_keepalive_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"))
        started = time.monotonic()
        self.assertEqual(s.recv(4096), b"")  # closed by the server after idle + header time
        self.assertLess(time.monotonic() - started, 5)
        s.close()


class Drain(unittest.TestCase):
    def test_sigterm_lets_the_request_in_flight_finish(self):
        with Relay() as relay:
            body = b'{"pad":"' + b"x" * 2000 + b'"}'
            s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
            head = (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n" % len(body)
                + "".join("%s: %s\r\n" % kv for kv in hub_headers().items() if kv[0] != "Content-Type")
                + "\r\n"
            ).encode()
            s.sendall(head + body[:100])
            time.sleep(0.3)
            relay.proc.send_signal(signal.SIGTERM)
            # Readiness fails at once while the request is still being read.
            self.assertTrue(wait_until(lambda: relay.wait_log("draining", timeout=0.05), timeout=5))
            refused = False
            try:
                socket.create_connection(("127.0.0.1", relay.port), timeout=1).close()
            except OSError:
                refused = True
            self.assertTrue(refused, "new connections should be refused while draining")
            s.sendall(body[100:])
            reply = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                reply += c
            s.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:200])
            self.assertIn(b"Connection: close", reply)
            self.assertIn(b'"integrations"', reply)
            self.assertEqual(relay.proc.wait(timeout=10), 0)

    def test_second_signal_exits_at_once(self):
        relay = Relay({"server": {"drain_grace_ms": 30000}}).start()
        try:
            s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n" + AUTH_LINE + b"\r\n{")
            time.sleep(0.2)
            relay.proc.send_signal(signal.SIGTERM)
            relay.wait_log("draining", timeout=5)
            relay.proc.send_signal(signal.SIGTERM)
            self.assertNotEqual(relay.proc.wait(timeout=5), 0)
            s.close()
        finally:
            relay.kill()


    def test_sigterm_at_any_moment_of_start_up_stops_the_relay_cleanly(self):
        # A signal sent while the relay opens its spool or starts its threads is kept pending
        # and read once the relay waits for it: the relay drains and exits 0, never hangs
        # (a signal delivered to a thread just being started was lost before).
        import subprocess
        for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
            relay = Relay()
            try:
                with open(relay.config_path(), "w") as f:
                    json.dump(relay.config, f)
                proc = subprocess.Popen([BINARY, "serve", "--config", relay.config_path()],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(delay)
                    proc.send_signal(signal.SIGTERM)
                    out, _ = proc.communicate(timeout=20)
                    # Before the relay's own code runs, the default action ends it; from then
                    # on the signal is its own and it stops as after any drain.
                    self.assertIn(proc.returncode, (0, -signal.SIGTERM), "delay %s: %s" % (delay, out[-2000:]))
                    if proc.returncode == 0:
                        self.assertIn(b'"msg":"stopped"', out, "delay %s" % delay)
                    else:
                        self.assertNotIn(b'"msg":"listening"', out, "delay %s" % delay)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(timeout=5)
            finally:
                relay.kill()


class TlsListener(unittest.TestCase):
    def test_https_listener_serves_with_its_certificate(self):
        import ssl
        import subprocess

        d = tempfile.mkdtemp(prefix="lsr-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60)
        with Relay({"server": {"tls": {"enabled": True, "cert_file": cert, "key_file": key}}}) as relay:
            import http.client

            ctx = ssl.create_default_context(cafile=cert)
            conn = http.client.HTTPSConnection("127.0.0.1", relay.port, timeout=10, context=ctx)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(json.loads(resp.read()), {"status": "ok"})
            conn.close()
            # Plain HTTP on the TLS port gets no answer, and the relay stays up.
            reply = relay.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
            self.assertFalse(reply.startswith(b"HTTP/1.1 200"))
            conn = http.client.HTTPSConnection("127.0.0.1", relay.port, timeout=10, context=ctx)
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()


class CheckConfig(unittest.TestCase):
    def test_three_mistakes_reported_with_lines(self):
        text = "\n".join([
            "server:",
            "  listen: 127.0.0.1:8080",
            "  io_threads: many",            # line 3: not a number
            "segment:",
            "  region: mars",                 # line 5: bad region
            "  max_batch_events: 2500",
            "spool:",
            "  pathh: /tmp/x.db",             # line 8: unknown key
            "",
        ])
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            r = run_binary(["check-config", path])
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            lines = [l for l in r.stdout.splitlines() if l.startswith(path + ":")]
            self.assertEqual(len(lines), 3, r.stdout)
            self.assertTrue(lines[0].startswith(path + ":3: server.io_threads"), lines)
            self.assertTrue(any(l.startswith(path + ":5: segment.region") for l in lines), lines)
            self.assertTrue(any(l.startswith(path + ":8: unknown key \"spool.pathh\"") for l in lines), lines)
        finally:
            os.unlink(path)

    def test_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "config", "relay.example.yaml")
        r = run_binary(["check-config", example])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_bad_config_stops_serve_with_the_problems(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("log:\n  level: loud\n")
            path = f.name
        try:
            r = run_binary(["serve", "--config", path], timeout=10)
            self.assertEqual(r.returncode, 1)
            self.assertIn(path + ":2: log.level", r.stderr)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
