#!/usr/bin/env python3
"""Markdown table of the exhaustion runs in a directory (results/exhaustion/).

One row per result file: the range, the first exhaustion event exactly as
ftpload recorded it (`channels.exhaustion`), and, from the per-second
timeline, the first second in which more channels were held at once than the
range has ports (for servers that never refuse, the knee itself).

    python3 scripts/results/exhaustion_table.py results/exhaustion > table.md
"""
import json
import sys
from pathlib import Path

ORDER = ["passive-embedded", "passive-vsftpd", "passive-pure-ftpd",
         "passive-proftpd", "passive-pyftpdlib", "active-embedded"]


def size(r):
    a, b = (int(x) for x in r.split("-"))
    return b - a + 1


def row(path):
    d = json.loads(path.read_text())
    (mode, m), = d["modes"].items()
    c = m["channels"]
    server = path.stem.split("-", 1)[1]
    if mode in ("active", "eprt"):
        rng, whose = d["scenario"]["data"]["active_ports"], "client"
    else:
        rng, whose = c["declared_range"], "server"
    n = size(rng)
    e = c["exhaustion"]
    over = next((i for i in d["timeline"]
                 if i["modes"][mode]["peak_pending"] > n), None)
    errors = sum(x["count"] for x in m["errors"])
    cells = [
        f"{server} ({mode})",
        f"{whose} {rng} ({n})",
        f"{e['at_s']:.1f} s" if e else "-",
        f"{e['clients']}" if e else "-",
        f"{e['pending']} / {e['open']}" if e else "-",
        (f"{e['signature']}: `{e['evidence']}`" if e else "none"),
        f"{c['peak_pending']}",
        (f"{over['t_s'] - 1}-{over['t_s']} s, {over['clients']} clients"
         if over else "never"),
        f"{c['outside_declared_range']}",
        f"{errors}",
    ]
    return "| " + " | ".join(cells) + " |"


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "results/exhaustion")
    files = sorted(d.glob("*.json"),
                   key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER
                                  else len(ORDER), p.stem))
    print("| run | range (ports) | first sign at | clients running | "
          "channels pending / open | what the server (or the OS) answered | "
          "peak channels held | more held than ports, first in | "
          "outside range | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p in files:
        print(row(p))


if __name__ == "__main__":
    main()
