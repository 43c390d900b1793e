"""Batch bodies deflated once when spooled, sent without compressing again: the real binary
fills a spool while Segment is down (large batches stored compressed), then delivers it.
With gzip on, each request is a gzip member that Python's gzip inflates to exactly the
relay's envelope {"sentAt":..,"writeKey":..,"batch":[..]}; with segment.gzip_level 0 the
same stored bodies are inflated and sent plain; a relay that never compresses sends plain.
The stand-in receives the same events, byte for byte, in all three."""

import gzip
import json
import os
import re
import shutil
import sqlite3
import tempfile
import unittest

import payloads
from harness import Relay, closed_port_url, hub_headers
from segment_stub import SegmentStub, batch_array
from test_spool_drain import stored_events

WRITE_KEY = "wk_stored_gzip_0123456789"
ROWS = 4000  # a few full batches (above gzip_min_bytes) ...
SMALL = 40   # ... and, from a second execute, one small batch (below it)
ENVELOPE = re.compile(rb'^\{"sentAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","writeKey":"%s","batch":\[' %
                      WRITE_KEY.encode())


class StoredGzipCase(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-gzip-")
        self.addCleanup(shutil.rmtree, self.workdir, True)

    def relay(self, workdir, segment_url, level):
        relay = Relay(segment_url=segment_url, workdir=workdir)
        relay.config["log"]["level"] = "info"
        relay.config["segment"]["gzip_level"] = level
        self.addCleanup(relay.close_pipes)
        self.addCleanup(relay.kill)
        return relay

    def fill(self, name, level):
        """A spool filled by one execute while Segment is down, at gzip_level `level`."""
        workdir = os.path.join(self.workdir, name)
        os.makedirs(workdir)
        relay = self.relay(workdir, closed_port_url(), level)
        relay.start()
        for first, count in ((0, ROWS), (ROWS, SMALL)):
            status, _, data = relay.request("POST", "/actions/segment_event/execute",
                                            body=payloads.rows_execute(first, count, write_key=WRITE_KEY),
                                            headers=hub_headers(), timeout=60)
            self.assertEqual(status, 200, data)
        self.assertEqual(relay.stop(), 0)
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(workdir, "spool.db"), uri=True)
        try:
            bodies = [bytes(b) for (b,) in db.execute("SELECT body FROM batches ORDER BY id")]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()
        self.assertEqual(version, 3)
        self.assertGreaterEqual(len(bodies), 2)
        events = [e for b in bodies for e in stored_events(b).split(b",\n")]
        self.assertEqual(len(events), ROWS + SMALL)
        return workdir, bodies, events

    def deliver(self, workdir, level):
        """Delivers the spool in `workdir` at gzip_level `level`; the requests the stand-in took."""
        with SegmentStub() as segment:
            relay = self.relay(workdir, segment.url, level)
            relay.start()
            self.assertTrue(segment.wait_for_events(ROWS + SMALL, timeout=30),
                            "events arrived: %d of %d" % (segment.event_count(), ROWS + SMALL))
            self.assertEqual(relay.stop(), 0)
            self.assertEqual(segment.stats()["duplicates"], 0)
            return [r for r in segment.requests_snapshot() if r.status == 200]

    def events_of(self, requests):
        out = []
        for rec in requests:
            self.assertRegex(rec.body, ENVELOPE)
            self.assertEqual(list(json.loads(rec.body)), ["sentAt", "writeKey", "batch"])
            out.extend(batch_array(rec.body).split(b",\n"))
        return sorted(out)

    def test_gzip_on_off_and_never_deliver_the_same_events(self):
        workdir, bodies, stored = self.fill("on", 1)
        compressed = [b for b in bodies if b.startswith(b"\x01")]
        self.assertGreaterEqual(len(compressed), 1, "no body was stored compressed")
        self.assertTrue(any(b.startswith(b"{") for b in bodies), "the small last batch is stored plain")
        self.assertLess(sum(map(len, compressed)) * 3, sum(len(stored_events(b)) for b in compressed))

        sent_gzip = self.deliver(workdir, 1)
        gzipped = [r for r in sent_gzip if r.headers.get("content-encoding") == "gzip"]
        self.assertEqual(len(gzipped), len(compressed))
        for rec in gzipped:
            # Python's own gzip reader: header, stored blocks, the stored stream, CRC and size.
            self.assertEqual(gzip.decompress(rec.raw_body), rec.body)
            self.assertLess(len(rec.raw_body) * 3, len(rec.body))

        workdir_off, _, stored_off = self.fill("off", 1)
        sent_off = self.deliver(workdir_off, 0)
        self.assertFalse([r for r in sent_off if r.headers.get("content-encoding")])

        workdir_never, bodies_never, stored_never = self.fill("never", 0)
        self.assertFalse([b for b in bodies_never if not b.startswith(b"{")])
        sent_never = self.deliver(workdir_never, 1)
        self.assertFalse([r for r in sent_never if r.headers.get("content-encoding")])

        expected = sorted(stored)
        self.assertEqual(sorted(stored_off), expected)
        self.assertEqual(sorted(stored_never), expected)
        self.assertEqual(self.events_of(sent_gzip), expected)
        self.assertEqual(self.events_of(sent_off), expected)
        self.assertEqual(self.events_of(sent_never), expected)


if __name__ == "__main__":
    unittest.main()
