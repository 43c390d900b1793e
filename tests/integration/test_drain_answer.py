"""SIGTERM with an execute still at work when server.drain_grace_ms runs out: the execute's
answer is never cut after its keepalive newlines; it ends with a complete JSON answer saying
how far it got, the process exits 0, and the rows it accepted are delivered after a restart."""

import json
import re
import signal
import threading
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


if __name__ == "__main__":
    unittest.main()
