"""The Action API as the public Action Hub answers it: the actions list and its version
filtering, one definition, the forms (Track's event, and the cohort sync fields every action
offers), the error texts, and authentication on every route (reference §1.1-1.5). Starts the
real binary."""

import hashlib
import hmac
import json
import os
import unittest

from harness import HUB_SECRET, Relay, hub_headers, hub_token, run_binary

BASE = "https://relay.example.com/hub"
DEFINITION_KEYS = {
    "name", "label", "description", "url", "form_url", "icon_data_uri", "params", "required_fields",
    "supported_action_types", "supported_formats", "supported_formattings",
    "supported_visualization_formattings", "supported_download_settings", "uses_oauth",
    "delegate_oauth", "token_url",
}
INVALID_AUTH = {"success": False, "error": "Invalid 'Authorization' header."}
CONFIGURED_TOKEN = "configured-token-for-tests"
SYNC_FIELDS = ["sync", "audience_key", "audience_events", "resync", "allow_mass_exit"]


def expected_definition(name, fmt):
    labels = {
        "segment_event": ("Segment Identify", "Add traits via identify to your Segment users."),
        "segment_track": ("Segment Track", "Add traits via track to your Segment users."),
        "segment_group": ("Segment Group", "Add traits and / or users to your Segment groups."),
    }
    required = {"any_tag": ["email", "user_id", "segment_anonymous_id"]}
    if name == "segment_group":
        required = {"tag": "segment_group_id", "any_tag": ["email", "user_id", "segment_anonymous_id"]}
    return {
        "name": name,
        "label": labels[name][0],
        "description": labels[name][1],
        "url": "%s/actions/%s/execute" % (BASE, name),
        "form_url": "%s/actions/%s/form" % (BASE, name),
        "params": [{"description": "A write key for Segment.", "label": "Segment Write Key",
                    "name": "segment_write_key", "required": True, "sensitive": True}],
        "required_fields": [required],
        "supported_action_types": ["query"],
        "supported_formats": [fmt],
        "supported_formattings": ["unformatted"],
        "supported_visualization_formattings": ["noapply"],
        "supported_download_settings": ["url"],
        "uses_oauth": False,
        "delegate_oauth": False,
        "token_url": "",
    }


class ActionApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = Relay({"hub": {"label": "Test Hub", "base_url": BASE + "/", "tokens": [CONFIGURED_TOKEN]}})
        cls.relay.start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()

    def post(self, path, body=b"", headers=None):
        status, hdrs, data = self.relay.request("POST", path, body=body, headers=headers)
        return status, hdrs, data

    def post_json(self, path, body=b"", headers=None):
        status, hdrs, data = self.post(path, body, headers)
        return status, hdrs, json.loads(data)

    def listing(self, version):
        status, hdrs, body = self.post_json("/", headers=hub_headers(version=version))
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        return body

    # -- the list ------------------------------------------------------------------------

    def test_list_has_the_hub_shape(self):
        body = self.listing("7.0.0")
        self.assertEqual(set(body), {"label", "integrations"})
        self.assertEqual(body["label"], "Test Hub")
        names = [i["name"] for i in body["integrations"]]
        self.assertEqual(names, ["segment_event", "segment_track", "segment_group"])
        for i in body["integrations"]:
            self.assertEqual(set(i), DEFINITION_KEYS)
            self.assertTrue(i["icon_data_uri"].startswith("data:image/"))
            got = dict(i)
            del got["icon_data_uri"]
            self.assertEqual(got, expected_definition(i["name"], "json_detail_lite_stream"))

    def test_version_filtering(self):
        self.assertEqual([i["name"] for i in self.listing("5.0.0")["integrations"]], ["segment_event"])
        self.assertEqual([i["name"] for i in self.listing("4.20.0")["integrations"]], ["segment_event"])
        self.assertEqual(self.listing("4.18.3")["integrations"], [])
        self.assertEqual(len(self.listing("5.5.0")["integrations"]), 3)
        # No user agent, or one that is not Looker's: no filtering, and json_detail.
        for version in (None,):
            body = self.listing(version)
            self.assertEqual(len(body["integrations"]), 3)
            self.assertEqual(body["integrations"][0]["supported_formats"], ["json_detail"])
        headers = hub_headers(version=None)
        headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64)"
        _, _, body = self.post_json("/", headers=headers)
        self.assertEqual(len(body["integrations"]), 3)
        self.assertEqual(body["integrations"][0]["supported_formats"], ["json_detail"])

    def test_format_depends_on_version(self):
        fmt = lambda v: self.listing(v)["integrations"][0]["supported_formats"]
        self.assertEqual(fmt("6.0.0"), ["json_detail"])
        self.assertEqual(fmt("6.1.9"), ["json_detail"])
        self.assertEqual(fmt("6.2.0"), ["json_detail_lite_stream"])
        self.assertEqual(fmt("7.3.00004561"), ["json_detail_lite_stream"])  # loose parse: 7.3.4561
        self.assertNotEqual(self.listing("6.0.0"), self.listing("6.2.0"))

    def test_list_ignores_the_body(self):
        status, _, body = self.post_json("/", body=b'{"whatever": [1,2]}', headers=hub_headers())
        self.assertEqual(status, 200)
        self.assertEqual(len(body["integrations"]), 3)

    # -- one definition, the form, error texts ---------------------------------------------

    def test_one_definition(self):
        status, _, body = self.post_json("/actions/segment_track", headers=hub_headers(version="6.0.0"))
        self.assertEqual(status, 200)
        del body["icon_data_uri"]
        self.assertEqual(body, expected_definition("segment_track", "json_detail"))

    def test_unknown_action(self):
        for path in ("/actions/nope", "/actions/nope/execute", "/actions/nope/form"):
            status, _, body = self.post_json(path, body=b"{}", headers=hub_headers())
            self.assertEqual(status, 404, path)
            self.assertEqual(body, {"success": False, "error": "No action found with name nope."})

    def test_action_too_new_for_the_looker_version(self):
        status, _, body = self.post_json("/actions/segment_track", headers=hub_headers(version="5.0.0"))
        self.assertEqual(status, 404)
        self.assertEqual(body, {"success": False, "error": "No action found with name segment_track."})

    def test_track_form(self):
        payload = {"data": {"segment_write_key": "wk"}, "form_params": {}}
        status, _, raw = self.post("/actions/segment_track/form", body=payload, headers=hub_headers())
        self.assertEqual(status, 200)
        # The event field first, byte for byte as the public hub has it; then the sync fields.
        self.assertTrue(raw.decode("utf-8").startswith(
            '{"fields":[{"name":"event","label":"Event","description":"The name of the event '
            'you\u2019re tracking.","type":"string","required":true},{"name":"sync",'), raw)
        fields = json.loads(raw)["fields"]
        self.assertEqual([f["name"] for f in fields], ["event"] + SYNC_FIELDS)

    def test_form_without_write_key_is_the_hub_error_form(self):
        for name in ("segment_event", "segment_track", "segment_group"):
            status, _, body = self.post_json("/actions/%s/form" % name, body=b"", headers=hub_headers())
            self.assertEqual(status, 200, name)
            self.assertEqual(body, {"error": 'Required setting "Segment Write Key" not specified in action settings.'})

    def test_sync_fields_on_every_form(self):
        payload = {"data": {"segment_write_key": "wk"}, "form_params": {}}
        for name in ("segment_event", "segment_track", "segment_group"):
            status, _, body = self.post_json("/actions/%s/form" % name, body=payload, headers=hub_headers())
            self.assertEqual(status, 200, name)
            fields = {f["name"]: f for f in body["fields"]}
            self.assertEqual([f["name"] for f in body["fields"] if f["name"] != "event"], SYNC_FIELDS, name)
            options = lambda f: [o["name"] for o in f["options"]]
            self.assertEqual(fields["sync"]["type"], "select")
            self.assertEqual(fields["sync"]["default"], "all")
            self.assertEqual(options(fields["sync"]), ["all", "changes", "audience"])
            self.assertEqual(fields["audience_key"]["type"], "string")
            self.assertFalse(fields["audience_key"]["required"])
            self.assertIn("defaults to the schedule's title, snake_cased", fields["audience_key"]["description"])
            self.assertEqual(fields["audience_events"]["default"], "identify")
            self.assertEqual(options(fields["audience_events"]), ["identify", "track", "both"])
            for yes_no in ("resync", "allow_mass_exit"):
                self.assertEqual(fields[yes_no]["type"], "select")
                self.assertEqual(fields[yes_no]["default"], "no")
                self.assertEqual(options(fields[yes_no]), ["no", "yes"])

    # -- authentication ---------------------------------------------------------------------

    ROUTES = ("/", "/actions/segment_event", "/actions/segment_track/form", "/actions/segment_event/execute")

    def assert_forbidden(self, headers):
        for path in self.ROUTES:
            status, hdrs, data = self.post(path, body=b'{"type":"query"}', headers=headers)
            self.assertEqual(status, 403, (path, headers))
            self.assertEqual(json.loads(data), INVALID_AUTH)
            self.assertTrue(hdrs["content-type"].startswith("application/json"))

    def test_missing_header(self):
        self.assert_forbidden({"User-Agent": "LookerOutgoingWebhook/7.0.0"})

    def test_malformed_headers(self):
        token = hub_token()
        for value in (token, "Bearer " + token, "Token " + token, "Token token=" + token,
                      'TOKEN TOKEN="%s"' % token, 'Token token="%s' % token, "", "Token token=\""):
            self.assert_forbidden({"Authorization": value})

    def test_wrong_length_digest(self):
        token = hub_token()
        for bad in (token[:-1], token + "0", token.split("/")[0] + "/", token.split("/")[0],
                    "/" + token.split("/")[1], "x" * 5000):
            self.assert_forbidden({"Authorization": 'Token token="%s"' % bad})

    def test_wrong_digest(self):
        token = hub_token()
        flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
        self.assert_forbidden({"Authorization": 'Token token="%s"' % flipped})
        self.assert_forbidden({"Authorization": 'Token token="%s"' % hub_token(secret="another-secret")})
        self.assert_forbidden({"Authorization": 'Token token="%s"' % token.upper()})

    def test_valid_tokens(self):
        nonce = "ab" * 32
        tokens = [hub_token(), hub_token(nonce=nonce), CONFIGURED_TOKEN,
                  "hello/" + hmac.new(HUB_SECRET.encode(), b"hello", hashlib.sha512).hexdigest()]
        for token in tokens:
            for scheme in ("Token", "token"):
                status, _, _ = self.post("/", headers={"Authorization": '%s token="%s"' % (scheme, token)})
                self.assertEqual(status, 200, (scheme, token))

    def test_configured_token_near_misses(self):
        for bad in (CONFIGURED_TOKEN[:-1], CONFIGURED_TOKEN + "x", CONFIGURED_TOKEN.upper()):
            self.assert_forbidden({"Authorization": 'Token token="%s"' % bad})

    def test_get_is_not_the_action_api(self):
        status, _, _ = self.relay.request("GET", "/actions/segment_event", headers=hub_headers())
        self.assertEqual(status, 405)

    # -- the token subcommand ---------------------------------------------------------------

    def test_token_command_with_config(self):
        out = run_binary(["token", "--config", self.relay.config_path()])
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.strip()
        nonce, digest = token.split("/")
        self.assertEqual(len(nonce), 64)
        self.assertEqual(digest, hmac.new(HUB_SECRET.encode(), nonce.encode(), hashlib.sha512).hexdigest())
        status, _, _ = self.post("/", headers={"Authorization": 'Token token="%s"' % token})
        self.assertEqual(status, 200)
        again = run_binary(["token", "--config", self.relay.config_path()]).stdout.strip()
        self.assertNotEqual(again, token)

    def test_token_command_with_environment(self):
        env = {"RELAY_HUB_SECRET": HUB_SECRET}
        out = run_binary(["token"], env=env)
        self.assertEqual(out.returncode, 0, out.stderr)
        status, _, _ = self.post("/", headers={"Authorization": 'Token token="%s"' % out.stdout.strip()})
        self.assertEqual(status, 200)

    def test_token_command_without_secret(self):
        env = dict(os.environ)
        env.pop("RELAY_HUB_SECRET", None)
        out = run_binary(["token"], env={"RELAY_HUB_SECRET": ""})
        self.assertEqual(out.returncode, 1)
        self.assertIn("no hub secret", out.stderr)
        self.assertEqual(out.stdout, "")


class ActionApiConfigTest(unittest.TestCase):
    """hub.actions limits what is offered; RELAY_HUB_TOKENS adds accepted tokens."""

    def test_configured_actions_and_environment_tokens(self):
        relay = Relay({"hub": {"actions": ["segment_group"]}},
                      env={"RELAY_HUB_TOKENS": "env-token-one,env-token-two"})
        with relay:
            for token in ("env-token-one", "env-token-two", hub_token()):
                status, _, data = relay.request("POST", "/", headers={"Authorization": 'Token token="%s"' % token})
                self.assertEqual(status, 200, token)
                self.assertEqual([i["name"] for i in json.loads(data)["integrations"]], ["segment_group"])
            status, _, data = relay.request("POST", "/actions/segment_event", headers=hub_headers())
            self.assertEqual(status, 404)
            self.assertEqual(json.loads(data), {"success": False, "error": "No action found with name segment_event."})
            status, _, _ = relay.request("POST", "/", headers={"Authorization": 'Token token="env-token"'})
            self.assertEqual(status, 403)

    def test_without_secret_or_tokens_everything_is_forbidden(self):
        relay = Relay({"hub": {"secret": ""}}, env={"RELAY_HUB_SECRET": ""})
        with relay:
            status, _, data = relay.request("POST", "/", headers=hub_headers(token=hub_token(secret="")))
            self.assertEqual(status, 403)
            self.assertEqual(json.loads(data), INVALID_AUTH)


if __name__ == "__main__":
    unittest.main()
