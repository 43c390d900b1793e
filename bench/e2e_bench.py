#!/usr/bin/env python3
"""End-to-end benchmark: executes of N rows through the real relay into the stand-in Segment on
loopback, each figure printed beside the machine's own limit measured in the same run.

Sources (--source, comma-separated):
  push      the result pushed in the execute body (attachment.data, a JSON string), as today;
  download  the same result document (unescaped, what a json_detail download returns) served by
            the stand-in Looker (tests/integration/looker_stub.py, its own process) and fetched
            by the relay from scheduled_plan.download_url.

For each size and source a fresh relay and fresh stand-ins (their own processes) are started;
the time runs from the start of the POST until the stand-in Segment has accepted every event.
Per run: the time to the execute's answer (ack: spooled by default) and to the last event, the
relay's CPU-seconds (utime+stime of /proc/<pid>/stat, all threads, from just before the POST to
the last event), its peak RSS (VmHWM) and minor page faults; CPU-s and faults also per 1,000,000
rows. With --syscalls, a second, separate run of the same size counts the relay's system calls
(strace -c -f -p, or perf stat) from just before the POST to the last event, so tracing never
distorts the timing run. strace follows every thread, also those the relay starts during the
execute; perf stat -p counts only the threads present when it starts (cheaper, a lower bound).
The relay runs with spool.poll_interval_ms 1000 (the production default; --poll-interval-ms).

The limit (--limit, on by default when build/bench/copy_limit_bench exists): the same bytes moved
by a plain copier (bench/copy_limit_bench.cpp: 256 KiB recv, 1 MiB write to a temp file). For
push it receives the same body sent the same way (same framing, same chunk size); for download
it GETs the same document from the same stand-in Looker. Its wall time, CPU-s and system calls
are printed beside the relay's, with the ratios relay / limit.

    python3 bench/e2e_bench.py [--binary build/app/looker-segment-relay] [--rows 10000,100000,1000000]
                               [--source push,download] [--chunked BYTES] [--syscalls strace|perf|off]
                               [--full] [--ack spooled|delivered] [--gzip-min-bytes N]
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
TESTS = os.path.join(HERE, "..", "tests", "integration")
sys.path.insert(0, TESTS)
sys.path.insert(0, HERE)

from harness import Relay, deep_merge, free_port, hub_headers  # noqa: E402
from e2e_probe import SyscallCounter, peak_rss_mb, proc_counters  # noqa: E402
from e2e_report import print_table  # noqa: E402

WRITE_KEY = "wk_bench"
PLAN = {"scheduled_plan_id": 4242, "title": "Active users", "type": "Look"}

# The stand-in Looker in its own process: serves the file at `count` one-time URLs (the same bytes
# object each time), prints them as one JSON line, and stops when its stdin closes.
LOOKER_MAIN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from looker_stub import LookerStub
body = open(sys.argv[2], "rb").read()
chunk = int(sys.argv[4])
stub = LookerStub().start()
urls = [stub.add(body, chunked=chunk > 0, chunk_size=chunk or 4096) for _ in range(int(sys.argv[3]))]
print(json.dumps(urls), flush=True)
sys.stdin.read()
stub.stop()
"""


def result_document(rows):
    """The json_detail result (what a download returns; the attachment carries it escaped)."""
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
    cities = ["Berlin", "Lisbon", "Austin", "Osaka", "Lagos"]
    parts = ['{"ran_at":"2026-12-01T06:00:00+00:00","fields":' + json.dumps(fields) + ',"data":[']
    for i in range(rows):
        parts.append(("," if i else "") +
                     '{"users.id":{"value":"u%08d"},"users.email":{"value":"user%d@example.com"},'
                     '"users.name":{"value":"User %d"},"users.city":{"value":"%s"},'
                     '"users.sessions_count":{"value":%d},"users.lifetime_value":{"value":%d.5}}'
                     % (i, i, i, cities[i % 5], i % 97, i % 1000))
    parts.append("]}")
    return "".join(parts)


def envelope_head():
    return ('{"type":"query","scheduled_plan":' + json.dumps(PLAN) +
            ',"data":' + json.dumps({"segment_write_key": WRITE_KEY}) + ',"form_params":{}')


def write_payload(path, rows):
    """A Looker execute body whose attachment.data is a json_detail result, as a JSON string."""
    with open(path, "w") as out:
        out.write(envelope_head() + ',"attachment":{"mimetype":"application/json","extension":"json","data":')
        # The attachment is one JSON string: the whole result document, escaped once.
        out.write(json.dumps(result_document(rows)))
        out.write("}}")


def write_result(path, rows):
    with open(path, "w") as out:
        out.write(result_document(rows))


def download_execute(url):
    plan = dict(PLAN, download_url=url)
    return json.dumps({"type": "query", "scheduled_plan": plan, "data": {"segment_write_key": WRITE_KEY},
                       "form_params": {}}).encode()


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


def post_body(port, body, timeout=3600):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/actions/segment_event/execute", body=body, headers=hub_headers())
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def stub_stats(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/stats")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


# -- one run -----------------------------------------------------------------------------------------


def start_looker(path, count, chunk):
    proc = subprocess.Popen([sys.executable, "-c", LOOKER_MAIN, TESTS, path, str(count), str(chunk)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        proc.wait(timeout=5)
        raise RuntimeError("the stand-in Looker did not start")
    return proc, json.loads(line)


def stop_process(proc, graceful=None):
    if proc is None:
        return
    try:
        if graceful:
            graceful()
        else:
            proc.terminate()
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
        proc.wait(timeout=5)


def run_one(rows, source, args, path, syscalls=None):
    """One relay run; with `syscalls` ('strace' or 'perf') it also counts the relay's calls."""
    stub_port = free_port()
    stub = subprocess.Popen([sys.executable, os.path.join(TESTS, "segment_stub.py"),
                             "--port", str(stub_port), "--store", "count"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    looker = relay = counter = None
    try:
        stub.stdout.readline()  # "listening"
        config = {
            "log": {"level": "info"},
            "delivery": {"ack": args.ack},
            "spool": {"poll_interval_ms": args.poll_interval_ms},
            "segment": {"per_write_key": {"requests_per_second": 1000, "burst": 100, "max_in_flight": 8},
                        "gzip_min_bytes": args.gzip_min_bytes},
        }
        url = None
        if source == "download":
            looker, urls = start_looker(path, 1, args.chunked)
            url = urls[0]
            port = int(url.split(":")[2].split("/")[0])
            config["hub"] = {"download": {"allowed_hosts": ["127.0.0.1:%d" % port], "allow_loopback_http": True,
                                          "timeout_ms": 3600000}}
        relay = Relay(None, segment_url="http://127.0.0.1:%d" % stub_port)
        relay.config = deep_merge(relay.config, config)
        relay.start()
        pid = relay.proc.pid
        if args.idle_s > 0:
            time.sleep(0.2)
            idle0, _ = proc_counters(pid)
            time.sleep(args.idle_s)
            idle_cpu = (proc_counters(pid)[0] - idle0) / args.idle_s
        else:
            idle_cpu = None
        if syscalls:
            counter = SyscallCounter(syscalls, pid, relay.workdir)
            counter.start()
        cpu0, flt0 = proc_counters(pid)
        t0 = time.monotonic()
        if source == "push":
            status, body = post_file(relay.port, path, args.chunked)
        else:
            status, body = post_body(relay.port, download_execute(url))
        t_answer = time.monotonic() - t0
        try:
            answer = json.loads(body.strip() or b"{}")
        except ValueError:
            answer = {}
        deadline = time.monotonic() + args.timeout
        got = 0
        while time.monotonic() < deadline:
            got = stub_stats(stub_port)["events"]
            if got >= rows:
                break
            time.sleep(0.02)
        t_all = time.monotonic() - t0
        cpu1, flt1 = proc_counters(pid)
        total, calls = counter.stop() if counter else (None, [])
        traced = "" if not counter else (
            "perf stat -p counts the %d threads present at the start only" % counter.threads
            if counter.tool == "perf" else
            "strace attached to all %d threads present at the POST, %d threads in all" % (
                counter.threads, counter.attached))
        counter = None
        rss = peak_rss_mb(pid)
        return {
            "rows": rows, "status": status, "success": answer.get("looker", {}).get("success"),
            "answer_s": t_answer, "delivered_s": t_all, "events_at_segment": got,
            "rows_per_s": rows / t_all if t_all > 0 else 0, "peak_rss_mb": rss,
            "payload_mb": os.path.getsize(path) / 1e6, "cpu_s": cpu1 - cpu0, "minflt": flt1 - flt0,
            "idle_cpu_per_s": idle_cpu, "syscalls": total, "syscall_top": calls[:5], "traced": traced,
            "ok": status == 200 and bool(answer.get("looker", {}).get("success")) and got >= rows,
        }
    finally:
        if counter:
            counter.stop()
        if relay:
            relay.__exit__(None, None, None)
        if looker:
            stop_process(looker, lambda: looker.stdin.close())
        stop_process(stub)


def copy_limit(source, args, path):
    """The same bytes through the plain copier: pushed to it (same framing) or fetched by it."""
    looker = tool = None
    try:
        if source == "push":
            tool = subprocess.Popen([args.copy_limit, "serve", "--dir", args.tmp], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            port = int(tool.stdout.readline().split()[1])
            t0 = time.monotonic()
            status, _ = post_file(port, path, args.chunked)
            sender_s = time.monotonic() - t0
            out, err = tool.communicate(timeout=args.timeout)
        else:
            looker, urls = start_looker(path, 1, args.chunked)
            t0 = time.monotonic()
            tool = subprocess.Popen([args.copy_limit, "get", urls[0], "--dir", args.tmp], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            out, err = tool.communicate(timeout=args.timeout)
            sender_s = time.monotonic() - t0
            status = 200 if tool.returncode == 0 else 0
        if tool.returncode != 0 or status != 200:
            raise RuntimeError("copy_limit_bench failed: %s" % err.strip())
        r = json.loads(out.strip().splitlines()[-1])
        r["sender_s"] = sender_s
        return r
    finally:
        if tool and tool.poll() is None:
            tool.kill()
            tool.wait(timeout=5)
        if looker:
            stop_process(looker, lambda: looker.stdin.close())


def default_copy_limit(binary):
    if binary:
        build = os.path.dirname(os.path.dirname(os.path.abspath(binary)))
        candidate = os.path.join(build, "bench", "copy_limit_bench")
    else:
        candidate = os.path.join(HERE, "..", "build", "bench", "copy_limit_bench")
    return candidate if os.access(candidate, os.X_OK) else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=None)
    p.add_argument("--rows", default="10000,100000,1000000")
    p.add_argument("--source", default="push", help="push, download or push,download")
    p.add_argument("--ack", default="spooled", choices=["spooled", "delivered"])
    p.add_argument("--gzip-min-bytes", type=int, default=65536)
    p.add_argument("--chunked", type=int, default=0, metavar="BYTES",
                   help="send the body (and serve the download) in chunked transfer coding, chunks of BYTES "
                        "(as Looker does)")
    p.add_argument("--syscalls", default=None, choices=["strace", "perf", "off"],
                   help="count the relay's system calls in a separate run per size (default off; strace with --full)")
    p.add_argument("--limit", default=None, choices=["on", "off"],
                   help="run the copy limit beside the relay (default on when copy_limit_bench is built)")
    p.add_argument("--copy-limit", default=None, help="path of copy_limit_bench (default: next to --binary)")
    p.add_argument("--full", action="store_true", help="everything: --syscalls strace, the limit, idle baseline")
    p.add_argument("--poll-interval-ms", type=int, default=1000, help="spool.poll_interval_ms (production default)")
    p.add_argument("--idle-s", type=float, default=None, help="seconds of idle CPU sampling before the POST")
    p.add_argument("--timeout", type=float, default=3600)
    args = p.parse_args()
    if args.binary:
        import harness
        harness.BINARY = args.binary
    if args.syscalls is None:
        args.syscalls = "strace" if args.full else "off"
    if args.idle_s is None:
        args.idle_s = 1.0 if args.full else 0.0
    args.copy_limit = args.copy_limit or default_copy_limit(args.binary)
    use_limit = args.limit != "off" and args.copy_limit is not None
    if args.limit == "on" and args.copy_limit is None:
        p.error("--limit on: copy_limit_bench not found (build it: cmake --build build --target copy_limit_bench)")
    sources = [s.strip() for s in args.source.split(",") if s.strip()]
    for s in sources:
        if s not in ("push", "download"):
            p.error("--source: push, download or push,download")
    args.tmp = tempfile.mkdtemp(prefix="lsr-bench-")
    try:
        for source in sources:
            results = []
            for n in [int(x) for x in args.rows.split(",")]:
                path = os.path.join(args.tmp, "%s-%d.json" % (source, n))
                (write_payload if source == "push" else write_result)(path, n)
                try:
                    r = run_one(n, source, args, path)
                    if use_limit:
                        r["limit"] = copy_limit(source, args, path)
                    if args.syscalls != "off":
                        t = run_one(n, source, args, path, syscalls=args.syscalls)
                        r["syscalls"], r["syscall_top"], r["traced"] = t["syscalls"], t["syscall_top"], t["traced"]
                        r["syscall_tool"] = "strace -c -f" if args.syscalls == "strace" else "perf stat raw_syscalls"
                        r["ok"] = r["ok"] and t["ok"]
                finally:
                    os.unlink(path)
                results.append(r)
                print("%s %d rows: delivered in %.2f s, ok %s" % (source, n, r["delivered_s"], r["ok"]),
                      file=sys.stderr, flush=True)
            print_table(source, args, results)
            sys.stdout.flush()
    finally:
        subprocess.run(["rm", "-rf", args.tmp], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
