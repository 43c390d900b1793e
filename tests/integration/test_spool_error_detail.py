"""SQLite's own words for a failed spool write reach the relay's log.

A trigger added to the running relay's spool through a second connection (as an operator's
sqlite3 shell would) makes SQLite refuse a statement with a known message:
- refused inserts: an execute is refused, and the execute job logs the failed step
  ("append: insert") with SQLite's message and result code;
- refused deletes: batches reach Segment but marking them delivered fails; the dispatcher logs
  the step ("mark_delivered") with SQLite's message, and once the trigger is gone the batches
  are settled and the spool empties.
"""

import json
import os
import shutil
import sqlite3
import tempfile
import unittest

from harness import Relay, hub_headers, wait_until
from payloads import rows_execute
from segment_stub import SegmentStub

WRITE_KEY = "wk_detail"
EXECUTE = "/actions/segment_event/execute"


class SpoolErrorDetailTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-spool-detail-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.spool_path = os.path.join(self.workdir, "spool.db")
        self.segment = SegmentStub().start()
        self.addCleanup(self.segment.stop)
        self.relay = Relay({"log": {"level": "info"}}, segment_url=self.segment.url, workdir=self.workdir).start()
        self.addCleanup(self.relay.close_pipes)
        self.addCleanup(self.relay.stop)

    def sql(self, statement):
        db = sqlite3.connect(self.spool_path, timeout=10)
        try:
            db.executescript(statement)
        finally:
            db.close()

    def execute(self, first, count):
        status, _, data = self.relay.request("POST", EXECUTE, body=rows_execute(first, count, write_key=WRITE_KEY),
                                             headers=hub_headers(), timeout=60)
        return status, json.loads(data.decode("utf-8").lstrip("\n"))

    def batches(self):
        db = sqlite3.connect(self.spool_path, timeout=10)
        try:
            return db.execute("SELECT count(*) FROM batches").fetchone()[0]
        finally:
            db.close()

    def test_a_refused_append_is_logged_with_sqlite_message(self):
        self.sql("CREATE TRIGGER refuse_insert BEFORE INSERT ON batches "
                 "BEGIN SELECT RAISE(ABORT, 'inserts refused by the test'); END;")
        _, answer = self.execute(0, 20)
        self.assertFalse(answer["looker"]["success"], answer)
        entry = self.relay.wait_log("execute: spool write failed", timeout=10)
        self.assertIsNotNone(entry, self.relay.logs[-20:])
        self.assertIn("append: insert: inserts refused by the test", entry["detail"])
        self.assertIn("SQLite result code 1811", entry["detail"])
        self.assertEqual(self.batches(), 0)

    def test_a_refused_settle_is_logged_with_sqlite_message_and_written_later(self):
        self.sql("CREATE TRIGGER refuse_delete BEFORE DELETE ON batches "
                 "BEGIN SELECT RAISE(ABORT, 'deletes refused by the test'); END;")
        status, answer = self.execute(0, 20)
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["looker"]["success"], answer)
        entry = self.relay.wait_log("spool write failed while settling a batch; will write it again", timeout=20)
        self.assertIsNotNone(entry, self.relay.logs[-20:])
        self.assertEqual(entry["op"], "mark_delivered")
        self.assertIn("mark_delivered: deletes refused by the test", entry["detail"])
        self.sql("DROP TRIGGER refuse_delete;")
        self.assertTrue(wait_until(lambda: self.batches() == 0, timeout=60, interval=0.1))


if __name__ == "__main__":
    unittest.main()
