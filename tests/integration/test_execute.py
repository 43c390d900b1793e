"""The execute endpoint end to end: Looker's payload (pushed attachment or download_url from a
stand-in Looker) through the real binary to a stand-in Segment, for all three calls, asserting
byte for byte on the events that arrive (against `preview` of the same result), the answers
and their texts, keepalive newlines (also before a failure), a full spool and ack: delivered."""

import base64
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

from harness import Relay, closed_port_url, hub_headers, run_binary, wait_until
from looker_stub import LookerStub
from segment_stub import SegmentStub, batch_array

WRITE_KEY = "wk_test"
DEFAULT_KEY = "wk_default"
RAN_AT = "2026-11-30T10:00:00+00:00"


def field(name, tags=(), measure=False):
    view, _, short = name.partition(".")
    return {"name": name, "label": "%s %s" % (view.title(), short.replace("_", " ").title()),
            "label_short": short.replace("_", " ").title(), "tags": list(tags), "measure": measure}


def result(rows, group=False, pivots=False):
    """A json_detail result; rows are (id, email, plan, sessions[, group_id])."""
    dims = [field("users.id", ["user_id"]), field("users.email", ["email"]), field("users.plan")]
    if group:
        dims.append(field("accounts.id", ["segment_group_id"]))
    fields = {"dimensions": dims, "measures": [field("users.sessions_count", measure=True)],
              "table_calculations": []}
    out = {"ran_at": RAN_AT, "fields": fields, "data": []}
    if pivots:
        # A pivots block with nested "data" before the root data: never taken for rows.
        out = {"ran_at": RAN_AT, "pivots": [{"key": "a", "data": {"x": 1}}], "fields": fields, "data": []}
    for r in rows:
        row = {"users.id": {"value": r[0]}, "users.email": {"value": r[1]}, "users.plan": {"value": r[2]},
               "users.sessions_count": {"value": r[3]}}
        if group:
            row["accounts.id"] = {"value": r[4]}
        out["data"].append(row)
    return out


def rows(n, group=False):
    return [(i + 1, "user%d@example.com" % (i + 1), "pro" if i % 2 else "free", i) +
            ((100 + i % 3,) if group else ()) for i in range(n)]


def payload(res=None, action_key=WRITE_KEY, download_url=None, base64_data=False, form_params=None,
            type_="query"):
    p = {"type": type_,
         "scheduled_plan": {"scheduled_plan_id": 17, "title": "Cohort", "type": "Look", "url": None,
                            "query_id": "42", "download_url": download_url,
                            "query": {"vis_config": {"hidden_fields": []}}},
         "data": {"segment_write_key": action_key} if action_key else {},
         "form_params": form_params or {}}
    if res is not None:
        text = json.dumps(res)
        if base64_data:
            p["attachment"] = {"mimetype": "application/json;base64", "extension": "json",
                               "data": base64.b64encode(text.encode()).decode()}
        else:
            p["attachment"] = {"mimetype": "application/json", "extension": "json", "data": text}
    return p


def parse_answer(data):
    """The execute answer: any keepalive newlines, then one JSON document."""
    text = data.decode("utf-8")
    return json.loads(text.lstrip("\n"))


def looker(success, message):
    return {"looker": {"success": success, "message": message, "refresh_query": False,
                       "validation_errors": {}}}


def preview_events(res, action, event=None):
    """What `preview` says the result becomes: the exact serialized events, one per line."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(res, f)
        path = f.name
    try:
        args = ["preview", "--format", "json_detail", "--action", action]
        if event:
            args += ["--event", event]
        out = run_binary(args + [path])
        return [line for line in out.stdout.splitlines() if line.startswith("{")]
    finally:
        os.unlink(path)


def received_event_texts(segment, write_key=None):
    """The serialized events exactly as they arrived in the /v1/batch bodies."""
    texts = []
    for rec in segment.requests_snapshot():
        if rec.status is None or not (200 <= rec.status < 300):
            continue
        if write_key and rec.write_key != write_key:
            continue
        texts.extend(batch_array(rec.body).decode("utf-8").split(",\n"))
    return texts


def without_message_id(text):
    obj = json.loads(text)
    mid = obj.pop("messageId")
    return text.replace('"messageId":"%s"' % mid, '"messageId":"<id>"'), mid


class RelayCase(unittest.TestCase):
    relay_config = {}
    segment_up = True

    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub(write_keys={WRITE_KEY, DEFAULT_KEY}).start()
        cls.looker = LookerStub().start()
        config = {"hub": {"download": {"allowed_hosts": ["127.0.0.1"], "allow_loopback_http": True,
                                       "timeout_ms": 10000}}}
        config = _merge(config, cls.relay_config)
        url = cls.segment.url
        if not cls.segment_up:
            url = closed_port_url()
        cls.relay = Relay(config, segment_url=url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.looker.stop()
        cls.segment.stop()

    def setUp(self):
        if self.segment_up:
            # Let the previous test's deliveries finish, so none lands in this test's record.
            def idle():
                status, body = self.relay.get_json("/status")
                return body["queue"]["batches"] == 0 and body["delivery"]["in_flight"] == 0
            wait_until(idle, timeout=15)
        self.segment.reset()
        self.segment.clear_script()

    def execute(self, action, body, version="7.0.0", extra_headers=None, timeout=60):
        headers = hub_headers(version=version)
        headers.update(extra_headers or {})
        return self.relay.request("POST", "/actions/%s/execute" % action, body=body, headers=headers,
                                  timeout=timeout)

    def assert_events_match_preview(self, res, action, event=None, write_key=WRITE_KEY):
        expected = sorted(without_message_id(t)[0] for t in preview_events(res, action, event))
        self.assertTrue(self.segment.wait_for_events(len(expected), timeout=30),
                        "only %d of %d events arrived" % (self.segment.event_count(), len(expected)))
        got_texts = received_event_texts(self.segment, write_key)
        got = sorted(without_message_id(t)[0] for t in got_texts)
        self.assertEqual(got, expected)
        ids = [without_message_id(t)[1] for t in got_texts]
        self.assertEqual(len(set(ids)), len(ids), "messageIds are unique")
        return [json.loads(t) for t in got_texts]


def _merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class ExecuteTest(RelayCase):
    def test_identify_pushed_attachment(self):
        res = result(rows(3))
        status, hdrs, data = self.execute("segment_event", payload(res))
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        self.assertEqual(parse_answer(data), looker(True, "3 rows: 3 accepted, 0 rejected."))
        events = self.assert_events_match_preview(res, "segment_event")
        by_user = {e["userId"]: e for e in events}
        self.assertEqual(by_user["1"]["type"], "identify")
        self.assertEqual(by_user["1"]["traits"], {"email": "user1@example.com", "plan": "free", "sessions_count": 0})
        self.assertEqual(by_user["1"]["timestamp"], "2026-11-30T10:00:00.000Z")

    def test_track_pushed_attachment(self):
        res = result(rows(4))
        status, _, data = self.execute("segment_track", payload(res, form_params={"event": "Cohort Entered"}))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(True, "4 rows: 4 accepted, 0 rejected."))
        events = self.assert_events_match_preview(res, "segment_track", "Cohort Entered")
        self.assertTrue(all(e["type"] == "track" and e["event"] == "Cohort Entered" for e in events))

    def test_group_pushed_attachment(self):
        res = result(rows(3, group=True), group=True)
        status, _, data = self.execute("segment_group", payload(res))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(True, "3 rows: 3 accepted, 0 rejected."))
        events = self.assert_events_match_preview(res, "segment_group")
        self.assertEqual(sorted(e["groupId"] for e in events), ["100", "101", "102"])

    def test_base64_attachment(self):
        res = result(rows(2))
        status, _, data = self.execute("segment_event", payload(res, base64_data=True))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(True, "2 rows: 2 accepted, 0 rejected."))
        self.assert_events_match_preview(res, "segment_event")

    def test_attachment_already_parsed_as_an_object(self):
        res = result(rows(2))
        body = payload(res)
        body["attachment"]["data"] = res  # defensively accepted: the JSON itself, not a string
        status, _, data = self.execute("segment_event", body)
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(True, "2 rows: 2 accepted, 0 rejected."))
        self.assert_events_match_preview(res, "segment_event")

    def test_string_ids_and_unicode_escapes(self):
        res = result([("u-\u00e9", "caf\u00e9@example.com", "pro", 1)])
        body = payload(res)
        body["scheduled_plan"]["scheduled_plan_id"] = "17"
        status, _, data = self.execute("segment_event", json.dumps(body, ensure_ascii=True))
        self.assertEqual(parse_answer(data), looker(True, "1 row: 1 accepted, 0 rejected."))
        events = self.assert_events_match_preview(res, "segment_event")
        self.assertEqual(events[0]["userId"], "u-\u00e9")
        self.assertEqual(events[0]["traits"]["email"], "caf\u00e9@example.com")

    def test_download_url_for_all_three_calls(self):
        cases = [("segment_event", result(rows(5)), None),
                 ("segment_track", result(rows(5)), "Signed Up"),
                 ("segment_group", result(rows(5, group=True), group=True, pivots=True), None)]
        for action, res, event in cases:
            with self.subTest(action=action):
                self.segment.reset()
                url = self.looker.add(json.dumps(res), chunked=True, chunk_size=97)
                body = payload(None, download_url=url, form_params={"event": event} if event else None)
                status, _, data = self.execute(action, body, version="6.2.0")
                self.assertEqual(status, 200)
                self.assertEqual(parse_answer(data), looker(True, "5 rows: 5 accepted, 0 rejected."))
                self.assert_events_match_preview(res, action, event)
                self.assertEqual(self.looker.hits(url), 1)

    def test_download_url_wins_over_an_attachment(self):
        streamed = result(rows(2))
        url = self.looker.add(json.dumps(streamed))
        body = payload(result(rows(7)), download_url=url)
        status, _, data = self.execute("segment_event", body)
        self.assertEqual(parse_answer(data), looker(True, "2 rows: 2 accepted, 0 rejected."))
        self.assert_events_match_preview(streamed, "segment_event")

    def test_download_not_200(self):
        for code in (403, 404, 500):
            url = self.looker.add(b'{"fields": {}, "data": [{"bogus": 1}]}', status=code)
            status, _, data = self.execute("segment_event", payload(None, download_url=url))
            self.assertEqual(status, 200)
            self.assertEqual(parse_answer(data), looker(
                False, "There was an error with Action Hub calling back to Looker, status code: %d. "
                       "No rows were accepted." % code))
        self.assertEqual(self.segment.event_count(), 0)

    def test_download_url_used_twice(self):
        url = self.looker.add(json.dumps(result(rows(1))))
        self.execute("segment_event", payload(None, download_url=url))
        status, _, data = self.execute("segment_event", payload(None, download_url=url))
        self.assertEqual(parse_answer(data)["looker"]["message"],
                         "There was an error with Action Hub calling back to Looker, status code: 404. "
                         "No rows were accepted.")

    def test_download_host_not_allowed(self):
        url = self.looker.add(json.dumps(result(rows(1)))).replace("127.0.0.1", "localhost")
        status, _, data = self.execute("segment_event", payload(None, download_url=url))
        self.assertEqual(status, 200)
        answer = parse_answer(data)["looker"]
        self.assertFalse(answer["success"])
        self.assertIn('"localhost" is not in hub.download.allowed_hosts', answer["message"])
        self.assertEqual(self.looker.hits(url), 0)

    def test_truncated_download(self):
        body = json.dumps(result(rows(50)))
        url = self.looker.add(body, truncate_at=len(body) // 2)
        status, _, data = self.execute("segment_event", payload(None, download_url=url))
        answer = parse_answer(data)["looker"]
        self.assertFalse(answer["success"])
        self.assertIn("reading the result from Looker", answer["message"])

    def test_rejected_rows_are_reported_and_the_rest_arrive(self):
        res = result([(1, "a@example.com", "pro", 1), (None, None, "free", 2), (3, None, "pro", 3)])
        status, _, data = self.execute("segment_event", payload(res))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(
            False, "3 rows: 2 accepted, 1 rejected. First rejections: row 2: no user id, anonymous id or email."))
        events = self.assert_events_match_preview(res, "segment_event")
        self.assertEqual(sorted(e["userId"] for e in events), ["1", "3"])

    def test_query_without_id_fields_fails_with_the_hub_text(self):
        res = {"fields": {"dimensions": [field("users.plan")]}, "data": [{"users.plan": {"value": "x"}}]}
        status, _, data = self.execute("segment_event", payload(res))
        self.assertEqual(status, 200)
        answer = parse_answer(data)["looker"]
        self.assertFalse(answer["success"])
        self.assertTrue(answer["message"].startswith(
            "Query requires a field tagged email or user_id or segment_anonymous_id."), answer["message"])

    def test_validation_order_and_texts(self):
        cases = [
            (payload(result(rows(1)), type_=None),
             'No request type specified. The request must be of type: "query".'),
            (payload(result(rows(1)), type_="cell"),
             'This action does not support requests of type "cell". The request must be of type: "query".'),
            (payload(None, action_key=None, type_="dashboard"),
             'This action does not support requests of type "dashboard". The request must be of type: "query".'),
            (payload(result(rows(1)), action_key=None),
             'Required setting "Segment Write Key" not specified in action settings.'),
            (payload(result(rows(1)), action_key=""),
             'Required setting "Segment Write Key" not specified in action settings.'),
            (payload(None, action_key=None),
             'Required setting "Segment Write Key" not specified in action settings.'),
            (payload(None),
             "A streaming action was sent incompatible data. The action must have a download url or an attachment."),
            (b"{not json", "Request body must be valid JSON."),
        ]
        for body, error in cases:
            with self.subTest(error=error):
                status, hdrs, data = self.execute("segment_event", body)
                self.assertEqual(status, 404)
                self.assertEqual(json.loads(data), {"success": False, "error": error})
        self.assertEqual(self.segment.event_count(), 0)

    def test_many_rows_in_several_batches(self):
        res = result(rows(6000))
        status, _, data = self.execute("segment_event", payload(res))
        self.assertEqual(parse_answer(data), looker(True, "6000 rows: 6000 accepted, 0 rejected."))
        self.assertTrue(self.segment.wait_for_events(6000, timeout=60))
        self.assertGreaterEqual(len(self.segment.requests_snapshot()), 3)
        self.assertEqual(len(self.segment.message_id_counts()), 6000)

    def test_large_pushed_body_with_content_length(self):
        # About 3.5 MB with a Content-Length header, as Looker pushes big attachments. The
        # listener must apply the execute route's limit (server.limits.max_body_bytes), not
        # Beast's 1 MB default, already while it reads the header.
        res = result(rows(20000))
        size = len(json.dumps(payload(res)))
        try:
            status, _, data = self.execute("segment_event", payload(res))
        except OSError as e:
            self.fail("the listener closed the connection on a %d-byte execute body (%s): its header "
                      "parser still has Beast's 1 MB default body limit" % (size, e))
        self.assertEqual(status, 200, "a %d-byte execute body was refused: %r" % (size, data[:200]))
        self.assertEqual(parse_answer(data), looker(True, "20000 rows: 20000 accepted, 0 rejected."))
        self.assertTrue(self.segment.wait_for_events(20000, timeout=60))

    def test_resent_delivery_keeps_message_ids(self):
        res = result(rows(3))
        headers = {"X-Looker-Webhook-Id": "delivery-77"}
        self.execute("segment_event", payload(res), extra_headers=headers)
        self.assertTrue(self.segment.wait_for_events(3))
        self.execute("segment_event", payload(res), extra_headers=headers)
        self.assertTrue(self.segment.wait_for_events(6))
        counts = self.segment.message_id_counts()
        self.assertEqual(sorted(counts.values()), [2, 2, 2])

    def test_logs_never_carry_write_keys_tokens_or_row_data(self):
        self.execute("segment_event", payload(result(rows(3))))
        self.assertTrue(self.segment.wait_for_events(3))
        self.relay.request("POST", "/", headers={"Authorization": 'Token token="not-a-valid-token"'})
        time.sleep(0.2)
        text = json.dumps(self.relay.logs)
        token = hub_headers()["Authorization"].split('"')[1]
        for secret in (WRITE_KEY, token, token.split("/")[1], "not-a-valid-token", "@example.com"):
            self.assertNotIn(secret, text)

    def test_metrics_count_rows_and_executes(self):
        before = self.relay.metric_value("lsr_rows_accepted_total") or 0
        self.execute("segment_event", payload(result(rows(2))))
        self.assertEqual(self.relay.metric_value("lsr_rows_accepted_total"), before + 2)
        self.assertGreaterEqual(
            self.relay.metric_value("lsr_executes_total", {"action": "segment_event", "outcome": "success"}), 1)


class HubModeTest(RelayCase):
    relay_config = {"mapping": {"mode": "hub"}}

    def test_hub_mode_events_arrive_as_the_core_made_them(self):
        res = result([(1, "a@example.com", "pro", 0), (None, None, "free", 3)])
        status, _, data = self.execute("segment_event", payload(res))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(True, "2 rows: 2 accepted, 0 rejected."))

        def mask(text):
            obj = json.loads(text)
            text = text.replace('"messageId":"%s"' % obj["messageId"], '"messageId":"<id>"')
            if obj.get("anonymousId"):
                text = text.replace('"anonymousId":"%s"' % obj["anonymousId"], '"anonymousId":"<uuid>"')
            return text

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(res, f)
        try:
            out = run_binary(["preview", "--mode", "hub", "--format", "json_detail", f.name])
        finally:
            os.unlink(f.name)
        expected = sorted(mask(l) for l in out.stdout.splitlines() if l.startswith("{"))
        self.assertTrue(self.segment.wait_for_events(2))
        self.assertEqual(sorted(mask(t) for t in received_event_texts(self.segment)), expected)
        by_plan = {e["traits"]["users.plan"]: e for e in self.segment.events}
        self.assertEqual(by_plan["pro"]["userId"], "1")
        self.assertIsNone(by_plan["free"]["userId"])


def make_cert(directory, name, dns):
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=%s" % dns, "-addext", "subjectAltName=DNS:%s" % dns,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class DownloadTlsTest(unittest.TestCase):
    """download_url over HTTPS: certificate and host-name verification, SNI, https required."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lsr-tls-")
        good = make_cert(cls.tmp, "good", "localhost")
        wrong_name = make_cert(cls.tmp, "wrong", "other.example")
        untrusted = make_cert(cls.tmp, "untrusted", "localhost")
        ca_file = os.path.join(cls.tmp, "ca.pem")
        with open(ca_file, "w") as out:
            for cert in (good[0], wrong_name[0]):
                with open(cert) as f:
                    out.write(f.read())
        cls.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        cls.good = LookerStub(tls=good, host_name="localhost").start()
        cls.wrong_name = LookerStub(tls=wrong_name, host_name="localhost").start()
        cls.untrusted = LookerStub(tls=untrusted, host_name="localhost").start()
        cls.plain = LookerStub(host_name="localhost").start()
        # The allowlist names each stand-in's port (a bare "localhost" would allow 443 only).
        hosts = ["localhost:%d" % s.port for s in (cls.good, cls.wrong_name, cls.untrusted, cls.plain)]
        cls.relay = Relay({"hub": {"download": {"allowed_hosts": hosts, "ca_file": ca_file,
                                                "connect_timeout_ms": 5000, "timeout_ms": 10000}}},
                          segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        for s in (cls.good, cls.wrong_name, cls.untrusted, cls.plain, cls.segment):
            s.stop()
        subprocess.run(["rm", "-rf", cls.tmp], check=False)

    def execute(self, url):
        status, _, data = self.relay.request("POST", "/actions/segment_event/execute",
                                             body=payload(None, download_url=url), headers=hub_headers())
        self.assertEqual(status, 200)
        return parse_answer(data)["looker"]

    def test_verified_https_download(self):
        res = result(rows(4))
        url = self.good.add(json.dumps(res))
        self.assertEqual(self.execute(url), {"success": True, "message": "4 rows: 4 accepted, 0 rejected.",
                                             "refresh_query": False, "validation_errors": {}})
        self.assertIn("localhost", self.good.server_names)
        self.assertTrue(self.segment.wait_for_events(4))

    def test_certificate_for_another_name_is_refused(self):
        url = self.wrong_name.add(json.dumps(result(rows(1))))
        answer = self.execute(url)
        self.assertFalse(answer["success"])
        self.assertIn("TLS handshake", answer["message"])
        self.assertEqual(self.wrong_name.hits(url), 0)

    def test_untrusted_certificate_is_refused(self):
        url = self.untrusted.add(json.dumps(result(rows(1))))
        answer = self.execute(url)
        self.assertFalse(answer["success"])
        self.assertIn("TLS handshake", answer["message"])
        self.assertEqual(self.untrusted.hits(url), 0)

    def test_plain_http_is_refused_without_the_loopback_exception(self):
        url = self.plain.add(json.dumps(result(rows(1))))
        answer = self.execute(url)
        self.assertEqual(answer["message"], "The download_url must use https. No rows were accepted.")
        self.assertEqual(self.plain.hits(url), 0)


class AckDeliveredDrainTest(RelayCase):
    relay_config = {"delivery": {"ack": "delivered", "ack_delivered_timeout_ms": 60000},
                    "server": {"execute_keepalive_ms": 200, "drain_grace_ms": 10000}}

    def test_sigterm_gives_the_waiting_execute_its_honest_answer(self):
        import signal
        import threading
        self.segment.push_response(500, times=100000)
        answer = {}

        def call():
            answer["result"] = self.execute("segment_event", payload(result(rows(2))))

        t = threading.Thread(target=call)
        t.start()
        self.assertTrue(self.segment.wait_for_requests(1, timeout=10))
        t0 = time.monotonic()
        self.relay.proc.send_signal(signal.SIGTERM)
        t.join(timeout=15)
        self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - t0, 5)
        status, _, data = answer["result"]
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(
            False, "2 rows: 2 accepted, 0 rejected. Delivered to Segment so far: 0 of 2 events; "
                   "the others are still queued and will be delivered."))
        self.assertEqual(self.relay.proc.wait(timeout=15), 0)


class KeepaliveTest(RelayCase):
    relay_config = {"server": {"execute_keepalive_ms": 100}}

    def raw_execute(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.relay.port, timeout=30)
        try:
            conn.request("POST", "/actions/segment_event/execute", body=json.dumps(body), headers=hub_headers())
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_newlines_then_failure_still_ends_with_json(self):
        url = self.looker.add(b"unused", status=500, delay=0.7)
        status, data = self.raw_execute(payload(None, download_url=url))
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"\n\n"), data[:20])
        self.assertEqual(json.loads(data.lstrip(b"\n")), looker(
            False, "There was an error with Action Hub calling back to Looker, status code: 500. "
                   "No rows were accepted."))

    def test_newlines_then_validation_style_failure(self):
        # The download answers late with a body that is not a Looker result at all.
        url = self.looker.add(b'{"fields": {"dimensions": []}, "data": [{}]}', delay=0.5)
        status, data = self.raw_execute(payload(None, download_url=url))
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"\n"))
        answer = json.loads(data.lstrip(b"\n"))["looker"]
        self.assertFalse(answer["success"])

    def test_newlines_then_success(self):
        res = result(rows(3))
        url = self.looker.add(json.dumps(res), delay=0.5)
        status, data = self.raw_execute(payload(None, download_url=url))
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"\n"))
        self.assertEqual(json.loads(data.lstrip(b"\n")), looker(True, "3 rows: 3 accepted, 0 rejected."))
        self.assert_events_match_preview(res, "segment_event")



class QuickExecuteTest(KeepaliveTest):
    # Keepalive newlines only come once an execute has taken longer than the interval: a one-row
    # execute ends well within 5 s, even on a loaded machine under a sanitizer.
    relay_config = {"server": {"execute_keepalive_ms": 5000}}

    test_newlines_then_failure_still_ends_with_json = None
    test_newlines_then_validation_style_failure = None
    test_newlines_then_success = None

    def test_quick_work_has_no_newlines(self):
        status, data = self.raw_execute(payload(result(rows(1))))
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"{"), data[:20])


class DefaultWriteKeyTest(RelayCase):
    relay_config = {"segment": {"default_write_key": DEFAULT_KEY}}

    def test_default_write_key_when_the_request_names_none(self):
        res = result(rows(2))
        status, _, data = self.execute("segment_event", payload(res, action_key=None))
        self.assertEqual(parse_answer(data), looker(True, "2 rows: 2 accepted, 0 rejected."))
        self.assert_events_match_preview(res, "segment_event", write_key=DEFAULT_KEY)
        self.assertEqual({r.write_key for r in self.segment.requests_snapshot()}, {DEFAULT_KEY})

    def test_the_request_key_wins(self):
        self.execute("segment_event", payload(result(rows(1))))
        self.assertTrue(self.segment.wait_for_events(1))
        self.assertEqual({r.write_key for r in self.segment.requests_snapshot()}, {WRITE_KEY})

    def test_track_form_without_key_is_offered(self):
        status, _, data = self.relay.request("POST", "/actions/segment_track/form", body=b"",
                                             headers=hub_headers())
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["fields"][0]["name"], "event")


class SpoolFullTest(RelayCase):
    relay_config = {"spool": {"max_bytes": 1024 * 1024}}
    segment_up = False  # nothing leaves the spool

    def test_full_spool_gives_503_and_an_honest_count(self):
        # Executes of 3000 rows (bodies under 1 MB) until the 1 MiB spool refuses one.
        accepted_total = 0
        refused = None
        for i in range(12):
            res = result([(i * 10000 + n, "u%d@example.com" % n, "pro", n) for n in range(3000)])
            status, hdrs, data = self.execute("segment_event", payload(res))
            answer = parse_answer(data)["looker"]
            if status == 200:
                self.assertTrue(answer["success"], answer)
                accepted_total += 3000
                continue
            refused = (status, hdrs, answer)
            break
        self.assertIsNotNone(refused, "the spool never filled")
        status, hdrs, answer = refused
        self.assertEqual(status, 503)
        self.assertEqual(hdrs.get("retry-after"), "30")
        self.assertFalse(answer["success"])
        self.assertTrue(answer["message"].startswith(
            "The relay's spool is full (spool.max_bytes), so the rest of the result was not accepted; "
            "retry later."), answer["message"])
        match = re.search(r"(\d+) rows? (?:was|were) accepted before that and will be delivered\.$", answer["message"])
        if match:
            accepted_total += int(match.group(1))
            self.assertLess(int(match.group(1)), 3000)
        else:
            self.assertTrue(answer["message"].endswith("No rows were accepted."), answer["message"])
        self.assertEqual(self.relay.metric_value("lsr_rows_accepted_total"), accepted_total)
        # Once full, the next execute is refused as a whole.
        status, hdrs, data = self.execute("segment_event", payload(result(rows(3000))))
        self.assertEqual(status, 503)
        self.assertIn("retry-after", hdrs)
        self.assertTrue(parse_answer(data)["looker"]["message"].endswith("No rows were accepted."))
        self.assertEqual(self.relay.metric_value("lsr_rows_accepted_total"), accepted_total)


class AckDeliveredTest(RelayCase):
    relay_config = {"delivery": {"ack": "delivered", "ack_delivered_timeout_ms": 1500},
                    "server": {"execute_keepalive_ms": 200}}

    def test_answer_after_segment_took_every_batch(self):
        res = result(rows(3))
        status, _, data = self.execute("segment_event", payload(res))
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(
            True, "3 rows: 3 accepted, 0 rejected. All 3 events were delivered to Segment."))
        # The events were at Segment before the answer.
        self.assertEqual(self.segment.event_count(), 3)

    def test_dead_lettered_events_are_reported(self):
        self.segment.poison(user_id="2")
        try:
            status, _, data = self.execute("segment_event", payload(result(rows(3))))
        finally:
            self.segment.clear_poison()
        self.assertEqual(status, 200)
        self.assertEqual(parse_answer(data), looker(
            False, "3 rows: 3 accepted, 0 rejected. Delivered to Segment so far: 2 of 3 events; "
                   "1 event was refused by Segment (dead letters)."))
        self.assertEqual(sorted(e["userId"] for e in self.segment.events), ["1", "3"])

    def test_honest_answer_when_segment_is_slow(self):
        self.segment.push_response(500, times=1000)
        res = result(rows(3))
        t0 = time.monotonic()
        status, _, data = self.execute("segment_event", payload(res))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(status, 200)
        self.assertTrue(data.startswith(b"\n"))  # keepalive while waiting
        self.assertEqual(parse_answer(data), looker(
            False, "3 rows: 3 accepted, 0 rejected. Delivered to Segment so far: 0 of 3 events; "
                   "the others are still queued and will be delivered."))
        self.segment.clear_script()
        self.assertTrue(self.segment.wait_for_events(3, timeout=30))


if __name__ == "__main__":
    unittest.main()
