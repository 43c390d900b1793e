"""A stand-in Segment Tracking API for the integration tests and the benchmarks.

Python stdlib only. Binds 127.0.0.1 (port 0 by default), answers ``POST /v1/batch`` (and
``/v1/import``), records every request and every accepted event, and can be scripted to fail.

    stub = SegmentStub(write_keys={"wk_test"}).start()
    stub.push_response(500, times=3)                    # the next three batches get 500
    stub.push_response(429, headers={"Retry-After": "1"})
    stub.push_response(drop=True)                       # close without answering
    stub.push_response(200, delay=2.0)                  # answer slowly
    stub.push_response(429, headers={"Retry-After": "2"}, write_key="wk_b")  # only for wk_b
    stub.poison(message_id="m-17")                      # 400 for every batch holding it
    ...
    assert stub.wait_for_events(1000, timeout=30)
    by_id = stub.events_by_message_id()                 # messageId -> [event, ...]
    stub.stop()

Checks made on every batch, before the scripted answer (a failed check answers 401/400 and
is recorded like any other answer):
- ``Authorization: Basic base64(writeKey + ":")`` present and equal to the body's ``writeKey``;
  when ``write_keys`` is given, the key must be one of them (401 otherwise);
- the body is JSON with a ``batch`` list (400 otherwise); uncompressed body at most
  ``max_body_bytes`` (400, as Segment answers oversized batches);
- the poison predicates: a batch holding a poisoned event gets ``poison_status`` (400).

Events count as received only when the batch was answered 2xx. Standalone mode for the
benchmarks: ``python3 segment_stub.py --port 9999 [--store ids|count]``; ``GET /stats`` then
returns the counters as JSON and ``POST /reset`` clears them.
"""

import argparse
import base64
import collections
import gzip
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["SegmentStub", "RecordedRequest", "ScriptedResponse", "batch_array"]

# The relay's envelope: {"sentAt":"<iso>","writeKey":"<key>","batch":[<events joined by ",\n">]}
_ENVELOPE_HEAD = re.compile(rb'\{"sentAt":"[^"\\]*","writeKey":"(?:[^"\\]|\\.)*","batch":\[')


def batch_array(body):
    """The bytes of a relay /v1/batch body's "batch" array (the events joined by ",\n"), exactly
    as they were sent; AssertionError when the body is not the relay's envelope."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    m = _ENVELOPE_HEAD.match(body)
    if m is None or not body.endswith(b"]}"):
        raise AssertionError("not a relay /v1/batch envelope: %r" % body[:80])
    return body[m.end():-2]


class ScriptedResponse:
    """One scripted answer: status, headers, body, a delay before answering, or a drop."""

    def __init__(self, status=200, headers=None, body=None, delay=0.0, drop=False, write_key=None):
        self.write_key = write_key   # None: any batch; else only batches of this write key
        self.status = status
        self.headers = dict(headers or {})
        self.body = body
        self.delay = delay
        self.drop = drop

    def __repr__(self):
        return "ScriptedResponse(status=%r, headers=%r, delay=%r, drop=%r)" % (
            self.status, self.headers, self.delay, self.drop)


class RecordedRequest:
    """What the stub saw of one request and how it answered."""

    def __init__(self):
        self.time = time.time()
        self.method = ""
        self.path = ""
        self.headers = {}          # lower-case name -> value (last wins)
        self.raw_body = b""        # as received (compressed when Content-Encoding: gzip)
        self.body = b""            # uncompressed
        self.json = None           # parsed envelope, or None
        self.events = []           # envelope["batch"], or []
        self.write_key = None      # from the Basic auth header
        self.status = None         # the status answered; None when dropped
        self.dropped = False
        self.error = None          # why a check failed, if one did

    @property
    def retry_count(self):
        value = self.headers.get("x-retry-count")
        return int(value) if value is not None and value.isdigit() else 0

    @property
    def sent_at(self):
        return (self.json or {}).get("sentAt")

    def __repr__(self):
        return "RecordedRequest(%s %s status=%r events=%d retry=%d)" % (
            self.method, self.path, self.status, len(self.events), self.retry_count)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, so the relay's connection reuse is exercised
    server_version = "segment-stub/1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the peer's
    # delayed ACK would add ~40 ms to every answer on loopback.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.stub.verbose:
            sys.stderr.write("segment-stub: " + (fmt % args) + "\n")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)   # one write for head and body
        self.flush_headers()

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        stub = self.server.stub
        if self.path == "/stats":
            self._answer(200, json.dumps(stub.stats()))
        else:
            self._answer(404, '{"error":"not found"}')

    def do_POST(self):
        stub = self.server.stub
        raw = self._read_body()
        if self.path == "/reset":
            stub.reset()
            self._answer(200, "{}")
            return
        if self.path.rstrip("/") not in ("/v1/batch", "/v1/import"):
            self._answer(404, '{"error":"not found"}')
            return
        rec = RecordedRequest()
        rec.method = "POST"
        rec.path = self.path
        rec.headers = {k.lower(): v for k, v in self.headers.items()}
        rec.raw_body = raw if stub.store == "events" else b""
        status, body, headers, delay, drop = stub._handle(rec, raw)
        if delay:
            time.sleep(delay)
        if drop:
            rec.dropped = True
            rec.status = None
            stub._record(rec, accepted=False)
            self._drop()
            return
        rec.status = status
        stub._record(rec, accepted=200 <= status < 300)
        self._answer(status, body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A relay killed mid-request (the crash tests do it on purpose) resets its
        # connections; that is expected, not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) and not getattr(self, "stub").verbose:
            return
        super().handle_error(request, client_address)


class SegmentStub:
    """The stand-in Segment server. Thread-safe; every wait is bounded."""

    def __init__(self, write_keys=None, host="127.0.0.1", port=0, max_body_bytes=500_000,
                 store="events", verbose=False):
        self.write_keys = set(write_keys) if write_keys else None
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.store = store          # "events": everything; "ids": messageIds only; "count": counters
        self.verbose = verbose
        self.poison_status = 400
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._script = collections.deque()
        self._poison = []           # predicates: event dict -> bool
        self._server = None
        self._thread = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self._server = _Server((self.host, self.port), _Handler)
        self._server.stub = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="segment-stub",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    # -- scripting ---------------------------------------------------------------------------
    def push_response(self, status=200, headers=None, body=None, delay=0.0, drop=False, times=1,
                      write_key=None):
        """Queue `times` answers; batches beyond the script get 200 (after the checks).

        With `write_key`, the answers apply only to batches of that key (in order); batches of
        other keys skip them."""
        with self._lock:
            for _ in range(times):
                self._script.append(ScriptedResponse(status, headers, body, delay, drop, write_key))

    def clear_script(self):
        with self._lock:
            self._script.clear()

    def poison(self, message_id=None, user_id=None, predicate=None):
        """Answer `poison_status` (400) to every batch that holds a matching event."""
        with self._lock:
            if message_id is not None:
                self._poison.append(lambda e, m=message_id: e.get("messageId") == m)
            if user_id is not None:
                self._poison.append(lambda e, u=user_id: e.get("userId") == u)
            if predicate is not None:
                self._poison.append(predicate)

    def clear_poison(self):
        with self._lock:
            self._poison = []

    def reset(self):
        """Forget requests, events and counters (the script and poison stay)."""
        with self._lock:
            self.requests = []              # RecordedRequest, in arrival order
            self.events = []                # accepted events, in arrival order
            self._ids = collections.Counter()
            self._event_count = 0
            self._status_counts = collections.Counter()
            self._first_time = None
            self._last_time = None
            self._cond.notify_all()

    # -- inspection --------------------------------------------------------------------------
    def wait_for_events(self, n, timeout=30.0):
        """True once at least n events were accepted; False after `timeout` seconds."""
        return self._wait(lambda: self._event_count >= n, timeout)

    def wait_for_unique_events(self, n, timeout=30.0):
        return self._wait(lambda: len(self._ids) >= n, timeout)

    def wait_for_requests(self, n, timeout=30.0):
        return self._wait(lambda: self._request_total() >= n, timeout)

    def _request_total(self):
        return sum(self._status_counts.values())

    def _wait(self, cond, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def events_by_message_id(self):
        """messageId -> list of accepted events with it (more than one: a duplicate)."""
        with self._lock:
            out = collections.defaultdict(list)
            for e in self.events:
                out[e.get("messageId")].append(e)
            return dict(out)

    def message_id_counts(self):
        with self._lock:
            return dict(self._ids)

    def event_count(self):
        with self._lock:
            return self._event_count

    def requests_snapshot(self):
        with self._lock:
            return list(self.requests)

    def stats(self):
        with self._lock:
            return {
                "events": self._event_count,
                "unique_message_ids": len(self._ids) if self.store != "count" else None,
                "duplicates": self._event_count - len(self._ids) if self.store != "count" else None,
                "requests": self._request_total(),
                "by_status": {str(k): v for k, v in self._status_counts.items()},
                "first_event_time": self._first_time,
                "last_event_time": self._last_time,
            }

    # -- request handling (called on the server's threads) -------------------------------------
    def _handle(self, rec, raw):
        """Returns (status, body, headers, delay, drop)."""
        body = raw
        if rec.headers.get("content-encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                rec.error = "bad gzip: %s" % exc
                return 400, '{"error":"bad gzip"}', {}, 0, False
        rec.body = body if self.store == "events" else b""
        auth = rec.headers.get("authorization", "")
        if auth.startswith("Basic "):
            try:
                user = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                user = ""
            if user.endswith(":"):
                rec.write_key = user[:-1]
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            rec.error = "invalid json: %s" % exc
            return 400, '{"error":"invalid json"}', {}, 0, False
        if not isinstance(envelope, dict) or not isinstance(envelope.get("batch"), list):
            rec.error = "no batch list"
            return 400, '{"error":"no batch"}', {}, 0, False
        rec.json = envelope if self.store == "events" else {"sentAt": envelope.get("sentAt")}
        rec.events = envelope["batch"]
        body_key = envelope.get("writeKey")
        if rec.write_key is None or body_key != rec.write_key or (
                self.write_keys is not None and rec.write_key not in self.write_keys):
            rec.error = "bad auth"
            return 401, '{"error":"unauthorized"}', {}, 0, False
        if len(body) > self.max_body_bytes:
            rec.error = "body too large: %d" % len(body)
            return 400, '{"error":"request too large"}', {}, 0, False
        with self._lock:
            scripted = None
            for i, candidate in enumerate(self._script):
                if candidate.write_key is None or candidate.write_key == rec.write_key:
                    scripted = candidate
                    del self._script[i]
                    break
            poison = list(self._poison)
        if poison and any(p(e) for e in rec.events if isinstance(e, dict) for p in poison):
            rec.error = "poisoned event"
            delay = scripted.delay if scripted else 0
            return self.poison_status, '{"error":"poisoned event"}', {}, delay, False
        if scripted is None:
            return 200, '{"success":true}', {}, 0, False
        body_out = scripted.body
        if body_out is None:
            body_out = '{"success":true}' if 200 <= scripted.status < 300 else '{"error":"scripted"}'
        return scripted.status, body_out, scripted.headers, scripted.delay, scripted.drop

    def _record(self, rec, accepted):
        with self._cond:
            self._status_counts["dropped" if rec.dropped else rec.status] += 1
            if self.store != "count":
                self.requests.append(rec)
            if accepted:
                now = time.time()
                if self._first_time is None:
                    self._first_time = now
                self._last_time = now
                self._event_count += len(rec.events)
                for e in rec.events:
                    if self.store != "count" and isinstance(e, dict):
                        self._ids[e.get("messageId")] += 1
                if self.store == "events":
                    self.events.extend(rec.events)
            if self.store != "events":
                rec.events = []
            self._cond.notify_all()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Stand-in Segment Tracking API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--write-key", action="append", default=[],
                        help="accepted write key (repeatable); default: any")
    parser.add_argument("--store", choices=["events", "ids", "count"], default="ids",
                        help="what to keep in memory (default: messageIds only)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    stub = SegmentStub(write_keys=args.write_key or None, host=args.host, port=args.port,
                       store=args.store, verbose=args.verbose).start()
    print("segment-stub listening on %s" % stub.url, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
