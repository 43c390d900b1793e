"""Batches whose settle failed on a full disk are settled by the relay itself once space is back.

The spool lives on a small tmpfs in a private mount namespace (root and unshare(1) needed; the
test is skipped otherwise). Rows are acknowledged while Segment is down, then the disk is filled:
- Segment still down: every attempt must be rescheduled, and those reschedules fail to write.
  Then the disk is freed and Segment comes back, and nothing else happens (no new execute, no
  restart): every acknowledged row must arrive.
- Segment back while the disk is full: batches are delivered but marking them delivered fails.
  Once the disk is freed the spool empties by itself, and no batch was sent twice.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Relay, hub_headers, wait_until
from payloads import execute, result, row, rows_execute
from segment_stub import SegmentStub

INNER = "LSR_DISK_FULL_INNER"
HERE = os.path.dirname(os.path.abspath(__file__))


def can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mount"):
        return False
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@unittest.skipIf(os.environ.get(INNER), "runs the scenario in its own mount namespace")
class SettleOnFullDiskTest(unittest.TestCase):
    def test_held_batches_are_released_by_the_relay(self):
        if not can_unshare():
            self.skipTest("needs root and unshare -m (a private tmpfs for the spool)")
        env = dict(os.environ)
        env[INNER] = "1"
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-m", "unittest", "-v",
                            "test_delivery_disk_full.FullDiskScenario"],
                           cwd=HERE, env=env, capture_output=True, text=True, timeout=300)
        print(r.stderr[-3000:])
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-6000:])


@unittest.skipUnless(os.environ.get(INNER), "run through SettleOnFullDiskTest")
class FullDiskScenario(unittest.TestCase):
    ROWS = 600
    BATCH_EVENTS = 10

    def setUp(self):
        self.disk = tempfile.mkdtemp(prefix="lsr-disk-full-")
        self.addCleanup(shutil.rmtree, self.disk, True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", self.disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.disk])
        self.segment = SegmentStub().start()
        self.addCleanup(self.segment.stop)
        config = {"segment": {"max_batch_events": self.BATCH_EVENTS,
                              "retry": {"base_delay_ms": 50, "max_delay_ms": 500},
                              "per_write_key": {"max_in_flight": 4}},
                  "spool": {"path": os.path.join(self.disk, "spool.db"), "min_free_bytes": 0},
                  "log": {"level": "info"}}
        self.relay = Relay(config, segment_url=self.segment.url).start()
        self.addCleanup(self.relay.close_pipes)
        self.addCleanup(self.relay.stop)

    def settle_failures(self):
        with self.relay._lock:
            return sum(1 for e in self.relay.logs
                       if e.get("msg", "").startswith("spool write failed while settling a batch"))

    def fill_disk(self, path):
        chunk = b"\0" * (64 * 1024)
        with open(path, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass
            while True:  # the last few bytes
                try:
                    f.write(b"\0" * 512)
                except OSError:
                    break

    def acknowledge_rows_while_segment_is_down(self):
        self.segment.push_response(503, times=1_000_000)
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(0, self.ROWS, write_key="wk_disk"),
                                             headers=hub_headers(), timeout=60)
        self.assertEqual(status, 200, data)
        self.assertTrue(json.loads(data.decode().lstrip("\n"))["looker"]["success"])

    def wait_settle_failures(self):
        deadline = time.monotonic() + 30
        while self.settle_failures() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreater(self.settle_failures(), 0, "no settle failed on the full disk")
        time.sleep(2)

    def test_all_acknowledged_rows_arrive_without_a_new_execute(self):
        self.acknowledge_rows_while_segment_is_down()
        filler = os.path.join(self.disk, "filler")
        self.fill_disk(filler)
        self.wait_settle_failures()

        os.unlink(filler)             # space is back
        self.segment.clear_script()   # and so is Segment; nothing else happens
        ok = self.segment.wait_for_unique_events(self.ROWS, timeout=60)
        got = self.segment.stats()["unique_message_ids"]
        print("\n  settle failures on the full disk: %d; rows arrived after: %d of %d"
              % (self.settle_failures(), got, self.ROWS), file=sys.stderr)
        self.assertTrue(ok, "only %d of %d acknowledged rows arrived" % (got, self.ROWS))
        self.assertIsNone(self.relay.proc.poll(), "the relay died")

    def test_delivered_batches_are_marked_once_the_disk_has_room(self):
        self.acknowledge_rows_while_segment_is_down()
        filler = os.path.join(self.disk, "filler")
        self.fill_disk(filler)
        self.segment.clear_script()  # Segment takes the batches; the spool cannot record it
        self.wait_settle_failures()
        os.unlink(filler)
        ok = wait_until(lambda: self.relay.metric_value("lsr_queue_batches") == 0, timeout=60)
        stats = self.segment.stats()
        print("\n  settle failures on the full disk: %d; rows arrived: %d of %d; duplicates: %d"
              % (self.settle_failures(), stats["unique_message_ids"], self.ROWS, stats["duplicates"]),
              file=sys.stderr)
        self.assertTrue(ok, "the spool still holds %s batches" % self.relay.metric_value("lsr_queue_batches"))
        self.assertEqual(stats["unique_message_ids"], self.ROWS)
        self.assertEqual(stats["duplicates"], 0)
        self.assertIsNone(self.relay.proc.poll(), "the relay died")


    def test_a_sync_run_on_a_full_disk_sends_nothing_and_runs_again_once_there_is_room(self):
        def post(changed):
            rows = []
            for i in range(300):
                r = row(i)
                if i in changed:
                    r["users.plan"] = {"value": "changed"}
                rows.append(r)
            body = execute(result(rows), write_key="wk_disk", plan_id=77, form_params={"sync": "changes"})
            status, _, data = self.relay.request("POST", "/actions/segment_event/execute", body=body,
                                                 headers=hub_headers(), timeout=60)
            return status, json.loads(data.decode().lstrip("\n"))

        status, answer = post(set())
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertTrue(self.segment.wait_for_unique_events(300, timeout=30))
        changed = set(range(0, 300, 6))  # 50 rows
        filler = os.path.join(self.disk, "filler")
        self.fill_disk(filler)
        status, answer = post(changed)
        print("\n  sync run on the full disk answered %d: %s" % (status, answer), file=sys.stderr)
        # Refused before any row is read ({"success":false,...}) or while spooling (a looker body).
        self.assertFalse(answer.get("looker", answer)["success"], answer)
        time.sleep(1)
        self.assertEqual(self.segment.stats()["unique_message_ids"], 300, "a refused run sent something")
        os.unlink(filler)
        status, answer = post(changed)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertIn("50 changed", answer["looker"]["message"])
        self.assertTrue(self.segment.wait_for_unique_events(350, timeout=30))
        time.sleep(0.5)
        stats = self.segment.stats()
        self.assertEqual((stats["unique_message_ids"], stats["duplicates"]), (350, 0))
        self.assertIsNone(self.relay.proc.poll(), "the relay died")


if __name__ == "__main__":
    unittest.main()
