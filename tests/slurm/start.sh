#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine (munged, slurmctld, slurmd) for the tests of
# crates/cli/tests/slurm.rs, as CI does before `just test`. Idempotent: a second call finds the
# node idle and returns at once. Needs root (or passwordless sudo) for apt-get and the daemons.
#
#   tests/slurm/start.sh          # install slurm-wlm and munge if missing, start, wait for idle
#   tests/slurm/start.sh stop     # stop the three daemons started here
#
# Everything Slurm writes (state, spool, logs, pid files) lives under $SUBBENCH_SLURM_DIR
# (default /tmp/subbench-slurm). The generated configuration is /etc/slurm/slurm.conf, the path
# every Slurm command reads; an existing slurm.conf that this script did not write is never
# overwritten.
set -euo pipefail

dir=${SUBBENCH_SLURM_DIR:-/tmp/subbench-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by subbench tests/slurm/start.sh"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo "$@"
    else
        echo "tests/slurm/start.sh: needs root (or passwordless sudo) to run: $*" >&2
        exit 1
    fi
}

if [ "${1:-}" = "stop" ]; then
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
        [ -s "$pidfile" ] && as_root kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    [ -s /run/munge/munged.pid ] && as_root kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    exit 0
fi

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

# Already up (a second call, or a developer's running test cluster): nothing to do.
if command -v sinfo >/dev/null && [ "$(node_state)" = "idle" ]; then
    echo "slurm: node $(hostname -s) is idle"
    exit 0
fi

missing=()
for pkg in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    # No daemons are started by the packages' scripts: this script starts them with its own
    # configuration (policy-rc.d exit code 101 = "action forbidden").
    policy=/usr/sbin/policy-rc.d
    created_policy=false
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        created_policy=true
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if $created_policy; then as_root rm -f "$policy"; fi
fi

host=$(hostname -s)
cpus=$(nproc)
# Half the machine's memory, in MB: enough for any --mem a test asks for, and never more than
# slurmd finds (a node that reports less memory than configured is drained).
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)

as_root mkdir -p "$dir/state" "$dir/spool" "$dir/log" /etc/slurm
if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
    echo "tests/slurm/start.sh: $conf exists and was not written by this script; not touching it" >&2
    exit 1
fi
as_root tee "$conf" >/dev/null <<EOF
$marker
# The tests of crates/cli/tests/slurm.rs run only against a cluster of this name.
ClusterName=subbench
# Addresses by IP, so that a machine whose hostname does not resolve works too.
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups: processes are tracked through /proc, tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Schedule every second, so that a test's jobs start (and a dependent job follows) promptly.
SchedulerParameters=sched_interval=1,bf_interval=1
# Finished jobs stay visible to scontrol for an hour (there is no accounting database).
MinJobAge=3600
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

# munge: a key (once), then the daemon, as the munge user the package created.
if [ ! -s /etc/munge/munge.key ]; then
    as_root mkdir -p /etc/munge
    as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
as_root chown munge:munge /etc/munge/munge.key
as_root chmod 0400 /etc/munge/munge.key
as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
as_root chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
    as_root runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running "$dir/slurmctld.pid" || as_root /usr/sbin/slurmctld
running "$dir/slurmd.pid" || as_root /usr/sbin/slurmd

for _ in $(seq 120); do
    state=$(node_state)
    case "$state" in
        idle) echo "slurm: node $host is idle ($cpus CPUs, ${mem_mb} MB)"; exit 0 ;;
        down* | drain* | unk*) as_root scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
echo "tests/slurm/start.sh: node $host did not become idle (state: ${state:-none}); see $dir/log/" >&2
exit 1
