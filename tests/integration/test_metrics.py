"""The metrics of the serving relay, scraped from /metrics of the real binary: what runs
(lsr_build_info), the process figures as Prometheus names them, the spool's limit and its
filesystem's free bytes, one metric per spool quantity, and the delivery lag per write key,
which appears while Segment refuses a key's batches and goes once they are delivered."""

import json
import re
import time
import unittest

from harness import Relay, hub_headers, run_binary, wait_until
from payloads import rows_execute
from segment_stub import SegmentStub

MAX_BYTES = 300 * 1024 * 1024
SLOW_KEY = "wk_slow_metrics_key"  # label "wk_s…"
FAST_KEY = "zz_fast_metrics_key"  # label "zz_f…"


def samples(text):
    """(name, {labels}, value) of every sample of a Prometheus text."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, label_text = head.partition("{")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', label_text))
        out.append((name, labels, float(value)))
    return out


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub().start()
        config = {"spool": {"max_bytes": MAX_BYTES}, "log": {"level": "info"}}
        cls.relay = Relay(config, segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.segment.stop()

    def scrape(self):
        return samples(self.relay.metrics())

    def values(self, name, **labels):
        return [v for n, l, v in self.scrape() if n == name and all(l.get(k) == x for k, x in labels.items())]

    def one(self, name, **labels):
        found = self.values(name, **labels)
        self.assertEqual(len(found), 1, "%s%s: %s" % (name, labels, found))
        return found[0]

    def execute(self, write_key, first, count):
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=rows_execute(first, count, write_key=write_key),
                                             headers=hub_headers(), timeout=60)
        self.assertEqual(status, 200, data)
        answer = json.loads(data.decode().lstrip("\n"))
        self.assertTrue(answer["looker"]["success"], answer)

    def test_build_info_names_the_version_the_binary_prints(self):
        result = run_binary(["version"])
        self.assertEqual(result.returncode, 0)
        match = re.match(r"looker-segment-relay (\S+)\s*$", result.stdout)
        self.assertIsNotNone(match, result.stdout)
        infos = [(l, v) for n, l, v in self.scrape() if n == "lsr_build_info"]
        self.assertEqual(len(infos), 1, infos)
        labels, value = infos[0]
        self.assertEqual(value, 1.0)
        self.assertEqual(labels["version"], match.group(1))
        self.assertRegex(labels["revision"], r"^[A-Za-z0-9._+-]+$")

    def test_process_figures(self):
        now = time.time()
        start = self.one("process_start_time_seconds")
        self.assertLess(abs(start - now), 60, "start %s, now %s" % (start, now))
        self.assertGreater(self.one("process_resident_memory_bytes"), 0)
        self.assertGreaterEqual(self.one("process_virtual_memory_bytes"),
                                self.one("process_resident_memory_bytes"))
        self.assertGreater(self.one("process_open_fds"), 0)
        self.assertGreaterEqual(self.one("process_max_fds"), self.one("process_open_fds"))
        self.assertGreaterEqual(self.one("process_cpu_seconds_total"), 0)
        self.assertIn("# TYPE process_cpu_seconds_total counter", self.relay.metrics())

    def test_spool_limit_free_space_and_one_metric_per_quantity(self):
        self.assertEqual(self.one("lsr_spool_limit_bytes"), MAX_BYTES)
        self.assertTrue(wait_until(lambda: self.values("lsr_spool_filesystem_free_bytes")
                                   and self.values("lsr_spool_filesystem_free_bytes")[0] > 0, timeout=10))
        self.assertGreater(self.one("lsr_spool_file_bytes"), 0)
        self.one("lsr_spool_queued_bytes")
        self.assertEqual(self.values("lsr_spool_bytes"), [])

    def test_delivery_lag_per_write_key(self):
        slow_label, fast_label = SLOW_KEY[:4] + "\u2026", FAST_KEY[:4] + "\u2026"
        self.segment.push_response(status=503, times=2000, write_key=SLOW_KEY)
        try:
            self.execute(SLOW_KEY, 0, 5)
            self.execute(FAST_KEY, 100, 5)
            # The slow key's oldest event ages while Segment refuses it; the other key, delivered,
            # has no series (or 0).
            self.assertTrue(wait_until(lambda: self.segment.event_count() >= 5, timeout=30))
            self.assertTrue(wait_until(
                lambda: any(v > 0.5 for v in self.values("lsr_write_key_oldest_event_age_seconds",
                                                          write_key=slow_label)), timeout=30),
                self.relay.metrics())
            self.assertTrue(wait_until(
                lambda: all(v == 0 for v in self.values("lsr_write_key_oldest_event_age_seconds",
                                                         write_key=fast_label)), timeout=30))
            # Never the key itself, in any label.
            text = self.relay.metrics()
            self.assertNotIn(SLOW_KEY, text)
            self.assertNotIn(FAST_KEY, text)
            self.assertNotIn("slow_metrics", text)
            for name, labels, _ in samples(text):
                if name == "lsr_write_key_oldest_event_age_seconds":
                    self.assertIn(labels["write_key"], (slow_label, fast_label))
        finally:
            self.segment.clear_script()
        # Segment takes it now: once delivered, the series is gone (or 0).
        self.assertTrue(wait_until(
            lambda: all(v == 0 for v in self.values("lsr_write_key_oldest_event_age_seconds",
                                                     write_key=slow_label)), timeout=60),
            self.relay.metrics())
        self.assertEqual(self.relay.metric_value("lsr_queue_events"), 0)


if __name__ == "__main__":
    unittest.main()
