"""What the relay accepts and how it answers, on the real
binary: write keys Segment could not accept are refused at intake and never spooled; JSON
nested beyond the limit is a 400 on every route and the relay lives on; a result that is not
a result is an error; every answer and log line is valid UTF-8; `preview` and `serve` say the
same about the same result."""

import json
import os
import tempfile
import time
import unittest

from harness import Relay, hub_headers, run_binary
from segment_stub import SegmentStub

WRITE_KEY = "wk_intake"
HUGE_KEY = "k" * 49_200


def json_detail(rows, fields=True):
    doc = {"ran_at": "2026-11-30T10:00:00+00:00"}
    if fields:  # before data, as Looker sends it
        doc["fields"] = {"dimensions": [
            {"name": "users.id", "label": "Users Id", "tags": ["user_id"]},
            {"name": "users.email", "label": "Users Email", "tags": ["email"]}]}
    doc["data"] = []
    for i in range(rows):
        doc["data"].append({"users.id": {"value": i + 1}, "users.email": {"value": "u%d@example.com" % (i + 1)}})
    return doc


def execute_body(attachment_data, write_key=WRITE_KEY, as_text=True, mimetype="application/json"):
    data = json.dumps(attachment_data) if as_text else attachment_data
    return json.dumps({"type": "query",
                       "scheduled_plan": {"scheduled_plan_id": 5, "query": {"vis_config": {"hidden_fields": []}}},
                       "data": {"segment_write_key": write_key},
                       "attachment": {"mimetype": mimetype, "extension": "json", "data": data}}).encode()


def answer(data):
    return json.loads(data.decode("utf-8").lstrip("\n"))


class IntakeCase(unittest.TestCase):
    mode = "standard"

    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        cls.relay = Relay({"mapping": {"mode": cls.mode}}, segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.segment.stop()

    def execute(self, body, action="segment_event"):
        return self.relay.request("POST", "/actions/%s/execute" % action, body=body, headers=hub_headers())

    def queued_batches(self):
        status, body = self.relay.get_json("/status")
        self.assertEqual(status, 200)
        return body["queue"]["batches"]

    def assert_alive(self):
        self.assertIsNone(self.relay.proc.poll(), "the relay died")
        status, _, _ = self.relay.request("GET", "/healthz")
        self.assertEqual(status, 200)


class WriteKeyIntakeTest(IntakeCase):
    def test_huge_write_key_is_refused_and_never_spooled(self):
        before = len(self.segment.requests_snapshot())
        status, _, data = self.execute(execute_body(json_detail(3), write_key=HUGE_KEY))
        self.assertEqual(status, 400)
        looker = answer(data)["looker"]
        self.assertFalse(looker["success"])
        reason = "The Segment write key is 49200 bytes long; a write key has at most 1024."
        self.assertEqual(looker["message"], reason)
        self.assertEqual(looker["validation_errors"], {"segment_write_key": reason})
        self.assertNotIn(HUGE_KEY[:64], data.decode())
        self.assertEqual(self.queued_batches(), 0)
        # The relay carries on: a good execute is delivered, and nothing ever went out with
        # the refused key.
        status, _, data = self.execute(execute_body(json_detail(2)))
        self.assertEqual(status, 200, data)
        self.assertTrue(answer(data)["looker"]["success"], data)
        self.assertTrue(self.segment.wait_for_events(2, timeout=30))
        time.sleep(0.3)
        keys = {r.write_key for r in self.segment.requests_snapshot()[before:]}
        self.assertEqual(keys, {WRITE_KEY})
        self.assert_alive()

    def test_other_unacceptable_keys(self):
        for key, word in ((" wk", "whitespace"), ("wk\u0001", "control character"), ("wk\u00e9", "non-ASCII")):
            status, _, data = self.execute(execute_body(json_detail(1), write_key=key))
            self.assertEqual(status, 400, key)
            self.assertIn(word, answer(data)["looker"]["validation_errors"]["segment_write_key"])
        self.assertEqual(self.queued_batches(), 0)

    def test_form_checks_the_write_key(self):
        status, _, data = self.relay.request("POST", "/actions/segment_track/form",
                                             body=json.dumps({"data": {"segment_write_key": HUGE_KEY}}),
                                             headers=hub_headers())
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), {"error": "The Segment write key is 49200 bytes long; "
                                                     "a write key has at most 1024."})


class DepthTest(IntakeCase):
    def test_deep_form_body_is_400_and_the_relay_lives(self):
        body = b"[" * 150_000 + b"]" * 150_000
        status, _, data = self.relay.request("POST", "/actions/segment_track/form", body=body,
                                             headers=hub_headers())
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(data), {"success": False,
                                            "error": "Request body is nested more than 128 levels deep."})
        self.assert_alive()

    def test_deep_execute_and_webhook_style_bodies_are_400(self):
        for body in (b"[" * 150_000 + b"]" * 150_000,
                     b'{"type":"query","data":{"segment_write_key":' + b"[" * 5000 + b"]" * 5000 + b"}}",
                     b'{"type":"query","attachment":{"data":' + b"{" * 5000 + b"}}"):
            status, _, data = self.execute(body)
            self.assertEqual(status, 400, data)
            self.assertIn("nested more than 128 levels", json.loads(data)["error"])
        self.assert_alive()

    def test_deep_result_rows_fail_the_run_not_the_relay(self):
        deep = "[" * 50_000 + "]" * 50_000
        doc = json.dumps(json_detail(1)).replace('"value": 1}', '"value": %s}' % deep, 1)
        self.assertIn(deep, doc)
        body = json.dumps({"type": "query", "data": {"segment_write_key": WRITE_KEY},
                           "attachment": {"mimetype": "application/json", "data": doc}}).encode()
        status, _, data = self.execute(body)
        self.assertEqual(status, 200)
        self.assertFalse(answer(data)["looker"]["success"])
        self.assert_alive()


class ResultShapeTest(IntakeCase):
    def test_a_result_that_is_not_a_result_is_an_error(self):
        cases = [
            ({}, 'The result is not a Looker result: it has no "data" array of rows. No rows were accepted.'),
            ({"data": 5}, 'The result is not a Looker result: its "data" is a number, not an array of rows. '
                          'No rows were accepted.'),
            ({"fields": json_detail(0)["fields"], "data": {"a": 1}},
             'The result is not a Looker result: its "data" is an object, not an array of rows. '
             'No rows were accepted.'),
            ({"fields": json_detail(0)["fields"], "data": "rows"},
             'The result is not a Looker result: its "data" is a string, not an array of rows. '
             'No rows were accepted.'),
        ]
        for doc, message in cases:
            for as_text in (True, False):
                status, _, data = self.execute(execute_body(doc, as_text=as_text))
                self.assertEqual(status, 200)
                self.assertEqual(answer(data)["looker"], {"success": False, "message": message,
                                                          "refresh_query": False, "validation_errors": {}},
                                 (doc, as_text))
        self.assertEqual(self.queued_batches(), 0)

    def test_empty_data_is_a_success_with_no_rows(self):
        status, _, data = self.execute(execute_body(json_detail(0)))
        self.assertEqual(status, 200)
        self.assertEqual(answer(data)["looker"]["success"], True)
        self.assertEqual(answer(data)["looker"]["message"], "0 rows: 0 accepted, 0 rejected.")


class Utf8Test(IntakeCase):
    def test_invalid_utf8_in_request_values_never_reaches_answers_or_logs_raw(self):
        start = len(self.relay.raw_lines)
        body = b'{"type":"qu\xffery","data":{"segment_write_key":"wk"}}'
        status, _, data = self.execute(body)
        self.assertEqual(status, 404)
        text = data.decode("utf-8")  # strict: raises on invalid UTF-8
        self.assertEqual(json.loads(text)["error"],
                         'This action does not support requests of type "qu\ufffdery". '
                         'The request must be of type: "query".')
        # A path with invalid UTF-8, sent raw.
        raw = self.relay.raw(b"POST /actions/seg\xff\xfe/form HTTP/1.1\r\nHost: x\r\n" +
                             ("Authorization: %s\r\n" % hub_headers()["Authorization"]).encode() +
                             b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        head, _, payload = raw.partition(b"\r\n\r\n")
        self.assertIn(b" 404 ", head.split(b"\r\n")[0])
        payload.decode("utf-8")
        self.assertIn("No action found with name seg\ufffd\ufffd.", json.loads(payload)["error"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with self.relay._lock:
                lines = self.relay.raw_lines[start:]
            if any(b"execute refused" in l for l in lines):
                break
            time.sleep(0.05)
        self.assertTrue(any(b"execute refused" in l for l in lines))
        for line in lines:
            json.loads(line.decode("utf-8"))  # every line is valid UTF-8 and valid JSON
        self.assertTrue(any("qu\ufffdery" in l.decode("utf-8") for l in lines))


class PreviewAgreesTest(IntakeCase):
    def preview_message(self, body):
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(body)
            path = f.name
        try:
            r = run_binary(["preview", "--config", self.relay.config_path(), "--action", "segment_event", path])
        finally:
            os.unlink(path)
        errors = [l[len("error: "):] for l in r.stderr.splitlines() if l.startswith("error: ")]
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(errors), 1, r.stderr)
        return errors[0]

    def test_a_result_without_fields_gets_the_same_message(self):
        no_fields = json_detail(2, fields=False)
        for body in (execute_body(no_fields), execute_body(no_fields, as_text=False), execute_body({"data": 5})):
            status, _, data = self.execute(body)
            self.assertEqual(status, 200)
            served = answer(data)["looker"]
            self.assertFalse(served["success"])
            self.assertEqual(self.preview_message(body), served["message"])

    def test_an_unreadable_attachment_gets_the_same_message(self):
        body = execute_body("x", mimetype="application/pdf")
        status, _, data = self.execute(body)
        self.assertEqual(self.preview_message(body), answer(data)["looker"]["message"])


class PreviewAgreesHubModeTest(PreviewAgreesTest):
    mode = "hub"

    def test_hub_mode_answers_the_hub_text(self):
        body = execute_body(json_detail(2, fields=False))
        status, _, data = self.execute(body)
        message = answer(data)["looker"]["message"]
        self.assertTrue(message.startswith(
            "Query requires a field tagged email or user_id or segment_anonymous_id."), message)
        self.assertEqual(self.preview_message(body), message)


class ConfigWriteKeyTest(unittest.TestCase):
    def test_check_config_reports_the_line(self):
        text = "\n".join([
            "segment:",
            "  default_write_key: \"wk with space\"",  # line 2
            "webhooks:",
            "  - name: crm",
            "    path: /webhooks/crm",
            "    token: t",
            "    write_key: %s" % ("w" * 2000),  # line 7
            "    identity: {email: Email}",
            "",
        ])
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            r = run_binary(["check-config", path])
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            lines = [l for l in r.stdout.splitlines() if l.startswith(path + ":")]
            self.assertIn(path + ":2: segment.default_write_key (or RELAY_SEGMENT_WRITE_KEY): The Segment write "
                          "key contains whitespace (at byte 3).", lines)
            self.assertIn(path + ":7: webhooks[0].write_key (or RELAY_WEBHOOK_WRITE_KEY_<NAME>): The Segment "
                          "write key is 2000 bytes long; a write key has at most 1024.", lines)
        finally:
            os.unlink(path)

    def test_serve_refuses_a_bad_key_from_the_environment(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "relay.yaml")
            with open(path, "w") as f:
                f.write("spool: {path: %s}\n" % os.path.join(d, "spool.db"))
            r = run_binary(["check-config", path], env={"RELAY_SEGMENT_WRITE_KEY": "k" * 49_200})
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("The Segment write key is 49200 bytes long", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
