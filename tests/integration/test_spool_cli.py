"""The `spool` subcommand against the real binary: stats on an empty and on a filled spool,
the dead-letter listing (human and --json, write keys only as a prefix), replay by id and
--all (the events then reach the stand-in Segment with the same messageIds), purge refusing
without --yes-really, a wrong path; and the spool's lock: a second `serve` on the same spool
is refused while the tools keep working beside the running relay."""

import json
import os
import re
import shutil
import tempfile
import time
import unittest

import payloads
from harness import Relay, closed_port_url, hub_headers, run_binary, wait_until
from segment_stub import SegmentStub

WRITE_KEY = "wk_cli_0123456789abcdef"   # long, so that a prefix is visibly not the key
KEY_PREFIX = WRITE_KEY[:4] + "\u2026"
ROWS = 20
POISONED_USERS = ("u000003", "u000011")   # 400 for every batch holding them: two dead letters


def spool_cli(*args, timeout=30):
    return run_binary(["spool"] + list(args), timeout=timeout)



def execute(relay, body):
    status, _, data = relay.request("POST", "/actions/segment_event/execute", body=body,
                                    headers=hub_headers(), timeout=60)
    return status, json.loads(data.decode("utf-8").lstrip("\n"))


def preview_ids(workdir, body):
    """userId -> messageId, as `preview` computes them for the execute body."""
    path = os.path.join(workdir, "payload-preview.json")
    with open(path, "w") as f:
        json.dump(body, f)
    r = run_binary(["preview", "--action", "segment_event", path], timeout=60)
    if r.returncode != 0:
        raise AssertionError("preview failed: %s" % r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            e = json.loads(line)
            out[e["userId"]] = e["messageId"]
    return out


class SpoolCliCase(unittest.TestCase):
    """A stand-in Segment that answers 400 for the poisoned users, and a relay on it."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-spool-cli-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.spool_path = os.path.join(self.workdir, "spool.db")
        self.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(self.segment.stop)
        for user in POISONED_USERS:
            self.segment.poison(user_id=user)
        self.relay = Relay(segment_url=self.segment.url, workdir=self.workdir)
        self.relay.config["log"]["level"] = "info"
        self.addCleanup(self.stop_relay)
        self.body = payloads.rows_execute(0, ROWS, write_key=WRITE_KEY, plan_id=4242)
        self.expected = preview_ids(self.workdir, self.body)
        self.assertEqual(len(self.expected), ROWS)

    def stop_relay(self):
        try:
            self.relay.stop()
        except Exception:
            self.relay.kill()
        self.relay.close_pipes()

    def cli(self, *args, expect=0):
        r = spool_cli(*(list(args) + ["--spool", self.spool_path]))
        if expect is not None:
            self.assertEqual(r.returncode, expect, "spool %s: stdout=%r stderr=%r" % (args, r.stdout, r.stderr))
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*(list(args) + ["--json"])).stdout)

    def fill_dead_letters(self):
        """Runs the relay; the execute's two poisoned events end as dead letters."""
        self.relay.start()
        status, answer = execute(self.relay, self.body)
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertTrue(self.segment.wait_for_events(ROWS - len(POISONED_USERS), timeout=30))
        # The tools beside the running relay: the dead letters appear once the splits settle.
        self.assertTrue(wait_until(lambda: self.cli_json("stats")["dead_letters"] == len(POISONED_USERS),
                                   timeout=30, interval=0.1), self.cli_json("stats"))

    def arrived_ids(self):
        """userId -> set of messageIds accepted by the stand-in Segment."""
        out = {}
        for mid, events in self.segment.events_by_message_id().items():
            for e in events:
                out.setdefault(e["userId"], set()).add(mid)
        return out


class StatsTest(SpoolCliCase):
    def test_stats_of_an_empty_spool(self):
        self.relay.start()
        self.relay.stop()
        st = self.cli_json("stats")
        self.assertEqual(st["path"], self.spool_path)
        for key in ("batches", "events", "bytes", "dead_letters", "dead_letter_events", "oldest_created_ms",
                    "oldest_age_s"):
            self.assertEqual(st[key], 0, key)
        self.assertEqual(st["max_bytes"], 2 * 1024 ** 3)
        self.assertGreater(st["file_bytes"], 0)
        human = self.cli("stats").stdout
        self.assertIn("spool         %s\n" % self.spool_path, human)
        self.assertIn("batches       0 (0 events, 0 B of 2.0 GiB allowed)", human)
        self.assertIn("oldest event  -\n", human)
        self.assertIn("dead letters  0 (0 events)", human)

    def test_stats_of_a_filled_spool_while_segment_is_down(self):
        relay = Relay(segment_url=closed_port_url(), workdir=self.workdir)
        relay.config["log"]["level"] = "info"
        self.relay = relay
        relay.start()
        for i in range(3):
            status, answer = execute(relay, payloads.rows_execute(i * 100, 100, write_key=WRITE_KEY))
            self.assertEqual(status, 200, answer)
        # While it runs (the tools do not need the relay's lock) and after it stopped.
        for running in (True, False):
            if not running:
                self.assertEqual(relay.stop(), 0)
            st = self.cli_json("stats")
            self.assertEqual(st["events"], 300, st)
            self.assertGreaterEqual(st["batches"], 3)
            self.assertGreater(st["bytes"], 300 * 100)
            self.assertGreater(st["oldest_created_ms"], (time.time() - 3600) * 1000)
            self.assertLessEqual(st["oldest_created_ms"], time.time() * 1000 + 1000)
            self.assertGreaterEqual(st["oldest_age_s"], 0)
            self.assertEqual(st["dead_letters"], 0)
            human = self.cli("stats").stdout
            self.assertRegex(human, r"batches       %d \(300 events, [0-9.]+ KiB of 2\.0 GiB allowed\)"
                             % st["batches"])
            self.assertRegex(human, r"oldest event  \d+s old \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)")

    def test_stats_counts_dead_letters(self):
        self.fill_dead_letters()
        st = self.cli_json("stats")
        self.assertEqual(st["dead_letters"], 2)
        self.assertEqual(st["dead_letter_events"], 2)
        self.assertEqual(st["batches"], 0)
        self.assertIn("dead letters  2 (2 events)", self.cli("stats").stdout)


class DeadLettersTest(SpoolCliCase):
    def test_listing_json_and_human_show_only_a_key_prefix(self):
        self.fill_dead_letters()
        listing = self.cli_json("dead-letters")
        self.assertEqual(listing["total"], 2)
        letters = listing["dead_letters"]
        self.assertEqual(len(letters), 2)
        for d in letters:
            self.assertEqual(d["write_key"], KEY_PREFIX)
            self.assertEqual(d["status"], 400)
            self.assertEqual(d["events"], 1)
            self.assertTrue(d["reason"], d)
            self.assertGreaterEqual(d["attempts"], 1)
            self.assertGreaterEqual(d["age_s"], 0)
            self.assertLessEqual(d["created_ms"], d["dead_ms"])
        self.assertLess(letters[0]["id"], letters[1]["id"])
        raw_json = self.cli("dead-letters", "--json").stdout
        self.assertNotIn(WRITE_KEY, raw_json)

        human = self.cli("dead-letters").stdout
        self.assertNotIn(WRITE_KEY, human)
        lines = human.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "WRITE", "KEY", "STATUS", "EVENTS", "ATTEMPTS", "AGE", "REASON"])
        self.assertEqual(len(lines), 3, human)
        for line, d in zip(lines[1:], letters):
            cells = line.split()
            self.assertEqual(cells[0], str(d["id"]))
            self.assertEqual(cells[1], KEY_PREFIX)
            self.assertEqual(cells[2], "400")
            self.assertEqual(cells[3], "1")

        limited = self.cli("dead-letters", "--limit", "1").stdout
        self.assertIn("(1 of 2 shown; --limit N for more)", limited)
        self.assertEqual(len(self.cli_json("dead-letters", "--limit", "1")["dead_letters"]), 1)

    def test_listing_an_empty_spool(self):
        self.relay.start()
        self.assertEqual(self.cli("dead-letters").stdout, "no dead letters\n")
        self.assertEqual(self.cli_json("dead-letters"), {"total": 0, "dead_letters": []})


class ReplayTest(SpoolCliCase):
    def dead_letter_users(self):
        """The poisoned users' messageIds as the relay sent them (in the 400 batches)."""
        out = {}
        for rec in self.segment.requests_snapshot():
            if rec.status == 400:
                for e in rec.events:
                    if e.get("userId") in POISONED_USERS:
                        out[e["userId"]] = e["messageId"]
        return out

    def test_replay_by_id_then_all_while_the_relay_runs(self):
        self.fill_dead_letters()
        sent_as = self.dead_letter_users()
        self.assertEqual(sent_as, {u: self.expected[u] for u in POISONED_USERS})
        self.assertEqual(set(self.arrived_ids()), set(self.expected) - set(POISONED_USERS))
        self.segment.clear_poison()  # the cause is fixed

        first, second = self.cli_json("dead-letters")["dead_letters"]
        r = self.cli("replay", str(first["id"]))
        self.assertIn("replayed 1 dead letter(s) into the queue", r.stdout)
        self.assertTrue(self.segment.wait_for_events(ROWS - 1, timeout=30))
        listing = self.cli_json("dead-letters")
        self.assertEqual([d["id"] for d in listing["dead_letters"]], [second["id"]])

        self.assertEqual(self.cli_json("replay", "--all"), {"replayed": 1})
        self.assertTrue(self.segment.wait_for_events(ROWS, timeout=30))
        arrived = self.arrived_ids()
        self.assertEqual(arrived, {u: {m} for u, m in self.expected.items()})  # same messageIds, once each
        self.assertTrue(wait_until(lambda: self.cli_json("stats")["batches"] == 0, timeout=30, interval=0.1))
        self.assertEqual(self.cli_json("stats")["dead_letters"], 0)

    def test_replay_all_while_stopped_is_delivered_at_the_next_start(self):
        self.fill_dead_letters()
        self.assertEqual(self.relay.stop(), 0)
        self.segment.clear_poison()
        r = self.cli("replay", "--all")
        self.assertIn("replayed 2 dead letter(s)", r.stdout)
        st = self.cli_json("stats")
        self.assertEqual((st["batches"], st["events"], st["dead_letters"]), (2, 2, 0))
        self.relay.start()
        self.assertTrue(self.segment.wait_for_events(ROWS, timeout=30))
        self.assertEqual(self.arrived_ids(), {u: {m} for u, m in self.expected.items()})

    def test_replay_of_an_unknown_id_replays_nothing(self):
        self.fill_dead_letters()
        ids = [d["id"] for d in self.cli_json("dead-letters")["dead_letters"]]
        r = self.cli("replay", str(ids[0]), "999999", expect=1)
        self.assertIn("no dead letter with id 999999; nothing was replayed", r.stderr)
        self.assertEqual(self.cli_json("stats")["dead_letters"], 2)

    def test_replay_usage_errors(self):
        self.relay.start()
        self.assertIn("replay needs --all or the ids", self.cli("replay", expect=2).stderr)
        self.assertIn("not a dead-letter id", self.cli("replay", "x1", expect=2).stderr)


class PurgeTest(SpoolCliCase):
    def test_purge_dead_letters_needs_yes_really(self):
        self.fill_dead_letters()
        r = self.cli("purge", "--dead-letters", expect=2)
        self.assertIn("refusing to purge without --yes-really", r.stderr)
        self.assertIn("2 dead letter(s) (2 events)", r.stderr)
        self.assertIn(self.spool_path, r.stderr)
        self.assertEqual(self.cli_json("stats")["dead_letters"], 2)

        r = self.cli("purge", "--dead-letters", "--yes-really")
        self.assertEqual(r.stdout, "purged 2 dead letter(s) from %s\n" % self.spool_path)
        self.assertEqual(self.cli_json("stats")["dead_letters"], 0)
        self.assertEqual(self.cli("dead-letters").stdout, "no dead letters\n")
        # The relay, still running, keeps working.
        status, answer = execute(self.relay, payloads.rows_execute(100, 5, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        self.assertTrue(self.segment.wait_for_events(ROWS - 2 + 5, timeout=30))

    def test_purge_batches_needs_yes_really(self):
        relay = Relay(segment_url=closed_port_url(), workdir=self.workdir)
        self.relay = relay
        relay.start()
        status, answer = execute(relay, payloads.rows_execute(0, 50, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        relay.stop()
        r = self.cli("purge", "--batches", expect=2)
        self.assertIn("refusing to purge without --yes-really", r.stderr)
        self.assertIn("(50 events not yet delivered)", r.stderr)
        self.assertEqual(self.cli_json("stats")["events"], 50)
        out = self.cli_json("purge", "--batches", "--yes-really")
        self.assertEqual(out["table"], "batches")
        self.assertGreaterEqual(out["purged"], 1)
        st = self.cli_json("stats")
        self.assertEqual((st["batches"], st["events"], st["bytes"]), (0, 0, 0))

    def test_purge_batches_while_the_relay_sends_them(self):
        # Segment answers slowly, so batches are leased (in flight) when the purge comes.
        self.segment.clear_poison()
        self.segment.push_response(200, delay=1.5, times=1)
        self.segment.push_response(503, times=100000)
        self.relay.start()
        status, answer = execute(self.relay, self.body)
        self.assertEqual(status, 200, answer)
        time.sleep(0.5)  # the first attempt is in flight (the stand-in answers after 1.5 s)
        self.assertEqual(self.segment.event_count(), 0)
        out = self.cli_json("purge", "--batches", "--yes-really")
        self.assertEqual(out["purged"], 1)
        self.segment.clear_script()
        # The in-flight attempt may land (it was sent before the purge); nothing comes back after.
        time.sleep(2.5)
        self.assertLessEqual(self.segment.event_count(), ROWS)
        self.assertTrue(all(len(ids) == 1 for ids in self.arrived_ids().values()))
        st = self.cli_json("stats")
        self.assertEqual((st["batches"], st["dead_letters"]), (0, 0))
        # The relay goes on: new work is accepted and delivered.
        status, answer = execute(self.relay, payloads.rows_execute(500, 3, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        self.assertTrue(wait_until(lambda: {"u000500", "u000501", "u000502"} <= set(self.arrived_ids()),
                                   timeout=30))
        self.assertIsNone(self.relay.proc.poll())

    def test_purge_usage(self):
        self.relay.start()
        self.assertIn("exactly one of --dead-letters or --batches", self.cli("purge", expect=2).stderr)


class WrongPathTest(unittest.TestCase):
    def test_missing_spool_is_an_error_and_is_not_created(self):
        workdir = tempfile.mkdtemp(prefix="lsr-spool-cli-")
        self.addCleanup(shutil.rmtree, workdir, True)
        path = os.path.join(workdir, "nope", "spool.db")
        for command in (["stats"], ["dead-letters"], ["replay", "--all"], ["purge", "--dead-letters", "--yes-really"]):
            r = spool_cli(*(command + ["--spool", path]))
            self.assertEqual(r.returncode, 1, (command, r.stderr))
            self.assertEqual(r.stderr, "spool: no spool at %s (file does not exist)\n" % path)
            self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_missing_config_file(self):
        r = spool_cli("stats", "--config", "/nonexistent/relay.yaml")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("/nonexistent/relay.yaml", r.stderr)

    def test_no_spool_given_is_a_usage_error(self):
        r = spool_cli("stats")
        self.assertEqual(r.returncode, 2)
        self.assertIn("give --config FILE or --spool PATH", r.stderr)


class SpoolLockTest(unittest.TestCase):
    """Two relays never serve the same spool; the tools work beside the one that does."""

    def test_second_serve_on_the_same_spool_is_refused(self):
        segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(segment.stop)
        first = Relay(segment_url=segment.url)
        first.config["log"]["level"] = "info"
        first.start()
        self.addCleanup(first.__exit__, None, None, None)
        spool_path = first.config["spool"]["path"]
        second = Relay({"spool": {"path": spool_path}}, segment_url=segment.url)
        self.addCleanup(second.__exit__, None, None, None)
        t0 = time.monotonic()
        with self.assertRaises(RuntimeError):
            second.start(timeout=10)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(second.proc.wait(timeout=5), 1)
        entry = second.wait_log("cannot open the spool", timeout=5)
        self.assertIsNotNone(entry, second.logs)
        self.assertTrue(wait_until(lambda: second.stderr_lines, timeout=5))
        stderr = "".join(second.stderr_lines)
        self.assertIn(spool_path, stderr)
        self.assertIn("another relay (pid %d) holds its lock %s.lock" % (first.proc.pid, spool_path), stderr)
        self.assertIn("Two relays must never serve the same spool", stderr)
        self.assertEqual(entry["path"], spool_path)
        self.assertIn("another relay", entry["error"])
        self.assertEqual(os.stat(spool_path + ".lock").st_mode & 0o777, 0o600)

        # The first relay was not disturbed and the tools open beside it.
        self.assertEqual(first.get_json("/readyz")[0], 200)
        status, answer = execute(first, payloads.rows_execute(0, 3, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        self.assertTrue(segment.wait_for_events(3, timeout=30))
        r = spool_cli("stats", "--spool", spool_path, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)

        # SIGKILL lets the lock go (the kernel releases it): the second relay now starts.
        first.kill()
        second.start()
        self.assertEqual(second.get_json("/readyz")[0], 200)
        self.assertEqual(second.stop(), 0)


if __name__ == "__main__":
    unittest.main()
