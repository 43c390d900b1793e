"""Plain Looker webhook destinations (DESIGN §2.2): one route per config entry, the
X-Looker-Webhook-Token check, the write key, call and identity columns from the route, and the
same pipeline as the Action API (pushed CSV/JSON attachments and download_url)."""

import json
import time
import os
import tempfile
import unittest

from harness import Relay, hub_headers, run_binary
from looker_stub import LookerStub
from segment_stub import SegmentStub, batch_array

IDENTITY = {"user_id": "User ID", "email": "Email"}
ROUTES = [
    {"name": "marketing", "path": "/webhooks/marketing", "token": "wh-marketing-token",
     "write_key": "wk_marketing", "call": "identify", "identity": IDENTITY},
    {"name": "events", "path": "/webhooks/events", "token": "wh-events-token",
     "write_key": "wk_events", "call": "track", "event": "Cohort Entered", "identity": IDENTITY},
    {"name": "accounts", "path": "/webhooks/accounts", "token": "wh-accounts-token",
     "write_key": "wk_accounts", "call": "group",
     "identity": {"user_id": "User ID", "group_id": "Account"}},
    {"name": "cohort", "path": "/webhooks/cohort", "token": "wh-cohort-token",
     "write_key": "wk_cohort", "call": "identify", "identity": IDENTITY,
     "sync": "audience", "audience_key": "newsletter"},
    {"name": "fromenv", "path": "/webhooks/fromenv", "token": "",
     "write_key": "wk_marketing", "call": "identify", "identity": IDENTITY},
]
CSV = "User ID,Email,Plan,Sessions\n1,a@example.com,pro,3\n2,,free,0\n,,x,1\n"
GROUP_CSV = "User ID,Account,Plan\n1,acme,pro\n2,globex,free\n"
INVALID = {"success": False, "error": "Invalid 'X-Looker-Webhook-Token' header."}


def webhook_payload(data=None, mimetype="text/csv", extension="csv", download_url=None):
    p = {"type": "query",
         "scheduled_plan": {"scheduled_plan_id": 5, "title": "Weekly cohort", "type": "Look",
                            "url": "https://looker.example.com/looks/5", "download_url": download_url},
         "data": None, "form_params": {}}
    if data is not None:
        p["attachment"] = {"mimetype": mimetype, "extension": extension, "data": data}
    return p


def masked(text):
    obj = json.loads(text)
    for key in ("messageId", "timestamp"):
        text = text.replace('"%s":"%s"' % (key, obj[key]), '"%s":"<%s>"' % (key, key))
    return text


def preview(data, fmt, identity, action="segment_event", event=None):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "preview.yaml")
        with open(cfg, "w") as f:
            json.dump({"mapping": {"identity": identity}}, f)
        src = os.path.join(d, "result." + fmt)
        with open(src, "w") as f:
            f.write(data)
        args = ["preview", "--config", cfg, "--format", fmt, "--action", action]
        if event:
            args += ["--event", event]
        out = run_binary(args + [src])
        return sorted(masked(l) for l in out.stdout.splitlines() if l.startswith("{"))


class WebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.segment = SegmentStub(write_keys={"wk_marketing", "wk_events", "wk_accounts", "wk_cohort"}).start()
        cls.looker = LookerStub().start()
        cls.relay = Relay({"webhooks": ROUTES,
                           "hub": {"download": {"allowed_hosts": ["127.0.0.1"], "allow_loopback_http": True}}},
                          env={"RELAY_WEBHOOK_TOKEN_FROMENV": "wh-env-token"},
                          segment_url=cls.segment.url).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.looker.stop()
        cls.segment.stop()

    def setUp(self):
        self.segment.reset()

    def post(self, path, body, token):
        headers = {"Content-Type": "application/json", "X-Looker-Instance": "looker.example.com"}
        if token is not None:
            headers["X-Looker-Webhook-Token"] = token
        status, hdrs, data = self.relay.request("POST", path, body=body, headers=headers)
        return status, json.loads(data.decode().lstrip("\n"))

    def received(self, write_key):
        texts = []
        for rec in self.segment.requests_snapshot():
            if rec.status == 200 and rec.write_key == write_key:
                texts.extend(batch_array(rec.body).decode().split(",\n"))
        return sorted(masked(t) for t in texts)

    def test_identify_route_with_csv(self):
        status, answer = self.post("/webhooks/marketing", webhook_payload(CSV), "wh-marketing-token")
        self.assertEqual(status, 200)
        self.assertEqual(answer, {"looker": {
            "success": False, "refresh_query": False, "validation_errors": {},
            "message": "3 rows: 2 accepted, 1 rejected. First rejections: row 3: no user id, anonymous id or email."}})
        self.assertTrue(self.segment.wait_for_events(2))
        expected = preview(CSV, "csv", IDENTITY)
        self.assertEqual(len(expected), 2)
        self.assertEqual(self.received("wk_marketing"), expected)

    def test_track_route_takes_the_event_from_the_route(self):
        status, answer = self.post("/webhooks/events", webhook_payload(CSV), "wh-events-token")
        self.assertEqual(status, 200)
        self.assertTrue(self.segment.wait_for_events(2))
        got = self.received("wk_events")
        self.assertEqual(got, preview(CSV, "csv", IDENTITY, "segment_track", "Cohort Entered"))
        self.assertTrue(all(json.loads(t)["event"] == "Cohort Entered" for t in got))

    def test_a_route_in_audience_mode_sends_who_entered_and_who_left(self):
        csv = "User ID,Email,Plan\n1,a@example.com,pro\n2,b@example.com,free\n3,c@example.com,team\n"
        status, answer = self.post("/webhooks/cohort", webhook_payload(csv), "wh-cohort-token")
        self.assertEqual(answer["looker"]["message"],
                         "3 rows: 0 changed, 3 new, 0 unchanged, 0 left; 3 events queued.")
        self.assertTrue(self.segment.wait_for_events(3))
        got = [json.loads(t) for t in self.received("wk_cohort")]
        self.assertEqual(sorted(e["userId"] for e in got), ["1", "2", "3"])
        self.assertTrue(all(e["traits"]["newsletter"] is True for e in got))
        self.segment.reset()
        status, answer = self.post("/webhooks/cohort", webhook_payload(csv.rsplit("3,", 1)[0]), "wh-cohort-token")
        self.assertEqual(answer["looker"]["message"],
                         "2 rows: 0 changed, 0 new, 2 unchanged, 1 left; 1 event queued.")
        self.assertTrue(self.segment.wait_for_events(1))
        left = json.loads(self.received("wk_cohort")[0])
        self.assertEqual((left["userId"], left["traits"]), ("3", {"newsletter": False}))

    def test_group_route(self):
        status, answer = self.post("/webhooks/accounts", webhook_payload(GROUP_CSV), "wh-accounts-token")
        self.assertEqual(status, 200)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertTrue(self.segment.wait_for_events(2))
        got = self.received("wk_accounts")
        self.assertEqual(got, preview(GROUP_CSV, "csv", {"user_id": "User ID", "group_id": "Account"},
                                      "segment_group"))
        self.assertEqual(sorted(json.loads(t)["groupId"] for t in got), ["acme", "globex"])

    def test_download_url_through_a_webhook(self):
        url = self.looker.add(CSV, content_type="text/csv")
        status, answer = self.post("/webhooks/marketing", webhook_payload(download_url=url), "wh-marketing-token")
        self.assertEqual(status, 200)
        self.assertEqual(answer["looker"]["message"],
                         "3 rows: 2 accepted, 1 rejected. First rejections: row 3: no user id, anonymous id or email.")
        self.assertTrue(self.segment.wait_for_events(2))
        self.assertEqual(self.received("wk_marketing"), preview(CSV, "csv", IDENTITY))

    def test_a_cut_csv_download_sends_no_half_row(self):
        # More than the format sniffing window, so rows are mapped while the download runs.
        complete = "".join("%d,user%d@example.com,pro\n" % (i, i) for i in range(1, 4001))
        body = "User ID,Email,Plan\n" + complete + "1234567,ann@exa"
        url = self.looker.add(body + "mple.com,gold\n", content_type="text/csv", truncate_at=len(body))
        status, answer = self.post("/webhooks/marketing", webhook_payload(download_url=url), "wh-marketing-token")
        self.assertEqual(status, 200)
        self.assertFalse(answer["looker"]["success"])
        time.sleep(1.0)
        users = {json.loads(t)["userId"] for t in self.received("wk_marketing")}
        self.assertNotIn("1234567", users)  # never the cut row with its cut email
        self.assertTrue(users <= {str(i) for i in range(1, 4001)})

    def test_token_from_the_environment(self):
        status, answer = self.post("/webhooks/fromenv", webhook_payload(CSV), "wh-env-token")
        self.assertEqual(status, 200)
        self.assertTrue(self.segment.wait_for_events(2))

    def test_bad_tokens(self):
        body = webhook_payload(CSV)
        for path, token in [("/webhooks/marketing", None), ("/webhooks/marketing", ""),
                            ("/webhooks/marketing", "wh-marketing-toke"),
                            ("/webhooks/marketing", "wh-events-token"),
                            ("/webhooks/fromenv", "wh-marketing-token"),
                            ("/webhooks/marketing", "x" * 4000)]:
            with self.subTest(path=path, token=token):
                status, answer = self.post(path, body, token)
                self.assertEqual(status, 403)
                self.assertEqual(answer, INVALID)
        # An Action Hub token is not a webhook token.
        status, _, data = self.relay.request("POST", "/webhooks/marketing", body=body, headers=hub_headers())
        self.assertEqual(status, 403)
        self.assertEqual(self.segment.event_count(), 0)

    def test_nothing_to_read(self):
        status, answer = self.post("/webhooks/marketing", webhook_payload(None), "wh-marketing-token")
        self.assertEqual(status, 404)
        self.assertEqual(answer, {"success": False, "error": "A streaming action was sent incompatible data. "
                                                             "The action must have a download url or an attachment."})

    def test_binary_attachment_is_refused_clearly(self):
        status, answer = self.post("/webhooks/marketing",
                                   webhook_payload("JVBERi0xLjQK", "application/pdf;base64", "pdf"),
                                   "wh-marketing-token")
        self.assertEqual(status, 200)
        self.assertFalse(answer["looker"]["success"])
        self.assertIn("The attachment is pdf", answer["looker"]["message"])

    def test_unknown_webhook_path(self):
        status, _, _ = self.relay.request("POST", "/webhooks/nope", body=webhook_payload(CSV),
                                          headers={"X-Looker-Webhook-Token": "wh-marketing-token"})
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
