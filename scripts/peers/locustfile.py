"""Locust with locust-plugins' FtpUser, for scripts/bench-peers.sh.

Each task is one session as FtpUser makes it: connect and log in (ftplib),
TYPE I and PASV or PORT (LOCUST_FTP_MODE), RETR of LOCUST_FTP_FILE written to
a file under LOCUST_FTP_DIR (FtpUser always writes downloads to disk; the
file is removed after each task), then close without QUIT (FtpUser's
disconnect). locust-plugins' --iterations bounds the run; Locust reports the
RETR's time only (`get` requests), with percentiles. At exit its totals go
to LOCUST_FTP_JSON: its CSV files are written on a timer and may miss the
last requests.
"""

import json
import os

import locust_plugins  # noqa: F401  (adds --iterations)
from locust import constant, events, task
from locust_plugins.users.ftp import FtpUser

PORT = int(os.environ["LOCUST_FTP_PORT"])
USER = os.environ["LOCUST_FTP_USER"]
PASSWORD = os.environ["LOCUST_FTP_PASS"]
FILE = os.environ["LOCUST_FTP_FILE"]
DIR = os.environ["LOCUST_FTP_DIR"]
PASSIVE = os.environ.get("LOCUST_FTP_MODE", "passive") == "passive"


class Session(FtpUser):
    wait_time = constant(0)

    @task
    def session(self):
        self.client.connect(user=USER, password=PASSWORD, port=PORT, passive_mode=PASSIVE)
        try:
            path = self.client.download_file(FILE, DIR)
            try:
                os.remove(path)
            except OSError:
                pass
        finally:
            self.client.disconnect()


@events.quitting.add_listener
def _totals(environment, **_kwargs):
    t = environment.stats.total
    errors = sum(e["count"] for e in environment.runner.exceptions.values())
    with open(os.environ["LOCUST_FTP_JSON"], "w") as f:
        json.dump(
            {
                "requests": t.num_requests,
                "failures": t.num_failures,
                "task_exceptions": errors,
                "retr_ms_p50": t.get_response_time_percentile(0.5),
                "retr_ms_p99": t.get_response_time_percentile(0.99),
                "retr_ms_avg": t.avg_response_time,
            },
            f,
        )
