"""Starts the real looker-segment-relay binary for integration tests.

Relay(config) writes the config (JSON is valid YAML) into a fresh temp dir, starts
`looker-segment-relay serve --config FILE` listening on 127.0.0.1 port 0 (and its admin
listener on another port 0), reads the JSON log lines from stdout and learns both ports from
the "listening" line (relay.port, relay.admin_port). Every wait is bounded.
"""

import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BINARY = os.environ.get(
    "LSR_BINARY",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "app", "looker-segment-relay"),
)
DATA_DIR = os.environ.get("LSR_TEST_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data"))

HUB_SECRET = "integration-test-secret"

# A sanitizer build (ASan, UBSan, TSan) reports on stderr. A report seen from any relay or
# subcommand fails the whole test file at exit, even when the test itself passed (a race at
# shutdown, a leak at exit).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                     "runtime error:")
SANITIZER_REPORTS = []


def note_sanitizer_report(text, origin):
    if any(m in text for m in SANITIZER_MARKERS):
        SANITIZER_REPORTS.append("%s: %s" % (origin, text.strip()[:2000]))


def _fail_on_sanitizer_reports():
    if SANITIZER_REPORTS:
        sys.stderr.write("\nsanitizer reports from the binary under test:\n%s\n" % "\n".join(SANITIZER_REPORTS))
        sys.stderr.flush()
        os._exit(1)


atexit.register(_fail_on_sanitizer_reports)


def deep_merge(base, extra):
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def run_binary(args, env=None, timeout=30, stdin_data=None):
    """Runs a subcommand to completion; returns CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run(
        [BINARY] + list(args),
        input=stdin_data,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    note_sanitizer_report(done.stderr or "", " ".join(args[:2]))
    return done


class Relay:
    """One relay process. Use as a context manager or call start()/stop()."""

    def __init__(self, config=None, env=None, workdir=None, segment_url=None, command_prefix=None):
        self.own_dir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="lsr-it-")
        base = {
            "server": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "drain_grace_ms": 5000},
            "hub": {"secret": HUB_SECRET, "base_url": "http://127.0.0.1:0"},
            "spool": {"path": os.path.join(self.workdir, "spool.db"), "poll_interval_ms": 50},
            "log": {"level": "debug"},
        }
        if segment_url:
            base["segment"] = {
                "region": "custom",
                "endpoint": segment_url,
                "retry": {"base_delay_ms": 50, "max_delay_ms": 500},
                "per_write_key": {"requests_per_second": 1000, "burst": 100},
            }
        self.config = deep_merge(base, config)
        self.env = env or {}
        self.proc = None
        self.port = None
        self.admin_port = None
        # Runs the binary through another command, e.g. one that sets up a mount namespace;
        # the relay's own command line is appended to it.
        self.command_prefix = list(command_prefix or [])
        self.logs = []
        self.raw_lines = []
        self.stderr_lines = []
        self._lock = threading.Lock()
        self._listening = threading.Event()

    # -- lifecycle ---------------------------------------------------------------

    def config_path(self):
        return os.path.join(self.workdir, "relay.yaml")

    def start(self, timeout=20):
        with open(self.config_path(), "w") as f:
            json.dump(self.config, f, indent=2)
        env = dict(os.environ)
        env.update(self.env)
        if self.proc is not None and self.proc.poll() is not None:
            self.close_pipes()
        self._listening.clear()
        self.port = None
        self.admin_port = None
        self.proc = subprocess.Popen(
            self.command_prefix + [BINARY, "serve", "--config", self.config_path()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._listening.wait(0.05):
                return self
            if self.proc.poll() is not None:
                break
        raise RuntimeError(
            "relay did not start (exit %s)\nstdout: %s\nstderr: %s"
            % (self.proc.poll(), self.logs[-20:], "".join(self.stderr_lines[-20:]))
        )

    def _read_stdout(self, proc):
        try:
            self._read_lines(proc)
        except (ValueError, OSError):  # the pipe was closed after the process ended
            pass

    def _read_lines(self, proc):
        for raw in proc.stdout:
            with self._lock:
                self.raw_lines.append(raw)  # the bytes as the binary wrote them
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"msg": "<not json>", "raw": line}
            with self._lock:
                self.logs.append(entry)
            if entry.get("msg") == "listening" and proc is self.proc:
                self.port = int(entry["port"])
                self.admin_port = int(entry.get("admin_port") or 0) or None
                self._listening.set()

    def _read_stderr(self, proc):
        try:
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace")
                note_sanitizer_report(line, "relay in " + self.workdir)
                with self._lock:
                    self.stderr_lines.append(line)
        except (ValueError, OSError):
            pass

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the process and waits for it; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise

    def kill(self):
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, timeout=20):
        self.kill()
        return self.start(timeout=timeout)

    def __enter__(self):
        return self.start()

    def close_pipes(self):
        for pipe in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            try:
                pipe.close()
            except Exception:
                pass

    def __exit__(self, *exc):
        try:
            self.stop()
        except Exception:
            self.kill()
        self.close_pipes()
        if self.own_dir:
            subprocess.run(["rm", "-rf", self.workdir], check=False)

    # -- talking to it -----------------------------------------------------------

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin_url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def request(self, method, path, body=None, headers=None, timeout=30, port=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        return status, json.loads(body)

    def admin_request(self, method, path, timeout=30):
        """A request to the admin listener (operator endpoints)."""
        return self.request(method, path, timeout=timeout, port=self.admin_port)

    def raw(self, data, timeout=10, read=True, port=None):
        """Sends raw bytes on a fresh connection; returns what came back until close/timeout."""
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout)
        try:
            s.sendall(data)
            if not read:
                return b""
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks)
        finally:
            s.close()

    def metrics(self):
        """The Prometheus text, from the admin listener when there is one."""
        status, _, body = self.request("GET", "/metrics", port=self.admin_port)
        assert status == 200
        return body.decode()

    def metric_value(self, name, labels=None):
        """Sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        found = False
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            metric, _, label_text = head.partition("{")
            if metric != name:
                continue
            if labels and not all('%s="%s"' % (k, v) in label_text for k, v in labels.items()):
                continue
            total += float(value)
            found = True
        return total if found else None

    def wait_log(self, msg, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for e in self.logs:
                    if e.get("msg") == msg:
                        return e
            time.sleep(0.02)
        return None


def hub_token(secret=HUB_SECRET, nonce="00" * 32):
    import hashlib
    import hmac

    return "%s/%s" % (nonce, hmac.new(secret.encode(), nonce.encode(), hashlib.sha512).hexdigest())


def hub_headers(token=None, version="7.0.0"):
    h = {"Authorization": 'Token token="%s"' % (token or hub_token()), "Content-Type": "application/json"}
    if version:
        h["User-Agent"] = "LookerOutgoingWebhook/%s" % version
    return h


def free_port():
    """A loopback port nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_RESERVED_PORTS = []


def closed_port_url():
    """A loopback URL nobody listens on: a Segment that is down. The port stays bound (without
    listening) for the rest of the test process, so no server started meanwhile by a test
    running beside this one can take it: connections to it are refused, always."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    _RESERVED_PORTS.append(s)
    return "http://127.0.0.1:%d" % s.getsockname()[1]


def wait_until(predicate, timeout=10, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()
