"""The download fetcher against a hostile or vanishing counterpart: a download_url that tries
to inject headers or split a request never reaches the Looker host, the allowlist names the
port, and when Looker goes away during an execute the download it asked for stops at once."""

import json
import socket
import time
import unittest

from harness import Relay, hub_headers, wait_until
from looker_stub import LookerStub
from segment_stub import SegmentStub
from test_execute import parse_answer, payload, result, rows

WRITE_KEY = "wk_test"


class DownloadGuardCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        cls.looker = LookerStub().start()
        cls.other = LookerStub().start()  # the same host, a port the allowlist does not name
        config = {"hub": {"download": {"allowed_hosts": ["127.0.0.1:%d" % cls.looker.port],
                                       "allow_loopback_http": True, "timeout_ms": 600000}},
                  "server": {"execute_keepalive_ms": 200}}
        cls.relay = Relay(config, segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        for s in (cls.looker, cls.other, cls.segment):
            s.stop()

    def execute(self, body, timeout=60):
        return self.relay.request("POST", "/actions/segment_event/execute", body=body, headers=hub_headers(),
                                  timeout=timeout)


class DownloadUrlTest(DownloadGuardCase):
    def test_allowed_port_is_fetched(self):
        url = self.looker.add(json.dumps(result(rows(2))))
        status, _, data = self.execute(payload(None, download_url=url))
        self.assertEqual(status, 200)
        self.assertTrue(parse_answer(data)["looker"]["success"])
        self.assertEqual(self.looker.hits(url), 1)

    def test_injected_headers_never_reach_looker(self):
        before = len(self.looker.requests())
        url = self.looker.add(json.dumps(result(rows(1))))
        attempts = [
            url + " HTTP/1.1\r\nX-Injected: 1\r\nX-Pad: x",  # header injection
            url + "\r\nX-Injected: 1",
            # request splitting: a second request of the sender's choosing
            url + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /smuggled HTTP/1.1\r\nX-Injected: 2",
            url.replace("/api/", "/api\n/"),
            url + "%zz",
            url + "\x00",
        ]
        for bad in attempts:
            with self.subTest(url=bad):
                status, _, data = self.execute(payload(None, download_url=bad))
                self.assertEqual(status, 200)
                answer = parse_answer(data)["looker"]
                self.assertFalse(answer["success"])
                self.assertRegex(answer["message"],
                                 r"^The download_url contains (a control character|a space|an invalid "
                                 r"percent-encoding)\. No rows were accepted\.$")
        seen = self.looker.requests()[before:]
        self.assertEqual(seen, [], "the Looker host saw a request")
        self.assertEqual(self.looker.hits(url), 0)

    def test_a_port_not_named_is_refused(self):
        url = self.other.add(json.dumps(result(rows(1))))
        status, _, data = self.execute(payload(None, download_url=url))
        self.assertEqual(status, 200)
        answer = parse_answer(data)["looker"]
        self.assertFalse(answer["success"])
        self.assertIn("port %d of host \"127.0.0.1\" is not in hub.download.allowed_hosts" % self.other.port,
                      answer["message"])
        self.assertEqual(self.other.requests(), [])


class ClientGoneTest(DownloadGuardCase):
    def disconnect_during_download(self):
        prefix = json.dumps(result(rows(3)))[:-2]  # '... "data": [ ... ]' without the closing "]}"
        url = self.looker.add(prefix.encode(), endless=True, interval=0.1)
        body = json.dumps(payload(None, download_url=url)).encode()
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        head = ("POST /actions/segment_event/execute HTTP/1.1\r\nHost: relay\r\nContent-Length: %d\r\n"
                % len(body))
        for k, v in hub_headers().items():
            head += "%s: %s\r\n" % (k, v)
        s.sendall(head.encode() + b"\r\n" + body)
        self.assertTrue(self.looker.wait_streaming(url, timeout=10), "the relay never started the download")
        first = s.recv(100)
        self.assertTrue(first.startswith(b"HTTP/1.1 200"), first)  # keepalive answer started
        s.close()  # Looker gives up
        t0 = time.monotonic()
        # timeout_ms is 600 s: only the disconnect can end the download this soon.
        self.assertTrue(self.looker.wait_closed(url, timeout=10),
                        "the relay kept downloading after the client went away")
        self.assertLess(time.monotonic() - t0, 10)

    def test_download_stops_when_looker_disconnects(self):
        # A few times: the relay may notice while reading (the close) or while writing a
        # keepalive newline (the write fails).
        for _ in range(4):
            self.disconnect_during_download()
        # The relay keeps serving, and the next execute works.
        url2 = self.looker.add(json.dumps(result(rows(2))))
        status, _, data = self.execute(payload(None, download_url=url2))
        self.assertEqual(status, 200)
        self.assertTrue(parse_answer(data)["looker"]["success"])
        self.assertTrue(wait_until(lambda: self.relay.get_json("/healthz")[0] == 200, timeout=5))
        self.assertEqual(self.relay.metric_value("lsr_executes_total", {"outcome": "interrupted"}), 4)

    def test_resend_after_a_disconnect_gets_the_same_message_ids(self):
        def idle():
            body = self.relay.get_json("/status")[1]
            return body["queue"]["batches"] == 0 and body["delivery"]["in_flight"] == 0
        self.assertTrue(wait_until(idle, timeout=15))  # earlier tests' deliveries are done
        self.segment.reset()
        res = result(rows(3))
        url = self.looker.add(json.dumps(res)[:-2].encode(), endless=True, interval=0.1)
        body = json.dumps(payload(None, download_url=url)).encode()
        s = socket.create_connection(("127.0.0.1", self.relay.port), timeout=10)
        head = ("POST /actions/segment_event/execute HTTP/1.1\r\nHost: relay\r\nContent-Length: %d\r\n"
                % len(body))
        for k, v in hub_headers().items():
            head += "%s: %s\r\n" % (k, v)
        s.sendall(head.encode() + b"\r\n" + body)
        self.assertTrue(self.looker.wait_streaming(url, timeout=10))
        time.sleep(0.3)  # the three rows have arrived
        s.close()
        self.assertTrue(self.looker.wait_closed(url, timeout=10))
        # What was read before the disconnect was kept and is delivered.
        self.assertTrue(self.segment.wait_for_events(3, timeout=20))
        # Looker sends the same result again: the same messageIds, so Segment deduplicates.
        url2 = self.looker.add(json.dumps(res))
        status, _, data = self.execute(payload(None, download_url=url2))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data)["looker"]["message"], "3 rows: 3 accepted, 0 rejected.")
        self.assertTrue(self.segment.wait_for_events(6, timeout=20))
        by_id = self.segment.events_by_message_id()
        self.assertEqual(len(by_id), 3)
        self.assertTrue(all(len(events) == 2 for events in by_id.values()))

    def test_pipelined_request_is_not_lost(self):
        # A request sent right behind an execute on the same connection is answered after it:
        # the read that watches for a disconnect keeps what it reads.
        body = json.dumps(payload(result(rows(2)))).encode()
        head = ("POST /actions/segment_event/execute HTTP/1.1\r\nHost: relay\r\nContent-Length: %d\r\n"
                % len(body))
        for k, v in hub_headers().items():
            head += "%s: %s\r\n" % (k, v)
        data = head.encode() + b"\r\n" + body + b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"
        out = self.relay.raw(data, timeout=10)
        self.assertEqual(out.count(b"HTTP/1.1 200"), 2, out)


if __name__ == "__main__":
    unittest.main()
