#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages, where
# no cluster exists: to try the job array of this folder, and for the test
# that runs it (tests/cluster.rs). Everything it makes lives in one folder;
# its daemons listen on loopback only, on ports of their own (16817-16820),
# beside any Slurm or MariaDB the machine already runs.
#
#   deploy/slurm/local-cluster.sh install [--accounting]
#   deploy/slurm/local-cluster.sh start [--accounting]
#   deploy/slurm/local-cluster.sh stop
#   deploy/slurm/local-cluster.sh status
#   deploy/slurm/local-cluster.sh env        # prints: export SLURM_CONF=...
#
# install: the packages whose command is missing (slurmctld, slurmd,
#   slurm-client, munge; with --accounting also slurmdbd and mariadb-server).
# start: installs what is missing, then starts munged (its own key and
#   socket), slurmctld and slurmd (a node with this machine's cores, each
#   core shared by up to 4 tasks so a 4-shard array runs at once on 2 cores)
#   and waits until the node is idle. With --accounting also a MariaDB
#   (its own data folder, TCP on 127.0.0.1:16819) and slurmdbd, so `sacct`
#   answers. Already running: says so and does nothing.
# stop: stops what start started (bounded: killed after 10 s).
#
# Then, in the shell that submits: eval "$(deploy/slurm/local-cluster.sh env)"
#
# FTPLOAD_SLURM_DIR: the folder (default /tmp/ftpload-slurm).
# Needs root (packages, daemons as root). Exit status: 0, or 1 with the
# reason and the log to read on stderr.
set -euo pipefail

dir=${FTPLOAD_SLURM_DIR:-/tmp/ftpload-slurm}
conf=$dir/slurm.conf
host=$(hostname -s)
db_port=16819
dbd_port=16820
# A local test cluster's database password, not a secret: MariaDB listens on
# loopback only, in a folder of its own.
db_pass=ftpload-local-cluster

die() {
    echo "local-cluster.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

apt_updated=0
need() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null && return 0
    echo "local-cluster.sh: installing $pkg (no $cmd)"
    if ((apt_updated == 0)); then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

install() {
    local accounting=$1
    need munged munge
    need slurmctld slurmctld
    need slurmd slurmd
    need sbatch slurm-client
    if ((accounting)); then
        need slurmdbd slurmdbd
        need mariadbd mariadb-server
    fi
}

# Waits up to $2 seconds for the command $1 (a function or a string of
# words) to succeed.
wait_for() {
    local what=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        if eval "$what" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

running() {
    local pidfile=$1
    [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# Starts "$@" in the background in a session of its own, its output to
# $dir/log/$name.out and its pid to $dir/$name.pid.
spawn() {
    local name=$1
    shift
    setsid "$@" >"$dir/log/$name.out" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
}

write_slurm_conf() {
    local accounting=$1 cpus mem_mib
    cpus=$(nproc)
    mem_mib=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 1024; print (m > 256 ? m : 256) }' /proc/meminfo)
    cat >"$conf" <<EOF
# Written by deploy/slurm/local-cluster.sh: one node, this machine, on loopback.
ClusterName=ftpload
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
# FORCE:4: each core takes up to 4 tasks, so a 4-shard array on 2 cores runs
# all at once (the shards are waiting on the network most of the time).
PartitionName=load Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
    if ((accounting)); then
        cat >>"$conf" <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$dbd_port
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
EOF
    else
        cat >>"$conf" <<EOF
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
EOF
    fi
}

# munge's default socket: sacctmgr and sacct reach slurmdbd through it
# whatever AuthInfo says (Slurm 22.05). A munged already answering there
# (the machine's own) is used; otherwise one of ours, with our own key.
start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        echo "local-cluster.sh: using the munged already running"
        return 0
    fi
    mkdir -p "$dir/munge" /run/munge
    chown munge:munge "$dir/munge" /run/munge
    chmod 700 "$dir/munge"
    if [[ ! -s $dir/munge/munge.key ]]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chown munge:munge "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    # munged forks into the background itself once its socket is up.
    runuser -u munge -- munged --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.out" 2>&1 ||
        die "munged did not start; see $dir/log/munged.out and $dir/munge/munged.log"
    wait_for "munge -n | unmunge" 10 || die "munged does not answer; see $dir/munge/munged.log"
}

start_accounting() {
    local db=$dir/mysql
    if [[ ! -d $db/mysql ]]; then
        mariadb-install-db --no-defaults --datadir="$db" --user=root \
            --auth-root-authentication-method=socket --skip-test-db >"$dir/log/mariadb-install.out" 2>&1 ||
            die "mariadb-install-db failed; see $dir/log/mariadb-install.out"
    fi
    spawn mariadbd mariadbd --no-defaults --datadir="$db" --user=root \
        --socket="$dir/mysql.sock" --port=$db_port --bind-address=127.0.0.1 \
        --pid-file="$dir/mariadbd.pid.own" --log-error="$dir/log/mariadbd.log" \
        --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900
    wait_for "mariadb --no-defaults --socket=$dir/mysql.sock -e 'select 1'" 60 ||
        die "MariaDB did not answer; see $dir/log/mariadbd.log"
    mariadb --no-defaults --socket="$dir/mysql.sock" <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_pass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$db_pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
    # slurmdbd reads slurmdbd.conf beside SLURM_CONF, and only one that is
    # its user's alone.
    cat >"$dir/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$host
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
PidFile=$dir/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=$db_pass
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$dir/slurmdbd.conf"
    SLURM_CONF=$conf spawn slurmdbd slurmdbd -D
    wait_for "SLURM_CONF=$conf sacctmgr -n list cluster" 30 ||
        die "slurmdbd did not answer; see $dir/log/slurmdbd.log"
    if ! SLURM_CONF=$conf sacctmgr -n -P list cluster format=cluster | grep -qx ftpload; then
        SLURM_CONF=$conf sacctmgr -i add cluster ftpload >/dev/null
    fi
}

start() {
    local accounting=$1
    if running "$dir/slurmctld.pid"; then
        echo "local-cluster.sh: already running (SLURM_CONF=$conf)"
        return 0
    fi
    install "$accounting"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    write_slurm_conf "$accounting"
    start_munge
    if ((accounting)); then
        start_accounting
    fi
    SLURM_CONF=$conf spawn slurmctld slurmctld -D -f "$conf"
    SLURM_CONF=$conf spawn slurmd slurmd -D -f "$conf"
    wait_for "SLURM_CONF=$conf sinfo -h -o %t | grep -qx idle" 30 ||
        die "the node did not come up idle; see $dir/log/slurmctld.log and slurmd.log"
    echo "local-cluster.sh: Slurm up ($(SLURM_CONF=$conf sinfo -h -o '%P %D node(s) %c cpus %t'))$( ((accounting)) && echo ', with accounting')"
    echo "export SLURM_CONF=$conf"
}

stop_one() {
    local pidfile=$1 pid i
    running "$pidfile" || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    local p
    # The daemons' own pid files first; spawn's, of the setsid'd process,
    # name the same process.
    for p in slurmd slurmctld slurmdbd mariadbd; do
        stop_one "$dir/$p.pid"
    done
    stop_one "$dir/munge/munged.pid"
    echo "local-cluster.sh: stopped"
}

status() {
    local p
    for p in munge/munged slurmctld slurmd slurmdbd mariadbd; do
        if running "$dir/$p.pid"; then
            echo "${p#munge/} running"
        else
            echo "${p#munge/} stopped"
        fi
    done
}

cmd=${1:-}
accounting=0
[[ ${2:-} == --accounting ]] && accounting=1
case $cmd in
install) install "$accounting" ;;
start) start "$accounting" ;;
stop) stop ;;
status) status ;;
env) echo "export SLURM_CONF=$conf" ;;
-h | --help | help) usage ;;
*)
    usage >&2
    exit 2
    ;;
esac
