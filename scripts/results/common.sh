#!/usr/bin/env bash
# Sourced (not run) by the result generators beside it (baseline.sh,
# exhaustion.sh, tls-cost.sh, ...), so that every committed result set
# describes its machine the same way and every generator judges ftpload's
# exit code the same way.

# The generator's name, for its messages.
GEN="${0##*/}"

# Ctrl-C and TERM exit through the generator's EXIT trap too, which stops
# what it started, saying so: killed by an untrapped TERM, bash would skip
# that trap.
exit_on_signals() {
    trap 'echo "$GEN: interrupted, stopping" >&2; exit 130' INT
    trap 'echo "$GEN: terminated, stopping" >&2; exit 143' TERM
}

# machine_txt FTPLOAD [LINE...]: what a result set's machine.txt holds, the
# machine and the ftpload binary the runs were made with, then each LINE
# (e.g. the servers' banners).
machine_txt() {
    local bin=$1
    shift
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "kernel: $(uname -r)"
    # shellcheck source=/dev/null # os-release(5) is meant to be sourced; a system file, not ours
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "ftpload: $("$bin" --version)"
    # Passive ranges inside these ports look smaller than they are (TIME_WAIT).
    echo "ephemeral ports: $(tr '\t' - </proc/sys/net/ipv4/ip_local_port_range)"
    if (($#)); then printf '%s\n' "$@"; fi
}

# run_ftpload CMD...: runs CMD, an `ftpload run` (under `timeout` perhaps).
# Its exit 0 (clean) and 1 (the run finished and recorded failures: the point
# of an exhaustion run, and what a server dropping a few transfers gives) are
# results to keep. Anything else means there is no result to keep, so the
# generator stops, with ftpload's code: 2 bad input, 3 could not run, 124
# timed out, 130 interrupted.
run_ftpload() {
    local rc=0 why
    "$@" || rc=$?
    ((rc <= 1)) && return 0
    case $rc in
    2) why="bad input (scenario or flags), nothing ran" ;;
    3) why="could not run (target unreachable, login refused, result not writable)" ;;
    124) why="timed out" ;;
    130) why="interrupted" ;;
    *) why="unexpected exit code" ;;
    esac
    printf '%s: error: exit %s, %s: %s\n' "$GEN" "$rc" "$why" "$*" >&2
    printf '%s: stopping; the results written so far are incomplete\n' "$GEN" >&2
    exit "$rc"
}

# start_servers FTPD SERVER...: installs and provisions the real servers
# through the harness FTPD (scripts/targets/ftpd) and starts each one not
# already running. Those it started are added to `started`, which
# stop_started stops again (the caller sets it as its EXIT trap); each
# one's banner, "SERVER: 220 ...", is added to `banners`.
started=()
banners=()
start_servers() {
    local s
    _ftpd=$1
    shift
    for s in "$@"; do
        "$_ftpd" install "$s" >/dev/null
    done
    "$_ftpd" fixture >/dev/null
    for s in "$@"; do
        # `ftpd url` answers only for a running server.
        "$_ftpd" url "$s" >/dev/null 2>&1 || started+=("$s")
        "$_ftpd" start "$s" >/dev/null
        banners+=("$s: $(sed -n 's/^banner=//p' "${FTPD_HOME:-target/ftpd}/$s/state")")
    done
}

# stop_started: stops the servers start_servers started, saying which could not.
stop_started() {
    local s
    for s in "${started[@]}"; do
        "$_ftpd" stop "$s" >/dev/null || echo "$GEN: could not stop $s" >&2
    done
}
