#!/usr/bin/env bash
# A sharded ftpload run on Slurm: the job array of shards.sbatch, and
# merge.sbatch after it.
#
#   deploy/slurm/submit.sh [--shards N] [--lead SECONDS] [--results DIR]
#       [--merge-after ok|any] [--wait SECONDS] SCENARIO [ftpload run flags...]
#
#   --shards N        tasks in the array, one shard each (default 4)
#   --lead SECONDS    the load starts this long after submission (default
#                     30): START_AT, computed here once and given to every
#                     task, so they begin together however the scheduler
#                     starts them; it must cover the queue wait
#   --results DIR     where the shards write and the merge reads: a folder
#                     every node sees (default results/slurm-<UTC time>)
#   --merge-after ok  the merge's dependency: afterok (the default) merges
#                     only when every shard exited 0; `any` (afterany) also
#                     after a shard that recorded failures (exit 1) or broke
#                     a threshold (99); merge still refuses a missing shard
#   --wait SECONDS    wait for the merge to end (at most this long), print
#                     the merged summary, and `sacct` lines where Slurm has
#                     accounting; exit with the merge's state
#
# Prints the two job ids and START_AT. FTPLOAD: the ftpload binary (default:
# ftpload on PATH), passed on to the tasks. The password as for ftpload
# (FTPLOAD_PASSWORD, exported to the tasks, or --password-file).
#
# Exit: 0 submitted (with --wait: merged); 1 sbatch refused, or with --wait
# the merge failed, never ran, or did not end in time; 2 bad usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
}
bad() {
    echo "submit.sh: $*" >&2
    exit 2
}

shards=4
lead=30
results=
after=ok
wait_secs=
while (($# > 0)); do
    case $1 in
    --shards) shards=${2:?--shards needs a number}; shift 2 ;;
    --lead) lead=${2:?--lead needs seconds}; shift 2 ;;
    --results) results=${2:?--results needs a folder}; shift 2 ;;
    --merge-after) after=${2:?--merge-after needs ok or any}; shift 2 ;;
    --wait) wait_secs=${2:?--wait needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) bad "unknown option $1 (see --help)" ;;
    *) break ;;
    esac
done
(($# > 0)) || bad "no scenario (see --help)"
scenario=$(realpath "$1")
shift
[[ -f $scenario ]] || bad "$scenario: no such scenario file"
[[ $shards =~ ^[1-9][0-9]*$ ]] || bad "--shards $shards: not a positive number"
[[ $lead =~ ^[0-9]+$ ]] || bad "--lead $lead: not a number of seconds"
[[ -z $wait_secs || $wait_secs =~ ^[0-9]+$ ]] || bad "--wait $wait_secs: not a number of seconds"
case $after in
ok | any) ;;
*) bad "--merge-after $after: ok or any" ;;
esac
ftpload=${FTPLOAD:-$(command -v ftpload || true)}
[[ -n $ftpload && -x $ftpload ]] ||
    bad "no ftpload binary: put it on PATH (cargo install --path .) or set FTPLOAD=/path/to/ftpload"
ftpload=$(realpath "$ftpload")
results=$(realpath -m "${results:-results/slurm-$(date -u +%Y%m%dT%H%M%SZ)}")
mkdir -p "$results/logs"

start_at=$(date -u -d "+$lead seconds" +%Y-%m-%dT%H:%M:%SZ)
array=$(sbatch --parsable --array=0-$((shards - 1)) \
    --output="$results/logs/shard-%A_%a.log" \
    --export=ALL,START_AT="$start_at",FTPLOAD="$ftpload" \
    "$here/shards.sbatch" "$scenario" "$results" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="after$after:$array" --kill-on-invalid-dep=yes \
    --output="$results/logs/merge-%j.log" \
    --export=ALL,FTPLOAD="$ftpload" \
    "$here/merge.sbatch" "$results")
merge=${merge%%;*}
echo "shards: job $array ($shards tasks), start at $start_at"
echo "merge:  job $merge (after$after:$array)"
echo "results: $results (logs in $results/logs)"

[[ -n $wait_secs ]] || exit 0
deadline=$((SECONDS + wait_secs))
while squeue -h -j "$array,$merge" 2>/dev/null | grep -q .; do
    if ((SECONDS >= deadline)); then
        echo "submit.sh: jobs $array and $merge still queued or running after ${wait_secs}s" >&2
        exit 1
    fi
    sleep 1
done
if sacct -n -j "$array" >/dev/null 2>&1; then
    # Accounting settles a moment after the jobs leave the queue.
    sleep 2
    sacct -j "$array,$merge" --format=JobID%-14,JobName%-15,State,ExitCode,Start,End,Elapsed,TotalCPU,MaxRSS
fi
if [[ -f $results/merged.json ]]; then
    cat "$results"/logs/merge-*.log
    echo "merged result: $results/merged.json"
    exit 0
fi
echo "submit.sh: no merged result; the merge did not run or failed (see $results/logs)" >&2
exit 1
