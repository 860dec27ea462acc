#!/usr/bin/env bash
# tls-cost.sh: what FTPS costs each real server against plain FTP, with the
# data channels resuming the control connection's TLS session and without,
# in one run. Makes results/tls/ (RESULTS_DIR to write elsewhere).
#
#   scripts/results/tls-cost.sh [--rounds R] [--iterations N] [--users U]
#
# Workload: N sessions (default 200) of login, RETR 1k.bin, QUIT, one per
# iteration, U at a time (default 4; pyftpdlib's active modes 1, as it
# loses its own connect-backs when several come at once), by ftpload
# against each of vsftpd, pure-ftpd, proftpd and pyftpdlib, in each mode the
# server has (passive, epsv, active, eprt: all four have all four), three
# ways:
#   plain     ftp://, a plain instance
#   resumed   ftpes:// (AUTH TLS, PROT P), a TLS instance, data channels
#             resuming the control connection's session (tls_resume = true,
#             ftpload's default)
#   full      the same with [target] tls_resume = false: a full handshake on
#             every data channel. vsftpd and proftpd refuse those by default
#             (require_ssl_reuse, and proftpd's own check), so this runs
#             against an instance of theirs started with FTPD_TLS_REUSE=no;
#             pure-ftpd and pyftpdlib take them on their TLS instance.
# The certificate is checked (--ca-file, the harness's `ftpd cert`). Each
# round (--rounds, default 3, at most 10) runs every server, mode and way
# once, the three ways in an order rotated by one each round; the README's
# figures are medians over the rounds of each run's p50.
#
# Writes OUT/runs.csv (every run), OUT/machine.txt and OUT/README.md (the
# tables, by tls_cost_table.py beside this script); each run's result JSON
# stays under target/tls-cost/runs/. About 7 minutes on this 2-core machine.
#
# The servers run as harness instances of the generator's own, started here
# and stopped on exit however it exits: homes target/ftpd-tls-cost-plain,
# -tls and -noreuse, control ports 2170-2173 (plain), 2174-2177 (TLS), 2178
# and 2179 (vsftpd and proftpd with FTPD_TLS_REUSE=no), all with the passive
# range 19500-19999 (one run at a time: tests/interop.rs and the large
# ranges of tests/exhaustion.rs use it too, so do not run them beside this).
# They share the default home's packages and served files, so the default
# instances on 2121-2124 are left alone. Needs root, and
# scripts/targets/ftpd install all && scripts/targets/ftpd fixture.
#
# A run that records failures (ftpload exit 1) is kept, and its errors are
# in the CSV and the tables; any other exit stops the generator (common.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$here/../../results/tls}")"

rounds=3
iterations=200
users=4
while (($#)); do
    case $1 in
    --rounds | --iterations | --users)
        [[ ${2:-} =~ ^[1-9][0-9]{0,4}$ ]] || {
            echo "$GEN: $1 needs a positive number" >&2
            exit 2
        }
        case $1 in
        --rounds) rounds=$2 ;;
        --iterations) iterations=$2 ;;
        --users) users=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "$GEN: unknown argument '$1' (--help)" >&2
        exit 2
        ;;
    esac
done
((rounds <= 10)) || { echo "$GEN: at most 10 rounds" >&2; exit 2; }
((iterations <= 5000)) || { echo "$GEN: at most 5000 iterations" >&2; exit 2; }
((users <= 64)) || { echo "$GEN: at most 64 users" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$GEN: run as root (the harness starts the servers)" >&2; exit 2; }

cd "$here/../.."
repo=$PWD
ftpd=scripts/targets/ftpd
bin=$repo/target/release/ftpload
work=$repo/target/tls-cost
servers=(vsftpd pure-ftpd proftpd pyftpdlib)
modes=(passive epsv active eprt)
ways=(plain resumed full)
passive=19500-19999
# Each run is bounded; a server that hangs stops the generator (exit 124).
run_timeout=$((120 + iterations))
export FTPD_PKGS=${FTPD_PKGS:-$repo/target/ftpd/pkgs} FTPD_ROOT=${FTPD_ROOT:-$repo/target/ftpd/root}
unset FTPD_HOME FTPD_BIND FTPD_TLS FTPD_TLS_REUSE FTPD_MAX_CLIENTS FTPD_MAX_PER_IP

say() { printf '%s: %s\n' "$GEN" "$*" >&2; }

# The harness in one of the generator's homes: plain, tls or noreuse.
home_of() { echo "$repo/target/ftpd-tls-cost-$1"; }
ftpd_in() {
    local set=$1 tls=off reuse=yes
    shift
    case $set in
    tls) tls=explicit ;;
    noreuse) tls=explicit reuse=no ;;
    esac
    FTPD_HOME="$(home_of "$set")" FTPD_TLS=$tls FTPD_TLS_REUSE=$reuse "$ftpd" "$@"
}

index() {
    local i
    for i in "${!servers[@]}"; do
        [[ ${servers[$i]} == "$1" ]] && echo "$i" && return
    done
    return 1
}

# The control port of SERVER's instance that runs WAY, and that instance's set.
port_of() {
    local server=$1 way=$2 i
    i="$(index "$server")"
    case $way in
    plain) echo $((2170 + i)) ;;
    resumed) echo $((2174 + i)) ;;
    full)
        case $server in
        vsftpd) echo 2178 ;;
        proftpd) echo 2179 ;;
        *) echo $((2174 + i)) ;;
        esac
        ;;
    esac
}
set_of() {
    case $2 in
    plain) echo plain ;;
    resumed) echo tls ;;
    full)
        case $1 in
        vsftpd | proftpd) echo noreuse ;;
        *) echo tls ;;
        esac
        ;;
    esac
}

stop_all() {
    local set
    for set in plain tls noreuse; do
        ftpd_in "$set" stop all >/dev/null 2>&1 || say "could not stop the servers of $(home_of "$set")"
    done
}
# These homes are the generator's own: whatever runs from them is ours.
trap stop_all EXIT
exit_on_signals

# What start would refuse later, said now (start checks the rest).
[[ -f $FTPD_ROOT/1k.bin ]] || { say "no fixture in $FTPD_ROOT; run: $ftpd install all && $ftpd fixture"; exit 3; }
for s in vsftpd pure-ftpd; do
    [[ -f $FTPD_PKGS/$s/.version ]] || { say "$s is not installed in $FTPD_PKGS; run: $ftpd install $s"; exit 3; }
done

say "building ftpload (release)"
cargo build --release --quiet
stop_all
rm -rf "$work"
mkdir -p "$work/runs" "$out"

say "starting the instances (passive range $passive for all)"
for s in "${servers[@]}"; do
    ftpd_in plain start "$s" --port "$(port_of "$s" plain)" --passive "$passive" >/dev/null
    ftpd_in tls start "$s" --port "$(port_of "$s" resumed)" --passive "$passive" >/dev/null
done
for s in vsftpd proftpd; do
    ftpd_in noreuse start "$s" --port "$(port_of "$s" full)" --passive "$passive" >/dev/null
done
cert_tls="$(ftpd_in tls cert 2>/dev/null)"
cert_noreuse="$(ftpd_in noreuse cert 2>/dev/null)"

# The scenario: one RETR per session; the full-handshake one says so.
cat >"$work/plain.toml" <<EOF
# Written by scripts/results/tls-cost.sh: one session per iteration, one RETR.
[files]
"1k.bin" = "1KiB"
[run]
iterations = $iterations
[[group]]
users = $users
session = "per_iteration"
ops = ["retr 1k.bin"]
EOF
{
    echo "[target]"
    echo "tls_resume = false"
    cat "$work/plain.toml"
} >"$work/full.toml"

users_of() {
    if [[ $1 == pyftpdlib && ($2 == active || $2 == eprt) ]]; then echo 1; else echo "$users"; fi
}

# run ROUND SERVER MODE WAY [TAG]: one ftpload run; its line goes into the
# manifest unless TAG is warmup.
manifest="$work/manifest.tsv"
printf 'round\tserver\tmode\tway\tport\tusers\tjson\n' >"$manifest"
run() {
    local round=$1 server=$2 mode=$3 way=$4 tag=${5:-} port scheme=ftp scenario=plain json n
    local -a tls=()
    port="$(port_of "$server" "$way")"
    n="$(users_of "$server" "$mode")"
    case $way in
    resumed) scheme=ftpes tls=(--ca-file "$cert_tls") ;;
    full)
        scheme=ftpes scenario=full
        if [[ "$(set_of "$server" full)" == noreuse ]]; then tls=(--ca-file "$cert_noreuse"); else tls=(--ca-file "$cert_tls"); fi
        ;;
    esac
    json="$work/runs/${tag:-r$round}-$server-$mode-$way.json"
    local -a extra=()
    [[ $tag == warmup ]] && extra=(--iterations 20)
    FTPLOAD_PASSWORD=ftppass run_ftpload timeout --foreground "$run_timeout" "$bin" run "$work/$scenario.toml" -q \
        --target "$scheme://ftpuser@127.0.0.1:$port" "${tls[@]}" --mode "$mode" --users "$n" \
        --out "$json" "${extra[@]}" >"$json.log" 2>&1
    [[ $tag == warmup ]] ||
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$mode" "$way" "$port" "$n" "$json" >>"$manifest"
}

versions=(
    "vsftpd: $(cat "$FTPD_PKGS/vsftpd/.version"), $(sed -n 's/^banner=//p' "$(home_of plain)/vsftpd/state")"
    "pure-ftpd: $(cat "$FTPD_PKGS/pure-ftpd/.version")"
    "proftpd: $(dpkg-query -W -f='${Version}' proftpd-core), mod_tls from proftpd-mod-crypto $(dpkg-query -W -f='${Version}' proftpd-mod-crypto)"
    "pyftpdlib: $("$repo/.venv/bin/python" -c 'import pyftpdlib; print(pyftpdlib.__ver__)'), pyOpenSSL $("$repo/.venv/bin/python" -c 'import OpenSSL; print(OpenSSL.__version__, "on", OpenSSL.SSL.OpenSSL_version(OpenSSL.SSL.OPENSSL_VERSION).decode())')"
    "system OpenSSL (vsftpd, pure-ftpd, proftpd): $(openssl version)"
    "client TLS: rustls $(awk '/^name = "rustls"$/ {getline; sub(/^version = /, ""); gsub(/"/, ""); print; exit}' Cargo.lock) (ring)"
    "instances: plain 2170-2173, TLS (explicit) 2174-2177, TLS with FTPD_TLS_REUSE=no 2178 (vsftpd) and 2179 (proftpd), in that server order, passive $passive, on 127.0.0.1"
    "workload: $iterations sessions of login, RETR 1k.bin, QUIT per run, $users at a time (pyftpdlib active and eprt: 1), rounds=$rounds"
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
)
machine_txt "$bin" "${versions[@]}" >"$out/machine.txt"

# Warm-up: a short run on every instance, not recorded.
say "warming up every instance"
for s in "${servers[@]}"; do
    for way in "${ways[@]}"; do
        run 0 "$s" passive "$way" warmup
    done
done

total=$((rounds * ${#servers[@]} * ${#modes[@]} * ${#ways[@]}))
done_runs=0
for ((r = 1; r <= rounds; r++)); do
    # The ways rotated by one each round.
    order=()
    for ((k = 0; k < ${#ways[@]}; k++)); do
        order+=("${ways[$(((k + r - 1) % ${#ways[@]}))]}")
    done
    for s in "${servers[@]}"; do
        for m in "${modes[@]}"; do
            for way in "${order[@]}"; do
                run "$r" "$s" "$m" "$way"
                done_runs=$((done_runs + 1))
            done
        done
        say "round $r/$rounds: $s done ($done_runs of $total runs, ${SECONDS}s)"
    done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 "$here/tls_cost_table.py" "$manifest" "$out"
say "wrote $out/runs.csv, $out/machine.txt and $out/README.md in ${SECONDS}s"
