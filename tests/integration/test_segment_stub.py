"""Self-test of the stand-in Segment server (segment_stub.py) that the other tests rely on."""

import base64
import gzip
import http.client
import json
import unittest

from segment_stub import SegmentStub


def post(stub, events, key="wk", gz=False, auth=True, retry=None):
    body = json.dumps({"batch": events, "sentAt": "2026-12-01T07:00:00.000Z", "writeKey": key}).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode((key + ":").encode()).decode()
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    if retry is not None:
        headers["X-Retry-Count"] = str(retry)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=10)
    try:
        conn.request("POST", "/v1/batch", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def ev(i, **extra):
    e = {"type": "identify", "userId": "u%d" % i, "messageId": "m%d" % i, "traits": {"n": i}}
    e.update(extra)
    return e


class SegmentStubTest(unittest.TestCase):
    def setUp(self):
        self.stub = SegmentStub(write_keys={"wk"}).start()

    def tearDown(self):
        self.stub.stop()

    def test_records_events_and_headers(self):
        status, _, _ = post(self.stub, [ev(1), ev(2)], retry=2)
        self.assertEqual(status, 200)
        self.assertTrue(self.stub.wait_for_events(2, timeout=5))
        req = self.stub.requests_snapshot()[0]
        self.assertEqual(req.write_key, "wk")
        self.assertEqual(req.retry_count, 2)
        self.assertEqual(req.sent_at, "2026-12-01T07:00:00.000Z")
        self.assertEqual(sorted(self.stub.events_by_message_id()), ["m1", "m2"])

    def test_gzip_body(self):
        self.assertEqual(post(self.stub, [ev(1)], gz=True)[0], 200)
        req = self.stub.requests_snapshot()[0]
        self.assertEqual(json.loads(req.body)["batch"][0]["messageId"], "m1")
        self.assertNotEqual(req.raw_body, req.body)

    def test_auth_is_checked(self):
        self.assertEqual(post(self.stub, [ev(1)], auth=False)[0], 401)
        self.assertEqual(post(self.stub, [ev(1)], key="other")[0], 401)
        self.assertEqual(self.stub.event_count(), 0)

    def test_script_and_poison(self):
        self.stub.push_response(500)
        self.stub.push_response(429, headers={"Retry-After": "3"})
        self.assertEqual(post(self.stub, [ev(1)])[0], 500)
        status, headers, _ = post(self.stub, [ev(1)])
        self.assertEqual(status, 429)
        self.assertEqual(headers.get("Retry-After"), "3")
        self.stub.poison(message_id="m7")
        self.assertEqual(post(self.stub, [ev(6), ev(7)])[0], 400)
        self.assertEqual(post(self.stub, [ev(6)])[0], 200)
        self.assertEqual(self.stub.event_count(), 1)

    def test_script_per_write_key(self):
        self.stub.write_keys = None
        self.stub.push_response(503, write_key="wk_b")
        self.assertEqual(post(self.stub, [ev(1)], key="wk_a")[0], 200)
        self.assertEqual(post(self.stub, [ev(2)], key="wk_b")[0], 503)
        self.assertEqual(post(self.stub, [ev(3)], key="wk_b")[0], 200)

    def test_drop_connection(self):
        self.stub.push_response(drop=True)
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            post(self.stub, [ev(1)])
        self.assertEqual(post(self.stub, [ev(1)])[0], 200)
        self.assertTrue(self.stub.requests_snapshot()[0].dropped)

    def test_oversized_body(self):
        big = [ev(i, traits={"pad": "x" * 30000}) for i in range(20)]
        self.assertEqual(post(self.stub, big)[0], 400)

    def test_wait_is_bounded(self):
        self.assertFalse(self.stub.wait_for_events(1, timeout=0.2))


if __name__ == "__main__":
    unittest.main()
