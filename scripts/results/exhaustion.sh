#!/usr/bin/env bash
# Makes results/exhaustion/: scenarios/passive-exhaustion.toml against the
# embedded target and each real server, every one with the same 8-port passive
# range, and scenarios/active-exhaustion.toml against the embedded target;
# then machine.txt and the README's table (exhaustion_table.py). About 2
# minutes; run as root from anywhere.
#
#   scripts/results/exhaustion.sh
#
# Environment:
#   RESULTS_DIR  where to write (default results/exhaustion), for a trial run
#                that leaves the committed results alone
#   FTPD_PKGS, FTPD_ROOT  the installed packages and served files to share
#                (default those of this repo's default harness home,
#                target/ftpd/pkgs and target/ftpd/root)
#
# The real servers run as a second set of harness instances (their own
# FTPD_HOME, control port 2141, one at a time), sharing the default home's
# packages and served files, so the default instances on 2121-2124 are left
# alone. Needs: scripts/targets/ftpd install all && scripts/targets/ftpd fixture
#
# Every run here is expected to record failures (ftpload exit 1); any other
# failure stops the generator (see common.sh). On exit, however it exits, it
# stops the instance it started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$here/../../results/exhaustion}")"
cd "$here/../.."
range=18500-18507
port=2141
ftpd=scripts/targets/ftpd
export FTPD_HOME=$PWD/target/ftpd-exhaustion-results
export FTPD_PKGS=${FTPD_PKGS:-$PWD/target/ftpd/pkgs} FTPD_ROOT=${FTPD_ROOT:-$PWD/target/ftpd/root}
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/ftpload
# This instance's home is the generator's own: whatever runs from it is ours.
trap '"$ftpd" stop all >/dev/null || echo "$GEN: could not stop the servers of $FTPD_HOME" >&2' EXIT
exit_on_signals
"$ftpd" stop all >/dev/null

# --foreground: Ctrl-C reaches ftpload, which writes its partial result.
run() { run_ftpload timeout --foreground 120 "$bin" run "$@" -q; }

run scenarios/passive-exhaustion.toml --out "$out/passive-embedded.json"
for s in vsftpd pure-ftpd proftpd pyftpdlib; do
    "$ftpd" start "$s" --port "$port" --passive "$range" >/dev/null
    FTPLOAD_PASSWORD=ftppass run scenarios/passive-exhaustion.toml \
        --target "ftp://ftpuser@127.0.0.1:$port" --passive-range "$range" \
        --out "$out/passive-$s.json"
    "$ftpd" stop "$s" >/dev/null
done
run scenarios/active-exhaustion.toml --out "$out/active-embedded.json"

machine_txt "$bin" >"$out/machine.txt"
python3 scripts/results/exhaustion_table.py "$out" >"$out/table.md"
cat "$out/table.md"
