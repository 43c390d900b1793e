"""Overload as figures: while one unauthenticated client attacks the listener's
connection budget, legitimate executes (one every 2 s) still succeed (at least 95%) and the
admin listener's /healthz always answers. Three attacks, each for LSR_OVERLOAD_SECONDS
(default 60): slow bodies dribbling a byte every 5 s, idle keep-alive connections, and
slowloris headers that reconnect. The relay's cap is scaled down (max_connections 150) and
each attack holds about 1.3 times as many connections. The figures go to stderr."""

import http.client
import json
import os
import resource
import selectors
import socket
import sys
import threading
import time
import unittest

from harness import Relay, hub_headers
from payloads import rows_execute
from segment_stub import SegmentStub

DURATION = float(os.environ.get("LSR_OVERLOAD_SECONDS", "60"))
CAP = 150
ATTACKERS = int(CAP * 1.3)
EXECUTE_EVERY = 2.0
HEALTHZ_EVERY = 1.0
SEND_EVERY = 5.0  # the attackers' one byte / one header line
RECONNECTS_PER_TICK = 50


class Attacker(threading.Thread):
    """Keeps `count` hostile connections open from one thread, reopening those the relay closes."""

    def __init__(self, port, count, kind):
        super().__init__(daemon=True)
        self.port, self.count, self.kind = port, count, kind
        self.stop = threading.Event()
        self.opened = 0
        self.closed_by_relay = 0
        self.n = 0

    def first_bytes(self):
        self.n += 1
        if self.kind == "slow_body":
            # Bodies announced on routes that take none, on an unknown path, and on execute
            # without a token; then one byte every few seconds.
            route = self.n % 3
            if route == 0:
                return b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx"
            if route == 1:
                return b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx"
            return (b"POST /actions/segment_event/execute HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        if self.kind == "idle":
            return b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        return b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # slowloris: the headers never end

    def later_bytes(self):
        return b"x" if self.kind == "slow_body" else b"X-Slow: 1\r\n"

    def run(self):
        sel = selectors.DefaultSelector()
        conns = {}
        next_top_up = 0.0
        while not self.stop.is_set():
            opened_now = 0
            # Reopens at most RECONNECTS_PER_TICK connections every 0.2 s (about 250 a second).
            if time.monotonic() < next_top_up:
                opened_now = RECONNECTS_PER_TICK
            else:
                next_top_up = time.monotonic() + 0.2
            while len(conns) < self.count and opened_now < RECONNECTS_PER_TICK and not self.stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                    s.sendall(self.first_bytes())
                    s.setblocking(False)
                except OSError:
                    break
                conns[s] = {"next": time.monotonic() + SEND_EVERY, "answered": False}
                sel.register(s, selectors.EVENT_READ)
                self.opened += 1
                opened_now += 1
            for key, _ in sel.select(timeout=max(0.01, next_top_up - time.monotonic())):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data and self.kind == "idle" and not conns[s]["answered"]:
                    conns[s]["answered"] = True  # the first answer: now it idles
                    continue
                # Closed, refused or answered with an error: reconnect.
                self.closed_by_relay += 1
                sel.unregister(s)
                s.close()
                del conns[s]
            now = time.monotonic()
            if self.kind != "idle":
                for s, st in list(conns.items()):
                    if now >= st["next"]:
                        st["next"] = now + SEND_EVERY
                        try:
                            s.send(self.later_bytes())
                        except OSError:
                            pass
        for s in list(conns):
            sel.unregister(s)
            s.close()


class Prober(threading.Thread):
    """Calls `probe` every `every` s; counts the successes."""

    def __init__(self, every, probe):
        super().__init__(daemon=True)
        self.every, self.probe = every, probe
        self.stop = threading.Event()
        self.ok = 0
        self.total = 0
        self.failures = []

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.total += 1
            try:
                good, detail = self.probe(self.total)
            except Exception as e:  # noqa: BLE001 - any failure counts as one
                good, detail = False, repr(e)
            if good:
                self.ok += 1
            elif len(self.failures) < 5:
                self.failures.append(detail)
            next_at += self.every
            self.stop.wait(max(0.0, next_at - time.monotonic()))


class Overload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * ATTACKERS + 256
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        cls.segment = SegmentStub(store="count").start()
        cls.relay = Relay({"server": {"io_threads": 2,
                                      "limits": {"max_connections": CAP, "read_header_timeout_ms": 10000}},
                           "log": {"level": "info"}},
                          segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.__exit__(None, None, None)
        cls.segment.stop()

    def execute(self, i):
        conn = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=15)
        try:
            body = json.dumps(rows_execute(i * 10, 10, plan_id=5000 + i)).encode()
            conn.request("POST", "/actions/segment_event/execute", body=body, headers=hub_headers())
            resp = conn.getresponse()
            data = resp.read()
            answer = json.loads(data.decode().lstrip("\n")) if resp.status == 200 else None
            good = resp.status == 200 and answer.get("looker", {}).get("success") is True
            return good, "%d %s" % (resp.status, data[:120])
        finally:
            conn.close()

    def admin_healthz(self, _):
        status, _, _ = self.relay.admin_request("GET", "/healthz", timeout=5)
        return status == 200, status

    def open_connections(self):
        return self.relay.metric_value("lsr_http_open_connections", {"listener": "main"}) or 0

    def counters(self):
        names = {"shed": "lsr_http_shed_connections_total", "refused": "lsr_http_refused_connections_total",
                 "slow": "lsr_http_slow_clients_total"}
        return {k: self.relay.metric_value(n, {"listener": "main"}) or 0 for k, n in names.items()}

    def run_attack(self, kind):
        self.assertIsNotNone(self.relay.admin_port, "the relay has no admin listener")
        before = self.counters()
        attacker = Attacker(self.relay.port, ATTACKERS, kind)
        attacker.start()
        time.sleep(min(5.0, DURATION / 4))  # let it fill the budget
        executes = Prober(EXECUTE_EVERY, self.execute)
        healthz = Prober(HEALTHZ_EVERY, self.admin_healthz)
        executes.start()
        healthz.start()
        peak = 0
        deadline = time.monotonic() + DURATION
        while time.monotonic() < deadline:
            peak = max(peak, self.open_connections())
            time.sleep(1)
        executes.stop.set()
        healthz.stop.set()
        executes.join(30)
        healthz.join(30)
        attacker.stop.set()
        attacker.join(30)
        after = self.counters()
        metrics = {k: after[k] - before[k] for k in after}
        print("\noverload %-9s %ds, %d attacking connections (cap %d): executes %d/%d ok, admin /healthz "
              "%d/%d ok, main open connections peak %d; attacker connections opened %d; connections shed %d, "
              "refused %d, cut as too slow %d%s"
              % (kind, DURATION, ATTACKERS, CAP, executes.ok, executes.total, healthz.ok, healthz.total, peak,
                 attacker.opened, metrics["shed"], metrics["refused"], metrics["slow"],
                 ("; execute failures: %s" % executes.failures) if executes.failures else ""),
              file=sys.stderr, flush=True)
        self.assertGreater(executes.total, 0)
        self.assertGreaterEqual(executes.ok, 0.95 * executes.total, executes.failures)
        self.assertEqual(healthz.ok, healthz.total, healthz.failures)
        self.assertGreaterEqual(attacker.opened, ATTACKERS)
        if kind != "slow_body":  # slow bodies are refused unread: they never pile up
            self.assertGreater(peak, CAP * 0.8, "the attack did not reach the cap")

    def test_1_slow_bodies(self):
        self.run_attack("slow_body")

    def test_2_idle_keepalive(self):
        self.run_attack("idle")

    def test_3_slowloris(self):
        self.run_attack("slowloris")


if __name__ == "__main__":
    unittest.main()
