"""The run history and cohort sync's operator surface through the real binary: an execute
becomes a run that GET /runs, GET /runs/{id} and `runs --json` show with the same JSON; the
table form; 404 and 400 answers; `sync list` and `sync reset` on a store without baselines,
then on the baseline of a `changes` run (write keys only by a prefix), with /status's "sync"
figures and the lsr_sync_* gauges following; and /runs is served exactly where /status is
(both listeners; the relay has no other admin rule for them)."""

import json
import os
import shutil
import tempfile
import unittest

import payloads
from harness import Relay, hub_headers, run_binary, wait_until
from segment_stub import SegmentStub

WRITE_KEY = "wk_runs_0123456789abcdef"
KEY_PREFIX = WRITE_KEY[:4] + "\u2026"
ROWS = 6
PLAN_ID = 4711
INSTANCE = "looker.example.com"
WEBHOOK_ID = "wh-runs-1"


def cli(*args, timeout=30):
    return run_binary(list(args), timeout=timeout)


class RunsCase(unittest.TestCase):
    """A stand-in Segment, a relay on it, and one execute of ROWS rows (no tests of its own)."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="lsr-runs-cli-")
        cls.spool_path = os.path.join(cls.workdir, "spool.db")
        cls.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        cls.relay = Relay(segment_url=cls.segment.url, workdir=cls.workdir)
        cls.relay.config["log"]["level"] = "info"
        try:
            cls.relay.start()
            body = payloads.rows_execute(0, ROWS, write_key=WRITE_KEY, plan_id=PLAN_ID)
            headers = dict(hub_headers())
            headers["X-Looker-Instance"] = INSTANCE
            headers["X-Looker-Webhook-Id"] = WEBHOOK_ID
            status, _, data = cls.relay.request("POST", "/actions/segment_event/execute", body=body,
                                                headers=headers, timeout=60)
            cls.execute_status = status
            cls.execute_answer = json.loads(data.decode("utf-8").lstrip("\n"))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.relay.stop()
        except Exception:
            cls.relay.kill()
        cls.relay.close_pipes()
        cls.segment.stop()
        shutil.rmtree(cls.workdir, True)

    def admin_get(self, path):
        status, headers, body = self.relay.admin_request("GET", path)
        self.assertEqual(headers.get("content-type"), "application/json", path)
        return status, json.loads(body)

    def settled_runs(self):
        """GET /runs once every event of the run is delivered (the figures stop moving)."""
        def delivered():
            status, page = self.admin_get("/runs")
            return status == 200 and page["runs"] and page["runs"][0]["delivered"] == ROWS
        self.assertTrue(self.segment.wait_for_events(ROWS))
        self.assertTrue(wait_until(delivered, timeout=30), self.admin_get("/runs"))
        return self.admin_get("/runs")[1]


class RunsRoutesTest(RunsCase):
    def test_the_execute_succeeded(self):
        self.assertEqual(self.execute_status, 200)
        self.assertTrue(self.execute_answer["looker"]["success"], self.execute_answer)

    def test_get_runs_shows_the_execute(self):
        page = self.settled_runs()
        self.assertIsNone(page["next"])
        self.assertEqual(len(page["runs"]), 1)
        run = page["runs"][0]
        self.assertEqual(run["plan_id"], str(PLAN_ID))
        self.assertEqual(run["title"], "Cohort")
        self.assertEqual(run["action"], "segment_event")
        self.assertEqual(run["instance"], INSTANCE)
        self.assertEqual(run["webhook_id"], WEBHOOK_ID)
        self.assertEqual(run["sync_mode"], "all")
        # The outcome as the execute recorded it (run_record.hpp names it "done"; the execute
        # path records its report's outcome, "success"): either way a finished, successful run.
        self.assertIn(run["outcome"], ("done", "success"))
        self.assertTrue(run["success"])
        self.assertEqual(run["answer"], self.execute_answer["looker"]["message"])
        self.assertEqual((run["rows"], run["accepted"], run["rejected"]), (ROWS, ROWS, 0))
        self.assertEqual(run["rejected_by_reason"], {})
        self.assertEqual((run["added"], run["changed"], run["unchanged"], run["removed"]), (0, 0, 0, 0))
        self.assertEqual((run["events"], run["queued"], run["dead_lettered"], run["delivered"]), (ROWS, 0, 0, ROWS))
        self.assertTrue(run["received"].endswith("Z"))
        self.assertIsInstance(run["received_ms"], int)
        self.assertGreaterEqual(run["finished_ms"], run["received_ms"])

    def test_get_one_run_is_the_same_object(self):
        run = self.settled_runs()["runs"][0]
        status, one = self.admin_get("/runs/%d" % run["id"])
        self.assertEqual(status, 200)
        self.assertEqual(one, run)

    def test_paging(self):
        run = self.settled_runs()["runs"][0]
        status, page = self.admin_get("/runs?limit=1")
        self.assertEqual(status, 200)
        self.assertEqual([r["id"] for r in page["runs"]], [run["id"]])
        status, older = self.admin_get("/runs?before=%d" % run["id"])
        self.assertEqual(status, 200)
        self.assertEqual(older, {"runs": [], "next": None})

    def test_unknown_run_is_404_and_a_bad_id_400(self):
        status, body = self.admin_get("/runs/999999")
        self.assertEqual(status, 404)
        self.assertEqual(body, {"success": False, "error": "no run 999999 in the history"})
        status, body = self.admin_get("/runs/abc")
        self.assertEqual(status, 400)
        self.assertFalse(body["success"])
        for query in ("limit=0", "limit=x", "before=-1"):
            status, body = self.admin_get("/runs?" + query)
            self.assertEqual(status, 400, query)
            self.assertIn("must be a positive integer", body["error"])

    def test_runs_are_open_on_the_admin_listener_and_need_a_token_on_the_main_one(self):
        # The main listener faces Looker (often the internet): a run names schedules and their
        # answers, so there it takes a hub token, as the Action API does.
        main, admin = self.relay.port, self.relay.admin_port
        for port, headers, expected in ((admin, None, (200, 404)), (main, None, (403, 403)),
                                        (main, {"Authorization": 'Token token="forged"'}, (403, 403)),
                                        (main, hub_headers(), (200, 404))):
            runs_code, _, _ = self.relay.request("GET", "/runs", port=port, headers=headers)
            one_code, _, _ = self.relay.request("GET", "/runs/999999", port=port, headers=headers)
            self.assertEqual((runs_code, one_code), expected, (port, headers))
        for port in (main, admin):
            post_code, _, _ = self.relay.request("POST", "/runs", body=b"", port=port)
            self.assertEqual(post_code, 405, port)

    def test_status_and_metrics_show_the_baselines(self):
        status, doc = self.admin_get("/status")
        self.assertEqual(status, 200)
        self.assertEqual(doc["sync"], {"baselines": 0, "rows": 0, "bytes": 0})
        self.assertIn("delivery", doc)
        for name in ("lsr_sync_baselines", "lsr_sync_baseline_rows", "lsr_sync_baseline_bytes"):
            self.assertEqual(self.relay.metric_value(name), 0.0, name)


class RunsCliTest(RunsCase):
    def test_runs_json_is_the_routes_json(self):
        page = self.settled_runs()
        r = cli("runs", "--json", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), page)
        run = page["runs"][0]
        r = cli("runs", "--json", "--config", self.relay.config_path(), str(run["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), run)

    def test_runs_table(self):
        run = self.settled_runs()["runs"][0]
        r = cli("runs", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("ID"), r.stdout)
        for column in ("RECEIVED", "PLAN", "TITLE", "MODE", "OUTCOME", "ROWS", "ADDED/CHANGED/UNCHANGED/REMOVED",
                       "EVENTS", "DELIVERED"):
            self.assertIn(column, lines[0])
        cells = lines[1].split()
        self.assertEqual(cells[0], str(run["id"]))
        self.assertEqual(cells[2], str(PLAN_ID))
        self.assertIn("Cohort", lines[1])
        self.assertIn(" all ", lines[1])
        self.assertIn(" %s " % run["outcome"], lines[1])
        self.assertIn(" 0/0/0/0 ", lines[1])
        self.assertEqual(cells[-1], str(ROWS))
        r = cli("runs", "--spool", self.spool_path, str(run["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Cohort", r.stdout)
        self.assertRegex(r.stdout, r"\nrows +%d \(%d accepted, 0 rejected\)\n" % (ROWS, ROWS))
        self.assertRegex(r.stdout, r"\nevents +%d spooled: %d delivered, 0 queued, 0 dead-lettered\n" % (ROWS, ROWS))

    def test_runs_errors(self):
        r = cli("runs", "--spool", self.spool_path, "999999")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no run 999999", r.stderr)
        self.assertEqual(cli("runs", "--spool", self.spool_path, "abc").returncode, 2)
        # Neither --config nor --spool: the spool serve uses without --config (RELAY_SPOOL_PATH here).
        r = run_binary(["runs", "--json"], env={"RELAY_SPOOL_PATH": self.spool_path})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["runs"]), 1)
        self.assertEqual(cli("runs", "--spool", self.spool_path, "--config", self.relay.config_path()).returncode, 2)
        self.assertEqual(cli("runs", "--spool", self.spool_path, "--limit", "0").returncode, 2)
        r = cli("runs", "--spool", os.path.join(self.workdir, "missing.db"))
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "missing.db")))

    def test_sync_list_and_reset_without_baselines(self):
        r = cli("sync", "list", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "no baselines\n")
        r = cli("sync", "list", "--json", "--config", self.relay.config_path())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"baselines": []})
        r = run_binary(["sync", "list"], env={"RELAY_SPOOL_PATH": self.spool_path})
        self.assertEqual((r.returncode, r.stdout), (0, "no baselines\n"), r.stderr)
        r = cli("sync", "reset", "5", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no baseline 5", r.stderr)
        self.assertEqual(cli("sync", "reset", "--spool", self.spool_path).returncode, 2)
        self.assertEqual(cli("sync", "frobnicate", "--spool", self.spool_path).returncode, 2)
        r = cli("sync", "help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("reset ID", r.stdout)

    def test_usage_names_the_commands(self):
        r = cli("help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("runs [--config FILE | --spool PATH]", r.stdout)
        self.assertIn("sync list", r.stdout)
        self.assertIn("sync reset ID", r.stdout)


class SyncBaselineTest(unittest.TestCase):
    """One `changes` run: its baseline in `sync list`, /status and the gauges; `sync reset`."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-sync-cli-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.spool_path = os.path.join(self.workdir, "spool.db")
        self.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(self.segment.stop)
        self.relay = Relay(segment_url=self.segment.url, workdir=self.workdir)
        self.relay.config["log"]["level"] = "info"
        self.relay.start()
        self.addCleanup(self.stop_relay)

    def stop_relay(self):
        try:
            self.relay.stop()
        except Exception:
            self.relay.kill()
        self.relay.close_pipes()

    def test_a_changes_run_makes_a_baseline_that_reset_empties(self):
        body = payloads.rows_execute(0, ROWS, write_key=WRITE_KEY, plan_id=PLAN_ID, form_params={"sync": "changes"})
        headers = dict(hub_headers())
        headers["X-Looker-Instance"] = INSTANCE
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute", body=body, headers=headers,
                                             timeout=60)
        self.assertEqual(status, 200, data)
        self.assertTrue(self.segment.wait_for_events(ROWS))

        status, _, raw = self.relay.admin_request("GET", "/runs")
        run = json.loads(raw)["runs"][0]
        self.assertEqual((run["sync_mode"], run["added"], run["events"]), ("changes", ROWS, ROWS))

        r = cli("sync", "list", "--json", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        baselines = json.loads(r.stdout)["baselines"]
        self.assertEqual(len(baselines), 1)
        b = baselines[0]
        self.assertEqual((b["instance"], b["plan_id"], b["action"], b["title"]),
                         (INSTANCE, str(PLAN_ID), "segment_event", "Cohort"))
        self.assertEqual(b["write_key"], KEY_PREFIX)
        self.assertEqual((b["mode"], b["members"]), ("changes", ROWS))
        self.assertTrue(b["last_run"].endswith("Z"))
        r = cli("sync", "list", "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(KEY_PREFIX, r.stdout)
        self.assertNotIn(WRITE_KEY, r.stdout)

        status, _, raw = self.relay.admin_request("GET", "/status")
        sync = json.loads(raw)["sync"]
        self.assertEqual((sync["baselines"], sync["rows"]), (1, ROWS))
        self.assertGreater(sync["bytes"], 0)
        self.assertTrue(wait_until(lambda: self.relay.metric_value("lsr_sync_baselines") == 1.0, timeout=10))
        self.assertEqual(self.relay.metric_value("lsr_sync_baseline_rows"), float(ROWS))

        r = cli("sync", "reset", str(b["id"]), "--spool", self.spool_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("baseline %d" % b["id"], r.stdout)
        self.assertIn("next run is a first run", r.stdout)
        self.assertNotIn(WRITE_KEY, r.stdout)
        # The baseline stays, empty (one generation on, so its next run has new messageIds).
        r = cli("sync", "list", "--json", "--spool", self.spool_path)
        after = json.loads(r.stdout)["baselines"]
        self.assertEqual([(x["id"], x["members"]) for x in after], [(b["id"], 0)])
        status, _, raw = self.relay.admin_request("GET", "/status")
        self.assertEqual(json.loads(raw)["sync"], {"baselines": 1, "rows": 0, "bytes": 0})


if __name__ == "__main__":
    unittest.main()
