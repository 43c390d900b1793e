"""e2e_bench.py's tables: one per source, each run's figures beside the copy limit's."""


def per_m(value, rows):
    return value * 1e6 / rows if value is not None and rows else None


def fmt(v, spec):
    return ("%" + spec) % v if v is not None else "-"


def ratio(a, b):
    return "%.1f" % (a / b) if a is not None and b else "-"


def print_table(source, args, results):
    framing = "chunked %d" % args.chunked if args.chunked else "Content-Length"
    what = "pushed execute body" if source == "push" else "download_url (stand-in Looker, own process)"
    print()
    print("== %s, %s ==" % (what, framing))
    print("rows        answer_s  delivered_s  rows/s     peak_rss_MB  payload_MB  ok     "
          "cpu_s/1M  syscalls/1M  minflt/1M")
    for r in results:
        print("%-10d  %8.2f  %11.2f  %9.0f  %11.1f  %10.1f  %-5s  %8s  %11s  %9s" % (
            r["rows"], r["answer_s"], r["delivered_s"], r["rows_per_s"], r["peak_rss_mb"], r["payload_mb"],
            r["ok"], fmt(per_m(r["cpu_s"], r["rows"]), ".2f"),
            fmt(per_m(r.get("syscalls"), r["rows"]), ".0f"), fmt(per_m(r["minflt"], r["rows"]), ".0f")))
    for r in results:
        idle = r.get("idle_cpu_per_s")
        print("  %d rows: relay CPU %.2f s over %.2f s%s" % (
            r["rows"], r["cpu_s"], r["delivered_s"],
            "" if idle is None else "; idle before the POST %.3f CPU-s per s (not subtracted)" % idle))
        if r.get("syscalls") is not None:
            top = ", ".join("%s %.0f" % (n, per_m(c, r["rows"])) for n, c in r["syscall_top"])
            print("  %d rows: syscalls (%s, separate run) %d = %.0f per 1M rows%s" % (
                r["rows"], r["syscall_tool"], r["syscalls"], per_m(r["syscalls"], r["rows"]),
                "; top per 1M: " + top if top else ""))
            print("  %d rows: %s" % (r["rows"], r["traced"]))
    limits = [r for r in results if r.get("limit")]
    if not limits:
        return
    if source == "push":
        print("limit: the same body, sent the same way (%s), read by a plain socket-to-file copy "
              "(copy_limit_bench: 256 KiB recv, 1 MiB write); relay / limit. Both walls include this "
              "Python sender's own pace; the CPU-s are the receiver's alone" % framing)
    else:
        print("limit: the same document fetched from the same stand-in Looker by a plain socket-to-file "
              "copy (copy_limit_bench get: 256 KiB recv, 1 MiB write); relay / limit. The copy's wall and "
              "CPU-s run from its GET to the last byte on disk; the relay's to the last event at Segment")
    print("rows        figure                          relay       limit   ratio (times the limit's cost)")
    for r in limits:
        lim = r["limit"]
        rows = [
            ("answer s / copy s", r["answer_s"], lim["sender_s"], ".2f"),
            ("delivered s / copy s", r["delivered_s"], lim["sender_s"], ".2f"),
            ("rows/s (ratio limit/relay)", r["rows_per_s"], r["rows"] / lim["sender_s"] if lim["sender_s"] else None,
             ".0f"),
            ("CPU-s", r["cpu_s"], lim["cpu_s"], ".3f"),
            ("CPU-s per 1M rows", per_m(r["cpu_s"], r["rows"]), per_m(lim["cpu_s"], r["rows"]), ".3f"),
            ("syscalls per 1M rows", per_m(r.get("syscalls"), r["rows"]), per_m(lim["syscalls"], r["rows"]), ".0f"),
            ("peak RSS MB", r["peak_rss_mb"], lim["peak_rss_mb"], ".1f"),
            ("minflt per 1M rows", per_m(r["minflt"], r["rows"]), per_m(lim.get("minflt"), r["rows"]), ".0f"),
        ]
        for i, (name, a, b, spec) in enumerate(rows):
            q = ratio(b, a) if name.startswith("rows/s") else ratio(a, b)
            print("%-10s  %-26s  %10s  %10s  %6s" % (str(r["rows"]) if i == 0 else "", name, fmt(a, spec),
                                                     fmt(b, spec), q))
        print("%-10s  (copy: %d bytes, %d recv + %d write calls counted by the tool, its own wall %.3f s; "
              "relay syscalls %s)" % (
            "", lim["bytes"], lim["recv_calls"], lim["write_calls"], lim["wall_s"],
            "not counted (--syscalls)" if r.get("syscalls") is None else "from the separate traced run"))
