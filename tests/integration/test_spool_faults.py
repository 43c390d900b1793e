"""Spool faults against the real binary.

- A truncated and a garbage spool file at start: the relay exits 1 quickly with a clear message
  and the documented way out on stderr and in the JSON log, and leaves the file untouched;
  following the way out (mv aside, start, salvage) works.
- A full spool (spool.max_bytes 1 MiB, Segment down so nothing drains): a new execute gets 503
  with Retry-After and a clear message, /readyz stays green (the relay can still serve and
  drain; see the test), and nothing already accepted is lost: once Segment is back every event
  of every execute that got 200 arrives.
- Low disk (spool.min_free_bytes above the free space of the spool's filesystem): new work gets
  503 with Retry-After and says why; with the reserve lowered, the same work is accepted.
"""

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import time
import unittest

import payloads
from harness import Relay, closed_port_url, hub_headers, run_binary, wait_until
from segment_stub import SegmentStub

WRITE_KEY = "wk_faults"
EXECUTE = "/actions/segment_event/execute"



def execute(relay, body):
    status, headers, data = relay.request("POST", EXECUTE, body=body, headers=hub_headers(), timeout=60)
    return status, headers, json.loads(data.decode("utf-8").lstrip("\n"))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def preview_ids(workdir, body):
    """userId -> messageId, as `preview` computes them."""
    path = os.path.join(workdir, "payload-preview.json")
    with open(path, "w") as f:
        json.dump(body, f)
    r = run_binary(["preview", "--action", "segment_event", path], timeout=60)
    if r.returncode != 0:
        raise AssertionError("preview failed: %s" % r.stderr)
    return {e["userId"]: e["messageId"] for e in map(json.loads, filter(None, r.stdout.splitlines()))}


class CorruptSpoolTest(unittest.TestCase):
    ROWS = 1000

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-spool-faults-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.spool_path = os.path.join(self.workdir, "spool.db")
        self.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(self.segment.stop)
        self.relays = []

    def tearDown(self):
        for relay in self.relays:
            try:
                relay.stop()
            except Exception:
                relay.kill()
            relay.close_pipes()

    def relay(self, segment_url, **config):
        r = Relay(config, segment_url=segment_url, workdir=self.workdir)
        r.config["log"]["level"] = "info"
        self.relays.append(r)
        return r

    def fill(self):
        """A spool holding ROWS events in batches of 10, written while Segment was down.

        Its max_bytes (under 256 MiB) gives it 4 KiB pages: the tables' root pages at the start
        of the file then take a few pages, and a cut at 60% of the file falls among the batches
        (with 64 KiB pages those root pages alone would outweigh this few batches)."""
        relay = self.relay(closed_port_url(), segment={"max_batch_events": 10},
                           spool={"max_bytes": 128 * 1024 * 1024})
        relay.start()
        body = payloads.rows_execute(0, self.ROWS, write_key=WRITE_KEY, plan_id=91)
        status, _, answer = execute(relay, body)
        self.assertEqual(status, 200, answer)
        self.assertEqual(relay.stop(), 0)
        self.assertFalse(os.path.exists(self.spool_path + "-wal") and os.path.getsize(self.spool_path + "-wal"),
                         "a clean stop leaves everything in the database file")
        st = json.loads(run_binary(["spool", "stats", "--json", "--spool", self.spool_path]).stdout)
        self.assertEqual(st["events"], self.ROWS)
        return preview_ids(self.workdir, body)

    def refused_start(self):
        """Starts a relay on the damaged spool; returns (stderr text, the JSON log entry)."""
        relay = self.relay(self.segment.url)
        t0 = time.monotonic()
        with self.assertRaises(RuntimeError):
            relay.start(timeout=15)
        self.assertEqual(relay.proc.wait(timeout=5), 1)
        self.assertLess(time.monotonic() - t0, 10, "the relay must fail fast, not hang")
        entry = relay.wait_log("cannot open the spool", timeout=5)
        self.assertIsNotNone(entry, relay.logs)
        self.assertTrue(wait_until(lambda: relay.stderr_lines, timeout=5))
        stderr = "".join(relay.stderr_lines)
        # The way out, on both channels.
        for text in (stderr, entry["error"]):
            self.assertIn("spool %s is not a usable spool database" % self.spool_path, text)
            self.assertIn("The relay will not start on it", text)
            self.assertRegex(text, r"mv %s %s\.corrupt-\d{8}T\d{6}Z" % (re.escape(self.spool_path),
                                                                         re.escape(self.spool_path)))
            self.assertIn("the relay then starts with an empty spool", text)
            self.assertIn("spool salvage --from %s.corrupt-" % self.spool_path, text)
        self.assertEqual(entry["level"], "error")
        self.assertEqual(entry["path"], self.spool_path)
        self.assertIn("looker-segment-relay: cannot open the spool %s: " % self.spool_path, stderr)
        return stderr, entry

    def follow_the_way_out(self, message):
        """mv aside as the message says, start, salvage; returns (aside path, salvage result)."""
        mv = re.search(r"mv (\S+) (\S+);", message)
        self.assertIsNotNone(mv, message)
        self.assertEqual(mv.group(1), self.spool_path)
        aside = mv.group(2)
        os.rename(mv.group(1), aside)
        salvage = re.search(r"`looker-segment-relay (spool salvage --from \S+ --to \S+)`", message)
        self.assertIsNotNone(salvage, message)
        relay = self.relay(self.segment.url)
        relay.start()
        self.assertEqual(relay.get_json("/readyz")[0], 200)
        args = salvage.group(1).split()
        self.assertEqual(args[3], aside)
        self.assertEqual(args[5], self.spool_path)
        result = run_binary(args)  # while the relay runs: the tools do not take its lock
        return relay, aside, result

    def test_truncated_spool(self):
        expected = self.fill()
        size = os.path.getsize(self.spool_path)
        with open(self.spool_path, "r+b") as f:
            f.truncate(int(size * 0.6))
        before = digest(self.spool_path)
        stderr, entry = self.refused_start()
        # SQLite notices at its first read of the schema, or the integrity check does.
        self.assertRegex(entry["error"], r"database disk image is malformed|integrity check failed")
        # Asked again, the same answer: no crash loop without a message, nothing changes.
        self.refused_start()
        self.assertEqual(digest(self.spool_path), before)
        self.assertFalse(os.path.exists(self.spool_path + "-wal"))

        relay, aside, salvage = self.follow_the_way_out(entry["error"])
        self.assertEqual(digest(aside), before, "salvage only reads the damaged file")
        match = re.search(r"salvaged (\d+) batch\(es\) \((\d+) events\) and (\d+) dead letter\(s\) from %s into %s"
                          % (re.escape(aside), re.escape(self.spool_path)), salvage.stdout)
        self.assertIsNotNone(match, (salvage.stdout, salvage.stderr))
        batches, events = int(match.group(1)), int(match.group(2))
        self.assertIn(salvage.returncode, (0, 1), salvage.stderr)
        if salvage.returncode == 1:
            self.assertIn("salvage incomplete", salvage.stderr)
        self.assertGreater(batches, 0, "a 60% truncated spool still holds readable batches")
        self.assertEqual(events, batches * 10)
        # The running relay delivers what was salvaged, with the original messageIds.
        self.assertTrue(self.segment.wait_for_events(events, timeout=60))
        by_id = self.segment.events_by_message_id()
        self.assertEqual(len(by_id), events)
        for mid, events_with_id in by_id.items():
            self.assertEqual(len(events_with_id), 1)
            self.assertEqual(expected[events_with_id[0]["userId"]], mid)

    def test_garbage_spool(self):
        rng = random.Random(5)
        garbage = bytes(rng.getrandbits(8) for _ in range(200_000))
        with open(self.spool_path, "wb") as f:
            f.write(garbage)
        stderr, entry = self.refused_start()
        self.assertIn("it does not start with the SQLite header", entry["error"])
        with open(self.spool_path, "rb") as f:
            self.assertEqual(f.read(), garbage)
        for suffix in ("-wal", "-shm"):
            self.assertFalse(os.path.exists(self.spool_path + suffix), suffix)

        relay, aside, salvage = self.follow_the_way_out(entry["error"])
        with open(aside, "rb") as f:
            self.assertEqual(f.read(), garbage)
        self.assertEqual(salvage.returncode, 1, salvage.stdout)
        self.assertTrue(salvage.stderr.startswith("spool: "), salvage.stderr)
        # The new spool works.
        status, _, answer = execute(relay, payloads.rows_execute(0, 5, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        self.assertTrue(self.segment.wait_for_events(5, timeout=30))


class FullSpoolTest(unittest.TestCase):
    ROWS = 400

    def test_full_spool_refuses_with_503_and_loses_nothing_accepted(self):
        segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(segment.stop)
        segment.push_response(503, times=1_000_000)  # down until cleared
        # Bodies stored plain (gzip_level 0), so 40 executes are sure to fill the 1 MiB spool.
        relay = Relay({"spool": {"max_bytes": 1024 * 1024}, "segment": {"gzip_level": 0}}, segment_url=segment.url)
        relay.config["log"]["level"] = "info"
        relay.start()
        self.addCleanup(relay.__exit__, None, None, None)

        accepted_users = set()
        refused = None
        for i in range(40):
            body = payloads.rows_execute(i * self.ROWS, self.ROWS, write_key=WRITE_KEY, plan_id=300 + i)
            status, headers, answer = execute(relay, body)
            if status == 200:
                self.assertTrue(answer["looker"]["success"], answer)
                accepted_users.update("u%06d" % n for n in range(i * self.ROWS, (i + 1) * self.ROWS))
                continue
            refused = (i, status, headers, answer)
            break
        self.assertIsNotNone(refused, "the spool never filled")
        i, status, headers, answer = refused
        self.assertGreater(len(accepted_users), 0)
        self.assertEqual(status, 503)
        self.assertRegex(headers.get("retry-after", ""), r"^[1-9]\d*$")
        message = answer["looker"]["message"]
        self.assertFalse(answer["looker"]["success"])
        self.assertIn("spool is full", message)
        self.assertIn("retry later", message)
        partial = re.search(r"(\d+) rows? (?:was|were) accepted before that and will be delivered\.$", message)
        partial_rows = int(partial.group(1)) if partial else 0
        if not partial:
            self.assertTrue(message.endswith("No rows were accepted."), message)

        # Still full: the next execute is refused as a whole, with the same advice.
        status, headers, answer = execute(
            relay, payloads.rows_execute(100_000, self.ROWS, write_key=WRITE_KEY, plan_id=999))
        self.assertEqual(status, 503)
        self.assertIn("retry-after", headers)
        self.assertTrue(answer["looker"]["message"].endswith("No rows were accepted."), answer)

        # /readyz stays green while full: the relay can serve and drain; a full spool is not a
        # reason to take the pod out (every replica of a Segment outage fills alike, and Looker
        # then gets the clear 503 with Retry-After instead of no endpoint at all).
        status, ready = relay.get_json("/readyz")
        self.assertEqual((status, ready), (200, {"ready": True}))
        status, st = relay.get_json("/status")
        self.assertEqual(status, 200)
        self.assertLessEqual(st["queue"]["bytes"], 1024 * 1024)
        # The bound is on the files on disk, the WAL included, not only on the batch bytes.
        self.assertLessEqual(st["queue"]["spool_file_bytes"], 1024 * 1024)
        spool = relay.config["spool"]["path"]
        on_disk = sum(os.path.getsize(spool + suffix) for suffix in ("", "-wal") if os.path.exists(spool + suffix))
        self.assertLessEqual(on_disk, 1024 * 1024)
        self.assertEqual(st["queue"]["events"], len(accepted_users) + partial_rows)
        self.assertEqual(st["queue"]["spool_max_bytes"], 1024 * 1024)

        # Segment is back: every accepted event arrives, once per user, nothing else is lost.
        segment.clear_script()
        total = len(accepted_users) + partial_rows
        self.assertTrue(segment.wait_for_unique_events(total, timeout=120),
                        "%d of %d arrived" % (segment.stats()["unique_message_ids"], total))
        users = {}
        for mid, events in segment.events_by_message_id().items():
            for e in events:
                users.setdefault(e["userId"], set()).add(mid)
        self.assertTrue(accepted_users <= set(users), "%d accepted events never arrived"
                        % len(accepted_users - set(users)))
        self.assertEqual(len(users), total)
        self.assertTrue(all(len(m) == 1 for m in users.values()))
        self.assertTrue(wait_until(lambda: relay.get_json("/status")[1]["queue"]["batches"] == 0, timeout=60))
        # Room again: new work is accepted.
        status, _, answer = execute(relay, payloads.rows_execute(200_000, 10, write_key=WRITE_KEY, plan_id=7))
        self.assertEqual(status, 200, answer)


class LowDiskTest(unittest.TestCase):
    def test_work_is_refused_while_free_space_is_below_the_reserve(self):
        segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(segment.stop)
        relay = Relay({}, segment_url=segment.url)
        self.addCleanup(relay.__exit__, None, None, None)
        st = os.statvfs(relay.workdir)
        free = st.f_bavail * st.f_frsize
        relay.config["spool"]["min_free_bytes"] = free + (1 << 30)  # more than there is
        relay.start()

        body = payloads.rows_execute(0, 20, write_key=WRITE_KEY, plan_id=11)
        status, headers, answer = execute(relay, body)
        self.assertEqual(status, 503, answer)
        self.assertRegex(headers.get("retry-after", ""), r"^[1-9]\d*$")
        self.assertFalse(answer["looker"]["success"])
        self.assertEqual(answer["looker"]["message"],
                         "The relay's disk is nearly full (below spool.min_free_bytes), so the rest of the "
                         "result was not accepted; retry later. No rows were accepted.")
        self.assertEqual(relay.get_json("/status")[1]["queue"]["events"], 0)
        self.assertEqual(segment.event_count(), 0)

        # The reserve lowered (the operator freed space or resized): the same work is accepted.
        self.assertEqual(relay.stop(), 0)
        relay.config["spool"]["min_free_bytes"] = 0
        relay.start()
        status, _, answer = execute(relay, body)
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertTrue(segment.wait_for_events(20, timeout=30))


if __name__ == "__main__":
    unittest.main()
