#!/bin/bash
# The long runs behind benchmarks/ (claims.csv, parity.csv, longruns_progress.csv), one heavy training at a time,
# each through the suite's own workflow (Snakefile, configs/*.yaml) from a frozen copy of the code, so that edits to
# the checkout never change a running job.
#
#   bash benchmarks/longruns.sh [ROOT]          # ROOT: where the run directories go (default: ../longruns)
#   nohup bash benchmarks/longruns.sh > ../longruns/queue.log 2>&1 &
#   LONGRUNS_SNAKEMAKE_ARGS=-n bash benchmarks/longruns.sh   # dry run: what each step has left to do
#
# The first call makes ROOT/code, a git worktree of this checkout at its HEAD (detached); later calls use it as it
# is: move it on with `git -C ROOT/code checkout --detach COMMIT` between runs. PYTHONPATH makes its package the
# one every job imports; the .venv of this checkout (`make`) supplies the libraries.
# Rerun the script to resume, after a stop or a machine restart alike: Snakemake skips finished runs and each
# train job resumes from its checkpoint.pt (a lock a killed Snakemake left is lifted first, docs/reliability.md).
# To stop before a session or a booking ends: `bash benchmarks/stop_longruns.sh ROOT`. It kills this script, then
# Snakemake (its train rule retries a failed job, so a training process stopped first is started again), then
# SIGTERMs the training process (replication.train or replication.parity train), which saves a checkpoint and exits,
# and waits until it has (a DQN's replay memory: ~20 s).
# Anything else on the host runs at `nice -n 19`: torch's 2 threads meet at a barrier in every layer, so a neighbour at
# the run's own priority that takes a core stalls each layer for a scheduler slice. Measured 2026-12-06, 2-core EPYC:
# the Nature DQN run (queue at nice -10) fell from ~700 to ~140 frames/s beside a test suite at nice -10, to ~600
# beside a pytest at nice 19.
set -u
# Bash reads a script while it runs it, so an edit to this file (a commit, a checkout) would change what a running
# queue does next: the queue runs from a copy, ROOT/.queue/benchmarks/longruns.sh, put in place by a rename (a copy
# already running keeps reading its own). The command line stays `bash benchmarks/longruns.sh ROOT`.
if [ -z "${LONGRUNS_HERE:-}" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  root=$(mkdir -p "${1:-$here/../longruns}" && cd "${1:-$here/../longruns}" && pwd) || exit 2
  mkdir -p "$root/.queue/benchmarks" || exit 2
  tmp=$(mktemp "$root/.queue/benchmarks/.longruns.XXXXXX") && cp "$0" "$tmp" \
    && mv -f "$tmp" "$root/.queue/benchmarks/longruns.sh" || exit 2
  cd "$root/.queue" && LONGRUNS_HERE=$here exec bash benchmarks/longruns.sh "$root"
fi
HERE=$LONGRUNS_HERE
ROOT=$1
CODE=$ROOT/code
SMK=$HERE/.venv/bin/snakemake
[ -x "$SMK" ] || { echo "no $SMK: run \`make .venv/.installed\` in $HERE first" >&2; exit 2; }
[ -d "$CODE" ] || git -C "$HERE" worktree add --detach "$CODE" HEAD || exit 2

step() {  # step NAME CONFIG TARGET...: the targets of CONFIG, run directories under ROOT/NAME/runs
  local name=$1 cfg=$2 rc
  shift 2
  mkdir -p "$ROOT/$name"
  # a machine that stopped mid-run leaves Snakemake's lock behind: with no Snakemake working there now, lift it
  if ! pgrep -f "snakemake -s $CODE/Snakefile -d $ROOT/$name " > /dev/null; then
    PYTHONPATH=$CODE "$SMK" -s "$CODE/Snakefile" -d "$ROOT/$name" --cores 2 --configfile "$CODE/$cfg" \
      --config results_dir="$ROOT/$name" reports_dir="$ROOT/$name/reports" --unlock >> "$ROOT/$name/snakemake.log" 2>&1
  fi
  echo "$(date -u +%FT%TZ) start $name ($(git -C "$CODE" rev-parse --short HEAD))"
  PYTHONPATH=$CODE "$SMK" -s "$CODE/Snakefile" -d "$ROOT/$name" --cores 2 --configfile "$CODE/$cfg" \
    --config results_dir="$ROOT/$name" reports_dir="$ROOT/$name/reports" \
    --rerun-incomplete --keep-going ${LONGRUNS_SNAKEMAKE_ARGS:-} "${@/#/$ROOT/$name/runs/}" >> "$ROOT/$name/snakemake.log" 2>&1
  rc=$?
  echo "$(date -u +%FT%TZ) end $name rc=$rc"
}

# A3C LSTM at 2e-3, inside Figure 2's band of rates that learned Pong, after the 7e-4 run stayed at the uniform
# policy (issue 28 row 2; ~3.1 h; drawn beside the FF claim, not judged; first: 3 h that say whether our LSTM
# agent learns at a rate the paper's did, before the ~25-40 h DQN run)
step a3c_lstm_pong configs/mnih2016_a3c_lstm_pong.yaml a3c_lstm_lr_0p002/pong/w2/s0/done.json
# DQN at Nature's settings (issue 29 row 2; claims.csv mnih2015_dqn and mnih2016_table_s3_dqn; ~25-40 h)
step dqn_nature configs/dqn_nature_pong.yaml dqn_nature/pong/w1/s0/done.json
# A second seed of Mnih 2016 Figure 3's 2-thread run: its held verdict and the 1.96x speed-up rest on one seed each
# (~2.6 h; the config's seeds stay [0], a user's run is one seed per thread count). Then the two published a3c_ff
# runs again (their directories went with the machine on 2026-12-05, before land.sh kept run records):
# `land.sh ROOT a3c_ff` regenerates the a3c_ff rows from the group's records alone, and none holds those two runs
# yet, so land it only once all three have finished (seed 1 earlier: `python -m replication.claims --out
# benchmarks/a3c_ff_w2_s1 RUN_DIR`, a folder of its own); from then on a new a3c_ff seed lands beside them as is
step a3c_pong configs/mnih2016_a3c_pong.yaml a3c_ff/pong/w2/s1/done.json
# Mnih 2016 Figure 3, A3C FF with 2 threads on Pong (issue 28 row 1; held, finished 2026-12-04; claims.csv)
step a3c_pong configs/mnih2016_a3c_pong.yaml a3c_ff/pong/w2/s0/done.json
# Mnih 2016 Figure 3's 1-thread curve and, with the 2-thread run, the speed-up in time to a score per
# actor-learner count (issue 28 item 4; held, finished 2026-12-05 in 5.14 h; speedup.csv)
step a3c_pong configs/mnih2016_a3c_pong.yaml a3c_ff/pong/w1/s0/done.json
# Published already, retrained last (a new machine trains the runs still missing first):
# A3C LSTM at the same settings (issue 28 row 2; finished 2026-12-04, 20M frames in 3.1 h)
step a3c_lstm_pong configs/mnih2016_a3c_lstm_pong.yaml a3c_lstm/pong/w2/s0/done.json
# DQN learning parity with Stable-Baselines3 on Pong (issue 29 row 1; parity.csv; ~3.4 h SB3's side, ~2.6 h ours;
# a stop saves each side's replay memory beside its checkpoint, a rerun goes on with it)
step dqn_parity configs/parity.yaml sb3_dqn/pong/w1/s0/done.json dqn/pong/w1/s0/done.json \
  dqn/pong/w1/s1/done.json sb3_dqn/pong/w1/s1/done.json
# Clemente 2017 Table 1 and Figure 3, PAAC on Pong at n_e 32, 2 seeds (finished 2026-12-03; claims.csv)
step paac_pong configs/clemente2017_pong.yaml a2c/pong/w32/s0/done.json a2c/pong/w32/s1/done.json
