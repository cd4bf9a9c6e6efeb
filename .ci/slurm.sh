#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for the sweep tool's Slurm test (test/e2e/sweep_slurm.test.ts).
#
#   eval "$(bash .ci/slurm.sh start)"   # installs slurm-wlm + munge if missing, starts munged,
#                                       # slurmctld and slurmd, waits for the node to be idle, and
#                                       # prints `export SLURM_CONF=...` for the client commands
#   bash .ci/slurm.sh stop              # cancels this cluster's jobs, stops the daemons, removes the state
#
# Everything lives in one state folder ($ALR_SLURM_DIR, default /tmp/alr-slurm): the munge key and
# socket, slurm.conf, spool, logs and pid files. Nothing under /etc is written, so a machine's own
# Slurm or munge configuration is left alone; the client commands find this cluster through
# SLURM_CONF. The node is described by `slurmd -C` (the machine's real CPU count and memory).
# Daemons run as root (SlurmUser=root) where CI runs as root; otherwise as the calling user.
set -euo pipefail

DIR="${ALR_SLURM_DIR:-/tmp/alr-slurm}"
CONF="$DIR/slurm.conf"

log() { echo "slurm.sh: $*" >&2; }

install_if_missing() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || { log "slurm-wlm and munge are missing and there is no apt-get to install them"; exit 1; }
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing slurm-wlm and munge (apt)"
  $sudo apt-get update -qq
  # policy-rc.d in containers stops the packages' own services from starting; we start ours below
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  install_if_missing
  if pid_alive "$DIR/slurmctld.pid" && pid_alive "$DIR/slurmd.pid" && pid_alive "$DIR/munged.pid"; then
    log "already running ($DIR)"
    echo "export SLURM_CONF=$CONF"
    return
  fi
  stop_daemons
  rm -rf "$DIR"
  mkdir -p "$DIR"/{munge,ctld,spool,log}
  chmod 700 "$DIR" "$DIR/munge"
  local user
  user="$(id -un)"

  # munge: a fresh key for this cluster, its own socket (AuthInfo below points slurm at it)
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/munge.key"
  munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"

  # the node as slurmd sees it: CPUs, sockets, cores, threads, RealMemory
  local node
  node="$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+ //; s/ UpTime=.*//')"
  cat >"$CONF" <<EOF
# single-node test cluster written by .ci/slurm.sh
ClusterName=alrci
SlurmctldHost=localhost
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# no cgroups in containers: track processes by parent, no task affinity
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$CONF"
  slurmctld -f "$CONF"
  slurmd -f "$CONF" -N localhost

  # wait for the node to register and become idle
  local state=""
  for _ in $(seq 1 60); do
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)"
    [ "$state" = "idle" ] && break
    sleep 1
  done
  if [ "$state" != "idle" ]; then
    log "node not idle after 60 s (state '$state'); logs in $DIR/log:"
    tail -n 20 "$DIR"/log/*.log >&2 || true
    exit 1
  fi
  log "cluster up: $(sinfo -h -N -o '%N %T cpus=%c mem=%mMB')"
  echo "export SLURM_CONF=$CONF"
}

stop_daemons() {
  if [ -f "$CONF" ] && pid_alive "$DIR/slurmctld.pid"; then
    SLURM_CONF="$CONF" scancel --user "$(id -un)" 2>/dev/null || true
  fi
  local f pid
  for f in slurmd slurmctld munged; do
    [ -f "$DIR/$f.pid" ] || continue
    pid="$(cat "$DIR/$f.pid")"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

stop() {
  stop_daemons
  rm -rf "$DIR"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: bash .ci/slurm.sh start|stop" >&2; exit 2 ;;
esac
