"""pyftpdlib as a load-test target, started by scripts/targets/ftpd and by
the integration tests (tests/common: a server with EPRT, which the embedded
libunftp target lacks).

Serves ROOT to one user on 127.0.0.1, with the library's connection limits
lifted: max_cons defaults to 512 (the CLI cannot change it) and the listen
backlog to 100. Runs in the foreground until SIGTERM or SIGINT. Once it
accepts it prints `LISTENING <port>` on stdout, so `--port 0` lets a test
take a free port without racing the server. With --exit-on-stdin-eof it also
exits when its stdin closes: a test process that dies closes the pipe, so no
server outlives the test that started it.

With --tls explicit it serves explicit FTPS (AUTH TLS, RFC 4217) through
TLS_FTPHandler, which needs pyOpenSSL; TLS stays optional for the client.
pyftpdlib has no implicit TLS.
"""

import argparse
import logging
import os
import signal
import sys
import threading

import pyftpdlib
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def port_range(text):
    first, sep, last = text.partition("-")
    try:
        lo, hi = int(first), int(last if sep else first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port range {text!r}") from None
    if not 0 < lo <= hi <= 65535:
        raise argparse.ArgumentTypeError(f"bad port range {text!r}")
    return range(lo, hi + 1)


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        # os._exit: the server loop runs in the main thread and would keep a
        # normal exit waiting; nothing here needs flushing or cleanup.
        os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--passive", type=port_range, required=True,
                    help="inclusive passive port range, FIRST-LAST")
    ap.add_argument("--root", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--backlog", type=int, default=1024)
    ap.add_argument("--exit-on-stdin-eof", action="store_true",
                    help="exit when stdin closes (for tests that hold a pipe)")
    ap.add_argument("--tls", choices=["off", "explicit"], default="off",
                    help="explicit: AUTH TLS (RFC 4217), optional for clients")
    ap.add_argument("--certfile", help="PEM certificate (with --tls)")
    ap.add_argument("--keyfile", help="PEM private key (with --tls)")
    args = ap.parse_args()
    if args.tls != "off" and not args.certfile:
        ap.error("--tls needs --certfile")

    # Warnings only: the default INFO level logs every command, which would
    # cost more CPU than serving it. Passive-range exhaustion is a WARNING.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    auth = DummyAuthorizer()
    auth.add_user(args.user, args.password, args.root, perm="elradfmwMT")

    base = FTPHandler
    if args.tls != "off":
        try:
            from pyftpdlib.handlers import TLS_FTPHandler
        except ImportError:
            sys.exit("pyftpdlib's TLS_FTPHandler needs pyOpenSSL, which "
                     "this Python lacks (scripts/setup-pyenv.sh installs it)")
        base = TLS_FTPHandler

    # Subclasses keep the settings off the library's shared classes.
    class Handler(base):
        authorizer = auth
        passive_ports = args.passive
        if args.tls != "off":
            certfile = args.certfile
            keyfile = args.keyfile
            # TLS optional: plain logins and PROT C transfers still work.
            tls_control_required = False
            tls_data_required = False

    class Server(FTPServer):
        max_cons = 0         # 0 = unlimited (default 512)
        max_cons_per_ip = 0  # 0 = unlimited (already the default)

    server = Server((args.address, args.port), Handler, backlog=args.backlog)
    port = server.socket.getsockname()[1]
    tls = "" if args.tls == "off" else f", TLS {args.tls}"
    print(f"pyftpdlib {pyftpdlib.__ver__} serving {args.root} on "
          f"{args.address}:{port}, passive {args.passive.start}-"
          f"{args.passive.stop - 1}, backlog {args.backlog}{tls}",
          file=sys.stderr, flush=True)

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    if args.exit_on_stdin_eof:
        threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    print(f"LISTENING {port}", flush=True)
    try:
        server.serve_forever(handle_exit=False)
    finally:
        server.close_all()


if __name__ == "__main__":
    main()
