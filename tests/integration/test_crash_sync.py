"""Crash safety of cohort sync: a SIGKILL at any moment, followed by Looker's re-send of the
execute, gives exactly the events, with the same messageIds, that the same runs give without
a crash.

One schedule runs six times, its rows changing between runs (rows added, changed and removed).
A reference relay runs the six without interruption; a second relay on its own spool is killed
with SIGKILL at random moments (restarted each time), and every execute that got no answer is
sent again until it is acknowledged, as Looker does. The events at the two stand-in Segments
are then compared: the same messageIds, each with the same event. In `changes` and `audience`.
"""

import json
import random
import sys
import tempfile
import threading
import time
import unittest

from harness import Relay, hub_headers, wait_until
from payloads import execute, result, row
from segment_stub import SegmentStub

WRITE_KEY = "wk_crash_sync"
RUNS = 6
ROWS = 5000
MIN_KILLS = 12
MAX_ATTEMPTS = 40
DEADLINE_S = 240


def cohort(run):
    """Run k's rows: a window that moves (rows leave and enter) with a few traits changed."""
    rows = []
    for i in range(run * 250, run * 250 + ROWS):
        r = row(i)
        if i % 7 == run:
            r["users.plan"] = {"value": "changed-in-%d" % run}
        rows.append(r)
    return rows


def bodies(mode):
    form = {"sync": mode, "audience_key": "crash_cohort", "audience_events": "both"}
    out = []
    for k in range(RUNS):
        # ran_at differs per run, as Looker's scheduled runs do.
        res = result(cohort(k), ran_at="2026-12-0%dT06:00:00+00:00" % (k + 1))
        out.append(execute(res, write_key=WRITE_KEY, plan_id=4242, form_params=form))
    return out


def post(relay, body, out):
    try:
        headers = hub_headers()
        headers["X-Looker-Instance"] = "looker.example.com"
        status, _, data = relay.request("POST", "/actions/segment_event/execute", body=body,
                                        headers=headers, timeout=30)
        out["status"] = status
        out["body"] = data
    except Exception as exc:  # killed mid-request
        out["error"] = repr(exc)


def acknowledged(out):
    if out.get("status") != 200:
        return False
    return json.loads(out["body"].decode().lstrip("\n"))["looker"]["success"]


class CrashSync(unittest.TestCase):
    def runs(self, mode, kill, rng):
        stub = SegmentStub(write_keys={WRITE_KEY}, store="events").start()
        relay = Relay({"segment": {"max_batch_events": 50}}, segment_url=stub.url,
                      workdir=tempfile.mkdtemp(prefix="lsr-crash-sync-"))
        relay.config["log"]["level"] = "info"
        kills = 0
        try:
            started = time.monotonic()
            relay.start()
            resent = False
            for index, body in enumerate(bodies(mode)):
                # Killed at a random moment until a kill lands before the answer (at most six
                # tries), then sent until acknowledged; then the same execute once more (Looker
                # re-sends what it thinks failed), which must send nothing new, killed too.
                cut_here = False
                for attempt in range(MAX_ATTEMPTS + 1):
                    self.assertLess(time.monotonic() - started, DEADLINE_S, "the scenario ran out of time")
                    out = {}
                    t = threading.Thread(target=post, args=(relay, body, out))
                    t0 = time.monotonic()
                    t.start()
                    if kill and ((not cut_here and attempt < 6) or (resent and attempt < 8)):
                        # Anywhere in the time an uninterrupted run took to answer.
                        time.sleep(rng.uniform(0.0, self.run_s))
                        relay.kill()
                        kills += 1
                        t.join(30)
                        relay.start()
                    else:
                        t.join(30)
                        self.run_s = max(self.run_s, time.monotonic() - t0)
                    if kill and "error" in out:
                        self.cut += 1  # killed before it answered
                        cut_here = True
                    if acknowledged(out):
                        if resent:
                            break
                        resent = True
                    if out.get("status") not in (None, 200):
                        self.fail("run %d answered %s: %s" % (index, out.get("status"), out.get("body")))
                else:
                    self.fail("run %d never acknowledged" % index)
                resent = False
            if kill:
                self.assertGreaterEqual(kills, MIN_KILLS)
            # Everything spooled goes out.
            self.assertTrue(wait_until(lambda: relay.get_json("/status")[1]["queue"]["batches"] == 0,
                                       timeout=60))
            time.sleep(0.3)
            return stub.events_by_message_id()
        finally:
            relay.kill()
            stub.stop()

    def scenario(self, mode):
        self.cut = 0
        self.run_s = 0.05
        reference = self.runs(mode, kill=False, rng=None)
        self.assertGreater(len(reference), ROWS)
        crashed = self.runs(mode, kill=True, rng=random.Random(20261205 + len(mode)))
        sys.stderr.write("\n%s: %d kills before an answer, a run answered in up to %.2f s\n"
                         % (mode, self.cut, self.run_s))
        # Some kills must land inside a run (before its answer), not only between runs.
        self.assertGreaterEqual(self.cut, RUNS - 1, "too few kills landed inside a run")
        self.assertEqual(set(crashed) - set(reference), set(), "events the uninterrupted runs never sent")
        self.assertEqual(set(reference) - set(crashed), set(), "events lost to a crash")
        for mid, events in crashed.items():
            for e in events:
                self.assertEqual(e, reference[mid][0])

    def test_changes_under_sigkill(self):
        self.scenario("changes")

    def test_audience_under_sigkill(self):
        self.scenario("audience")


if __name__ == "__main__":
    unittest.main()
