"""Reads scripts/bench-peers.sh's raw runs and writes results/peers/.

    report.py WORK OUT

WORK/runs/<run>/ and WORK/sink/<run>/ hold each run's raw output (meta, time,
rc, the tool's own files); OUT gets runs.csv and runs.json (one row per run,
every round), sink.csv and sink.json, and README.md (medians over the rounds,
ratios against ftpload and the floor, machine.txt quoted). When WORK has no
runs (a --only sink run), the rows of OUT/runs.json are kept, and the same
for the sink.
"""

import csv
import json
import os
import statistics
import sys

GIB = 1 << 30

# What each tool's own latency figure is: (label of a, label of b, meaning).
LATENCY = {
    "ftpload": ("p50", "p99", "`iteration`: from taking the session up (before connect) to the RETR's 226; QUIT not included"),
    "floor": ("p50", "p99", "connect to the QUIT's 221, measured by the floor client"),
    "curl": ("p50", "p99", "curl's own `time_total` per transfer (-w), process start not included"),
    "ftpbench": ("login", "RETR", "ftpbench's phase timers per batch of C clients, mean: C connect+logins one after the other; RETR on all C at once (to every 226)"),
    "jmeter": ("p50", "p99", "the JTL's `elapsed` per sample: connect, login, RETR, logout"),
    "locust": ("p50", "p99", "Locust's response time: the RETR only (retrbinary), not connect or login"),
    "ftpbenchmark": ("avr", "max", "its download-time over its last 5 s window: login to close; `avr` is its running value (each new time averaged with the last avr)"),
}

NOTES = {
    "ftpload": "`target/release/ftpload run scenarios/peers-*.toml --users C --iterations N`; includes its unmeasured set-up session and writing its result.",
    "floor": "`examples/floor.rs`: blocking `std::net`, C threads, no runtime; the least a client spends here.",
    "curl": "one `curl` process per session in `xargs -P C`: PASV with `--disable-epsv`, PORT with `-P 127.0.0.1 --disable-eprt`; it also sends PWD and SIZE. Peak RSS is one curl's.",
    "ftpbench": "pyftpdlib's `ftpbench`: its own connect, RETR (asyncore) and QUIT phases in batches of C, run by `scripts/peers/ftpbench_batches.py` (its `concurrence` benchmark as shipped STORs one file from every client at once, which never finished against vsftpd). PASV only.",
    "jmeter": "JMeter 2.13 (Debian) FTP sampler, C threads x N/C loops, started through `scripts/peers/JMeterXStream.java` (XStream types allowed). Always PASV. Its CPU includes the JVM's start-up.",
    "locust": "Locust + locust-plugins `FtpUser`, C users, `-i N`; active mode is FtpUser's default. It writes each download to disk (removed after each task) and closes without QUIT.",
    "ftpbenchmark": "ftpbenchmark 1.1.0 under gevent, C at a time, through `scripts/peers/ftpbenchmark_gevent.py` (monkey-patching, ftplib's default port set to the server's, N sessions, the server's file). PASV only; no QUIT.",
}

ORDER = ["ftpload", "floor", "curl", "ftpbench", "jmeter", "locust", "ftpbenchmark"]


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def kv(text):
    return dict(line.split("=", 1) for line in (text or "").splitlines() if "=" in line)


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, round((len(v) - 1) * p))]


def last_line(text):
    lines = [x.strip() for x in (text or "").splitlines() if x.strip()]
    return lines[-1][:200] if lines else ""


def parse_run(d, sink=False):
    meta = kv(read(os.path.join(d, "meta")))
    row = {
        "run": os.path.basename(d),
        "round": int(os.path.basename(d).split("-")[0][1:]),
        "tool": meta.get("tool"),
        "mode": meta.get("mode"),
        "file": meta.get("file"),
        "n": int(meta.get("n", 0)),
        "concurrency": int(meta.get("concurrency", 0)),
        "ok": 0,
        "failed": 0,
        "wall_s": None,
        "user_s": None,
        "sys_s": None,
        "maxrss_kb": None,
        "rc": None,
        "lat_a_ms": None,
        "lat_b_ms": None,
        "bytes_per_s": None,
        "why": "",
    }
    cannot = read(os.path.join(d, "cannot"))
    if cannot:
        row["why"] = cannot.strip()
        row["failed"] = row["n"]
        return row
    t = (read(os.path.join(d, "time")) or "").split()
    if len(t) == 4:
        row["wall_s"], row["user_s"], row["sys_s"] = float(t[0]), float(t[1]), float(t[2])
        row["maxrss_kb"] = int(t[3])
    row["rc"] = int((read(os.path.join(d, "rc")) or "-1").strip())
    try:
        parse_tool(d, row, sink)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        row["why"] = "no result to read: %s" % e
    if row["ok"] + row["failed"] < row["n"]:
        row["failed"] = row["n"] - row["ok"]
    if row["rc"] not in (0, None) and not row["why"]:
        why = last_line(read(os.path.join(d, "stderr")))
        if row["rc"] == 124:
            row["why"] = "run %s timed out (after %d of %d sessions): wall time includes the wait" % (
                row["run"], row["ok"], row["n"])
        elif row["failed"] or row["ok"] == 0:
            row["why"] = "exit %d: %s" % (row["rc"], why)
    return row


def parse_tool(d, row, sink):
    tool = row["tool"]
    if tool == "ftpload":
        r = json.load(open(os.path.join(d, "result.json")))
        m = r["modes"][row["mode"]]
        c = m["counters"]
        row["ok"] = c["iterations"]
        row["failed"] = c["iterations_failed"] + (r.get("cut_off") or 0)
        it = m["metrics"]["iteration"]
        row["lat_a_ms"], row["lat_b_ms"] = it["p50"] / 1000, it["p99"] / 1000
        if sink:
            tr = m["metrics"]["transfer"]
            row["bytes_per_s"] = c["bytes_down"] / (tr["p50"] / 1e6) if tr["count"] else None
    elif tool == "floor":
        j = json.loads(last_line(read(os.path.join(d, "stdout"))))
        row["ok"], row["failed"] = j["ok"], j["failed"]
        row["lat_a_ms"], row["lat_b_ms"] = j["session_us_p50"] / 1000, j["session_us_p99"] / 1000
        if sink and j["wall_s"] > 0:
            row["bytes_per_s"] = j["bytes"] / j["wall_s"]
    elif tool == "curl":
        totals = []
        for line in (read(os.path.join(d, "stdout")) or "").splitlines():
            f = line.split()
            if sink and len(f) == 6 and f[0] == "0" and f[1] == "226":
                row["ok"] += 1
                totals.append(float(f[5]) * 1000)
                row["bytes_per_s"] = float(f[3])
            elif not sink and len(f) == 4 and f[0] == "0" and f[1] == "226":
                row["ok"] += 1
                totals.append(float(f[3]) * 1000)
        row["lat_a_ms"], row["lat_b_ms"] = pct(totals, 0.5), pct(totals, 0.99)
        errors = last_line(read(os.path.join(d, "curl-errors")))
        if errors and row["ok"] < row["n"]:
            row["why"] = "curl: " + errors
    elif tool == "ftpbench":
        j = json.load(open(os.path.join(d, "ftpbench.json")))
        row["ok"], row["failed"] = j["ok"], j["failed"]
        b = max(1, j["batches"])
        row["lat_a_ms"], row["lat_b_ms"] = j["connect_login_s"] / b * 1000, j["retr_s"] / b * 1000
        if j.get("first_error"):
            row["why"] = "ftpbench: " + j["first_error"][:200]
    elif tool == "jmeter":
        with open(os.path.join(d, "samples.jtl")) as f:
            rows = list(csv.DictReader(f))
        elapsed = [float(x["elapsed"]) for x in rows if x.get("success") == "true"]
        row["ok"] = len(elapsed)
        loops = -(-row["n"] // row["concurrency"])
        row["n"] = loops * row["concurrency"]
        row["failed"] = row["n"] - row["ok"]
        row["lat_a_ms"], row["lat_b_ms"] = pct(elapsed, 0.5), pct(elapsed, 0.99)
        bad = [x.get("responseMessage", "") for x in rows if x.get("success") != "true"]
        if bad:
            row["why"] = "jmeter: " + bad[0][:200]
    elif tool == "locust":
        j = json.load(open(os.path.join(d, "locust.json")))
        row["ok"] = j["requests"] - j["failures"]
        row["failed"] = j["failures"] + j["task_exceptions"]
        row["lat_a_ms"], row["lat_b_ms"] = j["retr_ms_p50"], j["retr_ms_p99"]
    elif tool == "ftpbenchmark":
        j = json.load(open(os.path.join(d, "ftpbenchmark.json")))
        row["ok"] = j["complete"]
        row["failed"] = j["timeout"] + j["rejected"]
        if j["download_s_avr"] is not None:
            row["lat_a_ms"], row["lat_b_ms"] = j["download_s_avr"] * 1000, j["download_s_max"] * 1000


def derived(row):
    cpu = None
    if row["user_s"] is not None:
        cpu = row["user_s"] + row["sys_s"]
    row["cpu_s"] = cpu
    row["cpu_per_1000_s"] = cpu / row["ok"] * 1000 if cpu is not None and row["ok"] else None
    row["sessions_per_s"] = row["ok"] / row["wall_s"] if row["ok"] and row["wall_s"] else None
    row["cpu_per_gib_s"] = None
    if row["file"] == "1g.bin" and cpu is not None and row["ok"]:
        row["cpu_per_gib_s"] = cpu / row["ok"]  # each run moves one GiB per session
    return row


def collect(work, out, sub, name):
    base = os.path.join(work, sub)
    if os.path.isdir(base):
        rows = [derived(parse_run(os.path.join(base, d), sink=(sub == "sink"))) for d in sorted(os.listdir(base))]
    else:
        rows = json.loads(read(os.path.join(out, name + ".json"), "[]"))
    if rows:
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
        with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
    return rows


def med(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(x, digits=2):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return "%.0f" % x
    return ("%." + str(digits) + "f") % x


def ratio(x, ref):
    if x is None or not ref:
        return "–"
    return fmt(x / ref) + "x"


def groups(rows):
    g = {}
    for r in rows:
        g.setdefault((r["file"], r["tool"], r["mode"]), []).append(r)
    return g


def peers_tables(rows):
    out = []
    g = groups(rows)
    for file in ["1k.bin", "1m.bin"]:
        keys = [k for k in g if k[0] == file]
        if not keys:
            continue
        n = max(r["n"] for k in keys for r in g[k])
        out.append("### %s: sessions of login, RETR %s, QUIT (N = %d per run)\n" % (file, file, n))
        out.append(
            "| tool | mode | sessions ok / failed (all rounds) | client CPU s per 1,000 sessions | vs ftpload | vs floor | peak RSS MB | sessions/s | its latency, ms (a / b) | |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        keys.sort(key=lambda k: (k[2] != "passive", ORDER.index(k[1]) if k[1] in ORDER else 99))
        for k in keys:
            rs = g[k]
            tool, mode = k[1], k[2]
            cpu = med(rs, "cpu_per_1000_s")
            ref = med(g.get((file, "ftpload", mode), []), "cpu_per_1000_s")
            flo = med(g.get((file, "floor", mode), []), "cpu_per_1000_s")
            ok = sum(r["ok"] for r in rs)
            failed = sum(r["failed"] for r in rs)
            rss = med(rs, "maxrss_kb")
            la, lb = med(rs, "lat_a_ms"), med(rs, "lat_b_ms")
            names = LATENCY.get(tool, ("a", "b", ""))
            why = "; ".join(sorted({r["why"] for r in rs if r["why"]}))
            lat = "%s %s / %s %s" % (names[0], fmt(la), names[1], fmt(lb)) if la is not None else "–"
            out.append(
                "| %s | %s | %d / %s | %s | %s | %s | %s | %s | %s | %s |"
                % (
                    tool,
                    mode,
                    ok,
                    ("**%d**" % failed) if failed else "0",
                    fmt(cpu, 3),
                    ratio(cpu, ref),
                    ratio(cpu, flo),
                    fmt(rss / 1024, 1) if rss else "–",
                    fmt(med(rs, "sessions_per_s"), 1),
                    lat,
                    why,
                )
            )
        out.append("")
    return out


def sink_table(rows):
    if not rows:
        return []
    g = {}
    for r in rows:
        g.setdefault((r["tool"], r["file"]), []).append(r)
    out = [
        "| tool | runs ok / failed | bytes/s (its own) | client CPU s per GiB | CPU s of one 1 KiB session | CPU s per GiB without it | vs ftpload (without) | peak RSS MB | wall s | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def net(tool):
        per_gib = med(g.get((tool, "1g.bin"), []), "cpu_per_gib_s")
        fixed = med(g.get((tool, "1k.bin"), []), "cpu_s")
        return per_gib, fixed, (per_gib - fixed if per_gib is not None and fixed is not None else None)

    ref = net("ftpload")[2]
    for tool in ["ftpload", "curl", "floor"]:
        rs = g.get((tool, "1g.bin"), [])
        if not rs:
            continue
        small = g.get((tool, "1k.bin"), [])
        per_gib, fixed, without = net(tool)
        bps = med(rs, "bytes_per_s")
        rss = med(rs, "maxrss_kb")
        every = rs + small
        failed = sum(r["failed"] for r in every)
        why = "; ".join(sorted({r["why"] for r in every if r["why"]}))
        out.append(
            "| %s | %d / %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                tool,
                sum(r["ok"] for r in every),
                ("**%d**" % failed) if failed else "0",
                ("%.2f GiB/s" % (bps / GIB)) if bps else "–",
                fmt(per_gib, 3),
                fmt(fixed, 3),
                fmt(without, 3),
                ratio(without, ref),
                fmt(rss / 1024, 1) if rss else "–",
                fmt(med(rs, "wall_s")),
                why,
            )
        )
    out.append("")
    out.append(
        "Medians over the rounds. Bytes/s as each reports it: ftpload's `transfer` p50 (RETR to the end of the data) over the bytes; "
        "curl's `speed_download`; the floor's bytes over its whole session (connect to 221). "
        "Client CPU per GiB is the whole process's user + sys for one session moving 1 GiB, start-up, login and exit included; "
        "the next column is the same tool's run of one session of 1k.bin, and the one after the difference: "
        "what moving the GiB itself cost."
    )
    out.append("")
    return out


def goals(rows, sink):
    """Issue 14's goals, read off the medians: ftpload within 1.2x of the
    floor; at least 3x less CPU per session than every peer on 1 KiB; no more
    CPU per byte than curl on 1 GiB."""
    g = groups(rows)
    out = ["## Against issue 14's goals", ""]
    for file in ["1k.bin", "1m.bin"]:
        for mode in ["passive", "active"]:
            fl = med(g.get((file, "ftpload", mode), []), "cpu_per_1000_s")
            fo = med(g.get((file, "floor", mode), []), "cpu_per_1000_s")
            if fl is None or not fo:
                continue
            peers = [
                (med(g[k], "cpu_per_1000_s"), k[1])
                for k in g
                if k[0] == file and k[2] == mode and k[1] not in ("ftpload", "floor")
            ]
            peers = [p for p in peers if p[0] is not None]
            line = "- %s, %s: ftpload %.2fx the floor's CPU per session (goal: at most 1.2x)" % (file, mode, fl / fo)
            if peers:
                best, name = min(peers)
                line += "; the least costly peer, %s, %.2fx ftpload's%s, and %.2fx the floor's" % (
                    name,
                    best / fl,
                    " (goal: at least 3x)" if file == "1k.bin" else "",
                    best / fo,
                )
            out.append(line + ".")
    s = {}
    for r in sink:
        s.setdefault((r["tool"], r["file"]), []).append(r)

    def net(tool):
        a = med(s.get((tool, "1g.bin"), []), "cpu_per_gib_s")
        b = med(s.get((tool, "1k.bin"), []), "cpu_s")
        return a, (a - b if a is not None and b is not None else None)

    (fa, fn), (ca, cn) = net("ftpload"), net("curl")
    if fa and ca:
        out.append(
            "- 1 GiB RETR: ftpload %.2fx curl's CPU per GiB, %s without each one's 1 KiB session (goal: at most 1x)."
            % (fa / ca, ("%.2fx" % (fn / cn)) if fn and cn else "–")
        )
    out.append("")
    return out


def main():
    work, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rows = collect(work, out, "runs", "runs")
    sink = collect(work, out, "sink", "sink")
    machine = read(os.path.join(out, "machine.txt"), "").rstrip()
    rounds = max([r["round"] for r in rows] or [0])
    conc = max([r["concurrency"] for r in rows] or [0])
    lines = [
        "# ftpload beside its peers",
        "",
        "Generated by `scripts/bench-peers.sh` (as root; `--help` for its options), which"
        " ran every tool below against the same vsftpd on loopback (through"
        " `scripts/targets/ftpd`), in one invocation, over %d rounds in an order rotated each"
        " round, with %d sessions at a time for every tool. Figures are medians over the"
        " rounds; `runs.csv` / `runs.json` hold every run, `sink.csv` / `sink.json` the sink's."
        " Do not edit: rerun the script." % (rounds, conc),
        "",
        "**Client CPU** is user + sys of the tool's whole process tree (bash's `time`,"
        " which counts every waited-for descendant, as GNU `time` does), start-up included, divided by the sessions that"
        " succeeded. On loopback the client's CPU also pays for part of the server's TCP work"
        " (the kernel does the receiving side's work in the sender's context), which is"
        " why the floor is not near zero. **Peak RSS** is the largest single process's (GNU `time`'s %M)."
        " **Sessions/s** are the sessions that succeeded over the whole process's wall time"
        " (start-up included); vsftpd's login (PAM, SHA-512 crypt, a fork per session) bounds"
        " them on this 2-core machine, so compare tools by CPU, not by rate. Failed sessions"
        " are counted and shown in bold; a tool that could not run says why in the last"
        " column.",
        "",
        "## Machine",
        "",
        "```",
        machine,
        "```",
        "",
    ]
    lines += goals(rows, sink)
    lines += ["## Sessions", ""]
    lines += peers_tables(rows)
    lines += ["### What each tool is, and what its latency means", ""]
    lines += ["| tool | how it ran | its latency (a / b) |", "|---|---|---|"]
    for tool in ORDER:
        a, b, what = LATENCY[tool]
        lines.append("| %s | %s | %s / %s: %s |" % (tool, NOTES[tool], a, b, what))
    lines += ["", "## Throughput sink: one RETR of 1 GiB", ""]
    lines += sink_table(sink) or ["(not run)", ""]
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main()
