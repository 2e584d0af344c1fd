#!/bin/bash
# Stop the long-run queue (benchmarks/longruns.sh) before a session or a booking ends, so that every run keeps its
# progress: the queue first (it would start its next step), then Snakemake (its train rule retries a job whose
# process ended), then SIGTERM to the training process, which saves a checkpoint (a DQN its replay memory too,
# ~20 s for 7 GB) and exits. Waits until it has, then says so in ROOT/queue.log. Rerun longruns.sh to resume.
#
#   bash benchmarks/stop_longruns.sh [ROOT]    # ROOT as given to benchmarks/longruns.sh (default: ../longruns)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
given=${1:-$here/../longruns}
root=$(cd "$given" 2> /dev/null && pwd) || {
  echo "$given is not a folder; accepted: the ROOT given to benchmarks/longruns.sh" >&2; exit 2; }
train="python[0-9.]* -m replication\.(train|parity train) .*--out $root/"
pkill -f "benchmarks/longruns\.sh $root\$"
sleep 1
pkill -TERM -f "snakemake -s $root/code/Snakefile"
sleep 5
pkill -TERM -f "$train"
for _ in $(seq 600); do
  pgrep -f "$train" > /dev/null || break
  sleep 1
done
if pgrep -f "$train" > /dev/null; then
  echo "a training process under $root still runs 10 minutes after SIGTERM: $(pgrep -f "$train" | tr '\n' ' ')" >&2
  exit 1
fi
echo "$(date -u +%FT%TZ) stopped by benchmarks/stop_longruns.sh; rerun benchmarks/longruns.sh $root to resume" \
  | tee -a "$root/queue.log"
