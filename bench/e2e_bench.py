#!/usr/bin/env python3
"""End-to-end benchmark: executes of N rows (pushed json_detail attachments) through the real
relay into the stand-in Segment on loopback.

For each size a fresh relay and a fresh stand-in (its own process) are started; the time runs
from the start of the POST until the stand-in has accepted every event. Also reported: the
time until the execute answer (ack: spooled by default), and the relay's peak RSS (VmHWM).

    python3 bench/e2e_bench.py [--binary build/app/looker-segment-relay] [--rows 10000,100000,1000000]
                               [--ack spooled|delivered] [--gzip-min-bytes N]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from harness import Relay, deep_merge, free_port, hub_headers  # noqa: E402

WRITE_KEY = "wk_bench"



def write_payload(path, rows):
    """A Looker execute body whose attachment.data is a json_detail result, as a JSON string."""
    fields = {
        "dimensions": [
            {"name": "users.id", "label": "Users ID", "label_short": "ID", "tags": ["user_id"]},
            {"name": "users.email", "label": "Users Email", "label_short": "Email", "tags": ["email"]},
            {"name": "users.name", "label": "Users Name", "label_short": "Name", "tags": []},
            {"name": "users.city", "label": "Users City", "label_short": "City", "tags": []},
        ],
        "measures": [
            {"name": "users.sessions_count", "label": "Users Sessions Count", "label_short": "Sessions Count",
             "tags": []},
            {"name": "users.lifetime_value", "label": "Users Lifetime Value", "label_short": "Lifetime Value",
             "tags": []},
        ],
        "table_calculations": [],
        "pivots": [],
    }
    head = {"type": "query",
            "scheduled_plan": {"scheduled_plan_id": 4242, "title": "Active users", "type": "Look"},
            "data": {"segment_write_key": WRITE_KEY},
            "form_params": {}}
    cities = ["Berlin", "Lisbon", "Austin", "Osaka", "Lagos"]
    with open(path, "w") as out:
        inner_head = '{"ran_at":"2026-12-01T06:00:00+00:00","fields":' + json.dumps(fields) + ',"data":['
        out.write('{"type":"query","scheduled_plan":' + json.dumps(head["scheduled_plan"]) +
                  ',"data":' + json.dumps(head["data"]) + ',"form_params":{},"attachment":'
                  '{"mimetype":"application/json","extension":"json","data":')
        parts = [inner_head]
        for i in range(rows):
            parts.append(("," if i else "") +
                         '{"users.id":{"value":"u%08d"},"users.email":{"value":"user%d@example.com"},'
                         '"users.name":{"value":"User %d"},"users.city":{"value":"%s"},'
                         '"users.sessions_count":{"value":%d},"users.lifetime_value":{"value":%d.5}}'
                         % (i, i, i, cities[i % 5], i % 97, i % 1000))
        parts.append("]}")
        # The attachment is one JSON string: the whole result document, escaped once.
        out.write(json.dumps("".join(parts)))
        out.write("}}")


def post_file(port, path, chunk_bytes=0, timeout=3600):
    """POSTs the payload with Content-Length, or, with chunk_bytes, in chunked transfer coding
    with chunks of that size, each sent on its own, as Looker streams an execute."""
    size = os.path.getsize(path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = hub_headers()
    if chunk_bytes:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(size)
    conn.putrequest("POST", "/actions/segment_event/execute")
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_bytes or (1 << 20))
            if not chunk:
                break
            if chunk_bytes:
                conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            else:
                conn.send(chunk)
    if chunk_bytes:
        conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def stub_stats(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/stats")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def run_one(rows, args, payload):
    stub_port = free_port()
    stub = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "tests", "integration", "segment_stub.py"),
                             "--port", str(stub_port), "--store", "count"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stub.stdout.readline()  # "listening"
    config = {
        "log": {"level": "info"},
        "delivery": {"ack": args.ack},
        "segment": {"per_write_key": {"requests_per_second": 1000, "burst": 100, "max_in_flight": 8},
                    "gzip_min_bytes": args.gzip_min_bytes},
    }
    relay = Relay(None, segment_url="http://127.0.0.1:%d" % stub_port)
    relay.config = deep_merge(relay.config, config)
    relay.start()
    try:
        t0 = time.monotonic()
        status, body = post_file(relay.port, payload, args.chunked)
        t_answer = time.monotonic() - t0
        answer = json.loads(body.strip() or b"{}")
        deadline = time.monotonic() + 3600
        got = 0
        while time.monotonic() < deadline:
            got = stub_stats(stub_port)["events"]
            if got >= rows:
                break
            time.sleep(0.02)
        t_all = time.monotonic() - t0
        rss = peak_rss_mb(relay.proc.pid)
        return {
            "rows": rows, "status": status, "success": answer.get("looker", {}).get("success"),
            "answer_s": t_answer, "delivered_s": t_all, "events_at_segment": got,
            "rows_per_s": rows / t_all if t_all > 0 else 0, "peak_rss_mb": rss,
            "payload_mb": os.path.getsize(payload) / 1e6,
        }
    finally:
        relay.stop()
        stub.terminate()
        stub.wait(timeout=10)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=None)
    p.add_argument("--rows", default="10000,100000,1000000")
    p.add_argument("--ack", default="spooled", choices=["spooled", "delivered"])
    p.add_argument("--gzip-min-bytes", type=int, default=65536)
    p.add_argument("--chunked", type=int, default=0, metavar="BYTES",
                   help="send the body in chunked transfer coding, chunks of BYTES (as Looker does)")
    args = p.parse_args()
    if args.binary:
        import harness
        harness.BINARY = args.binary
    print("rows        answer_s  delivered_s  rows/s     peak_rss_MB  payload_MB  ok")
    tmp = tempfile.mkdtemp(prefix="lsr-bench-")
    for n in [int(x) for x in args.rows.split(",")]:
        payload = os.path.join(tmp, "payload-%d.json" % n)
        write_payload(payload, n)
        r = run_one(n, args, payload)
        os.unlink(payload)
        print("%-10d  %8.2f  %11.2f  %9.0f  %11.1f  %10.1f  %s" % (
            r["rows"], r["answer_s"], r["delivered_s"], r["rows_per_s"], r["peak_rss_mb"],
            r["payload_mb"], r["status"] == 200 and r["success"] and r["events_at_segment"] >= n), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
