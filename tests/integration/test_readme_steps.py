"""Follows README.md, "Using it from Looker", command by command, in a fresh directory.

Every shell command of the section's ```sh blocks is run, in order, with the fewest
substitutions a test needs, each one explicit here:
- `bash scripts/run.sh ARGS` (builds, then runs the binary) and `./build-release/app/
  looker-segment-relay` become the binary under test (LSR_BINARY): nothing is built here;
- `serve` runs in the background; its listener is moved to a free 127.0.0.1 port with
  RELAY_LISTEN (the README's 0.0.0.0:8443), and `localhost:8443` in a command to that port;
- the admin listener (127.0.0.1:8081 in the example) is set to port 0 in relay.yaml, so tests
  can run side by side; Segment is a stand-in on 127.0.0.1 (RELAY_SEGMENT_ENDPOINT).
The relay.yaml edits are the README's first ```yaml block, applied key by key to the copied
example (every key must exist there). A command the test does not know fails the test, so the
README and this test change together. Then it does what Looker does: lists the actions with the
token, executes one, and checks the rows reached Segment.
"""

import http.client
import json
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import BINARY, free_port, note_sanitizer_report
from payloads import rows_execute
from segment_stub import SegmentStub

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
README = os.path.join(ROOT, "README.md")
RELEASE_BINARY = "./build-release/app/looker-segment-relay"
RUN_SH = "bash scripts/run.sh"
README_PORT = "localhost:8443"


def readme_section(title="## Using it from Looker"):
    with open(README) as f:
        text = f.read()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start:end if end >= 0 else len(text)]


def fenced_blocks(section):
    """[(language, dedented text)] in order; blocks may be indented inside list items."""
    blocks = []
    for m in re.finditer(r"^([ \t]*)```(\w*)\n(.*?)^[ \t]*```", section, re.M | re.S):
        indent = len(m.group(1))
        lines = [l[indent:] if l[:indent].strip() == "" else l for l in m.group(3).splitlines()]
        blocks.append((m.group(2), "\n".join(lines)))
    return blocks


def shell_commands(block):
    out, pending = [], ""
    for line in block.splitlines():
        if pending:
            line = pending + line.lstrip()
            pending = ""
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
    return out


def yaml_leaves(block):
    """{"server.tls.enabled": "true", ...} from an indented YAML snippet (2 spaces a level)."""
    leaves, stack = {}, []
    for line in block.splitlines():
        m = re.match(r"^(\s*)([A-Za-z_]+):\s*(.*?)\s*(#.*)?$", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        if m.group(3):
            leaves[".".join(stack)] = m.group(3)
    return leaves


def apply_yaml_edits(path, edits):
    """Replaces the value of each dotted key in the YAML file, keeping comments; returns the
    keys not found."""
    with open(path) as f:
        lines = f.read().split("\n")
    stack, left = [], dict(edits)
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z_]+):(\s*)(.*)$", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        key = ".".join(stack)
        if key in left:
            rest = m.group(4)
            comment = ""
            hash_at = rest.find(" #")
            if hash_at >= 0:
                comment = "  " + rest[hash_at:].strip()
            lines[i] = "%s%s: %s%s" % (m.group(1), m.group(2), left.pop(key), comment)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return left


class ReadmeStepsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lsr-readme-")
        os.makedirs(os.path.join(self.dir, "config"))
        shutil.copy(os.path.join(ROOT, "config", "relay.example.yaml"), os.path.join(self.dir, "config"))
        self.segment = SegmentStub().start()
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.pop("RELAY_HUB_SECRET", None)  # the README's path: no secret configured
        self.env.pop("RELAY_SPOOL_PATH", None)
        self.env["RELAY_LISTEN"] = "127.0.0.1:%d" % self.port
        self.env["RELAY_SEGMENT_ENDPOINT"] = self.segment.url
        self.serve = None
        self.serve_stdout = []
        self.serve_stderr = []
        self.listening = threading.Event()

    def tearDown(self):
        if self.serve and self.serve.poll() is None:
            self.serve.kill()
            self.serve.wait(timeout=10)
        if self.serve:
            self.serve.stdout.close()
            self.serve.stderr.close()
        self.segment.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the substitutions -------------------------------------------------------------------
    def substitute(self, command):
        if command.startswith(RUN_SH + " "):
            command = BINARY + command[len(RUN_SH):]
        command = command.replace(RELEASE_BINARY, BINARY)
        return command.replace(README_PORT, "127.0.0.1:%d" % self.port)

    def run_shell(self, command, timeout=60):
        done = subprocess.run(["bash", "-c", command], cwd=self.dir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        note_sanitizer_report(done.stderr, "readme: " + command[:60])
        self.assertEqual(done.returncode, 0, "%s\nstdout: %s\nstderr: %s" % (command, done.stdout, done.stderr))
        return done

    def start_serve(self, command):
        argv = ["bash", "-c", "exec " + command]
        self.serve = subprocess.Popen(argv, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)

        def read_out():
            for line in self.serve.stdout:
                self.serve_stdout.append(line)
                if '"msg":"listening"' in line.replace(" ", ""):
                    self.listening.set()

        def read_err():
            for line in self.serve.stderr:
                note_sanitizer_report(line, "readme serve")
                self.serve_stderr.append(line)

        threading.Thread(target=read_out, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()
        deadline = time.monotonic() + 30
        while not self.listening.wait(0.05):
            if self.serve.poll() is not None or time.monotonic() > deadline:
                self.fail("serve did not start: %s %s" % (self.serve_stdout[-5:], "".join(self.serve_stderr)))

    # -- what Looker does ----------------------------------------------------------------------
    def looker_post(self, path, body, token):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the README's try-out certificate is self-signed
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=ctx)
        try:
            conn.request("POST", path, body=json.dumps(body).encode(),
                         headers={"Authorization": 'Token token="%s"' % token,
                                  "Content-Type": "application/json",
                                  "User-Agent": "LookerOutgoingWebhook/7.0.0"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_the_steps_work_as_written(self):
        section = readme_section()
        blocks = fenced_blocks(section)
        token = None
        curl_output = None
        edits_applied = False
        ran = []
        for lang, block in blocks:
            if lang == "yaml" and ran and ran[-1].startswith("cp ") and not edits_applied:
                left = apply_yaml_edits(os.path.join(self.dir, "relay.yaml"), yaml_leaves(block))
                self.assertEqual(left, {}, "README edits naming keys the example does not have")
                # Explicit: the admin listener on a free port (no environment override for it).
                self.assertEqual(apply_yaml_edits(os.path.join(self.dir, "relay.yaml"),
                                                  {"server.admin_listen": '"127.0.0.1:0"'}), {})
                edits_applied = True
                continue
            if lang != "sh":
                continue
            for command in shell_commands(block):
                ran.append(command)
                if command.startswith("cp ") or command.startswith("openssl "):
                    self.run_shell(command)
                elif command.startswith(RUN_SH + " serve"):
                    self.assertTrue(edits_applied, "serve before the relay.yaml edits")
                    self.start_serve(self.substitute(command))
                elif command.startswith(RUN_SH + " "):
                    self.run_shell(self.substitute(command))
                elif command.startswith(RELEASE_BINARY + " token"):
                    self.assertIsNotNone(self.serve, "token before serve")
                    token = self.run_shell(self.substitute(command)).stdout.strip()
                elif command.startswith("curl ") and RELEASE_BINARY in command:
                    curl_output = self.run_shell(self.substitute(command)).stdout
                else:
                    self.fail("a README command this test does not know: %r" % command)

        self.assertTrue(edits_applied)
        self.assertIsNotNone(self.serve, "the README never starts the relay")
        self.assertRegex(token or "", r"^[0-9a-f]{64}/[0-9a-f]{128}$")

        # The first start made the secret beside the spool, private.
        secret_file = os.path.join(self.dir, "var", "hub-secret")
        self.assertEqual(stat.S_IMODE(os.stat(secret_file).st_mode), 0o600)
        # The start message told where to go.
        deadline = time.monotonic() + 10
        while "Using it from Looker" not in "".join(self.serve_stderr) and time.monotonic() < deadline:
            time.sleep(0.05)
        message = "".join(self.serve_stderr)
        self.assertIn("Action Hub URL for Looker: https://127.0.0.1:%d" % self.port, message)
        self.assertIn("token --config relay.yaml", message)
        self.assertIn("var/hub-secret", message)

        # The README's curl saw what Looker sees.
        listed = json.loads(curl_output)
        self.assertIn("segment_event", [i["name"] for i in listed["integrations"]])

        # Looker: the actions list with the token, then an execute at the advertised URL.
        status, body = self.looker_post("/", {}, token)
        self.assertEqual(status, 200, body)
        identify = [i for i in json.loads(body)["integrations"] if i["name"] == "segment_event"][0]
        url = urllib.parse.urlsplit(identify["url"])
        self.assertEqual((url.scheme, url.port), ("https", self.port))
        status, body = self.looker_post(url.path, rows_execute(0, 3, write_key="wk_readme"), token)
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertTrue(answer["looker"]["success"], answer)
        self.assertTrue(self.segment.wait_for_events(3, timeout=30), self.segment.stats())
        user_ids = sorted(e.get("userId") for e in self.segment.events)
        self.assertEqual(user_ids, ["u000000", "u000001", "u000002"])

        self.serve.send_signal(signal.SIGTERM)
        self.assertEqual(self.serve.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main()
