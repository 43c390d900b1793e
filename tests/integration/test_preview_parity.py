"""`preview` and `serve` agree on every test payload, in both mapping modes.

Every execute payload in tests/data is sent, for each of the three actions and to each of
three plain webhook routes (identify, track, group), to a running relay whose Segment is the
stand-in, and given to `preview` with the same configuration (`--action` or `--webhook`). The bare
results in tests/data are sent too, as an attachment and as the body of the payload's
download_url (a stand-in Looker serves it; `preview --result` reads the saved copy). Payloads
the relay refuses (variants of the test payloads: no type, wrong type, no write key, a bad
write key, an unreadable or undecodable attachment, a result without rows, a download_url
off the allowlist, a body that is not valid JSON or nests too deep) must get the same text from
`preview`.

Compared: the serialized events byte for byte, after masking only what legitimately differs
per send: the receive time (`timestamp` of a result without ran_at) and, in hub mode, the
random parts the public hub draws (the messageId's UUID suffix, a random anonymousId). In
the standard mode messageIds are deterministic and compared as they are."""

import base64
import copy
import glob
import json
import os
import re
import shutil
import tempfile
import unittest

from harness import DATA_DIR, Relay, hub_headers, run_binary, wait_until
from looker_stub import LookerStub
from segment_stub import SegmentStub, batch_array

ACTIONS = ("segment_event", "segment_track", "segment_group")
WEBHOOK_TOKEN = "parity-token"
WEBHOOKS = [
    {"name": "people", "path": "/webhooks/people", "call": "identify", "identity": {"email": "users.email"}},
    {"name": "cohort", "path": "/webhooks/cohort", "call": "track", "event": "Webhook Cohort",
     "identity": {"user_id": "users.id", "email": "users.email"}},
    {"name": "accounts", "path": "/webhooks/accounts", "call": "group",
     "identity": {"user_id": "users.id", "group_id": "accounts.id"}},
]
# Where a payload goes: an Action API action, or a webhook route ("webhook:<name>").
SOURCES = ACTIONS + tuple("webhook:" + w["name"] for w in WEBHOOKS)
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def data_file(name):
    with open(os.path.join(DATA_DIR, name), "rb") as f:
        return f.read()


def payload_files():
    """Every execute/webhook payload in tests/data."""
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DATA_DIR, "*.json")))
    out = []
    for name in names:
        doc = json.loads(data_file(name))
        if isinstance(doc, dict) and ("type" in doc or "attachment" in doc or "scheduled_plan" in doc):
            out.append(name)
    return out


def result_files():
    """The bare results in tests/data (what a payload's attachment or download carries)."""
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(DATA_DIR, "result_*")))


def mimetype_of(name):
    return "text/csv" if name.endswith(".csv") else "application/json"


def answer_text(data):
    """The text of an answer in any of its shapes: the error, or the looker message."""
    doc = json.loads(data.decode("utf-8").lstrip("\n"))
    if "error" in doc:
        return doc["error"]
    return doc["looker"]["message"]


class ParityCase(unittest.TestCase):
    mode = "default"
    compared = 0  # events compared, over all cases

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lsr-parity-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.segment = SegmentStub(write_keys={"test_write_key"}).start()
        cls.addClassCleanup(cls.segment.stop)
        cls.looker = LookerStub().start()
        cls.addClassCleanup(cls.looker.stop)
        config = {
            "mapping": {"mode": cls.mode, "identity": {"user_id": "users.id", "email": "users.email"}},
            "hub": {"download": {"allowed_hosts": ["127.0.0.1"], "allow_loopback_http": True,
                                 "timeout_ms": 10000}},
            "delivery": {"ack": "delivered", "ack_delivered_timeout_ms": 20000},
            "webhooks": [dict(w, token=WEBHOOK_TOKEN, write_key="test_write_key") for w in WEBHOOKS],
        }
        cls.relay = Relay(config, segment_url=cls.segment.url)
        cls.addClassCleanup(cls.relay.__exit__, None, None, None)  # stops it, removes its files
        cls.relay.start()

    # -- the two sides ---------------------------------------------------------------------

    def serve(self, source, body):
        """(the answer's text, the event texts delivered for this request)."""
        before = len(self.segment.requests_snapshot())
        if source.startswith("webhook:"):
            route = [w for w in WEBHOOKS if w["name"] == source[len("webhook:"):]][0]
            path, headers = route["path"], {"X-Looker-Webhook-Token": WEBHOOK_TOKEN}
        else:
            path, headers = "/actions/%s/execute" % source, hub_headers()
        _, _, data = self.relay.request("POST", path, body=body, headers=headers, timeout=60)
        # A run that failed part-way answers at once; what it accepted is delivered after.
        self.assertTrue(wait_until(lambda: self.relay.get_json("/status")[1]["queue"]["batches"] == 0,
                                   timeout=30))
        events = []
        for rec in self.segment.requests_snapshot()[before:]:
            if rec.status is None or not (200 <= rec.status < 300):
                continue
            events.extend(batch_array(rec.body).decode("utf-8").split(",\n"))
        # The answer's text: the error of a refused request, or the looker message (a failure's
        # text, or the summary of a run that mapped).
        return answer_text(data), events

    def preview(self, source, body, result=None):
        """(refusal text or None, event texts, summary) as `preview` prints them."""
        path = os.path.join(self.tmp, "payload.json")
        with open(path, "wb") as f:
            f.write(body)
        args = ["preview", "--config", self.relay.config_path()]
        if source.startswith("webhook:"):
            args += ["--webhook", source[len("webhook:"):]]
        else:
            args += ["--action", source]
        if result is not None:
            result_path = os.path.join(self.tmp, "result.bin")
            with open(result_path, "wb") as f:
                f.write(result)
            args += ["--result", result_path]
        r = run_binary(args + [path], timeout=60)
        errors = [l[len("error: "):] for l in r.stderr.splitlines() if l.startswith("error: ")]
        summaries = [l[len("summary: "):] for l in r.stderr.splitlines() if l.startswith("summary: ")]
        events = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if r.returncode != 0:
            self.assertEqual(len(errors), 1, r.stderr)
            return errors[0], events, None
        self.assertEqual(errors, [], r.stderr)
        return None, events, summaries[0] if summaries else ""

    # -- comparing -------------------------------------------------------------------------

    def masked(self, text, receive_time):
        obj = json.loads(text)
        if receive_time:
            text = text.replace('"timestamp":"%s"' % obj["timestamp"], '"timestamp":"<received>"')
        if self.mode == "hub":
            mid = obj["messageId"]
            # node-<md5 of the message>-<random uuid>; the md5 covers the timestamp.
            anon = obj.get("anonymousId")
            random_anon = isinstance(anon, str) and UUID_V4.match(anon) is not None
            if random_anon:
                text = text.replace('"anonymousId":"%s"' % anon, '"anonymousId":"<random>"')
            kept = "<id>" if receive_time or random_anon else mid.rsplit("-", 5)[0]
            text = text.replace('"messageId":"%s"' % mid, '"messageId":"%s"' % kept)
        return text

    def assert_same(self, label, source, body, result=None, receive_time=False, expect_refusal=None):
        with self.subTest(case=label, source=source, mode=self.mode):
            p_err, p_events, p_summary = self.preview(source, body, result)
            s_text, s_events = self.serve(source, body)
            if expect_refusal is not None:
                self.assertEqual(p_err is not None, expect_refusal, p_err)
            if p_err is not None:
                self.assertEqual(s_text, p_err, "the refusal text")
            else:
                self.assertTrue(s_text.startswith(p_summary), (s_text, p_summary))
            type(self).compared += len(p_events)
            self.assertEqual(sorted(self.masked(t, receive_time) for t in s_events),
                             sorted(self.masked(t, receive_time) for t in p_events))

    # -- the payloads ----------------------------------------------------------------------

    def with_result(self, envelope, name, base64_data=False):
        doc = copy.deepcopy(envelope)
        raw = data_file(name)
        mimetype = mimetype_of(name)
        if base64_data:
            doc["attachment"] = {"mimetype": mimetype + ";base64", "extension": name.rsplit(".", 1)[1],
                                 "data": base64.b64encode(raw).decode()}
        else:
            doc["attachment"] = {"mimetype": mimetype, "extension": name.rsplit(".", 1)[1],
                                 "data": raw.decode("utf-8")}
        doc["scheduled_plan"]["download_url"] = None
        return doc

    def test_every_payload_in_the_test_data(self):
        before = type(self).compared
        names = payload_files()
        self.assertIn("execute_identify.json", names)
        for name in names:
            body = data_file(name)
            for source in SOURCES:
                # execute_download_url.json names a host off the allowlist: refused by both.
                self.assert_same(name, source, body,
                                 expect_refusal=json.loads(body)["scheduled_plan"].get("download_url") is not None)
        self.assertGreater(type(self).compared, before, "some events were compared")

    def test_every_result_as_an_attachment_and_as_a_download(self):
        before = type(self).compared
        envelope = json.loads(data_file("execute_identify.json"))
        for name in result_files():
            receive_time = b"ran_at" not in data_file(name)
            for source in SOURCES:
                for b64 in (False, True):
                    body = json.dumps(self.with_result(envelope, name, b64)).encode()
                    self.assert_same("%s attachment base64=%s" % (name, b64), source, body,
                                     receive_time=receive_time, expect_refusal=False)
                doc = json.loads(data_file("execute_download_url.json"))
                doc["scheduled_plan"]["download_url"] = self.looker.add(data_file(name),
                                                                        content_type=mimetype_of(name))
                self.assert_same("%s download" % name, source, json.dumps(doc).encode(),
                                 result=data_file(name), receive_time=receive_time, expect_refusal=False)
        self.assertGreater(type(self).compared, before, "some events were compared")

    def test_refused_payloads_get_the_same_text(self):
        base = json.loads(data_file("execute_identify.json"))

        def variant(change):
            doc = copy.deepcopy(base)
            change(doc)
            return json.dumps(doc).encode()

        def attachment(mimetype, data, extension="json"):
            return lambda d: d.update(attachment={"mimetype": mimetype, "extension": extension, "data": data})

        cases = {
            "no type": lambda d: d.pop("type"),
            "wrong type": lambda d: d.update(type="dashboard"),
            "no write key": lambda d: d.update(data={}),
            "a write key with a space": lambda d: d.update(data={"segment_write_key": "wk with space"}),
            "no data": lambda d: d.pop("attachment"),
            "a pdf": attachment("application/pdf", "JVBERi0=", "pdf"),
            "bad base64": attachment("application/json;base64", "e30=!!!!"),
            "no rows": attachment("application/json", json.dumps({"data": 5})),
            "no fields": attachment("application/json", json.dumps({"data": [{"a": {"value": 1}}]})),
            "an http download off the allowlist":
                lambda d: d["scheduled_plan"].update(download_url="http://looker.example/x"),
        }
        raw_cases = {
            "invalid JSON": json.dumps(base).encode()[:-2],
            "nested too deep": b'{"type":"query","data":' + b"[" * 300 + b"]" * 300 + b"}",
        }
        for label, body in raw_cases.items():
            for source in ("segment_event", "webhook:people"):
                self.assert_same(label, source, body, expect_refusal=True)
        webhook_cases = ("no data", "a pdf", "bad base64", "no rows", "no fields",
                         "an http download off the allowlist")
        for label, change in cases.items():
            # A json_detail without fields is refused in hub mode; the standard mode may read it.
            refused = None if label == "no fields" else True
            self.assert_same(label, "segment_event", variant(change), expect_refusal=refused)
            if label in webhook_cases:  # a webhook has no type or params to check
                self.assert_same(label, "webhook:people", variant(change), expect_refusal=refused)


class HubModeParity(ParityCase):
    mode = "hub"

    # Known disagreement, in the execute path: after the mapper stops, `serve` drops the events
    # mapped but not yet committed (its open batch) and answers "No rows were accepted.", while
    # `preview` prints them and says they will be delivered. Remove the decorator once the
    # execute path keeps (flushes and commits) the events mapped before the error.
    def test_a_run_that_stops_part_way(self):
        """The hub's missing-cell error at row 3 stops the run: the events before it and the
        count in the message agree."""
        res = {"ran_at": "2026-11-30T10:00:00+00:00",
               "fields": {"dimensions": [{"name": "users.id", "tags": ["user_id"]},
                                         {"name": "users.email", "tags": ["email"]}],
                          "measures": [], "table_calculations": []},
               "data": [{"users.id": {"value": 1}, "users.email": {"value": "a@example.com"}},
                        {"users.id": {"value": 2}, "users.email": {"value": "b@example.com"}},
                        {"users.id": {"value": 3}}]}
        doc = json.loads(data_file("execute_identify.json"))
        doc["attachment"]["data"] = json.dumps(res)
        for source in ("segment_event", "webhook:people"):
            self.assert_same("stops at row 3", source, json.dumps(doc).encode())


if __name__ == "__main__":
    unittest.main()
