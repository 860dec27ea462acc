"""Runs ftpbenchmark 1.1.0 (PyPI) for scripts/bench-peers.sh.

ftpbenchmark as published cannot run this workload unchanged; this wrapper
changes only what stops it, and leaves its session code (connect, login,
TYPE I, PASV, RETR, read, close) as it is:

- it never monkey-patches gevent, so its `-c` gives no concurrency: patched
  here first, before anything imports socket;
- it ignores the port (`ftplib.FTP(host)` always connects to 21): ftplib's
  default port is set here to FTPBENCH_PORT;
- it runs for whole minutes (`--maxrun`), not N sessions: here its pool
  stops spawning after FTPBENCH_SESSIONS sessions and the run ends when those
  finish (gevent's Pool.spawn is wrapped; KeyboardInterrupt is how
  ftpbenchmark itself ends a run, and it is caught there);
- its download benchmark first uploads its own files of whole MiB: here it
  downloads FTPBENCH_FILE, already on the server, and deletes nothing.

What stays ftpbenchmark's: it sends no QUIT (it closes the socket), it
counts complete, timeout and rejected requests, and times each download
(login to close) as min, "avr" and max over its last 5-second window ("avr"
is its running value: each new time averaged with the previous "avr", so
recent sessions weigh most). Its screen lines stop before the last
sessions, so at exit this wrapper writes those counters and times as they
stand to FTPBENCH_JSON.
"""

from gevent import monkey

monkey.patch_all()

import ftplib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import gevent.pool  # noqa: E402
from ftpbenchmark import ftpbenchmark as fb  # noqa: E402

ftplib.FTP.port = int(os.environ["FTPBENCH_PORT"])
SESSIONS = int(os.environ["FTPBENCH_SESSIONS"])
FILE = os.environ["FTPBENCH_FILE"]

_spawned = [0]
_spawn = gevent.pool.Pool.spawn


def spawn(self, *args, **kwargs):
    if _spawned[0] >= SESSIONS:
        self.join()
        raise KeyboardInterrupt
    _spawned[0] += 1
    return _spawn(self, *args, **kwargs)


def upload(self, path, data):
    self.upload_files.append(FILE)


_stats = []
_parse_stats = fb.parse_stats


def parse_stats(args):
    _stats.append(_parse_stats(args))
    return _stats[-1]


def totals():
    s = _stats[0]
    t = s.downloadtime
    with open(os.environ["FTPBENCH_JSON"], "w") as f:
        json.dump(
            {
                "total": s.request.total.value,
                "complete": s.request.complete.value,
                "timeout": s.request.timeout.value,
                "rejected": s.request.rejected.value,
                "download_s_min": t.min.value,
                "download_s_avr": t.average.value,
                "download_s_max": t.max.value,
            },
            f,
        )


gevent.pool.Pool.spawn = spawn
fb.parse_stats = parse_stats
fb.FTPBenchmark.upload = upload
fb.FTPBenchmark.clean = lambda self: None

if __name__ == "__main__":
    sys.argv[0] = "ftpbenchmark"
    rc = fb.main()
    totals()
    sys.exit(rc)
