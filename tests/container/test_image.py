"""The relay's image, run as a platform would run it: read-only root filesystem with no tmpfs,
uid/gid 10001, the spool on a volume, secrets and the Segment endpoint in the environment.
The stand-in Segment (tests/integration/segment_stub.py) runs on the host on 127.0.0.1; the
containers share the host's network, their listeners on free 127.0.0.1 ports.

Driven by scripts/container-test.sh, which builds the image and passes:
  LSR_IMAGE             the image to test
  LSR_PODMAN            the podman command (default: podman)
  LSR_PODMAN_RUN_ARGS   extra `podman run` arguments (runtime, ulimits), space separated
  LSR_TEST_LABEL        a label key=value put on every container and volume made here, so the
                        script can remove them whatever happens
Every podman call is bounded; every container and volume is removed at the end of its test.
"""

import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import free_port, hub_headers  # noqa: E402
from payloads import rows_execute  # noqa: E402
from segment_stub import SegmentStub  # noqa: E402

IMAGE = os.environ.get("LSR_IMAGE", "localhost/looker-segment-relay:test")
PODMAN = os.environ.get("LSR_PODMAN", "podman").split()
RUN_ARGS = os.environ.get("LSR_PODMAN_RUN_ARGS", "--runtime runc").split()
LABEL = os.environ.get("LSR_TEST_LABEL", "lsr-container-test=%d" % os.getpid())
SECRET = "container-test-secret"
WRITE_KEY = "wk_container"
STOP_TIMEOUT_S = 40          # podman stop: SIGTERM, then SIGKILL after this; above the 20 s drain
STEP_TIMEOUT_S = 60          # any single podman command

TIMINGS = {}


def podman(*args, timeout=STEP_TIMEOUT_S, check=True):
    done = subprocess.run(PODMAN + list(args), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError("podman %s failed (%d): %s%s" % (" ".join(args), done.returncode,
                                                              done.stdout, done.stderr))
    return done


def http_get(url, timeout=2):
    """(status, body) or (None, error text) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def http_post(url, body, headers, timeout=60):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Container:
    """One relay container on the volume `volume`, listening on fresh 127.0.0.1 ports."""

    def __init__(self, volume, segment_url, extra_env=None):
        self.name = "lsr-ct-" + uuid.uuid4().hex[:10]
        self.volume = volume
        self.port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.port:
            self.admin_port = free_port()
        self.env = {
            "RELAY_HUB_SECRET": SECRET,
            "RELAY_SEGMENT_ENDPOINT": segment_url,
            "RELAY_LISTEN": "127.0.0.1:%d" % self.port,
            "RELAY_ADMIN_LISTEN": "127.0.0.1:%d" % self.admin_port,
        }
        self.env.update(extra_env or {})
        self.started_at = None

    def run(self):
        args = ["run", "-d", "--name", self.name, "--label", LABEL] + RUN_ARGS + [
            "--network", "host",
            "--read-only", "--read-only-tmpfs=false",     # no tmpfs on /tmp, /run, /var/tmp
            "--user", "10001:10001",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", "%s:/var/lib/relay" % self.volume,
        ]
        for k, v in self.env.items():
            args += ["-e", "%s=%s" % (k, v)]
        self.started_at = time.monotonic()
        podman(*(args + [IMAGE]))
        return self

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def running(self):
        done = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return done.stdout.strip() == "true"

    def wait_ready(self, timeout=60):
        """Seconds from `podman run` to /readyz 200 on the admin listener."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _ = http_get(self.admin_url("/readyz"), timeout=1)
            if status == 200:
                return time.monotonic() - self.started_at
            if not self.running():
                raise AssertionError("the container exited before it was ready:\n" + self.logs())
            time.sleep(0.05)
        raise AssertionError("not ready after %d s:\n%s" % (timeout, self.logs()))

    def logs(self):
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-4000:]

    def stop(self):
        """SIGTERM (podman stop, SIGKILL only after STOP_TIMEOUT_S); returns the exit code."""
        began = time.monotonic()
        podman("stop", "-t", str(STOP_TIMEOUT_S), self.name, timeout=STOP_TIMEOUT_S + 30)
        took = time.monotonic() - began
        code = int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip())
        return code, took

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)


class ImageTest(unittest.TestCase):
    def setUp(self):
        self.segment = SegmentStub(write_keys={WRITE_KEY}).start()
        self.containers = []
        self.volumes = []

    def tearDown(self):
        for c in self.containers:
            if os.environ.get("LSR_CONTAINER_LOGS"):
                sys.stderr.write("\n--- logs of %s ---\n%s\n" % (c.name, c.logs()))
            c.remove()
        for v in self.volumes:
            podman("volume", "rm", "-f", v, check=False)
        self.segment.stop()

    # -- helpers ---------------------------------------------------------------------------
    def volume(self):
        name = "lsr-ct-" + uuid.uuid4().hex[:10]
        podman("volume", "create", "--label", LABEL, name)
        self.volumes.append(name)
        return name

    def container(self, volume, **kw):
        c = Container(volume, self.segment.url, **kw)
        self.containers.append(c)
        return c.run()

    def token(self):
        """A hub token made by the image's own `token` subcommand, as an operator would."""
        done = podman(*(["run", "--rm", "--label", LABEL] + RUN_ARGS + [
            "--network", "none", "--read-only", "--read-only-tmpfs=false", "--user", "10001:10001",
            "-e", "RELAY_HUB_SECRET=" + SECRET, IMAGE, "token"]))
        token = done.stdout.strip().splitlines()[-1].strip()
        self.assertRegex(token, r"^[0-9a-f]+/[0-9a-f]{128}$")
        return token

    def execute(self, c, first, count, token):
        status, body = http_post(c.url("/actions/segment_event/execute"),
                                 rows_execute(first, count, write_key=WRITE_KEY), hub_headers(token))
        self.assertEqual(status, 200, body)
        answer = json.loads(body.decode().lstrip("\n"))
        self.assertTrue(answer["looker"]["success"], answer)

    def delivered_by_user(self):
        out = {}
        for e in self.segment.events:
            out.setdefault(e["userId"], []).append(e)
        return out

    # -- the image itself ------------------------------------------------------------------
    def test_image_metadata(self):
        info = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
        config = info["Config"]
        self.assertEqual(config.get("User"), "10001:10001")
        labels = config.get("Labels") or {}
        for key in ("title", "description", "version", "revision", "source"):
            self.assertTrue(labels.get("org.opencontainers.image." + key), (key, labels))
        version = podman("run", "--rm", *RUN_ARGS, "--network", "none", "--read-only",
                         "--read-only-tmpfs=false", IMAGE, "version").stdout.strip()
        self.assertEqual(version, "looker-segment-relay " + labels["org.opencontainers.image.version"])
        env = dict(e.split("=", 1) for e in config.get("Env") or [])
        self.assertEqual(env.get("RELAY_LISTEN"), "0.0.0.0:8080")
        self.assertEqual(env.get("RELAY_ADMIN_LISTEN"), "0.0.0.0:8081")
        self.assertEqual(env.get("RELAY_SPOOL_PATH"), "/var/lib/relay/spool.db")
        self.assertEqual(set(config.get("ExposedPorts") or {}), {"8080/tcp", "8081/tcp"})
        # No apt lists, caches or logs left in the image; the spool directory is the relay's.
        check = ("set -e; test -z \"$(ls -A /var/lib/apt/lists | grep -v '^partial$' || true)\"; "
                 "test -z \"$(find /var/cache/apt -type f)\"; test ! -e /var/log/apt; test ! -e /var/log/dpkg.log; "
                 "stat -c '%u:%g %a' /var/lib/relay")
        done = podman("run", "--rm", *RUN_ARGS, "--network", "none", "--user", "0:0", "--entrypoint", "sh",
                      IMAGE, "-c", check)
        self.assertEqual(done.stdout.strip(), "10001:10001 700")
        TIMINGS["image size (bytes)"] = info.get("Size")

    # -- serving, delivering, stopping -------------------------------------------------------
    def test_serves_delivers_and_stops_on_sigterm(self):
        token = self.token()
        c = self.container(self.volume())
        ready = c.wait_ready()
        TIMINGS["podman run -> /readyz 200 (s)"] = round(ready, 2)
        status, body = http_get(c.admin_url("/healthz"))
        self.assertEqual(status, 200, body)
        # /tmp is on the read-only root filesystem, and the relay runs without it.
        done = podman("exec", c.name, "sh", "-c", "touch /tmp/x", check=False)
        self.assertNotEqual(done.returncode, 0, "/tmp is writable")
        done = podman("exec", c.name, "id", "-u")
        self.assertEqual(done.stdout.strip(), "10001")

        self.execute(c, 0, 25, token)
        self.assertTrue(self.segment.wait_for_events(25, timeout=60), self.segment.stats())
        by_user = self.delivered_by_user()
        self.assertEqual(set(by_user), {"u%06d" % i for i in range(25)})
        ids = [e["messageId"] for e in self.segment.events]
        self.assertEqual(len(ids), 25)
        self.assertEqual(len(set(ids)), 25, "a messageId arrived twice")

        code, took = c.stop()
        self.assertEqual(code, 0, c.logs())
        self.assertLess(took, STOP_TIMEOUT_S, "SIGTERM did not end the relay; podman killed it")
        TIMINGS["podman stop (SIGTERM) -> exit (s)"] = round(took, 2)

    def test_queued_events_survive_a_new_container_on_the_same_volume(self):
        token = self.token()
        volume = self.volume()
        self.segment.push_response(503, times=100000)      # Segment down: everything stays queued
        first = self.container(volume)
        first.wait_ready()
        self.execute(first, 100, 30, token)
        self.assertTrue(self.segment.wait_for_requests(1, timeout=30), "no delivery attempt was made")
        self.assertEqual(self.segment.event_count(), 0)
        attempted = {}
        for rec in self.segment.requests_snapshot():
            for e in rec.events:
                attempted[e["messageId"]] = e["userId"]
        code, _ = first.stop()
        self.assertEqual(code, 0, first.logs())
        self.assertEqual(self.segment.event_count(), 0)

        self.segment.clear_script()                        # Segment is back
        second = self.container(volume)
        second.wait_ready()
        self.assertTrue(self.segment.wait_for_events(30, timeout=60), self.segment.stats())
        by_user = self.delivered_by_user()
        self.assertEqual(set(by_user), {"u%06d" % i for i in range(100, 130)})
        counts = self.segment.message_id_counts()
        self.assertEqual(len(counts), 30)
        self.assertTrue(all(n == 1 for n in counts.values()), counts)
        # The events the first container tried to send are the ones delivered, same messageIds.
        for message_id, user in attempted.items():
            self.assertIn(message_id, counts, "a messageId changed across the restart")
            self.assertEqual(by_user[user][0]["messageId"], message_id)
        code, _ = second.stop()
        self.assertEqual(code, 0, second.logs())


def main():
    result = unittest.main(exit=False, verbosity=2).result
    for k, v in TIMINGS.items():
        print("container-test: %s: %s" % (k, v), flush=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
