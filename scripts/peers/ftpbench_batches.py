"""Runs pyftpdlib's ftpbench (2.2.0) on this workload, for scripts/bench-peers.sh.

ftpbench's `concurrence` benchmark logs N clients in at once (one after the
other, despite its label), then RETRs a file on all of them at once, then
STORs one on all of them at once, then QUITs them all: one batch of N, with
single-file STOR and RETR benchmarks of a second each in between. Against
vsftpd its concurrent STOR of one file never finishes (vsftpd locks an
upload's file; a run of 200 hung until killed), and the workload here is
login, RETR, QUIT with C clients at a time.

So this wrapper loads the ftpbench script as a module and runs ftpbench's
own phases of that benchmark, with its own functions (connect(), which logs
in; AsyncReader on each RETR's data connection under asyncore; AsyncQuit),
for batches of C clients, N/C times over: connect+login, RETR (TYPE I, PASV,
the data read to EOF, the 226), QUIT. Its STOR phases and single-file
benchmarks are left out, and it RETRs the server's FILE in place of uploading
its own. ftpbench reports each phase's time (timethis); here they are summed
over the batches and written, with the sessions done and failed, to JSON.
A failed session raises (ftpbench's handle_error re-raises): the batch is
counted failed, its clients dropped, and the run goes on.

    ftpbench_batches.py FTPBENCH HOST PORT USER PASS FILE N C OUT.json
"""

import asyncore
import importlib.machinery
import importlib.util
import json
import sys
import time
import warnings

warnings.simplefilter("ignore", DeprecationWarning)


def load(path):
    loader = importlib.machinery.SourceFileLoader("ftpbench", path)
    spec = importlib.util.spec_from_loader("ftpbench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def main():
    path, host, port, user, password, name, n, c, out = sys.argv[1:]
    n, c = int(n), int(c)
    fb = load(path)
    fb.HOST, fb.PORT, fb.USER, fb.PASSWORD = host, int(port), user, password
    fb.TESTFN, fb.TIMEOUT = name, 10
    phases = {"connect_login_s": 0.0, "retr_s": 0.0, "quit_s": 0.0}
    ok = failed = batches = 0
    first_error = None
    while ok + failed < n:
        size = min(c, n - ok - failed)
        clients = []
        try:
            t = time.perf_counter()
            for _ in range(size):
                clients.append(fb.connect())
            phases["connect_login_s"] += time.perf_counter() - t
            t = time.perf_counter()
            for ftp in clients:
                ftp.voidcmd("TYPE I")
                fb.AsyncReader(ftp.transfercmd("RETR " + fb.TESTFN))
            asyncore.loop(use_poll=True)
            for ftp in clients:
                ftp.voidresp()
            phases["retr_s"] += time.perf_counter() - t
            for ftp in clients:
                fb.AsyncQuit(ftp.sock)
            t = time.perf_counter()
            asyncore.loop(use_poll=True)
            phases["quit_s"] += time.perf_counter() - t
            ok += size
        except Exception as e:  # noqa: BLE001  (counted, shown, not dropped)
            failed += size
            first_error = first_error or repr(e)
            asyncore.close_all()
            for ftp in clients:
                try:
                    ftp.close()
                except Exception:  # noqa: BLE001
                    pass
        batches += 1
    with open(out, "w") as f:
        json.dump(
            dict(ok=ok, failed=failed, batches=batches, batch=c, first_error=first_error, **phases), f
        )


if __name__ == "__main__":
    main()
