"""The first hour of a new user: the hub secret made on the first start and found by `token`
from another process, the Action Hub URL that follows the listener, check-config's warnings
about a base_url Looker cannot reach, and the message `serve` prints on stderr."""

import http.client
import json
import os
import shutil
import ssl
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, Relay, hub_token, run_binary

NO_SECRET_ENV = {"RELAY_HUB_SECRET": ""}


def auth(token):
    return {"Authorization": 'Token token="%s"' % token, "User-Agent": "LookerOutgoingWebhook/7.0.0"}


def make_cert(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def https_post(port, path, headers):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=ctx)
    try:
        conn.request("POST", path, body=b"{}", headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_stderr(relay, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        joined = "".join(relay.stderr_lines)
        if text in joined:
            return joined
        time.sleep(0.02)
    return "".join(relay.stderr_lines)


class HubSecretFileTest(unittest.TestCase):
    """No secret configured: serve makes <spool dir>/hub-secret; token finds it."""

    def setUp(self):
        self.other_dir = tempfile.mkdtemp(prefix="lsr-elsewhere-")

    def tearDown(self):
        shutil.rmtree(self.other_dir, ignore_errors=True)

    def test_first_start_creates_the_secret_and_token_from_another_process_works(self):
        relay = Relay({"hub": {"secret": "", "base_url": ""}}, env=NO_SECRET_ENV)
        secret_file = os.path.join(relay.workdir, "hub-secret")
        with relay:
            self.assertTrue(os.path.exists(secret_file))
            mode = stat.S_IMODE(os.stat(secret_file).st_mode)
            self.assertEqual(mode, 0o600)
            with open(secret_file) as f:
                secret = f.read()
            self.assertRegex(secret, r"^[0-9a-f]{64}\n$")

            # A separate process, another working directory, no secret in its environment.
            env = dict(os.environ)
            env.pop("RELAY_HUB_SECRET", None)
            out = subprocess.run([BINARY, "token",
                                  "--config", relay.config_path()],
                                 capture_output=True, text=True, timeout=30, env=env, cwd=self.other_dir)
            self.assertEqual(out.returncode, 0, out.stderr)
            token = out.stdout.strip()
            status, _, _ = relay.request("POST", "/", headers=auth(token))
            self.assertEqual(status, 200)
            status, _, _ = relay.request("POST", "/", headers=auth("00" * 32 + "/" + "ab" * 64))
            self.assertEqual(status, 403)

            relay.stop()
            relay.start()  # the next start reads the same file: the token still works
            with open(secret_file) as f:
                self.assertEqual(f.read(), secret)
            status, _, _ = relay.request("POST", "/", headers=auth(token))
            self.assertEqual(status, 200)

    def test_a_secret_from_the_environment_wins_and_no_file_is_made(self):
        relay = Relay({"hub": {"secret": ""}}, env={"RELAY_HUB_SECRET": "from-the-environment"})
        with relay:
            self.assertFalse(os.path.exists(os.path.join(relay.workdir, "hub-secret")))
            out = run_binary(["token", "--config", relay.config_path()],
                             env={"RELAY_HUB_SECRET": "from-the-environment"})
            self.assertEqual(out.returncode, 0, out.stderr)
            status, _, _ = relay.request("POST", "/", headers=auth(out.stdout.strip()))
            self.assertEqual(status, 200)
            self.assertIn("from RELAY_HUB_SECRET", wait_stderr(relay, "Hub secret"))

    def test_a_secret_in_the_config_wins_over_an_existing_file(self):
        relay = Relay({"hub": {"secret": "from-the-config"}}, env=NO_SECRET_ENV)
        secret_file = os.path.join(relay.workdir, "hub-secret")
        with open(secret_file, "w") as f:
            f.write("ab" * 32 + "\n")
        with relay:
            out = run_binary(["token", "--config", relay.config_path()], env=NO_SECRET_ENV)
            self.assertEqual(out.returncode, 0, out.stderr)
            status, _, _ = relay.request("POST", "/", headers=auth(out.stdout.strip()))
            self.assertEqual(status, 200)
            # Signed with the config's secret, not the file's.
            nonce = out.stdout.strip().split("/")[0]
            self.assertEqual(out.stdout.strip(), hub_token(secret="from-the-config", nonce=nonce))
            with open(secret_file) as f:
                self.assertEqual(f.read(), "ab" * 32 + "\n")

    def test_a_malformed_secret_file_stops_serve_and_token_and_is_kept(self):
        relay = Relay({"hub": {"secret": ""}}, env=NO_SECRET_ENV)
        secret_file = os.path.join(relay.workdir, "hub-secret")
        os.makedirs(relay.workdir, exist_ok=True)
        with open(secret_file, "w") as f:
            f.write("not a secret\n")
        with open(relay.config_path(), "w") as f:
            json.dump(relay.config, f)
        served = run_binary(["serve", "--config", relay.config_path()], env=NO_SECRET_ENV, timeout=30)
        self.assertEqual(served.returncode, 1)
        self.assertIn(secret_file, served.stderr)
        token = run_binary(["token", "--config", relay.config_path()], env=NO_SECRET_ENV)
        self.assertEqual(token.returncode, 1)
        self.assertIn(secret_file, token.stderr)
        self.assertEqual(token.stdout, "")
        with open(secret_file) as f:
            self.assertEqual(f.read(), "not a secret\n")
        shutil.rmtree(relay.workdir, ignore_errors=True)

    def test_token_on_the_embedded_defaults_reads_var_hub_secret(self):
        os.makedirs(os.path.join(self.other_dir, "var"), mode=0o700)
        with open(os.path.join(self.other_dir, "var", "hub-secret"), "w") as f:
            f.write("cd" * 32 + "\n")
        env = dict(os.environ)
        for name in ("RELAY_HUB_SECRET", "RELAY_SPOOL_PATH"):
            env.pop(name, None)
        out = subprocess.run([BINARY, "token"], capture_output=True, text=True, timeout=30, env=env,
                             cwd=self.other_dir)
        self.assertEqual(out.returncode, 0, out.stderr)
        nonce = out.stdout.strip().split("/")[0]
        self.assertEqual(out.stdout.strip(), hub_token(secret="cd" * 32, nonce=nonce))

    def test_token_without_any_secret_says_how_to_get_one(self):
        spool = os.path.join(self.other_dir, "spool", "spool.db")
        out = run_binary(["token"], env={"RELAY_HUB_SECRET": "", "RELAY_SPOOL_PATH": spool})
        self.assertEqual(out.returncode, 1)
        self.assertIn("no hub secret", out.stderr)
        self.assertIn(os.path.join(self.other_dir, "spool", "hub-secret"), out.stderr)
        self.assertIn("serve", out.stderr)
        self.assertIn("RELAY_HUB_SECRET", out.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.other_dir, "spool")))


class BaseUrlFollowsListenerTest(unittest.TestCase):
    """hub.base_url not set: the actions advertise the listener's scheme, host and bound port."""

    def test_port_zero_advertises_the_bound_port(self):
        with Relay({"hub": {"base_url": ""}}) as relay:
            status, _, body = relay.request("POST", "/", headers=auth(hub_token()))
            self.assertEqual(status, 200)
            urls = [i["url"] for i in json.loads(body)["integrations"]]
            self.assertTrue(urls)
            for url in urls:
                self.assertTrue(url.startswith("http://127.0.0.1:%d/actions/" % relay.port), url)
            self.assertEqual(relay.wait_log("listening")["base_url"], "http://127.0.0.1:%d" % relay.port)

    def test_a_configured_base_url_is_kept(self):
        with Relay({"hub": {"base_url": "https://relay.example.com/"}}) as relay:
            _, _, body = relay.request("POST", "/", headers=auth(hub_token()))
            for i in json.loads(body)["integrations"]:
                self.assertTrue(i["url"].startswith("https://relay.example.com/actions/"), i["url"])

    def test_tls_listener_advertises_https(self):
        tmp = tempfile.mkdtemp(prefix="lsr-fh-tls-")
        try:
            cert, key = make_cert(tmp)
            relay = Relay({"hub": {"base_url": ""},
                           "server": {"tls": {"enabled": True, "cert_file": cert, "key_file": key}}})
            with relay:
                status, body = https_post(relay.port, "/", auth(hub_token()))
                self.assertEqual(status, 200)
                for i in json.loads(body)["integrations"]:
                    self.assertTrue(i["url"].startswith("https://127.0.0.1:%d/actions/" % relay.port), i["url"])
                    if "form_url" in i and i["form_url"]:
                        self.assertTrue(i["form_url"].startswith("https://127.0.0.1:%d/" % relay.port))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class FirstHourMessageTest(unittest.TestCase):
    """serve, once listening, tells a person on stderr what to do next."""

    def test_message_on_stderr_with_url_token_command_secret_and_health(self):
        relay = Relay({"hub": {"secret": "", "base_url": ""}}, env=NO_SECRET_ENV)
        with relay:
            text = wait_stderr(relay, "Using it from Looker")
            self.assertIn("Action Hub URL for Looker: http://127.0.0.1:%d" % relay.port, text)
            self.assertIn(" token --config %s" % relay.config_path(), text)
            self.assertIn(os.path.join(relay.workdir, "hub-secret"), text)
            self.assertIn("http://127.0.0.1:%d/healthz" % relay.admin_port, text)
            self.assertIn("http://127.0.0.1:%d/status" % relay.admin_port, text)
            self.assertIn("HTTPS", text)
            self.assertIn("Using it from Looker", text)
            # The token command as printed works from another shell.
            line = [l for l in text.splitlines() if "Token for Looker:" in l][0]
            command = line.split("Token for Looker:", 1)[1].strip()
            env = dict(os.environ)
            env.pop("RELAY_HUB_SECRET", None)
            out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, env=env,
                                 cwd="/")
            self.assertEqual(out.returncode, 0, out.stderr)
            status, _, _ = relay.request("POST", "/", headers=auth(out.stdout.strip()))
            self.assertEqual(status, 200)
            # Nothing of it on stdout: every stdout line stays JSON.
            self.assertFalse([e for e in relay.logs if e.get("msg") == "<not json>"])

    def test_secret_from_config_named_in_message(self):
        with Relay() as relay:
            text = wait_stderr(relay, "Hub secret")
            self.assertIn("hub.secret in " + relay.config_path(), text)


class CheckConfigWarningsTest(unittest.TestCase):
    """check-config warns (file:line: warning: …) about a base_url Looker cannot reach; exit 0."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lsr-check-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def check(self, text):
        path = os.path.join(self.dir, "relay.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path, run_binary(["check-config", path])

    def test_loopback_and_plain_http_are_warnings(self):
        path, out = self.check("hub:\n  label: x\n  base_url: http://127.0.0.1:8080\n")
        self.assertEqual(out.returncode, 0, out.stdout)
        lines = out.stdout.splitlines()
        warnings = [l for l in lines if l.startswith(path + ":3: warning: hub.base_url")]
        self.assertEqual(len(warnings), 2, out.stdout)
        self.assertTrue(any("https" in l for l in warnings))
        self.assertTrue(any("127.0.0.1" in l for l in warnings))
        self.assertIn(path + ": ok (2 warning(s))", lines)

    def test_plain_http_public_host(self):
        path, out = self.check('hub: {base_url: "http://relay.example.com"}\n')
        self.assertEqual(out.returncode, 0)
        self.assertEqual(len([l for l in out.stdout.splitlines() if ": warning: " in l]), 1, out.stdout)

    def test_https_public_host_is_clean(self):
        path, out = self.check('hub: {base_url: "https://relay.example.com"}\n')
        self.assertEqual(out.returncode, 0)
        self.assertEqual(out.stdout.strip(), path + ": ok")

    def test_unset_base_url_follows_the_listener(self):
        path, out = self.check('server:\n  listen: "0.0.0.0:8080"\n')
        self.assertEqual(out.returncode, 0)
        self.assertIn(path + ":2: warning: hub.base_url is not set", out.stdout)

    def test_errors_fail_and_come_first(self):
        path, out = self.check('hub: {base_url: "http://localhost"}\nlog: {level: loud}\n')
        self.assertEqual(out.returncode, 1)
        self.assertIn(path + ":2: log.level", out.stdout)
        self.assertNotIn(": warning: ", out.stdout)  # shown once the errors are fixed

    def test_the_example_config_loads(self):
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                               "relay.example.yaml")
        out = run_binary(["check-config", example])
        self.assertEqual(out.returncode, 0, out.stdout)


if __name__ == "__main__":
    unittest.main()
