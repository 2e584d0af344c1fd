#!/usr/bin/env bash
# A real one-node SLURM cluster on this host, for testing the profiles/slurm path (tests/workflow/test_slurm.py).
#
#   tests/cluster/local_slurm.sh start    # install slurm-wlm + munge if missing, start munged/slurmctld/slurmd
#   tests/cluster/local_slurm.sh status   # are the daemons this script started still running?
#   tests/cluster/local_slurm.sh stop     # cancel this cluster's jobs, stop exactly the daemons it started
#   eval "$(tests/cluster/local_slurm.sh env)"   # SLURM_CONF for sbatch/squeue/sinfo/snakemake
#
# Needs root on Debian/Ubuntu (apt-get). Everything it writes lives in one state directory
# ($LOCAL_SLURM_DIR, default /var/lib/local-slurm): slurm.conf, the munge key, logs, spool, pid records.
# The one file outside it is the symlink /etc/slurm/slurm.conf -> that slurm.conf, made only where no
# slurm.conf exists and removed by stop: srun inside a job must find the config at the default path,
# because snakemake-executor-plugin-slurm-jobstep drops SLURM_CONF from the environment of its srun.
# It never touches daemons it did not start.
# Exit status: 0 ok, 2 usage/precondition (not root, no apt-get), 1 anything else.
set -euo pipefail

STATE=${LOCAL_SLURM_DIR:-/var/lib/local-slurm}
PARTITION=${LOCAL_SLURM_PARTITION:-local}
CTLD_PORT=${LOCAL_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${LOCAL_SLURM_SLURMD_PORT:-6818}
WAIT_S=${LOCAL_SLURM_WAIT_S:-60}
CONF=$STATE/slurm.conf
ETC_CONF=/etc/slurm/slurm.conf
PIDS=$STATE/pids
MUNGE_DIR=$STATE/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket.2
DAEMONS=(munged slurmctld slurmd)  # start order; stop goes the other way

# this host's short name: the node's (and controller's) name in slurm.conf
node_name() { hostname -s 2>/dev/null || uname -n | cut -d. -f1; }

say() { printf 'local_slurm: %s\n' "$*"; }
die() { printf 'local_slurm: error: %s\n' "$1" >&2; exit "${2:-1}"; }

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it installs slurm-wlm/munge and starts munged, slurmctld, slurmd)" 2
}

have_binaries() {
    command -v munged >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sinfo >/dev/null && command -v sbatch >/dev/null && command -v squeue >/dev/null
}

install_packages() {
    have_binaries && return 0
    command -v apt-get >/dev/null || die "slurm-wlm/munge are not installed and apt-get is not available: install them by hand" 2
    say "installing slurm-wlm and munge with apt-get"
    # Package postinst scripts would start the distribution's own munge/slurm services; a policy-rc.d
    # answering 101 (action forbidden) keeps them down, so the only daemons running are the ones we start.
    # An existing policy-rc.d (e.g. Docker images ship one) is left as it is.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && own_policy=1
    fi
    local apt=(apt-get -qq -y -o Dpkg::Use-Pty=0 install --no-install-recommends slurm-wlm munge)
    local ok=0
    # a clean machine may have no package lists yet: update once, only when the first try fails
    if DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$STATE/apt.log" 2>&1; then ok=1
    elif DEBIAN_FRONTEND=noninteractive apt-get -qq update >>"$STATE/apt.log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"$STATE/apt.log" 2>&1; then ok=1
    fi
    [[ $own_policy -eq 1 ]] && rm -f "$policy"
    [[ $ok -eq 1 ]] || die "apt-get could not install slurm-wlm/munge (see $STATE/apt.log): $(tail -n 3 "$STATE/apt.log" | tr '\n' ' ')" 2
    have_binaries || die "slurm-wlm/munge installed but munged/slurmctld/slurmd/sinfo/sbatch/squeue are missing" 2
}

# pid of a daemon we recorded, if that process is still alive and still that program (not a reused pid)
live_pid() {
    local name=$1 pid
    [[ -f $PIDS/$name.pid ]] || return 1
    pid=$(<"$PIDS/$name.pid")
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/comm ]] || return 1
    [[ $(</proc/"$pid"/comm) == "$name" ]] || return 1
    echo "$pid"
}

write_conf() {
    local host cpus mem_mb margin_mb real_mb
    host=$(node_name)
    cpus=$(nproc)
    mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
    # leave room for the OS and the daemons: 10% of memory, at least 1 GiB
    margin_mb=$(( mem_mb / 10 > 1024 ? mem_mb / 10 : 1024 ))
    real_mb=$(( mem_mb - margin_mb ))
    (( real_mb > 0 )) || die "too little memory for a SLURM node: ${mem_mb} MB"
    cat >"$CONF" <<EOF
# Written by tests/cluster/local_slurm.sh: a one-node SLURM cluster on $host. Regenerated on every start.
ClusterName=localslurm
# The controller and the only node are this host. The explicit address avoids depending on the host
# name resolving (containers often map it to 127.0.0.1 or not at all).
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
# Daemons run as root (this script is run as root) so every state path below can stay root-owned.
SlurmUser=root
SlurmdUser=root
# munge authenticates every RPC; our munged listens on its own socket, not the distribution's one.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
# Everything in the state directory: nothing under /etc, /var/spool or /var/log is touched.
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# Containers and CI runners usually have no writable cgroup hierarchy: track job processes through
# /proc (proctrack/cgroup would make slurmd fail to start) ...
ProctrackType=proctrack/linuxproc
# ... and do no CPU binding or cgroup confinement of tasks (task/affinity and task/cgroup need them).
TaskPlugin=task/none
# No accounting database (slurmdbd) here; jobs still run, but sacct has nothing to report, so
# Snakemake must poll job states with squeue (--slurm-status-command squeue).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# squeue only shows a finished job while slurmctld keeps it: MinJobAge seconds. The Snakemake plugin
# polls with squeue only when MinJobAge >= 3 x its first status-check delay, so keep finished jobs 10 min.
MinJobAge=600
# Allocate cores and memory (not whole nodes) so several jobs share the node, each within its
# --cpus-per-task and --mem; jobs asking more than the node has are refused at sbatch time.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A node that went DOWN (e.g. slurmd restarted, or a state file from an earlier start) comes back
# to service as soon as its slurmd registers with a valid configuration, without an admin's scontrol.
ReturnToService=2
# Trust the node line below (CPUs from nproc, memory less a margin) rather than what slurmd detects:
# in a container nproc can be below the hardware's count, and the node must not be drained for it.
SlurmdParameters=config_overrides
MpiDefault=none
# Refuse at sbatch time a job that asks more than the partition has (e.g. more CPUs than the node):
# the default would queue it forever as PENDING (PartitionConfig) and the workflow would hang.
EnforcePartLimits=ALL
# scancel/time limits: SIGTERM first (train jobs checkpoint on it), SIGKILL 10 s later
KillWait=10
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    say "wrote $CONF (node $host: CPUs=$cpus RealMemory=${real_mb} MB, partition $PARTITION)"
}

make_munge_key() {
    local key=$MUNGE_DIR/munge.key
    if [[ ! -s $key ]]; then
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
        say "created munge key $key"
    fi
    # munged refuses a key that anyone but its owner can read
    chown munge:munge "$key" && chmod 0400 "$key"
}

# the default config path points at ours (see the header); an existing config is someone else's cluster
link_etc_conf() {
    if [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; then
        return 0
    elif [[ -e $ETC_CONF || -L $ETC_CONF ]]; then
        die "$ETC_CONF already exists (another SLURM setup on this host?); not touching it" 2
    fi
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -s "$CONF" "$ETC_CONF"
}

# wait (bounded) for a daemon's own pid file, then record that pid as ours
record_pid() {
    local name=$1 pidfile=$2 i pid
    for (( i = 0; i < 100; i++ )); do
        if [[ -s $pidfile ]]; then
            pid=$(tr -dc '0-9' <"$pidfile")
            if [[ -n $pid && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$name" ]]; then
                echo "$pid" >"$PIDS/$name.pid"
                say "started $name (pid $pid)"
                return 0
            fi
        fi
        sleep 0.1
    done
    die "$name did not start; its log: $STATE/log/ (last lines: $(tail -n 5 "$STATE"/log/"$name"*.log 2>/dev/null | tr '\n' ' '))"
}

start() {
    need_root
    mkdir -p "$STATE"
    chmod 0755 "$STATE"
    install_packages
    local running=() name
    for name in "${DAEMONS[@]}"; do live_pid "$name" >/dev/null && running+=("$name"); done
    if [[ ${#running[@]} -eq ${#DAEMONS[@]} ]]; then
        say "already running (${running[*]}; state in $STATE)"
        return 0
    elif [[ ${#running[@]} -gt 0 ]]; then
        die "partly running (${running[*]}): run '$0 stop' first"
    fi
    mkdir -p "$PIDS" "$STATE/run" "$STATE/log" "$STATE/slurmctld" "$STATE/slurmd" "$MUNGE_DIR"
    # munged runs as the munge user and insists on owning its directory (socket, key, log, seed)
    chown munge:munge "$MUNGE_DIR" && chmod 0755 "$MUNGE_DIR"
    link_etc_conf
    write_conf
    make_munge_key
    rm -f "$STATE"/run/*.pid "$MUNGE_DIR"/munged.pid
    runuser -u munge -- munged --socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key" \
        --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
        || die "munged failed to start: $(tail -n 5 "$MUNGE_DIR/munged.log" 2>/dev/null | tr '\n' ' ')"
    record_pid munged "$MUNGE_DIR/munged.pid"
    # -c: start from a clean controller state (no jobs left over from an earlier start)
    SLURM_CONF=$CONF slurmctld -c -f "$CONF" || die "slurmctld failed to start: see $STATE/log/slurmctld.log"
    record_pid slurmctld "$STATE/run/slurmctld.pid"
    SLURM_CONF=$CONF slurmd -f "$CONF" -N "$(node_name)" || die "slurmd failed to start: see $STATE/log/slurmd.log"
    record_pid slurmd "$STATE/run/slurmd.pid"
    local state="" deadline=$(( SECONDS + WAIT_S ))
    while (( SECONDS < deadline )); do
        state=$(SLURM_CONF=$CONF sinfo -h -N -n "$(node_name)" -o %t 2>/dev/null || true)
        [[ $state == idle ]] && break
        sleep 1
    done
    [[ $state == idle ]] || die "node not idle after ${WAIT_S}s (sinfo says '${state:-nothing}'); logs in $STATE/log"
    say "node $(node_name) idle in partition $PARTITION; use: export SLURM_CONF=$CONF"
}

stop() {
    need_root
    local name pid i
    # jobs of this cluster would outlive slurmd (their slurmstepd runs on its own): cancel them first
    local jobs=()
    if live_pid slurmctld >/dev/null; then
        mapfile -t jobs < <(SLURM_CONF=$CONF squeue -h -t PENDING,RUNNING,SUSPENDED -o %i 2>/dev/null || true)
    fi
    if [[ ${#jobs[@]} -gt 0 ]]; then
        say "cancelling this cluster's jobs: ${jobs[*]}"
        SLURM_CONF=$CONF scancel --quiet "${jobs[@]}" 2>/dev/null || true
        for (( i = 0; i < 30; i++ )); do
            [[ -z $(SLURM_CONF=$CONF squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null || true) ]] && break
            sleep 1
        done
    fi
    for (( i = ${#DAEMONS[@]} - 1; i >= 0; i-- )); do
        name=${DAEMONS[i]}
        if pid=$(live_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            local t
            for (( t = 0; t < 100; t++ )); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
            if [[ -d /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
            say "stopped $name (pid $pid)"
        fi
        rm -f "$PIDS/$name.pid"
    done
    if [[ -L $ETC_CONF && $(readlink "$ETC_CONF") == "$CONF" ]]; then rm -f "$ETC_CONF"; fi
}

status() {
    local name pid rc=0
    for name in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$name"); then say "$name running (pid $pid)"; else say "$name not running"; rc=1; fi
    done
    if [[ $rc -eq 0 ]]; then SLURM_CONF=$CONF sinfo || true; fi
    return "$rc"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
