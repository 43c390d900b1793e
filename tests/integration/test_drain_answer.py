"""SIGTERM with an execute still at work when server.drain_grace_ms runs out: the execute's
answer is never cut after its keepalive newlines; it ends with a complete JSON answer saying
how far it got, the process exits 0, and the rows it accepted are delivered after a restart.
An execute whose body is still arriving then gets a complete 503 with Retry-After."""

import json
import re
import signal
import socket
import threading
import time
import unittest

from harness import Relay, hub_headers
from looker_stub import LookerStub
from segment_stub import SegmentStub
from test_execute import parse_answer, payload, result, rows

WRITE_KEY = "wk_test"


class DrainAnswerTest(unittest.TestCase):
    def setUp(self):
        self.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.looker = LookerStub().start()
        self.config = {"hub": {"download": {"allowed_hosts": ["127.0.0.1:%d" % self.looker.port],
                                            "allow_loopback_http": True, "timeout_ms": 600000}},
                       "server": {"execute_keepalive_ms": 100, "drain_grace_ms": 1000}}
        self.relay = Relay(self.config, segment_url=self.segment.url)
        self.relay.start()

    def tearDown(self):
        self.relay.__exit__(None, None, None)
        self.looker.stop()
        self.segment.stop()

    def test_grace_over_ends_a_slow_download_with_a_partial_answer(self):
        # A result that never ends: three rows, then a space every 0.1 s.
        prefix = json.dumps(result(rows(3)))[:-2]
        url = self.looker.add(prefix.encode(), endless=True, interval=0.1)
        answer = {}

        def call():
            answer["result"] = self.relay.request("POST", "/actions/segment_event/execute",
                                                  body=payload(None, download_url=url), headers=hub_headers(),
                                                  timeout=60)

        t = threading.Thread(target=call)
        t.start()
        self.assertTrue(self.looker.wait_streaming(url, timeout=10))
        self.relay.proc.send_signal(signal.SIGTERM)
        t.join(timeout=30)
        self.assertFalse(t.is_alive(), "no answer")
        status, _, data = answer["result"]
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"\n"), "the keepalive newlines came first")
        looker = parse_answer(data)["looker"]  # complete, parseable JSON
        self.assertFalse(looker["success"])
        m = re.fullmatch(r"The relay is shutting down, so the rest of the result was not read; send it again\. "
                         r"(\d+) rows? (?:was|were) accepted before that and will be delivered\.",
                         looker["message"])
        self.assertIsNotNone(m, looker["message"])
        accepted = int(m.group(1))
        self.assertEqual(self.relay.proc.wait(timeout=15), 0)
        self.assertTrue(self.looker.wait_closed(url, timeout=5))
        # What the answer said was accepted is delivered (after a restart on the same spool).
        if self.segment.event_count() < accepted:
            self.relay.start()
        self.assertTrue(self.segment.wait_for_events(accepted, timeout=20))
        self.assertEqual(self.segment.event_count(), accepted)

    def test_grace_over_answers_a_slow_body_with_503(self):
        body = json.dumps(payload(result(rows(50)))).encode()
        head = ("POST /actions/segment_event/execute HTTP/1.1\r\nHost: relay\r\nContent-Length: %d\r\n"
                % len(body))
        for k, v in hub_headers().items():
            head += "%s: %s\r\n" % (k, v)
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=20)
        self.addCleanup(s.close)
        s.sendall(head.encode() + b"\r\n" + body[:len(body) // 2])
        time.sleep(0.2)
        self.relay.proc.send_signal(signal.SIGTERM)
        # The body keeps coming, slowly, past the grace period.
        out = b""
        s.settimeout(0.1)
        deadline = time.monotonic() + 15
        sent = len(body) // 2
        while time.monotonic() < deadline and sent < len(body) - 1:
            try:
                s.sendall(body[sent:sent + 1])
                sent += 1
            except OSError:
                break
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            except socket.timeout:
                pass
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        head_text, _, answer = out.partition(b"\r\n\r\n")
        self.assertTrue(head_text.startswith(b"HTTP/1.1 503"), out[:200])
        self.assertIn(b"\r\nRetry-After: ", head_text)
        self.assertEqual(json.loads(answer), {"success": False,
                                              "error": "The relay is shutting down; send the request again."})
        self.assertEqual(self.relay.proc.wait(timeout=15), 0)


if __name__ == "__main__":
    unittest.main()
