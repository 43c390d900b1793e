"""Delivery under faults, through the real binary: executes go in, the stand-in Segment is
scripted to fail (500 bursts, 429 with Retry-After, dropped connections, slow answers, a 400
for one poisoned event, 401), and every good event still arrives, retried ones with the same
messageId; the bad ones are dead-lettered and counted; a throttled write key does not hold up
another."""

import collections
import json
import time
import unittest

from harness import Relay, hub_headers, wait_until
from payloads import rows_execute
from segment_stub import SegmentStub

BATCH_EVENTS = 10


class DeliveryFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub().start()  # any write key
        config = {"segment": {"max_batch_events": BATCH_EVENTS, "request_timeout_ms": 700,
                              "connect_timeout_ms": 1000,
                              "per_write_key": {"max_in_flight": 2}},
                  "log": {"level": "info"}}
        cls.relay = Relay(config, segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.segment.stop()

    def setUp(self):
        self.segment.reset()
        self.segment.clear_script()
        self.segment.clear_poison()

    # -- helpers -------------------------------------------------------------------------
    def execute(self, write_key, first, count):
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(first, count, write_key=write_key),
                                             headers=hub_headers(), timeout=60)
        self.assertEqual(status, 200, data)
        answer = json.loads(data.decode().lstrip("\n"))
        self.assertTrue(answer["looker"]["success"], answer)
        return answer

    def expected_ids(self, first, count):
        return {"u%06d" % i for i in range(first, first + count)}

    def delivered(self, write_key):
        """userId -> list of the accepted events with it, for one write key."""
        out = collections.defaultdict(list)
        for rec in self.segment.requests_snapshot():
            if rec.status is not None and 200 <= rec.status < 300 and rec.write_key == write_key:
                for e in rec.events:
                    out[e["userId"]].append(e)
        return out

    def wait_delivered(self, write_key, ids, timeout=30):
        ok = wait_until(lambda: ids <= set(self.delivered(write_key)), timeout=timeout)
        self.assertTrue(ok, "missing: %s" % sorted(ids - set(self.delivered(write_key)))[:10])

    def metric(self, name, **labels):
        return self.relay.metric_value(name, labels or None) or 0.0

    def assert_same_message_ids_on_retry(self, write_key):
        """Every attempt of an event carried the same messageId and the same content."""
        seen = {}
        for rec in self.segment.requests_snapshot():
            if rec.write_key != write_key:
                continue
            for e in rec.events:
                key = e["userId"]
                if key in seen:
                    self.assertEqual(seen[key], e, "event %s changed between attempts" % key)
                seen[key] = e

    # -- tests -----------------------------------------------------------------------------
    def test_500_burst_then_everything_arrives_with_the_same_message_ids(self):
        key = "wk_500"
        self.segment.push_response(500, times=5, write_key=key)
        self.execute(key, 0, 30)
        ids = self.expected_ids(0, 30)
        self.wait_delivered(key, ids)
        self.assert_same_message_ids_on_retry(key)
        reqs = [r for r in self.segment.requests_snapshot() if r.write_key == key]
        failed = [r for r in reqs if r.status == 500]
        self.assertEqual(len(failed), 5)
        retried = [r for r in reqs if r.retry_count > 0]
        self.assertGreaterEqual(len(retried), 5)
        # a fresh sentAt per attempt
        by_first_event = collections.defaultdict(list)
        for r in reqs:
            by_first_event[r.events[0]["messageId"]].append(r.sent_at)
        self.assertTrue(any(len(set(v)) > 1 for v in by_first_event.values()))
        self.assertGreaterEqual(self.metric("lsr_segment_batches_total", status="5xx"), 5)
        self.assertGreaterEqual(self.metric("lsr_segment_retries_total"), 5)

    def test_429_with_retry_after_pauses_that_key_only(self):
        slow, fast = "wk_throttled", "wk_free"
        self.segment.push_response(429, headers={"Retry-After": "2"}, write_key=slow)
        self.execute(slow, 100, 10)
        self.assertTrue(wait_until(lambda: any(r.status == 429 for r in self.segment.requests_snapshot()),
                                   timeout=10))
        t429 = [r.time for r in self.segment.requests_snapshot() if r.status == 429][0]
        # The relay has taken the answer in (the key is paused in the same step) before the
        # next execute of that key arrives; a batch already in flight may still be answered.
        self.assertTrue(wait_until(lambda: self.metric("lsr_segment_batches_total", status="4xx") >= 1,
                                   timeout=10))
        self.execute(slow, 110, 10)   # queued behind the pause
        self.execute(fast, 200, 30)   # another key flows meanwhile
        self.wait_delivered(fast, self.expected_ids(200, 30), timeout=10)
        fast_done = max(r.time for r in self.segment.requests_snapshot() if r.write_key == fast)
        self.assertLess(fast_done - t429, 1.8, "the other key was held up by the pause")
        self.wait_delivered(slow, self.expected_ids(100, 20))
        after = [r.time for r in self.segment.requests_snapshot() if r.write_key == slow and r.status == 200]
        self.assertGreaterEqual(min(after) - t429, 1.9, "the paused key sent before Retry-After ended")

    def test_dropped_connections_are_retried(self):
        key = "wk_drop"
        self.segment.push_response(drop=True, times=3, write_key=key)
        self.execute(key, 300, 20)
        self.wait_delivered(key, self.expected_ids(300, 20))
        self.assert_same_message_ids_on_retry(key)
        self.assertGreaterEqual(len([r for r in self.segment.requests_snapshot() if r.dropped]), 3)

    def test_slow_answers_time_out_and_are_retried(self):
        key = "wk_slow"
        self.segment.push_response(200, delay=1.5, times=2, write_key=key)
        self.execute(key, 400, 20)
        self.wait_delivered(key, self.expected_ids(400, 20))
        self.assert_same_message_ids_on_retry(key)
        self.assertGreaterEqual(self.metric("lsr_segment_batches_total", status="network"), 2)

    def test_a_poisoned_event_is_isolated_and_dead_lettered(self):
        key = "wk_poison"
        self.segment.poison(user_id="u000517")
        before_dead = self.metric("lsr_dead_lettered_events_total", reason="http_400")
        before_split = self.metric("lsr_segment_split_batches_total")
        self.execute(key, 500, 40)
        good = self.expected_ids(500, 40) - {"u000517"}
        self.wait_delivered(key, good)
        self.assertTrue(wait_until(
            lambda: self.metric("lsr_dead_lettered_events_total", reason="http_400") - before_dead == 1,
            timeout=10))
        self.assertNotIn("u000517", self.delivered(key))
        # 10 -> 5 -> 3 -> 2 -> 1 at most; at least one split
        self.assertGreaterEqual(self.metric("lsr_segment_split_batches_total") - before_split, 1)
        for events in self.delivered(key).values():
            self.assertEqual(len({e["messageId"] for e in events}), 1)

    def test_401_is_dead_lettered_without_retries(self):
        key = "wk_unauthorized"
        self.segment.push_response(401, times=2, write_key=key)
        before = self.metric("lsr_dead_lettered_events_total", reason="http_401")
        self.execute(key, 600, 20)
        self.assertTrue(wait_until(
            lambda: self.metric("lsr_dead_lettered_events_total", reason="http_401") - before == 20, timeout=10))
        time.sleep(0.3)
        reqs = [r for r in self.segment.requests_snapshot() if r.write_key == key]
        self.assertEqual(len(reqs), 2)
        self.assertTrue(all(r.retry_count == 0 for r in reqs))

    def test_status_shows_queues_by_key_prefix(self):
        key = "wk_status_secret"
        self.segment.push_response(503, times=1, write_key=key)
        self.execute(key, 700, 5)
        self.wait_delivered(key, self.expected_ids(700, 5))
        status, body = self.relay.get_json("/status")
        self.assertEqual(status, 200)
        text = json.dumps(body)
        self.assertNotIn(key, text)


if __name__ == "__main__":
    unittest.main()
