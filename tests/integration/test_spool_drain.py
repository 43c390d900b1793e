"""`spool drain` against the real binary: a spool filled while Segment was down is delivered
byte for byte by the drain alone (no relay, no listener) and left empty; batches Segment
rejects for good end as dead letters and are counted in the drain's last lines; the drain
refuses a spool a running relay holds and touches nothing; an empty spool exits at once;
SIGTERM (and --timeout) stop a drain against a failing Segment with exit 3 (4) and lose
nothing: a later drain delivers everything."""

import collections
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import zlib

import payloads
from harness import BINARY, Relay, closed_port_url, hub_headers, note_sanitizer_report, run_binary
from segment_stub import SegmentStub, batch_array

WRITE_KEY = "wk_drain_0123456789abcdef"
POISONED_USERS = ("u000004", "u000017")


def execute(relay, body):
    status, _, data = relay.request("POST", "/actions/segment_event/execute", body=body,
                                    headers=hub_headers(), timeout=60)
    return status, json.loads(data.decode("utf-8").lstrip("\n"))


def queued_events(spool_path):
    """Every event of every queued batch, as the bytes stored in the spool."""
    db = sqlite3.connect("file:%s?mode=ro" % spool_path, uri=True)
    try:
        rows = db.execute("SELECT body FROM batches ORDER BY id").fetchall()
    finally:
        db.close()
    out = []
    for (body,) in rows:
        out.extend(stored_events(bytes(body)).split(b",\n"))
    return out


def stored_events(blob):
    """The events of a stored body: plain, or 0x01 | plain length | CRC-32 | raw deflate of
    <events>]} (docs/ARCHITECTURE.md "Batch body format"), checked."""
    if not blob.startswith(b"\x01"):
        return blob
    length, crc = struct.unpack("<II", blob[1:9])
    d = zlib.decompressobj(-15)
    plain = d.decompress(blob[9:]) + d.flush()
    assert d.eof and not d.unused_data, "stored stream does not end where the body does"
    assert len(plain) == length and zlib.crc32(plain) == crc and plain.endswith(b"]}")
    return plain[:-2]


def delivered_events(segment):
    """Every event of every batch the stand-in accepted, as the bytes it received."""
    out = []
    for rec in segment.requests_snapshot():
        if rec.status is None or not 200 <= rec.status < 300:
            continue
        out.extend(batch_array(rec.body).split(b",\n"))
    return out


class DrainCase(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="lsr-drain-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.spool_path = os.path.join(self.workdir, "spool.db")

    def fill(self, executes=3, rows=40):
        """A relay whose Segment is down spools the executes, then stops."""
        relay = Relay(segment_url=closed_port_url(), workdir=self.workdir)
        relay.config["log"]["level"] = "info"
        try:
            relay.start()
            for i in range(executes):
                status, answer = execute(relay, payloads.rows_execute(i * rows, rows, write_key=WRITE_KEY))
                self.assertEqual(status, 200, answer)
                self.assertTrue(answer["looker"]["success"], answer)
            self.assertEqual(relay.stop(), 0)
        finally:
            relay.kill()
            relay.close_pipes()
        self.assertEqual(len(queued_events(self.spool_path)), executes * rows)

    def drain_config(self, segment_url):
        """The relay's configuration for this spool, with Segment at `segment_url`."""
        relay = Relay(segment_url=segment_url, workdir=self.workdir)
        relay.config["log"]["level"] = "info"
        path = os.path.join(self.workdir, "drain.yaml")
        with open(path, "w") as f:
            json.dump(relay.config, f, indent=2)
        return path

    def drain(self, config_path, *extra, expect=0, timeout=60):
        r = run_binary(["spool", "drain", "--config", config_path] + list(extra), timeout=timeout)
        if expect is not None:
            self.assertEqual(r.returncode, expect, "stdout=%r stderr=%r" % (r.stdout[-2000:], r.stderr))
        return r

    def stats(self):
        r = run_binary(["spool", "stats", "--spool", self.spool_path, "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def segment(self):
        stub = SegmentStub(write_keys={WRITE_KEY}).start()
        self.addCleanup(stub.stop)
        return stub


class DrainDeliversTest(DrainCase):
    def test_drain_delivers_every_event_byte_for_byte_and_empties_the_queue(self):
        self.fill()
        queued = queued_events(self.spool_path)
        segment = self.segment()
        r = self.drain(self.drain_config(segment.url))
        delivered = delivered_events(segment)
        self.assertEqual(collections.Counter(delivered), collections.Counter(queued))
        ids = {json.loads(e)["messageId"] for e in queued}
        self.assertEqual(set(segment.events_by_message_id()), ids)
        st = self.stats()
        self.assertEqual((st["batches"], st["events"], st["bytes"], st["dead_letters"]), (0, 0, 0, 0))
        lines = r.stderr.splitlines()
        self.assertIn("spool drain: %s: " % self.spool_path, lines[0])
        self.assertIn("(120 events) queued, 0 dead letters", lines[0])
        self.assertRegex(lines[-2], r"^spool drain: done in \d+s: the queue of .* is empty; "
                                    r"120 events delivered, 0 events dead-lettered$")
        self.assertEqual(lines[-1], "spool drain: no dead letters remain")
        # It listened nowhere: no listener line among its logs.
        self.assertNotIn('"msg":"listening"', r.stdout)

    def test_rejected_batches_end_as_dead_letters_counted_at_the_end(self):
        self.fill(executes=1, rows=30)
        segment = self.segment()
        for user in POISONED_USERS:
            segment.poison(user_id=user)
        config = self.drain_config(segment.url)
        r = self.drain(config)
        self.assertEqual(segment.event_count(), 30 - len(POISONED_USERS))
        st = self.stats()
        self.assertEqual((st["batches"], st["dead_letters"], st["dead_letter_events"]), (0, 2, 2))
        lines = r.stderr.splitlines()
        self.assertIn("28 events delivered, 2 events dead-lettered", lines[-2])
        self.assertIn("spool drain: 2 dead letters (2 events) remain in %s" % self.spool_path, lines[-1])
        self.assertIn("spool dead-letters --config %s" % config, lines[-1])
        self.assertIn("spool replay --all --config %s" % config, lines[-1])

    def test_an_empty_spool_exits_at_once(self):
        relay = Relay(segment_url=closed_port_url(), workdir=self.workdir)
        relay.start()
        self.assertEqual(relay.stop(), 0)
        relay.close_pipes()
        t0 = time.monotonic()
        r = self.drain(self.drain_config(closed_port_url()), timeout=30)
        self.assertLess(time.monotonic() - t0, 15)
        lines = r.stderr.splitlines()
        self.assertIn("0 batches (0 events) queued", lines[0])
        self.assertIn("is empty; 0 events delivered", lines[-2])

    def test_a_missing_spool_is_an_error_and_is_not_created(self):
        r = self.drain(self.drain_config(closed_port_url()), expect=1)
        self.assertIn("spool drain: cannot open the spool %s: no spool at" % self.spool_path, r.stderr)
        self.assertFalse(os.path.exists(self.spool_path))

    def test_usage(self):
        r = run_binary(["spool", "drain", "--spool", self.spool_path])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("drain takes the relay's configuration", r.stderr)
        r = run_binary(["spool", "stats", "--spool", self.spool_path, "--timeout", "3"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--timeout applies to drain only", r.stderr)
        r = run_binary(["spool", "drain", "--timeout", "0"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--timeout wants a positive number of seconds", r.stderr)
        r = run_binary(["spool", "help"])
        self.assertIn("drain [--config FILE] [--timeout S]", r.stdout)


class DrainLockTest(DrainCase):
    def test_drain_beside_a_running_relay_is_refused_and_touches_nothing(self):
        relay = Relay(segment_url=closed_port_url(), workdir=self.workdir)
        relay.config["log"]["level"] = "info"
        self.addCleanup(relay.close_pipes)
        self.addCleanup(relay.kill)
        relay.start()
        status, answer = execute(relay, payloads.rows_execute(0, 25, write_key=WRITE_KEY))
        self.assertEqual(status, 200, answer)
        before = self.stats()
        segment = self.segment()
        r = self.drain(self.drain_config(segment.url), expect=1, timeout=30)
        self.assertIn("spool drain: cannot open the spool %s: " % self.spool_path, r.stderr)
        self.assertIn("another relay (pid %d) holds its lock %s.lock" % (relay.proc.pid, self.spool_path),
                      r.stderr)
        self.assertIn("stop that relay first", r.stderr)
        self.assertEqual(segment.stats()["requests"], 0)
        after = self.stats()
        self.assertEqual((after["batches"], after["events"], after["dead_letters"]),
                         (before["batches"], before["events"], before["dead_letters"]))
        self.assertEqual(relay.get_json("/readyz")[0], 200)
        self.assertEqual(relay.stop(), 0)


class DrainStopTest(DrainCase):
    def test_sigterm_stops_a_drain_against_a_failing_segment_and_loses_nothing(self):
        self.fill()
        queued = queued_events(self.spool_path)
        segment = self.segment()
        segment.push_response(503, times=100000)
        config = self.drain_config(segment.url)
        proc = subprocess.Popen([BINARY, "spool", "drain", "--config", config],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = {}

        def read(name, pipe):
            out[name] = pipe.read().decode("utf-8", "replace")

        readers = [threading.Thread(target=read, args=(n, p), daemon=True)
                   for n, p in (("stdout", proc.stdout), ("stderr", proc.stderr))]
        for t in readers:
            t.start()
        try:
            self.assertTrue(segment.wait_for_requests(3, timeout=30))  # it is at work, and refused
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
            self.assertLess(time.monotonic() - t0, 10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            for t in readers:
                t.join(5)
            proc.stdout.close()
            proc.stderr.close()
        note_sanitizer_report(out.get("stderr", ""), "spool drain")
        self.assertEqual(code, 3, out)
        lines = out["stderr"].splitlines()
        self.assertIn("spool drain: stopped by SIGTERM before the queue was empty: ", lines[-3])
        self.assertIn("(120 events) left, 0 events delivered", lines[-3])
        self.assertIn("the batches left stay in", lines[-2])
        self.assertEqual(segment.event_count(), 0)
        self.assertEqual(collections.Counter(queued_events(self.spool_path)), collections.Counter(queued))

        segment.clear_script()  # Segment is back
        self.drain(config)
        self.assertEqual(collections.Counter(delivered_events(segment)), collections.Counter(queued))
        self.assertEqual(self.stats()["batches"], 0)

    def test_kill_9_in_the_middle_of_a_drain_loses_nothing(self):
        """A drain killed after Segment took one batch: the next drain takes the lock the dead
        process left and delivers the rest; every queued event arrives, at least once and with
        its messageId."""
        self.fill()
        queued = queued_events(self.spool_path)
        segment = self.segment()
        segment.push_response(200, times=1)
        segment.push_response(503, times=100000)
        config = self.drain_config(segment.url)
        proc = subprocess.Popen([BINARY, "spool", "drain", "--config", config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(segment.wait_for_requests(4, timeout=30))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        left = queued_events(self.spool_path)
        self.assertLessEqual(set(left), set(queued))

        segment.clear_script()  # Segment is back
        self.drain(config)
        # At least once, byte for byte: a batch whose settle the kill cut short is sent again
        # with the same messageIds, which Segment deduplicates.
        delivered = delivered_events(segment)
        self.assertLessEqual(set(delivered), set(queued))
        self.assertEqual({json.loads(e)["messageId"] for e in delivered},
                         {json.loads(e)["messageId"] for e in queued})
        self.assertEqual(self.stats()["batches"], 0)

    def test_timeout_stops_a_drain_against_a_segment_that_is_down(self):
        self.fill(executes=1, rows=10)
        t0 = time.monotonic()
        r = self.drain(self.drain_config(closed_port_url()), "--timeout", "6", expect=4, timeout=60)
        self.assertLess(time.monotonic() - t0, 40)
        lines = r.stderr.splitlines()
        # A progress line every 5 s while it runs, before the end.
        self.assertTrue(any(re.match(r"^spool drain: 1 batches \(10 events\) left, 0 events delivered, "
                                     r"0 events dead-lettered, \d+s elapsed$", line) for line in lines[1:-3]),
                        lines)
        self.assertIn("spool drain: stopped by --timeout 6 before the queue was empty: ", lines[-3])
        self.assertEqual(lines[-1], "spool drain: no dead letters remain")
        self.assertEqual(self.stats()["events"], 10)


if __name__ == "__main__":
    unittest.main()
