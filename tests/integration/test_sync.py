"""Cohort sync through the real binary (issue: send what changed, who entered and who left).

Three runs of one schedule in each mode with rows added, changed and removed between them; the
events at the Segment stand-in compared with what the rules say (the mapped event byte for byte
for new and changed rows, the Engage shapes for entered and left); the exit guard; resync; a
result cut short; two schedules and two write keys that do not see each other's baselines."""

import json
import os
import re
import tempfile
import time
import unittest

from harness import Relay, hub_headers, run_binary
from payloads import FIELDS, execute, result, row
from segment_stub import SegmentStub, batch_array

INSTANCE = "looker.example.com"
KEYS = {"wk_sync", "wk_other"}
MID = re.compile(r'"messageId":"(lsr-[0-9a-f]{32})"')


def rows_of(ids, changed=()):
    """Rows by index; an index in `changed` has another plan (a changed trait)."""
    out = []
    for i in ids:
        r = row(i)
        if i in changed:
            r["users.plan"] = {"value": "changed-%d" % i}
        out.append(r)
    return out


def without_ids(text):
    """The event text without its messageId (the mapped event's bytes otherwise)."""
    return MID.sub('"messageId":"<id>"', re.sub(r'"messageId":"[^"]*"', '"messageId":"<id>"', text))


class SyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub(write_keys=KEYS).start()
        cls.relay = Relay({"sync": {"max_exit_fraction": 0.5}}, segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.segment.stop()

    def setUp(self):
        self.segment.reset()

    # -- helpers -----------------------------------------------------------------------

    def post(self, rows, form, plan_id=2001, write_key="wk_sync", action="segment_event", raw_data=None):
        body = execute(result(rows), write_key=write_key, plan_id=plan_id, form_params=form)
        if raw_data is not None:
            body["attachment"]["data"] = raw_data
        headers = hub_headers()
        headers["X-Looker-Instance"] = INSTANCE
        status, _, data = self.relay.request("POST", "/actions/%s/execute" % action, body=body,
                                             headers=headers, timeout=60)
        return status, json.loads(data.decode().lstrip("\n"))

    def received(self, expected, write_key="wk_sync"):
        """The event texts that arrived, once `expected` did and nothing more came for a moment."""
        self.assertTrue(self.segment.wait_for_events(expected, timeout=30),
                        "only %d of %d events arrived" % (self.segment.event_count(), expected))
        time.sleep(0.4)
        texts = []
        for rec in self.segment.requests_snapshot():
            if rec.status == 200 and rec.write_key == write_key:
                texts.extend(batch_array(rec.body).decode().split(",\n"))
        self.assertEqual(len(texts), expected, texts)
        self.segment.reset()
        return texts

    def mapped(self, rows):
        """What `all` would send for these rows, without messageIds: the bytes a new or
        changed row must arrive with (run under another schedule, so no baseline is touched)."""
        self.segment.reset()
        status, answer = self.post(rows, {"sync": "all"}, plan_id=9999)
        self.assertEqual(status, 200, answer)
        return sorted(without_ids(t) for t in self.received(len(rows)))

    def message(self, answer):
        return answer["looker"]["message"]

    # -- changes ---------------------------------------------------------------------------

    def test_changes_three_runs(self):
        form = {"sync": "changes"}
        first = rows_of(range(10))
        expected_first = self.mapped(first)
        status, answer = self.post(first, form)
        self.assertEqual(status, 200)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertEqual(self.message(answer),
                         "10 rows: 0 changed, 10 new, 0 unchanged, 0 removed; 10 events queued.")
        got = self.received(10)
        self.assertEqual(sorted(without_ids(t) for t in got), expected_first)
        first_ids = {MID.search(t).group(1) for t in got}
        self.assertEqual(len(first_ids), 10)

        # Row 0 gone, row 3 changed, row 10 new: exactly two events, as `all` maps them.
        second = rows_of(range(1, 11), changed={3})
        expected_second = sorted(t for t in self.mapped(second)
                                 if '"userId":"u000003"' in t or '"userId":"u000010"' in t)
        status, answer = self.post(second, form)
        self.assertEqual(self.message(answer),
                         "10 rows: 1 changed, 1 new, 8 unchanged, 1 removed; 2 events queued.")
        got = self.received(2)
        self.assertEqual(sorted(without_ids(t) for t in got), expected_second)
        self.assertFalse({MID.search(t).group(1) for t in got} & first_ids)

        # The same rows again: nothing to send.
        status, answer = self.post(second, form)
        self.assertEqual(self.message(answer),
                         "10 rows: 0 changed, 0 new, 10 unchanged, 0 removed; 0 events queued.")
        time.sleep(0.5)
        self.assertEqual(self.segment.event_count(), 0)

        # Row 0 comes back: new again, with a new messageId.
        status, answer = self.post(rows_of(range(0, 11), changed={3}), form)
        got = self.received(1)
        self.assertIn('"userId":"u000000"', got[0])
        self.assertNotIn(MID.search(got[0]).group(1), first_ids)

    # -- audience --------------------------------------------------------------------------

    def test_audience_three_runs_identify(self):
        form = {"sync": "audience", "audience_key": "at_risk"}
        status, answer = self.post(rows_of(range(5)), form, plan_id=2101)
        self.assertTrue(answer["looker"]["success"], answer)
        got = [json.loads(t) for t in self.received(5)]
        for e in got:
            self.assertEqual(e["type"], "identify")
            self.assertIs(e["traits"]["at_risk"], True)
            self.assertEqual(e["traits"]["plan"], ["free", "team", "enterprise"][int(e["userId"][1:]) % 3])

        # Row 0 leaves, row 2 changes, row 5 enters.
        status, answer = self.post(rows_of(range(1, 6), changed={2}), form, plan_id=2101)
        self.assertEqual(self.message(answer),
                         "5 rows: 1 changed, 1 new, 3 unchanged, 1 left; 3 events queued.")
        got = {json.loads(t)["userId"]: (t, json.loads(t)) for t in self.received(3)}
        self.assertEqual(set(got), {"u000000", "u000002", "u000005"})
        left_text, left = got["u000000"]
        self.assertEqual(left["traits"], {"at_risk": False})
        self.assertEqual(left["type"], "identify")
        self.assertTrue(left_text.startswith('{"type":"identify","userId":"u000000","traits":{"at_risk":false}'),
                        left_text)
        self.assertIs(got["u000005"][1]["traits"]["at_risk"], True)
        changed = got["u000002"][1]
        self.assertEqual(changed["traits"]["plan"], "changed-2")
        self.assertNotIn("at_risk", changed["traits"])  # still a member: the traits only

        status, answer = self.post(rows_of(range(1, 6), changed={2}), form, plan_id=2101)
        self.assertEqual(self.message(answer),
                         "5 rows: 0 changed, 0 new, 5 unchanged, 0 left; 0 events queued.")

    def test_audience_track_events_and_default_key_from_title(self):
        form = {"sync": "audience", "audience_events": "both"}
        self.post(rows_of(range(3)), form, plan_id=2201)
        got = [json.loads(t) for t in self.received(6)]
        tracks = [e for e in got if e["type"] == "track"]
        self.assertEqual(len(tracks), 3)
        for e in tracks:
            self.assertEqual(e["event"], "Audience Entered")
            self.assertEqual(e["properties"], {"audience_key": "cohort", "cohort": True})
        self.assertEqual(len({e["messageId"] for e in got}), 6)
        self.post(rows_of(range(1, 3)), form, plan_id=2201)
        got = [json.loads(t) for t in self.received(2)]
        self.assertEqual({e["type"] for e in got}, {"identify", "track"})
        for e in got:
            self.assertEqual(e["userId"], "u000000")
            if e["type"] == "track":
                self.assertEqual(e["event"], "Audience Exited")
                self.assertEqual(e["properties"], {"audience_key": "cohort", "cohort": False})
            else:
                self.assertEqual(e["traits"], {"cohort": False})

    # -- the guard, resync, a failed result ---------------------------------------------------

    def test_guard_refuses_a_mass_exit_until_allowed(self):
        form = {"sync": "audience", "audience_key": "vip"}
        self.post(rows_of(range(10)), form, plan_id=2301)
        self.received(10)
        status, answer = self.post(rows_of(range(4)), form, plan_id=2301)
        self.assertFalse(answer["looker"]["success"])
        self.assertIn("6", self.message(answer))
        self.assertIn("allow_mass_exit", self.message(answer))
        time.sleep(0.5)
        self.assertEqual(self.segment.event_count(), 0)
        self.assertGreaterEqual(self.relay.metric_value("lsr_sync_guard_refusals_total"), 1)
        # An empty result while the baseline is not: refused too.
        status, answer = self.post([], form, plan_id=2301)
        self.assertFalse(answer["looker"]["success"])
        # Allowed once: the six leave.
        status, answer = self.post(rows_of(range(4)), dict(form, allow_mass_exit="yes"), plan_id=2301)
        self.assertTrue(answer["looker"]["success"], answer)
        got = [json.loads(t) for t in self.received(6)]
        self.assertTrue(all(e["traits"] == {"vip": False} for e in got))

    def test_resync_sends_every_row_and_no_exits(self):
        form = {"sync": "changes"}
        self.post(rows_of(range(6)), form, plan_id=2401)
        self.received(6)
        status, answer = self.post(rows_of(range(2, 6)), dict(form, resync="yes"), plan_id=2401)
        self.assertTrue(answer["looker"]["success"], answer)
        self.received(4)
        # The resync's rows are the baseline now: rows 0 and 1 are new if they come back.
        self.post(rows_of(range(6)), form, plan_id=2401)
        got = self.received(2)
        self.assertEqual(sorted(json.loads(t)["userId"] for t in got), ["u000000", "u000001"])

    def test_a_result_cut_short_sends_nothing_and_keeps_the_baseline(self):
        form = {"sync": "audience", "audience_key": "k"}
        self.post(rows_of(range(4)), form, plan_id=2501)
        self.received(4)
        full = json.dumps(result(rows_of(range(1, 6))))
        status, answer = self.post([], form, plan_id=2501, raw_data=full[: len(full) // 2])
        self.assertFalse(answer["looker"]["success"])
        self.assertIn("baseline is unchanged", self.message(answer))
        time.sleep(0.5)
        self.assertEqual(self.segment.event_count(), 0)
        # The baseline is still the first run's: 0 leaves, 4 and 5 enter.
        status, answer = self.post(rows_of(range(1, 6)), form, plan_id=2501)
        self.assertEqual(self.message(answer),
                         "5 rows: 0 changed, 2 new, 3 unchanged, 1 left; 3 events queued.")
        self.received(3)

    def test_schedules_and_write_keys_have_their_own_baselines(self):
        form = {"sync": "changes"}
        rows = rows_of(range(3))
        self.post(rows, form, plan_id=2601)
        self.received(3)
        self.post(rows, form, plan_id=2602)  # another schedule
        self.received(3)
        self.post(rows, form, plan_id=2601, write_key="wk_other")  # another write key
        self.received(3, write_key="wk_other")
        status, answer = self.post(rows, form, plan_id=2601)
        self.assertEqual(self.message(answer),
                         "3 rows: 0 changed, 0 new, 3 unchanged, 0 removed; 0 events queued.")

    def test_preview_shows_what_the_next_run_sends(self):
        form = {"sync": "changes"}
        self.post(rows_of(range(3)), form, plan_id=2801)
        self.received(3)
        body = execute(result(rows_of(range(1, 4), changed={2})), write_key="wk_sync", plan_id=2801,
                       form_params=form)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "payload.json")
            with open(path, "w") as f:
                json.dump(body, f)
            out = run_binary(["preview", "--sync-state", self.relay.config["spool"]["path"],
                              "--instance", INSTANCE, path])
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
        self.assertEqual(sorted(json.loads(l)["userId"] for l in lines), ["u000002", "u000003"])
        self.assertIn("1 changed, 1 new, 1 unchanged, 1 removed; 2 events", out.stderr)
        # Preview changed nothing: the run sends the same two events, with the same ids.
        status, answer = self.post(rows_of(range(1, 4), changed={2}), form, plan_id=2801)
        got = self.received(2)
        self.assertEqual(sorted(MID.search(t).group(1) for t in got),
                         sorted(MID.search(l).group(1) for l in lines))

    def test_bad_sync_settings_are_refused_with_the_field(self):
        status, answer = self.post(rows_of(range(2)), {"sync": "sometimes"}, plan_id=2701)
        self.assertFalse(answer["looker"]["success"])
        self.assertIn("sync", answer["looker"]["validation_errors"])
        status, answer = self.post(rows_of(range(2)), {"sync": "audience", "audience_key": "Not Snake"},
                                   plan_id=2701)
        self.assertIn("audience_key", answer["looker"]["validation_errors"])


class SyncLimitTest(unittest.TestCase):
    """sync.max_members bounds a run's memory: a run past it stops, sends nothing, keeps the baseline."""

    def test_a_run_past_max_members_sends_nothing(self):
        with SegmentStub(write_keys=KEYS) as segment, \
                Relay({"sync": {"max_members": 3}}, segment_url=segment.url) as relay:
            def post(rows):
                body = execute(result(rows), write_key="wk_sync", plan_id=3001, form_params={"sync": "changes"})
                status, _, data = relay.request("POST", "/actions/segment_event/execute", body=body,
                                                headers=hub_headers(), timeout=60)
                return json.loads(data.decode().lstrip("\n"))["looker"]
            answer = post(rows_of(range(5)))
            self.assertFalse(answer["success"])
            self.assertIn("more than 3 members (sync.max_members)", answer["message"])
            self.assertIn("baseline is unchanged", answer["message"])
            time.sleep(0.5)
            self.assertEqual(segment.event_count(), 0)
            answer = post(rows_of(range(3)))
            self.assertTrue(answer["success"], answer)
            self.assertTrue(segment.wait_for_events(3))


if __name__ == "__main__":
    unittest.main()
