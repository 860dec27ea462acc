#!/usr/bin/env bash
# bench-peers.sh: ftpload beside the floor client and the FTP load tools
# people use today, on one workload against one real server, in one run.
#
#   scripts/bench-peers.sh [--only peers|sink] [--n1k N] [--n1m N]
#                          [--concurrency C] [--rounds R] [--sink-rounds R]
#
# Workload: N sessions of login, TYPE I, PASV (or PORT), RETR, QUIT, C at a
# time, of 1k.bin (N = --n1k, default 2000) and of 1m.bin (--n1m, default
# 500), against vsftpd on 127.0.0.1 through scripts/targets/ftpd, by:
#   ftpload    target/release/ftpload run scenarios/peers-1k.toml (-1m)
#   floor      target/release/examples/floor (examples/floor.rs): blocking
#              std::net, sequential sessions on C threads, the least a
#              client spends here
#   curl       one curl per session in `xargs -P C`
#   ftpbench   pyftpdlib's ftpbench, its own phases in batches of C
#              (scripts/peers/ftpbench_batches.py says why)
#   jmeter     Apache JMeter 2.13's FTP sampler (Debian), C threads
#              (scripts/peers/JMeterXStream.java makes it run on Debian 12)
#   locust     Locust with locust-plugins' FtpUser, C users
#   ftpbenchmark  ftpbenchmark 1.1.0 under gevent, C at a time
#              (scripts/peers/ftpbenchmark_gevent.py says what it patches)
# in passive mode (PASV), and in active mode (PORT) for those that have it
# (ftpload, floor, curl, locust). Each round runs every tool once per
# workload and mode, in an order rotated by one each round; the README's
# figures are medians over the rounds (--rounds, default 3).
#
# Sink (--only sink, or part of the default run): one RETR of 1g.bin (1 GiB,
# written into the served root here) by ftpload, by `curl -o /dev/null` and
# by the floor, each beside one session of 1k.bin (its cost whatever it
# moves), interleaved over --sink-rounds (default 5).
#
# Per run: the whole process tree's CPU (user + sys of it and every
# descendant waited for, as GNU time counts them), its largest process's peak RSS, the wall time, the
# sessions that succeeded and failed, and the latency the tool itself
# reports. Writes results/peers/ (RESULTS_DIR to write elsewhere):
# runs.csv and runs.json (one row per run), sink.csv, machine.txt and
# README.md (scripts/peers/report.py). Raw tool output stays under
# target/peers/runs/.
#
# Installs what it needs (as root): Debian time, curl, jmeter, jmeter-ftp and
# a JDK; a venv under target/peers-venv with pyftpdlib (ftpbench), Locust,
# locust-plugins, ftpbenchmark and gevent. Starts vsftpd through the harness
# if it is not running and stops it at exit only then. Every run is bounded
# by PEERS_RUN_TIMEOUT seconds (default 60 + N/20); a tool that fails or cannot run
# is shown as such in the table and the bench goes on.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=results/common.sh
. "$here/results/common.sh"
out="$(realpath -m -- "${RESULTS_DIR:-$repo/results/peers}")"
cd "$repo"

only=""
n1k=2000
n1m=500
conc=4
rounds=3
sink_rounds=5
run_timeout="${PEERS_RUN_TIMEOUT:-}"
while (($#)); do
    case $1 in
    --only)
        only=${2:-}
        [[ $only == peers || $only == sink ]] || { echo "$GEN: --only peers|sink" >&2; exit 2; }
        shift 2
        ;;
    --n1k | --n1m | --concurrency | --rounds | --sink-rounds)
        [[ ${2:-} =~ ^[1-9][0-9]{0,6}$ ]] || { echo "$GEN: $1 needs a positive number" >&2; exit 2; }
        case $1 in
        --n1k) n1k=$2 ;;
        --n1m) n1m=$2 ;;
        --concurrency) conc=$2 ;;
        --rounds) rounds=$2 ;;
        --sink-rounds) sink_rounds=$2 ;;
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
((rounds <= 20 && sink_rounds <= 20)) || { echo "$GEN: at most 20 rounds" >&2; exit 2; }
((conc <= 64)) || { echo "$GEN: at most 64 clients at a time" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "$GEN: run as root (the harness starts vsftpd)" >&2; exit 2; }

ftpd=scripts/targets/ftpd
work="$repo/target/peers"
venv="$repo/target/peers-venv"
py="$venv/bin/python"
host=127.0.0.1
user=ftpuser
pass=ftppass
fl_bin="$repo/target/release/ftpload"
floor_bin="$repo/target/release/examples/floor"
jm_classes="$work/jmeter"
jm_cp="/usr/share/jmeter/bin/ApacheJMeter.jar:/usr/share/jmeter/lib/ext/*:/usr/share/jmeter/lib/*:/usr/share/java/xstream.jar"
# The venv's packages, pinned: the versions ../shared/peers.md measured.
PY_PACKAGES=(pyftpdlib==2.2.0 'psutil<6' locust==2.47.0 locust-plugins==5.0.3 gevent)
PY_NODEPS=(ftpbenchmark==1.1.0 Timecard==3.0.0)
APT_PACKAGES=(time curl jmeter jmeter-ftp)

say() { printf '%s: %s\n' "$GEN" "$*" >&2; }

started_vsftpd=0
cleanup() {
    if ((started_vsftpd)); then
        "$ftpd" stop vsftpd >/dev/null 2>&1 || say "could not stop vsftpd"
    fi
}
trap cleanup EXIT
exit_on_signals

# ------------------------------------------------------------ install ----

# Each install may fail; the tools that need it then say why in the table.
declare -A broken=()

install_apt() {
    local p missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    command -v javac >/dev/null || missing+=(default-jdk-headless)
    ((${#missing[@]})) || return 0
    say "apt-get install ${missing[*]}"
    local -a cmd=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")
    DEBIAN_FRONTEND=noninteractive timeout 900 "${cmd[@]}" >"$work/apt.log" 2>&1 || {
        timeout 300 apt-get update -q >>"$work/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive timeout 900 "${cmd[@]}" >>"$work/apt.log" 2>&1
    } || say "apt-get install failed (see $work/apt.log)"
}

install_venv() {
    local stamp="$venv/.bench-peers-stamp" want="${PY_PACKAGES[*]} ${PY_NODEPS[*]}"
    [[ -x $py && -f $stamp && "$(cat "$stamp")" == "$want" ]] && return 0
    say "python venv $venv: ${want}"
    {
        python3 -m venv "$venv" &&
            timeout 900 "$py" -m pip install -q --disable-pip-version-check --no-input "${PY_PACKAGES[@]}" &&
            timeout 300 "$py" -m pip install -q --disable-pip-version-check --no-input --no-deps "${PY_NODEPS[@]}"
    } >"$work/pip.log" 2>&1 || {
        say "pip install failed (see $work/pip.log)"
        return 0
    }
    printf '%s\n' "$want" >"$stamp"
}

check_tools() {
    [[ -x /usr/bin/time ]] || { say "GNU time is missing (Debian time): cannot measure"; exit 3; }
    command -v curl >/dev/null || broken[curl]="curl is not installed (see $work/apt.log)"
    "$py" -c 'import pyftpdlib' 2>/dev/null && [[ -x $venv/bin/ftpbench ]] ||
        broken[ftpbench]="pyftpdlib's ftpbench did not install (see $work/pip.log)"
    "$py" -c 'import locust_plugins.users.ftp' 2>/dev/null ||
        broken[locust]="locust-plugins did not install (see $work/pip.log)"
    "$py" -c 'import gevent, ftpbenchmark.ftpbenchmark' 2>/dev/null ||
        broken[ftpbenchmark]="ftpbenchmark or gevent did not install (see $work/pip.log)"
    if [[ ! -f /usr/share/jmeter/lib/ext/ApacheJMeter_ftp.jar ]]; then
        broken[jmeter]="Debian jmeter-ftp is not installed (see $work/apt.log)"
    else
        mkdir -p "$jm_classes"
        if [[ ! -f $jm_classes/JMeterXStream.class || $here/peers/JMeterXStream.java -nt $jm_classes/JMeterXStream.class ]]; then
            javac -d "$jm_classes" -cp "$jm_cp" "$here/peers/JMeterXStream.java" >"$work/javac.log" 2>&1 ||
                broken[jmeter]="the XStream wrapper did not compile (see $work/javac.log)"
        fi
    fi
}

# ------------------------------------------------------------- server ----

start_server() {
    "$ftpd" install vsftpd >/dev/null
    "$ftpd" fixture >/dev/null
    if ! "$ftpd" url vsftpd >/dev/null 2>&1; then
        "$ftpd" start vsftpd >/dev/null
        started_vsftpd=1
    fi
    url="$("$ftpd" url vsftpd)"
    port="${url##*:}"
    # The served files are ftpuser's home (vsftpd logs in a local user).
    served="$(getent passwd "$user" | cut -d: -f6)"
    [[ -r $served/1k.bin && -r $served/1m.bin ]] || { say "no 1k.bin and 1m.bin in $served"; exit 3; }
}

make_sink_file() {
    local f="$served/1g.bin" size=$((1 << 30))
    [[ -f $f && "$(stat -c %s "$f")" == "$size" ]] && return 0
    say "writing $f (1 GiB of random bytes)"
    head -c "$size" /dev/urandom >"$f.tmp"
    chown "$user:$(id -gn "$user")" "$f.tmp"
    mv "$f.tmp" "$f"
}

# --------------------------------------------------------------- runs ----

# measure DIR CMD...: runs CMD bounded in time, its output in DIR (stdout,
# stderr, rc, and time: wall, user and sys seconds of the whole process tree,
# peak RSS in KiB of its largest process). The CPU is bash's `time`, which
# counts every descendant the shell waited for (to the millisecond; GNU
# time's %U %S give hundredths); the peak RSS GNU time's %M, the largest
# process's (a wrapper in Python would count its own fork's).
measure() {
    local dir=$1 rc=0 wall user sys rss TIMEFORMAT='%3R %3U %3S'
    shift
    {
        time /usr/bin/time -f '%M' -o "$dir/rss" \
            timeout --kill-after=10 "$run_timeout" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null || rc=$?
    } 2>"$dir/cpu"
    echo "$rc" >"$dir/rc"
    read -r wall user sys <"$dir/cpu"
    rss="$(tail -n 1 "$dir/rss")"
    echo "$wall $user $sys $rss" >"$dir/time"
}

# run_tool TOOL MODE FILE N DIR: one run of TOOL, its raw output in DIR.
run_tool() {
    local tool=$1 mode=$2 file=$3 n=$4 dir=$5
    run_timeout=${PEERS_RUN_TIMEOUT:-$((60 + n / 20))}
    mkdir -p "$dir"
    printf 'tool=%s\nmode=%s\nfile=%s\nn=%s\nconcurrency=%s\n' "$tool" "$mode" "$file" "$n" "$conc" >"$dir/meta"
    if [[ -n ${broken[$tool]:-} ]]; then
        echo "${broken[$tool]}" >"$dir/cannot"
        return 0
    fi
    case $tool in
    ftpload)
        FTPLOAD_PASSWORD=$pass measure "$dir" "$fl_bin" run "scenarios/peers-${file%.bin}.toml" \
            --target "ftp://$user@$host:$port" --mode "$mode" --users "$conc" --iterations "$n" \
            -q --out "$dir/result.json"
        ;;
    floor)
        measure "$dir" "$floor_bin" "$host:$port" "$user" "$pass" "$file" "$n" "$conc" "$mode"
        ;;
    curl)
        local -a m=(--disable-epsv)
        [[ $mode == active ]] && m=(-P "$host" --disable-eprt)
        # shellcheck disable=SC2016 # expanded by curl's -w, not the shell
        measure "$dir" sh -c 'n=$1 c=$2 d=$3; shift 3; seq "$n" | xargs -P "$c" -I{} curl -sS --max-time 60 -o /dev/null "$@" 2>>"$d/curl-errors"' \
            curl-loop "$n" "$conc" "$dir" \
            -w '%{exitcode} %{response_code} %{time_pretransfer} %{time_total}\n' \
            "${m[@]}" "ftp://$user:$pass@$host:$port/$file"
        ;;
    ftpbench)
        measure "$dir" "$py" "$here/peers/ftpbench_batches.py" "$venv/bin/ftpbench" \
            "$host" "$port" "$user" "$pass" "$file" "$n" "$conc" "$dir/ftpbench.json"
        ;;
    jmeter)
        local loops=$(((n + conc - 1) / conc))
        measure "$dir" java -cp "$jm_classes:$jm_cp" -Djmeter.home=/usr/share/jmeter JMeterXStream \
            -n -t "$here/peers/ftp.jmx" -l "$dir/samples.jtl" -j "$dir/jmeter.log" \
            -Jthreads="$conc" -Jloops="$loops" -Jhost="$host" -Jport="$port" -Jfile="$file" \
            -Juser="$user" -Jpass="$pass" -Jjmeterengine.nongui.port=0 \
            -Jjmeter.save.saveservice.print_field_names=true
        ;;
    locust)
        mkdir -p "$dir/downloads"
        LOCUST_FTP_JSON="$dir/locust.json" LOCUST_FTP_PORT=$port LOCUST_FTP_USER=$user \
            LOCUST_FTP_PASS=$pass LOCUST_FTP_FILE=$file LOCUST_FTP_DIR="$dir/downloads" LOCUST_FTP_MODE=$mode \
            measure "$dir" "$venv/bin/locust" -f "$here/peers/locustfile.py" --headless -u "$conc" -r 1000 \
            -H "$host" -i "$n" --only-summary --loglevel WARNING
        rm -rf "$dir/downloads"
        ;;
    ftpbenchmark)
        FTPBENCH_JSON="$dir/ftpbenchmark.json" FTPBENCH_PORT=$port FTPBENCH_SESSIONS=$n FTPBENCH_FILE=$file \
            measure "$dir" "$py" "$here/peers/ftpbenchmark_gevent.py" -n "$host" -u "$user" -p "$pass" \
            -c "$conc" --download -w / -m 60
        ;;
    esac
}

# The tools and modes of one round, in their order.
PAIRS=(ftpload:passive floor:passive curl:passive ftpbench:passive jmeter:passive
    locust:passive ftpbenchmark:passive ftpload:active floor:active curl:active locust:active)

bench_peers() {
    local r i k file n tool mode pair count=${#PAIRS[@]}
    for ((r = 1; r <= rounds; r++)); do
        for file in 1k.bin 1m.bin; do
            n=$n1k
            [[ $file == 1m.bin ]] && n=$n1m
            for ((i = 0; i < count; i++)); do
                k=$(((i + r - 1) % count))
                pair=${PAIRS[$k]}
                tool=${pair%%:*} mode=${pair#*:}
                say "round $r/$rounds, $file: $tool $mode ($n sessions, $conc at a time)"
                run_tool "$tool" "$mode" "$file" "$n" "$work/runs/r$r-${file%.bin}-$tool-$mode"
            done
        done
    done
}

# Each tool's 1 GiB RETR, and one session of 1k.bin: what the tool costs
# whatever it moves (start-up, login, exit), so the cost per GiB can be read
# without it.
bench_sink() {
    local r i k tool file dir
    local -a tools=(ftpload curl floor)
    for ((r = 1; r <= sink_rounds; r++)); do
        for ((i = 0; i < ${#tools[@]}; i++)); do
            k=$(((i + r - 1) % ${#tools[@]}))
            tool=${tools[$k]}
            for file in 1g.bin 1k.bin; do
                dir="$work/sink/r$r-$tool-${file%.bin}"
                mkdir -p "$dir"
                printf 'tool=%s\nmode=passive\nfile=%s\nn=1\nconcurrency=1\n' "$tool" "$file" >"$dir/meta"
                run_timeout=${PEERS_RUN_TIMEOUT:-180}
                say "sink round $r/$sink_rounds: $tool, $file"
                case $tool in
                ftpload)
                    FTPLOAD_PASSWORD=$pass measure "$dir" "$fl_bin" run "scenarios/peers-${file%.bin}.toml" \
                        --target "ftp://$user@$host:$port" --mode passive --users 1 --iterations 1 \
                        -q --out "$dir/result.json"
                    ;;
                curl)
                    measure "$dir" curl -sS --max-time 120 --disable-epsv -o /dev/null \
                        -w '%{exitcode} %{response_code} %{size_download} %{speed_download} %{time_pretransfer} %{time_total}\n' \
                        "ftp://$user:$pass@$host:$port/$file"
                    ;;
                floor)
                    measure "$dir" "$floor_bin" "$host:$port" "$user" "$pass" "$file" 1 1 passive
                    ;;
                esac
            done
        done
    done
}

# ------------------------------------------------------------- main ----

mkdir -p "$work" "$out"
install_apt
install_venv
say "cargo build --release --bin ftpload --example floor"
cargo build --release --quiet --bin ftpload --example floor
check_tools
start_server

versions=(
    "server: vsftpd $(cat "${FTPD_HOME:-$repo/target/ftpd}/pkgs/vsftpd/.version" 2>/dev/null || echo '?') on $host:$port, $(sed -n 's/^banner=//p' "${FTPD_HOME:-$repo/target/ftpd}/vsftpd/state")"
    "curl: $(curl --version | head -n1 | cut -d' ' -f1-2)"
    "ftpbench: pyftpdlib $("$py" -c 'import pyftpdlib; print(pyftpdlib.__ver__)' 2>/dev/null || echo '?')"
    "jmeter: $(dpkg-query -W -f='${Version}' jmeter 2>/dev/null || echo '?') (Debian), jmeter-ftp $(dpkg-query -W -f='${Version}' jmeter-ftp 2>/dev/null || echo '?'), $(java -version 2>&1 | head -n1)"
    "locust: $("$py" -c 'import importlib.metadata as m; print(m.version("locust"), "locust-plugins", m.version("locust-plugins"))' 2>/dev/null || echo '?')"
    "ftpbenchmark: $("$py" -c 'import importlib.metadata as m; print(m.version("ftpbenchmark"), "gevent", m.version("gevent"))' 2>/dev/null || echo '?')"
    "python: $("$py" --version 2>&1)"
    "workload: n1k=$n1k n1m=$n1m concurrency=$conc rounds=$rounds sink_rounds=$sink_rounds"
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
)

if [[ $only != sink ]]; then
    rm -rf "$work/runs"
    machine_txt "$fl_bin" "${versions[@]}" >"$out/machine.txt"
    bench_peers
fi
if [[ $only != peers ]]; then
    make_sink_file
    rm -rf "$work/sink"
    [[ -f $out/machine.txt ]] || machine_txt "$fl_bin" "${versions[@]}" >"$out/machine.txt"
    bench_sink
fi
sed -i '/^load average at end:/d' "$out/machine.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 "$here/peers/report.py" "$work" "$out"
say "wrote $out/README.md"
