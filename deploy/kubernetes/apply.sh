#!/usr/bin/env bash
# apply.sh: one sharded ftpload run on the cluster of kubectl's current
# context, from the manifests beside this script.
#
# Usage: deploy/kubernetes/apply.sh [--lead SECONDS] [--timeout DURATION]
#            [--namespace NS] [--via-logs [--logs-dir DIR]] [--render]
#
#   1. START_AT = now + the lead (--lead, else $FTPLOAD_LEAD, else 60 s):
#      every shard holds its load until then, so scheduling the pods and
#      pulling the image must fit in it (a late shard says so in its result).
#   2. Deletes the previous run's Jobs (a Job's pod template cannot change),
#      applies scenario-configmap.yaml, password-secret.yaml (only once its
#      CHANGE-ME is replaced; else the Secret must exist already),
#      results-pvc.yaml and shards-job.yaml with __START_AT__ and __RUN_ID__
#      filled in, and waits for the shards (--timeout, else
#      $FTPLOAD_TIMEOUT, else 30m: a kubectl duration).
#   3. Applies merge-job.yaml, waits for it, and prints how to fetch
#      /results/<run>/merged.json from the volume.
#
#   --via-logs      No shared volume (no ReadWriteMany storage): each shard
#                   writes its result to stdout (`--out -`) instead of
#                   --out-dir; no PVC and no merge Job. Each shard's log goes
#                   to DIR/shard-I-of-N.json (--logs-dir DIR, default
#                   ./ftpload-<run>), merged here with `ftpload merge DIR`
#                   when ftpload is on PATH. The kubelet keeps 10 MiB of a
#                   container's log by default: ample for a result.
#   --namespace NS  Where to run (default: the context's namespace).
#   --render        Print the manifests as they would be applied, apply
#                   nothing (needs no cluster; tests/kubernetes.rs reads it).
#   -h, --help      This text.
#
# Exit: 0 every shard ran clean and the merge is written; 1 a shard failed
# (exit 1 or 99 still leave its result, which is merged) or the merge did;
# 2 bad usage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shards_job=ftpload-shards
merge_job=ftpload-merge
secret=ftpload-password

usage() {
    # The header above, without its '#'.
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"
}

lead=${FTPLOAD_LEAD:-60}
timeout=${FTPLOAD_TIMEOUT:-30m}
via_logs=false
render=false
logs_dir=
kc=(kubectl)
while (($# > 0)); do
    case $1 in
    --lead) lead=${2:?--lead needs seconds}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs a duration}; shift 2 ;;
    --namespace | -n) kc+=(--namespace "${2:?--namespace needs a name}"); shift 2 ;;
    --via-logs) via_logs=true; shift ;;
    --logs-dir) logs_dir=${2:?--logs-dir needs a folder}; shift 2 ;;
    --render) render=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "apply.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
# ftpload refuses a --start-at more than 24 hours away.
if ! [[ $lead =~ ^[0-9]+$ ]] || ((lead < 1 || lead >= 86400)); then
    echo "apply.sh: --lead $lead: seconds from 1 to 86399" >&2
    exit 2
fi

# `date -d @N` is GNU's, `date -r N` the BSDs' (macOS).
utc() {
    date -u -d "@$1" "+$2" 2>/dev/null || date -u -r "$1" "+$2"
}
at=$(($(date +%s) + lead))
start_at=$(utc "$at" %Y-%m-%dT%H:%M:%SZ)
run_id=run-$(utc "$at" %Y%m%dT%H%M%SZ)

# shards-job.yaml as applied, the placeholders filled in (not in comments,
# which name them). With --via-logs the results volume goes (the
# lines between its via-logs markers) and `--out-dir /results/__RUN_ID__`
# becomes `--out -`.
shards_manifest() {
    local logs=()
    if $via_logs; then
        logs=(-e '/# via-logs:begin/,/# via-logs:end/d'
            -e 's/^\( *\)- --out-dir$/\1- --out/'
            -e 's|^\( *\)- /results/__RUN_ID__$|\1- "-"|')
    fi
    # ${a[@]+...}: an empty array is "unbound" to bash 3.2's set -u (macOS).
    sed ${logs[@]+"${logs[@]}"} -e "/^ *#/!s/__START_AT__/$start_at/g" \
        -e "/^ *#/!s/__RUN_ID__/$run_id/g" "$here/shards-job.yaml"
}

merge_manifest() {
    sed -e "/^ *#/!s/__RUN_ID__/$run_id/g" "$here/merge-job.yaml"
}

# The password Secret's manifest unless it still holds the placeholder,
# which must never overwrite a Secret made by hand.
secret_edited() {
    ! grep -q 'CHANGE-ME' "$here/password-secret.yaml"
}

if $render; then
    cat "$here/scenario-configmap.yaml"
    printf -- '---\n'
    cat "$here/password-secret.yaml"
    if ! $via_logs; then
        printf -- '---\n'
        cat "$here/results-pvc.yaml"
    fi
    printf -- '---\n'
    shards_manifest
    if ! $via_logs; then
        printf -- '---\n'
        merge_manifest
    fi
    exit 0
fi

# Waits until job $1 completes (0) or fails (1), or $timeout passes (1).
# Two `kubectl wait`s, since one waits for one condition only.
wait_job() {
    local complete failed rc=1
    "${kc[@]}" wait --for=condition=complete --timeout="$timeout" "job/$1" >/dev/null &
    complete=$!
    "${kc[@]}" wait --for=condition=failed --timeout="$timeout" "job/$1" >/dev/null &
    failed=$!
    while kill -0 "$complete" 2>/dev/null && kill -0 "$failed" 2>/dev/null; do
        sleep 2
    done
    if ! kill -0 "$complete" 2>/dev/null && wait "$complete"; then
        rc=0
    fi
    kill "$complete" "$failed" 2>/dev/null || true
    wait "$complete" "$failed" 2>/dev/null || true
    return "$rc"
}

# Each shard's result from its log, into $1: the pod of each index that ran
# last (a retried index has two).
collect_logs() {
    local dir=$1 count i pod file
    count=$(sed -n 's/^  completions: *\([0-9][0-9]*\).*/\1/p' "$here/shards-job.yaml")
    mkdir -p "$dir"
    for ((i = 0; i < count; i++)); do
        file=$dir/shard-$((i + 1))-of-$count.json
        pod=$("${kc[@]}" get pods --sort-by=.metadata.creationTimestamp -o name \
            -l "batch.kubernetes.io/job-name=$shards_job,batch.kubernetes.io/job-completion-index=$i" |
            tail -n 1)
        if [[ -z $pod ]]; then
            echo "shard $((i + 1)) of $count: no pod left" >&2
            continue
        fi
        # A log is stdout and stderr together: the result is the one JSON
        # document in it, from a line "{" to a line "}"; the summary and
        # any message are text around it.
        "${kc[@]}" logs "$pod" | sed -n '/^{$/,/^}$/p' >"$file"
        if [[ ! -s $file ]]; then
            echo "shard $((i + 1)) of $count: no result in the log of $pod" >&2
            rm -f "$file"
        fi
    done
}

if secret_edited; then
    secret_file=("$here/password-secret.yaml")
elif "${kc[@]}" get secret "$secret" >/dev/null 2>&1; then
    secret_file=()
    echo "password-secret.yaml still says CHANGE-ME: keeping the Secret $secret as it is"
else
    echo "apply.sh: replace CHANGE-ME in password-secret.yaml, or create the Secret:" >&2
    echo "  kubectl create secret generic $secret --from-literal=password=..." >&2
    exit 2
fi

echo "run $run_id: the load starts at $start_at"
"${kc[@]}" delete job "$shards_job" "$merge_job" --ignore-not-found --cascade=foreground --wait=true
files=("$here/scenario-configmap.yaml" ${secret_file[@]+"${secret_file[@]}"})
$via_logs || files+=("$here/results-pvc.yaml")
for f in "${files[@]}"; do
    "${kc[@]}" apply -f "$f"
done
shards_manifest | "${kc[@]}" apply -f -

failed=0
if wait_job "$shards_job"; then
    echo "every shard ran clean"
else
    failed=1
    echo "the shards Job did not complete (failed indexes: $("${kc[@]}" get job "$shards_job" \
        -o jsonpath='{.status.failedIndexes}')): a shard's log says why" >&2
fi

if $via_logs; then
    dir=${logs_dir:-./ftpload-$run_id}
    collect_logs "$dir"
    if command -v ftpload >/dev/null; then
        ftpload merge "$dir" --out "$dir/merged.json" || failed=1
    else
        echo "merge them where ftpload is: ftpload merge $dir --out $dir/merged.json"
    fi
    exit "$failed"
fi

# The merge refuses a folder missing a shard, so it runs after a failed
# shards Job too: exit 1 and 99 leave their results.
merge_manifest | "${kc[@]}" apply -f -
if wait_job "$merge_job"; then
    "${kc[@]}" logs "job/$merge_job"
else
    failed=1
    echo "the merge failed:" >&2
    "${kc[@]}" logs "job/$merge_job" >&2 || true
fi

image=$(sed -n 's/^ *image: *//p' "$here/merge-job.yaml" | head -n 1)
cat <<EOF

The merged result is /results/$run_id/merged.json on the volume ftpload-results
(the shards' files beside it). To copy it here, through a pod that mounts it:

  ${kc[*]} run ftpload-fetch --image=$image --restart=Never \\
    --overrides='{"spec":{"containers":[{"name":"ftpload-fetch","image":"$image","command":["sleep","600"],"volumeMounts":[{"name":"r","mountPath":"/results"}]}],"volumes":[{"name":"r","persistentVolumeClaim":{"claimName":"ftpload-results"}}]}}'
  ${kc[*]} wait --for=condition=Ready pod/ftpload-fetch
  ${kc[*]} cp ftpload-fetch:/results/$run_id/merged.json ./$run_id.json
  ${kc[*]} delete pod ftpload-fetch
EOF
exit "$failed"
