"""Delivery never stalls or dies on one batch, through the real binary.

- A spool that already holds a batch the relay cannot send (a 49,200-character write key:
  its Basic-auth header cannot be built), written straight into SQLite: the relay starts,
  dead-letters that batch with a clear reason (`spool dead-letters`), and delivers every other
  batch, byte for byte.
- A long outage of the stand-in Segment with a large max_delay_ms: while a write key fails the
  relay probes it with one request at a time, and once Segment answers again every waiting
  batch goes at once: all events arrive within a few seconds of the recovery, not after the
  batches' own backoffs (up to max_delay_ms). The same after a restart of the relay.
"""

import json
import os
import sqlite3
import time
import unittest

from harness import Relay, hub_headers, run_binary, wait_until
from payloads import rows_execute
from segment_stub import SegmentStub, batch_array

HUGE_KEY = "k" * 49_200


def event(i, key_tag):
    return {"type": "track", "event": "Resilience Test", "userId": "r%05d" % i,
            "messageId": "msg-%s-%05d" % (key_tag, i), "properties": {"n": i, "tag": key_tag},
            "timestamp": "2026-12-01T06:00:00.000Z"}


def body_of(events):
    # A spool batch body: events joined by ",\n", exactly as stored.
    return ",\n".join(json.dumps(e, separators=(",", ":"), sort_keys=True) for e in events)


class UnsendableBatchTest(unittest.TestCase):
    def setUp(self):
        self.segment = SegmentStub().start()  # any write key
        self.addCleanup(self.segment.stop)
        self.relay = Relay({"log": {"level": "info"}}, segment_url=self.segment.url)
        self.addCleanup(self.relay.close_pipes)
        self.addCleanup(self.relay.stop)
        self.spool_path = self.relay.config["spool"]["path"]

    def insert_batches(self, batches):
        """(write_key, body, events) rows, straight into the spool's batches table."""
        now_ms = int(time.time() * 1000)
        db = sqlite3.connect(self.spool_path)
        try:
            with db:
                for key, body, events in batches:
                    data = body.encode("utf-8")
                    db.execute("INSERT INTO batches (write_key, events, bytes, request_id, created_ms, attempts,"
                               " next_attempt_ms, last_error, body) VALUES (?, ?, ?, '', ?, 0, ?, '', ?)",
                               (key, events, len(data), now_ms, now_ms, data))
        finally:
            db.close()

    def test_unsendable_batch_is_dead_lettered_and_the_rest_delivered(self):
        # A first start creates the spool; stopped cleanly, it is empty.
        self.relay.start()
        self.assertEqual(self.relay.stop(), 0)
        good = {}
        rows = []
        for n, key in enumerate(["wk_first", "wk_second", "wk_first", "wk_second", "wk_first"]):
            events = [event(n * 10 + i, key) for i in range(1 + n)]
            body = body_of(events)
            good.setdefault(key, []).append(body)
            rows.append((key, body, len(events)))
            if n == 1:
                rows.append((HUGE_KEY, body_of([event(900 + i, "huge") for i in range(3)]), 3))
        self.insert_batches(rows)
        expected_events = sum(r[2] for r in rows if r[0] != HUGE_KEY)

        self.relay.start()
        self.assertTrue(self.segment.wait_for_events(expected_events, timeout=30),
                        "events arrived: %d of %d" % (self.segment.event_count(), expected_events))
        ok = wait_until(lambda: self.relay.metric_value("lsr_dead_letters") == 1, timeout=15)
        self.assertTrue(ok, "the unsendable batch was not dead-lettered")
        self.assertIsNone(self.relay.proc.poll(), "the relay died")

        # Byte for byte: each request carried one stored body as its batch array.
        sent = {}
        for rec in self.segment.requests_snapshot():
            self.assertEqual(rec.status, 200)
            self.assertNotEqual(rec.write_key, HUGE_KEY)
            sent.setdefault(rec.write_key, []).append(batch_array(rec.body).decode("utf-8"))
        self.assertEqual({k: sorted(v) for k, v in sent.items()}, {k: sorted(v) for k, v in good.items()})
        self.assertEqual(self.segment.stats()["duplicates"], 0)

        listing = run_binary(["spool", "dead-letters", "--json", "--spool", self.spool_path])
        self.assertEqual(listing.returncode, 0, listing.stderr)
        dead = json.loads(listing.stdout)["dead_letters"]
        self.assertEqual(len(dead), 1, dead)
        self.assertEqual(dead[0]["events"], 3)
        self.assertEqual(dead[0]["status"], 0)
        self.assertIn("local", dead[0]["reason"])
        self.assertIn("field value too large", dead[0]["reason"])
        self.assertTrue(wait_until(lambda: self.relay.metric_value("lsr_queue_batches") == 0, timeout=10))

        # Still serving, and a new execute for a good key is delivered.
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(0, 5, write_key="wk_after"),
                                             headers=hub_headers(), timeout=30)
        self.assertEqual(status, 200, data)
        self.assertTrue(self.segment.wait_for_events(expected_events + 5, timeout=30))


class RecoveryAfterOutageTest(unittest.TestCase):
    ROWS = 300
    BATCH_EVENTS = 10
    OUTAGE_S = 14.0

    def setUp(self):
        self.segment = SegmentStub().start()
        self.addCleanup(self.segment.stop)
        config = {"segment": {"max_batch_events": self.BATCH_EVENTS,
                              "retry": {"base_delay_ms": 500, "max_delay_ms": 30_000},
                              "per_write_key": {"max_in_flight": 4}},
                  "log": {"level": "info"}}
        self.relay = Relay(config, segment_url=self.segment.url).start()
        self.addCleanup(self.relay.close_pipes)
        self.addCleanup(self.relay.stop)

    def test_waiting_batches_go_at_once_when_segment_answers_again(self):
        self.segment.push_response(503, times=1_000_000)  # down until the script is cleared
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(0, self.ROWS, write_key="wk_outage"),
                                             headers=hub_headers(), timeout=60)
        self.assertEqual(status, 200, data)
        answer = json.loads(data.decode().lstrip("\n"))
        self.assertTrue(answer["looker"]["success"], answer)
        batches = self.ROWS // self.BATCH_EVENTS
        time.sleep(self.OUTAGE_S)
        during = self.segment.stats()["requests"]

        self.segment.clear_script()  # Segment is back
        back = time.monotonic()
        self.assertTrue(self.segment.wait_for_unique_events(self.ROWS, timeout=60))
        took = time.monotonic() - back
        print("\n  outage %.0f s, %d batches: %d requests during it; all %d events %.1f s after recovery"
              % (self.OUTAGE_S, batches, during, self.ROWS, took))
        # One probe at a time while failing: far fewer requests than each batch retrying on
        # its own (which would be about five per batch here).
        self.assertLess(during, 2 * batches)
        # The probe interval is at most 5 s; the batches' own backoffs reach 16-30 s by now.
        self.assertLess(took, 10.0)

    def test_after_a_restart_waiting_batches_go_once_segment_answers(self):
        # The batches wait out backoffs of many seconds when the relay is restarted; Segment
        # is back by then. The restarted relay probes the key at once instead of waiting.
        self.segment.push_response(503, times=1_000_000)
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(0, self.ROWS, write_key="wk_restart"),
                                             headers=hub_headers(), timeout=60)
        self.assertEqual(status, 200, data)
        time.sleep(self.OUTAGE_S)
        self.assertEqual(self.relay.stop(), 0)
        self.segment.clear_script()
        self.segment.reset()
        self.relay.start()
        back = time.monotonic()
        self.assertTrue(self.segment.wait_for_unique_events(self.ROWS, timeout=60))
        took = time.monotonic() - back
        print("\n  restarted after a %.0f s outage: all %d events %.1f s after the start"
              % (self.OUTAGE_S, self.ROWS, took))
        self.assertLess(took, 10.0)


if __name__ == "__main__":
    unittest.main()
