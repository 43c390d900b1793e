"""Crash safety: SIGKILL at random moments loses nothing that was acknowledged.

A stand-in Looker sends deterministic rows; the relay is killed with SIGKILL at random moments
(at least 20 times, over a few thousand batches) and restarted on the same spool each time.
Looker re-sends an execute that got no answer, as it would. At the end every row of every
acknowledged execute has arrived at the stand-in Segment, each event identical to what
`preview` computes for it, and any repeat carries the same messageId. The same again with
the stand-in Segment failing for a while, then back.
"""

import json
import os
import random
import tempfile
import threading
import time
import unittest

import payloads
from harness import Relay, hub_headers, run_binary, wait_until
from segment_stub import SegmentStub

WRITE_KEY = "wk_crash"
ROWS_PER_EXECUTE = 100
EXECUTES = 30            # 3,000 rows
BATCH_EVENTS = 1         # one event per batch: 3,000 batches
MIN_KILLS = 20
MAX_ATTEMPTS = 40        # per execute: bounded even if the relay keeps failing
DEADLINE_S = 300


def post_execute(relay, body, out):
    try:
        status, _, data = relay.request("POST", "/actions/segment_event/execute", body=body,
                                        headers=hub_headers(), timeout=30)
        out["status"] = status
        out["body"] = data
    except Exception as exc:  # killed mid-request
        out["error"] = repr(exc)


def expected_events(workdir, bodies):
    """messageId -> event, as `preview` computes them from the same payloads."""
    expected = {}
    for i, body in enumerate(bodies):
        path = os.path.join(workdir, "payload-%d.json" % i)
        with open(path, "w") as f:
            json.dump(body, f)
        r = run_binary(["preview", "--action", "segment_event", path], timeout=60)
        if r.returncode != 0:
            raise AssertionError("preview failed: %s" % r.stderr)
        for line in r.stdout.splitlines():
            if line.strip():
                e = json.loads(line)
                expected[e["messageId"]] = e
    return expected


class CrashRestart(unittest.TestCase):
    def scenario(self, segment_outage):
        rng = random.Random(20261201 + int(segment_outage))
        stub = SegmentStub(write_keys={WRITE_KEY}, store="events").start()
        workdir = tempfile.mkdtemp(prefix="lsr-crash-")
        relay = Relay({"segment": {"max_batch_events": BATCH_EVENTS,
                                   "per_write_key": {"requests_per_second": 2000, "burst": 200,
                                                     "max_in_flight": 8}}},
                      segment_url=stub.url, workdir=workdir)
        relay.config["log"]["level"] = "info"
        bodies = [payloads.rows_execute(i * ROWS_PER_EXECUTE, ROWS_PER_EXECUTE, write_key=WRITE_KEY, plan_id=77)
                  for i in range(EXECUTES)]
        kills = 0
        acknowledged = []
        try:
            started = time.monotonic()
            relay.start()
            if segment_outage:
                stub.push_response(503, times=100000)  # down until cleared below
            for index, body in enumerate(bodies):
                for attempt in range(MAX_ATTEMPTS):
                    self.assertLess(time.monotonic() - started, DEADLINE_S, "the scenario ran out of time")
                    out = {}
                    t = threading.Thread(target=post_execute, args=(relay, body, out))
                    t.start()
                    if kills < MIN_KILLS + 5:
                        time.sleep(rng.uniform(0.0, 0.25))
                        relay.kill()
                        kills += 1
                        t.join(30)
                        relay.start()
                    else:
                        t.join(30)
                    if out.get("status") == 200 and json.loads(out["body"])["looker"]["success"]:
                        acknowledged.append(index)
                        break
                    if out.get("status") not in (None, 200):
                        self.fail("execute answered %s: %s" % (out.get("status"), out.get("body")))
                else:
                    self.fail("execute %d never acknowledged in %d attempts; relay stderr: %s"
                              % (index, MAX_ATTEMPTS, "".join(relay.stderr_lines[-20:])))
                if segment_outage and index == EXECUTES // 2:
                    stub.clear_script()  # Segment is back
            self.assertGreaterEqual(kills, MIN_KILLS)
            self.assertEqual(len(acknowledged), EXECUTES)

            expected = expected_events(workdir, [bodies[i] for i in acknowledged])
            self.assertEqual(len(expected), EXECUTES * ROWS_PER_EXECUTE)
            arrived = wait_until(
                lambda: set(stub.events_by_message_id()) >= set(expected), timeout=120, interval=0.2)
            by_id = stub.events_by_message_id()
            missing = set(expected) - set(by_id)
            self.assertFalse(arrived is False and missing, "%d acknowledged events never arrived" % len(missing))
            self.assertEqual(missing, set())
            for mid, events in by_id.items():
                self.assertIn(mid, expected, "an event nobody sent: %s" % mid)
                for e in events:
                    self.assertEqual(e, expected[mid])  # identical traits, ids, timestamp
            users = {}
            for mid, events in by_id.items():
                users.setdefault(events[0]["userId"], set()).add(mid)
            self.assertTrue(all(len(m) == 1 for m in users.values()), "a repeat carried a new messageId")
            self.assertEqual(len(users), EXECUTES * ROWS_PER_EXECUTE)
            # The spool drains to empty once everything is delivered.
            self.assertTrue(wait_until(lambda: relay.get_json("/status")[1]["queue"]["batches"] == 0, timeout=60))
        finally:
            relay.kill()
            stub.stop()

    def test_sigkill_at_random_moments_loses_nothing_acknowledged(self):
        self.scenario(segment_outage=False)

    def test_sigkill_while_segment_is_down_then_back(self):
        self.scenario(segment_outage=True)


if __name__ == "__main__":
    unittest.main()
