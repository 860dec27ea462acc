#!/usr/bin/env python3
"""Reads scripts/results/server-cost.sh's runs and writes results/server-cost/.

    python3 scripts/results/server_cost_table.py MANIFEST OUT

MANIFEST is the generator's tab-separated list of runs (round, server, kind,
users, json: the result ftpload wrote). OUT gets runs.csv (one row per run)
and README.md: per server and mode, medians over the rounds of the server's
CPU per session, its CPU per data channel beyond a session's (the mode's
CPU per session less the login-only run's, in the same round), memory,
processes and descriptors per session logged in at once; and each active
mode against its passive one.
"""

import csv
import json
import statistics
import sys
from pathlib import Path

SERVERS = ["embedded", "vsftpd", "pure-ftpd", "proftpd", "pyftpdlib"]
KINDS = ["login", "passive", "epsv", "active", "eprt"]
COLUMNS = ["round", "server", "kind", "users", "duration_s", "sessions",
           "sessions_failed", "channels", "errors", "server_source",
           "server_cpu_s", "cpu_ms_per_session", "memory_bytes_per_session",
           "processes_per_session", "fds_per_session", "memory_peak_bytes",
           "processes_peak", "result_json"]


def row(rnd, server, kind, users, path):
    r = json.loads(Path(path).read_text())
    modes = r["modes"].values()
    s = r.get("server") or {}
    per = s.get("per_session", {})
    return {
        "round": int(rnd), "server": server, "kind": kind, "users": int(users),
        "duration_s": r["duration_s"],
        "sessions": sum(m["counters"]["sessions"] for m in modes),
        "sessions_failed": sum(m["counters"]["sessions_failed"] for m in modes),
        "channels": sum(m["counters"].get("channels_opened") or 0 for m in modes),
        "errors": sum(e["count"] for m in modes for e in m["errors"]),
        "server_source": s.get("source", ""),
        "server_cpu_s": s.get("cpu_s"),
        "cpu_ms_per_session": per.get("cpu_ms"),
        "memory_bytes_per_session": per.get("memory_bytes"),
        "processes_per_session": per.get("processes"),
        "fds_per_session": per.get("fds"),
        "memory_peak_bytes": s.get("memory_peak_bytes"),
        "processes_peak": s.get("processes_peak"),
        "result_json": path,
    }


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(manifest, out):
    out = Path(out)
    rows = [row(*line.rstrip("\n").split("\t"))
            for line in Path(manifest).read_text().splitlines() if line]
    with (out / "runs.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    by = {}
    for r in rows:
        by.setdefault((r["server"], r["kind"]), []).append(r)
    login = {(r["server"], r["round"]): r["cpu_ms_per_session"]
             for r in rows if r["kind"] == "login"}

    def channel_ms(r):
        # A session's CPU beyond a login-only session's of the same server and
        # round, over the session's data channels (ten each).
        base = login.get((r["server"], r["round"]))
        if (r["kind"] == "login" or base is None or r["cpu_ms_per_session"] is None
                or not r["channels"] or not r["sessions"]):
            return None
        return (r["cpu_ms_per_session"] - base) / (r["channels"] / r["sessions"])

    rounds = max(r["round"] for r in rows)
    lines = [
        "# What the server pays, per session and per data channel",
        "",
        "`scripts/results/server-cost.sh` "
        f"({rounds} rounds; [machine.txt](machine.txt)): each server in each "
        "mode, each session logging in, downloading 1 KiB ten times (ten data "
        "channels) and quitting, 4 clients at a time (pyftpdlib in active and "
        "EPRT: 1), and `login` sessions that open no channel. The server as "
        "ftpload's watch reads it by default (the result's `server`): a real "
        "server's process tree from `/proc`, found by its listening socket "
        "(CPU with its reaped children's; memory as PSS); the embedded "
        "target's runtime threads (CPU only). Medians over the rounds; every "
        "run is in [runs.csv](runs.csv).",
        "",
        "- **CPU / session**: the server's CPU over the run over the sessions.",
        "- **CPU / channel**: a mode's CPU per session less the login-only "
        "sessions' of the same round, over the channels of a session (10): "
        "what one data channel (PASV or EPSV and an accept, PORT or EPRT and "
        "a connect back, RETR of 1 KiB) adds.",
        "- **memory, processes, fds / session**: their growth from the start "
        "to the peak over the most sessions logged in at once.",
        "",
        "| server | mode | sessions (median; least–most) | errors (all rounds) "
        "| CPU / session ms | CPU / channel ms (least–most) "
        "| memory / session KiB | processes / session | fds / session |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for server in SERVERS:
        for kind in KINDS:
            rs = by.get((server, kind))
            if not rs:
                continue
            mem = med([r["memory_bytes_per_session"] for r in rs])
            sessions = [r["sessions"] for r in rs]
            channels = [c for c in (channel_ms(r) for r in rs) if c is not None]
            spread = (f" ({min(channels):.3f}–{max(channels):.3f})"
                      if len(channels) > 1 else "")
            lines.append(
                f"| {server} | {kind} | {fmt(med(sessions), '.0f')} "
                f"({min(sessions)}–{max(sessions)}) "
                f"| {sum(r['errors'] for r in rs)} "
                f"| {fmt(med([r['cpu_ms_per_session'] for r in rs]), '.3f')} "
                f"| {fmt(med(channels), '.3f')}{spread} "
                f"| {fmt(None if mem is None else mem / 1024, '.1f')} "
                f"| {fmt(med([r['processes_per_session'] for r in rs]), '.2f')} "
                f"| {fmt(med([r['fds_per_session'] for r in rs]), '.2f')} |")
    lines += ["", "## Active against passive, per data channel", "",
              "The CPU one data channel adds (median over the rounds), "
              "the server connecting back against the server accepting:", "",
              "| server | passive ms | active ms | active / passive "
              "| epsv ms | eprt ms | eprt / epsv |",
              "|---|---|---|---|---|---|---|"]
    for server in SERVERS:
        c = {k: med([channel_ms(r) for r in by.get((server, k), [])]) for k in KINDS}

        def ratio(a, b):
            return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"
        lines.append(
            f"| {server} | {fmt(c['passive'], '.3f')} | {fmt(c['active'], '.3f')} "
            f"| {ratio(c['active'], c['passive'])} | {fmt(c['epsv'], '.3f')} "
            f"| {fmt(c['eprt'], '.3f')} | {ratio(c['eprt'], c['epsv'])} |")
    lines += ["", "The machine (2 cores) runs the generator and the server "
              "side by side, and CPU is read in 10 ms ticks: read the "
              "per-channel figures, a difference of two over ten channels, "
              "to within about 0.05 ms, and trends over servers rather than "
              "one cell. A channel's CPU is all the server spent while its "
              "sessions ran, over their channels: where a mode's sessions "
              "come slowly (the least–most of sessions shows it), what the "
              "server does meanwhile (retrying a bind, polling) is in it. "
              "The login-only run is the baseline: a session's own CPU, "
              "its password check and, for the forking servers, its "
              "processes.", "",
              "`vsftpd-passive.json` is one of the runs whole (round 1, "
              "vsftpd, passive), for its `server` block and the server's "
              "seconds in its `timeline`; the generator keeps the rest under "
              "`target/server-cost/runs/`.", ""]
    (out / "README.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:])
