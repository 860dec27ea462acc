#!/usr/bin/env python3
"""Reads scripts/results/tls-cost.sh's runs and writes results/tls/.

    python3 scripts/results/tls_cost_table.py MANIFEST OUT

MANIFEST is the generator's tab-separated list of runs (round, server, mode,
way, port, users, json: the result ftpload wrote). OUT gets runs.csv (one row
per run, every round) and README.md (medians over the rounds of each run's
p50, ratios of TLS against plain, OUT/machine.txt quoted).
"""

import csv
import json
import statistics
import sys
from pathlib import Path

SERVERS = ["vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"]
MODES = ["passive", "epsv", "active", "eprt"]
WAYS = ["plain", "resumed", "full"]
METRICS = ["tcp_connect", "banner", "login", "tls_handshake", "session_setup",
           "data_setup", "data_tls_handshake", "first_byte", "transfer",
           "iteration"]
P99 = ["session_setup", "data_setup", "data_tls_handshake"]
# Means add up exactly (the mean of session_setup less banner is the mean of
# each session's difference), where p50s do not.
MEANS = ["banner", "session_setup"]

COLUMNS = (
    ["round", "server", "mode", "way", "port", "users", "duration_s",
     "sessions", "sessions_failed", "iterations", "iterations_failed",
     "transfers", "transfers_failed", "sessions_per_s", "errors",
     "error_classes"]
    + [f"p50_{m}_us" for m in METRICS]
    + [f"p99_{m}_us" for m in P99]
    + [f"mean_{m}_us" for m in MEANS] + ["after_banner_us"]
    + ["tls_control_handshakes", "tls_data_handshakes", "tls_data_resumed",
       "tls_data_unclean_close", "tls_negotiated", "result_json"]
)


def row(entry):
    path = Path(entry["json"])
    d = json.loads(path.read_text())
    m = d["modes"][entry["mode"]]
    c = m["counters"]
    t = m.get("tls") or {}
    errors = sum(e["count"] for e in m["errors"])
    classes = " ".join(
        f"{e['class']}" + (f"/{e['command']}" if e.get("command") else "")
        + (f"/{e['step']}" if e.get("step") else "")
        + (f"/{e['code']}" if e.get("code") else "")
        + f":{e['count']}"
        for e in m["errors"])
    r = {
        "round": int(entry["round"]),
        "server": entry["server"],
        "mode": entry["mode"],
        "way": entry["way"],
        "port": int(entry["port"]),
        "users": int(entry["users"]),
        "duration_s": round(d["duration_s"], 3),
        "sessions": c["sessions"],
        "sessions_failed": c["sessions_failed"],
        "iterations": c["iterations"],
        "iterations_failed": c["iterations_failed"],
        "transfers": c["transfers"],
        "transfers_failed": c["transfers_failed"],
        "sessions_per_s": round(c["sessions"] / d["duration_s"], 1) if d["duration_s"] else 0,
        "errors": errors,
        "error_classes": classes,
        "tls_control_handshakes": t.get("control_handshakes", 0),
        "tls_data_handshakes": t.get("data_handshakes", 0),
        "tls_data_resumed": t.get("data_resumed", 0),
        "tls_data_unclean_close": t.get("data_unclean_close", 0),
        "tls_negotiated": " ".join(f"{k}:{v}" for k, v in sorted(t.get("negotiated", {}).items())),
        "result_json": path.name,
    }
    for name in METRICS:
        r[f"p50_{name}_us"] = m["metrics"][name]["p50"] if name in m["metrics"] else 0
    for name in P99:
        r[f"p99_{name}_us"] = m["metrics"][name]["p99"] if name in m["metrics"] else 0
    for name in MEANS:
        r[f"mean_{name}_us"] = round(m["metrics"][name]["mean"], 1) if name in m["metrics"] else 0
    r["after_banner_us"] = round(r["mean_session_setup_us"] - r["mean_banner_us"], 1)
    return r


def dur(us):
    if us is None:
        return "—"
    if us < 1000:
        return f"{us:.0f} µs"
    return f"{us / 1000:.2f} ms"


def ratio(a, b):
    if a is None or not b:
        return "—"
    return f"{a / b:.2f}x"


def med(rows, key):
    values = [r[key] for r in rows]
    return statistics.median(values) if values else None


def per_run(rows):
    """data_resumed/data_handshakes of each run, in round order."""
    cells = [f"{r['tls_data_resumed']}/{r['tls_data_handshakes']}"
             for r in sorted(rows, key=lambda r: r["round"])]
    if cells and all(x == cells[0] for x in cells):
        return f"{cells[0]} (x{len(cells)})"
    return ", ".join(cells)


def main():
    manifest, out = Path(sys.argv[1]), Path(sys.argv[2])
    with manifest.open() as f:
        entries = list(csv.DictReader(f, delimiter="\t"))
    rows = [row(e) for e in entries]
    with (out / "runs.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow(r)

    groups = {}
    for r in rows:
        groups.setdefault((r["server"], r["mode"], r["way"]), []).append(r)

    def g(server, mode, way):
        return groups.get((server, mode, way), [])

    def m(server, mode, way, key):
        return med(g(server, mode, way), key)

    def after_banner(server, mode, way):
        return m(server, mode, way, "after_banner_us")

    def over_modes(server, key, way):
        """The median over the modes of each mode's median p50."""
        values = [m(server, mode, way, key) for mode in MODES]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    rounds = max((r["round"] for r in rows), default=0)
    machine = (out / "machine.txt").read_text().rstrip("\n")
    lines = []
    add = lines.append
    add("# What FTPS costs: plain FTP against TLS, resumed and full handshakes")
    add("")
    add("Generated by [scripts/results/tls-cost.sh](../../scripts/results/tls-cost.sh) "
        "(as root; `--help` for its options), which started each real server of the "
        "harness (`scripts/targets/ftpd`) as a plain instance and a TLS one, and ran "
        "ftpload against each, in each mode, three ways, in one invocation: "
        f"{rounds} rounds, the three ways in an order rotated each round. "
        "Figures are medians over the rounds of each run's p50; "
        "[runs.csv](runs.csv) holds every run. Do not edit: rerun the script.")
    add("")
    add("- **plain**: `ftp://`, the plain instance.")
    add("- **resumed**: `ftpes://` (AUTH TLS, then `PBSZ 0`, `PROT P`), the TLS "
        "instance, with the data channel resuming the control connection's TLS "
        "session (ftpload's default, `tls_resume = true`). pure-ftpd issues no "
        "TLS 1.3 session tickets, so there is nothing to resume with: its "
        "\"resumed\" runs are full handshakes too (0 resumed, below).")
    add("- **full**: the same with `[target] tls_resume = false`: a full handshake "
        "on every data channel. vsftpd and proftpd refuse such a channel by default "
        "(vsftpd's `require_ssl_reuse`: `522 SSL connection failed: session reuse "
        "required`; proftpd: `425`), so these runs go to an instance of theirs "
        "started with `FTPD_TLS_REUSE=no` (`require_ssl_reuse=NO`, `TLSOptions "
        "NoSessionReuseRequired`), otherwise configured the same; pure-ftpd and "
        "pyftpdlib never require reuse and take them on their TLS instance.")
    add("")
    add("Each session is login, `RETR 1k.bin`, QUIT, one session per iteration, "
        "the certificate checked (`--ca-file`, the harness's `ftpd cert`). What "
        "each figure spans ([docs/metrics.md](../../docs/metrics.md), "
        "[docs/result-schema.md](../../docs/result-schema.md)):")
    add("")
    add("- `session_setup`: from the connect to the 230, for FTPS with the `AUTH TLS` "
        "round trip, `tls_handshake`, and the `PBSZ 0` and `PROT P` round trips.")
    add("- `tls_handshake`: the control connection's handshake.")
    add("- `data_setup`: the data connection (PASV/EPSV/PORT/EPRT and the connect "
        "or accept); the data channel's TLS handshake is not in it.")
    add("- `data_tls_handshake`: the data channel's handshake, from the later of "
        "the connection and the transfer command sent.")
    add("- **data TLS / plain**: (`data_setup` + `data_tls_handshake`) of the TLS "
        "runs over `data_setup` of the plain ones, each a median p50, so a sum of "
        "medians, not the median of the sums.")
    add("")
    add("## Machine")
    add("")
    add("```")
    add(machine)
    add("```")
    add("")

    add("## Sessions: the control connection")
    add("")
    add("**after the banner** is `session_setup` less `banner`, as means (a mean "
        "difference is the difference of the means; p50s do not subtract), the "
        "median over the rounds: the part TLS adds to, without the wait for the "
        "banner, which on proftpd is most of `session_setup` and unrelated to TLS "
        "(below).")
    add("")
    add("| server | mode | session_setup plain | resumed | full | TLS / plain (resumed, full) "
        "| after the banner (mean) plain | resumed | full | TLS / plain after the banner (resumed, full) "
        "| tls_handshake resumed | full |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in SERVERS:
        for mode in MODES:
            if not any(g(s, mode, w) for w in WAYS):
                continue
            ss = [m(s, mode, w, "p50_session_setup_us") for w in WAYS]
            th = [m(s, mode, w, "p50_tls_handshake_us") for w in WAYS[1:]]
            ab = [after_banner(s, mode, w) for w in WAYS]
            add(f"| {s} | {mode} | {dur(ss[0])} | {dur(ss[1])} | {dur(ss[2])} "
                f"| {ratio(ss[1], ss[0])}, {ratio(ss[2], ss[0])} "
                f"| {dur(ab[0])} | {dur(ab[1])} | {dur(ab[2])} "
                f"| {ratio(ab[1], ab[0])}, {ratio(ab[2], ab[0])} "
                f"| {dur(th[0])} | {dur(th[1])} |")
    add("")

    add("## Data channels")
    add("")
    add("| server | mode | data_setup plain | resumed | full | data_tls_handshake resumed | full "
        "| data TLS / plain (resumed, full) | resumed / data handshakes per run: resumed | full |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    for s in SERVERS:
        for mode in MODES:
            if not any(g(s, mode, w) for w in WAYS):
                continue
            ds = [m(s, mode, w, "p50_data_setup_us") for w in WAYS]
            dt = [m(s, mode, w, "p50_data_tls_handshake_us") for w in WAYS[1:]]
            tot = [None if ds[i + 1] is None or dt[i] is None else ds[i + 1] + dt[i]
                   for i in range(2)]
            add(f"| {s} | {mode} | {dur(ds[0])} | {dur(ds[1])} | {dur(ds[2])} "
                f"| {dur(dt[0])} | {dur(dt[1])} "
                f"| {ratio(tot[0], ds[0])}, {ratio(tot[1], ds[0])} "
                f"| {per_run(g(s, mode, 'resumed'))} | {per_run(g(s, mode, 'full'))} |")
    add("")

    add("## Rate and errors")
    add("")
    add("Sessions/s are the sessions that logged in over the run's wall time, a "
        "median over the rounds; errors are summed over all rounds (their classes "
        "are in runs.csv). pyftpdlib's active modes ran one session at a time.")
    add("")
    add("| server | mode | users | sessions/s plain | resumed | full | errors plain | resumed | full |")
    add("|---|---|---|---|---|---|---|---|---|")
    for s in SERVERS:
        for mode in MODES:
            if not any(g(s, mode, w) for w in WAYS):
                continue
            users = sorted({r["users"] for w in WAYS for r in g(s, mode, w)})
            rate = [m(s, mode, w, "sessions_per_s") for w in WAYS]
            errs = [sum(r["errors"] for r in g(s, mode, w)) for w in WAYS]
            cells = [("—" if x is None else f"{x:.0f}") for x in rate]
            err_cells = [f"**{e}**" if e else "0" for e in errs]
            add(f"| {s} | {mode} | {','.join(map(str, users))} | " + " | ".join(cells)
                + " | " + " | ".join(err_cells) + " |")
    add("")

    add("## Reading it")
    add("")
    add("Medians over the four modes of the figures above, per server:")
    add("")
    for s in SERVERS:
        th = over_modes(s, "p50_tls_handshake_us", "resumed")
        dr = over_modes(s, "p50_data_tls_handshake_us", "resumed")
        df = over_modes(s, "p50_data_tls_handshake_us", "full")
        resumed = sum(r["tls_data_resumed"] for r in rows if r["server"] == s and r["way"] == "resumed")
        handshakes = sum(r["tls_data_handshakes"] for r in rows if r["server"] == s and r["way"] == "resumed")
        ab = [statistics.median([v for v in (after_banner(s, mode, w) for mode in MODES) if v is not None] or [0])
              for w in WAYS]
        add(f"- **{s}**: the control connection's handshake {dur(th)}; session setup after "
            f"the banner {dur(ab[0])} plain, {dur(ab[1])} with TLS ({ratio(ab[1], ab[0])}). "
            f"A data channel's handshake {dur(dr)} resumed, {dur(df)} full "
            f"({ratio(df, dr)}); {resumed} of {handshakes} data channels resumed in the "
            "resumed runs.")
    add("")
    add("- **pure-ftpd never resumes**: it issues no TLS 1.3 session tickets "
        "(targets/README.md, \"Session reuse\"), so its \"resumed\" runs do a full "
        "handshake on every data channel, like its \"full\" ones.")
    ban = [statistics.median([m("proftpd", mode, w, "p50_banner_us") or 0 for mode in MODES])
           for w in WAYS]
    add(f"- **proftpd's banner** (p50 {dur(ban[0])} plain, {dur(ban[1])} and {dur(ban[2])} "
        "with TLS, medians over the modes) is its master process, not TLS: after each "
        "session ends, the SIGCHLD interrupts the master's `select()`, and on that "
        "`EINTR` it sleeps 200 ms, often twice, before it accepts again (strace: "
        "`pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=200000000})`; proftpd's "
        "`PR_TUNABLE_EINTR_RETRY_INTERVAL`). With one session per iteration that wait "
        "lands on a new session's banner, and caps proftpd's rate (the sessions/s "
        "above). Compare proftpd on the \"after the banner\" columns.")
    add("- **vsftpd and proftpd without reuse**: their \"full\" runs are on instances "
        "with the session-reuse requirement off; with it on, as started by default, "
        "such a client gets no data channel at all (tests/interop.rs checks vsftpd's "
        "522).")
    add("")
    add("## runs.csv")
    add("")
    add("One row per run, every round: `round`, `server`, `mode`, `way` (plain, "
        "resumed, full), the instance's control `port`, `users`, the counters, "
        "`sessions_per_s`, `errors` and `error_classes` (class/command/step/code:count), "
        "the p50 of every timing metric, the p99 of `session_setup`, `data_setup` "
        "and `data_tls_handshake`, the mean of `banner` and `session_setup` and "
        "`after_banner_us` (their difference), all in microseconds, the `tls` section "
        "(`tls_data_resumed` of `tls_data_handshakes`, per run), and the name of the "
        "result JSON (kept under `target/tls-cost/runs/`, not committed).")
    add("")
    (out / "README.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
