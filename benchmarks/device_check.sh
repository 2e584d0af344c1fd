#!/bin/bash
# The GPU checks for a lent device machine (one NVIDIA GPU, 16 cores, no network, torch preinstalled as python3), in
# one command of at most ~9 minutes (the device tool allows 10 per command and 15 per session): docs/running.md,
# "Checks on a lent GPU machine", says how to call it.
#
#   bash benchmarks/device_wheels.sh                     # here first: .whl/ with ale-py, gymnasium, pydantic
#   bash benchmarks/device_check.sh                      # on the device (run: carry [".whl"], timeout_s 600)
#   DEVICE_CHECK_DRY=1 nice -n 19 bash benchmarks/device_check.sh   # here: every step on the CPU, tiny, ~2 min
#
# Steps, each under `timeout` (budget per step, all of them within DEADLINE_S of the start); a step that fails or
# runs out of time is logged with its exit status (124: timed out) and the next one runs:
#   1. install   the carried wheels into /tmp/site (pip --no-index), PYTHONPATH=/tmp/site:$PWD
#   2. versions  python, torch, CUDA, the GPU, ale-py, gymnasium, pydantic, numpy, pandas, triton; nvidia-smi
#   3. tests     the tests that need CUDA (skipped elsewhere: `grep -rn cuda tests`) and the bench's --device tests
#   4. bench     python -m replication.bench --algos paac --device cuda: A2C at PAAC's n_e 16..256, both networks,
#                fp32 (the bench's PAAC lines are fp32 only), 100k frames per line (Clemente 2017 Figure 2 on this
#                GPU) -> $OUT/bench_gpu.csv
#   5. train     a PAAC run on the GPU (configs/clemente2017_pong.yaml: A2C, NIPS network, n_e 32, Pong, seed 0, the
#                final evaluation cut to 2 games) for 150 s of frames at step 4's n_e 32 NIPS rate (15,000
#                frames/s assumed where step 4 left no such line) -> $OUT/train_{done,config}.json,
#                $OUT/train_updates_tail.csv
#   6. bench_a3c the bench's A3C FF lines on this host's CPU at 1, 2, 4, 8, 16 actor-learners (one per core, as
#                many as it has), training frames/s alone (no env or network limits), one repeat: Mnih 2016 Table 2's
#                workers on a bigger host than the 2-core one (issue 28 item 4) -> $OUT/bench_a3c.csv
#   7. bench_a2c python -m replication.bench --algos a2c --device cuda: bf16 beside fp32 and env_groups 2 at n_e 32
#                NIPS and 16 Nature, in the time left -> $OUT/bench_gpu_a2c.csv
#   8. summary   the tables above in a few lines, for README.md / docs/speed.md
# Everything printed goes to $OUT/device_check.log too. The bench CSVs are rewritten after every line, so a step
# stopped by its timeout keeps the lines it finished; a training run stopped by its timeout saves a checkpoint
# (SIGTERM) and leaves updates.csv, but no done.json.
#
# Environment: OUT (default /tmp/devcheck_out; the device tool sets it), PY (default python3, the device's torch),
# DEVICE_CHECK_DRY=1 (this host: PY=.venv/bin/python, device cpu, 2 threads, a few thousand frames, the bench's
# lines cut to n_e 4 NIPS, no install; it checks the steps' commands and files, not their numbers).
set -u -o pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)

if [ "${DEVICE_CHECK_DRY:-0}" = 1 ]; then
  PY=${PY:-.venv/bin/python}
  OUT=${OUT:-/tmp/devcheck_out}
  DEVICE=cpu THREADS=2 DEADLINE_S=200 BENCH_FRAMES=4000
  # the bench's own main with its lines cut to one small shape: on 2 cores the network limits of n_e 32..256 alone
  # take minutes (30 timed updates each, three times)
  BENCH=("$PY" -c 'import sys
from replication.bench import throughput as t
t.LINES = {"paac": [t.Line("ours", "a2c", 4, "nips")],
           "a2c": [t.Line("ours", "a2c", 4, "nips", "bf16")]}
sys.exit(t.main(sys.argv[1:]))')
  TRAIN_SECONDS=20 TRAIN_FRAMES_MIN=4000 TRAIN_FRAMES_MAX=4000 EVAL_MAX_FRAMES=2000
  BUDGET_BENCH=60 BUDGET_TRAIN=60 BUDGET_A3C=60 BUDGET_BENCH2=60 A3C_FRAMES=4000
else
  PY=${PY:-python3}
  OUT=${OUT:-/tmp/devcheck_out}
  DEVICE=cuda THREADS=16 DEADLINE_S=540 BENCH_FRAMES=100000
  BENCH=("$PY" -m replication.bench)
  TRAIN_SECONDS=150 TRAIN_FRAMES_MIN=500000 TRAIN_FRAMES_MAX=8000000 EVAL_MAX_FRAMES=18000  # the config's cap
  BUDGET_BENCH=210 BUDGET_TRAIN=200 BUDGET_A3C=150 BUDGET_BENCH2=150 A3C_FRAMES=60000
fi
# the bench's own main with its A3C lines cut to A3C FF, training lines alone: its env and network limits would take
# ~20 s per worker count, and this step is about frames/s per actor-learner count
BENCH_A3C=("$PY" -c 'import sys
from replication.bench import throughput as t
t.LINES = {"a3c": [t.Line("ours", "a3c_ff", n, "nips") for n in t.a3c_worker_counts()]}
t.limit_rows = lambda *args, **kwargs: ([], None)
sys.exit(t.main(sys.argv[1:]))')
RUN=/tmp/devcheck_run            # the training run's directory (rebuilt every time)
CFG=/tmp/devcheck_pong.yaml      # configs/clemente2017_pong.yaml with this device, seed 0, a short final evaluation
mkdir -p "$OUT"
LOG=$OUT/device_check.log
: > "$LOG"
STEPS=()

log() { echo "$*" | tee -a "$LOG"; }

step() {  # step NAME BUDGET_S CMD...: CMD under timeout min(BUDGET_S, time left), its output into the log
  local name=$1 budget=$2 left t t0 rc
  shift 2
  left=$(( DEADLINE_S - ${RESERVE_S:-30} - ($(date +%s) - START) ))  # RESERVE_S: kept for the summary
  t=$(( budget < left ? budget : left ))
  if [ "$t" -lt 15 ]; then
    log "== $name: skipped, ${left}s left of ${DEADLINE_S}s"
    STEPS+=("$name=skipped")
    return
  fi
  log "== $name (timeout ${t}s, at $(( $(date +%s) - START ))s): $(echo "$*" | tr '\n' ' ' | cut -c1-400)"
  t0=$(date +%s)
  timeout -k 20 "$t" "$@" 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  log "== $name rc=$rc ($(( $(date +%s) - t0 ))s)$([ "$rc" = 124 ] && echo ", timed out")"
  STEPS+=("$name=$rc")
}

if COMMIT=$(git rev-parse --short HEAD 2>/dev/null); then  # the device's copy of the tree may have no .git
  git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT with uncommitted changes"
else
  COMMIT="unknown (no git repository here)"
fi
log "device check $(date -u +%FT%TZ), commit $COMMIT, device $DEVICE, OUT=$OUT"

# 1. the carried wheels
if [ "$DEVICE" = cuda ]; then
  if compgen -G ".whl/*.whl" > /dev/null; then
    step install 90 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
  else
    log "== install: no .whl/*.whl here: run benchmarks/device_wheels.sh before the device run and carry .whl"
    STEPS+=("install=missing")
  fi
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi

# 2. versions
step versions 60 "$PY" -c '
import os, platform, sys
import torch
print("python", platform.python_version(), sys.executable)
print("torch", torch.__version__, "cuda build", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0),
          f"{p.total_memory / 2**30:.0f} GiB", "bf16", torch.cuda.is_bf16_supported(),
          "count", torch.cuda.device_count())
else:
    print("gpu: none (torch.cuda.is_available() is False)")
from importlib.metadata import version, PackageNotFoundError
for name in ("ale-py", "gymnasium", "pydantic", "pydantic-core", "numpy", "pandas", "scipy", "matplotlib", "pyyaml",
             "psutil", "tqdm", "pytest", "triton"):
    try:
        print(name, version(name))
    except PackageNotFoundError:
        print(name, "not installed")
import ale_py
print("ale_py imported from", os.path.dirname(ale_py.__file__))
from replication.bench.throughput import isa_line
from replication.runs.provenance import host_info
h = host_info()
print("cpu", h["cpu"], "cores", h["cores"], "ISA", isa_line())
'
if command -v nvidia-smi > /dev/null; then
  step nvidia-smi 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
fi

# 3. the tests that need CUDA (skipped without it), and the bench's --device tests
step tests 120 "$PY" -m pytest -q -p no:cacheprovider -rs tests/core/test_networks.py tests/bench/test_bench.py \
  "tests/runs/test_training.py::test_bad_config_is_one_line_error[change8-device]" -k "networks or device"

# 4. Clemente 2017 Figure 2 on this device
step bench "$BUDGET_BENCH" "${BENCH[@]}" --algos paac --precisions fp32 --frames "$BENCH_FRAMES" \
  --device "$DEVICE" --threads "$THREADS" --out "$OUT/bench_gpu.csv"

# 5. a PAAC run on the device: about TRAIN_SECONDS of frames at step 4's n_e 32 NIPS rate
TRAIN_FRAMES=$("$PY" - "$OUT/bench_gpu.csv" "$TRAIN_SECONDS" "$TRAIN_FRAMES_MIN" "$TRAIN_FRAMES_MAX" <<'EOF' 2>> "$LOG"
import sys
import pandas as pd
csv, seconds, low, high = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
try:
    df = pd.read_csv(csv)
    row = df[df["line"].str.startswith("ours") & (df["workers"] == 32) & (df["network"] == "nips")
             & (df["precision"] == "fp32")]
    fps = float(row["frames_per_s"].iloc[0])
except Exception:  # no bench table or no such line: assume 15,000 frames/s
    fps = 15_000.0
print(max(low, min(high, int(fps * seconds) // 1000 * 1000)))
EOF
)
log "train: ${TRAIN_FRAMES:=2500000} frames"
"$PY" - configs/clemente2017_pong.yaml "$CFG" "$DEVICE" "$EVAL_MAX_FRAMES" <<'EOF' 2>&1 | tee -a "$LOG"
import sys
import yaml
src, dst, device, eval_max_frames = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg.update(device=device, seeds=[0], checkpoint_every_frames=1_000_000, log_every_updates=100)
cfg["eval"] = {**cfg.get("eval", {}), "episodes": 2, "every_frames": 0,  # the final evaluation only, 2 games
               "max_frames": int(eval_max_frames)}
yaml.safe_dump(cfg, open(dst, "w"), sort_keys=False)
EOF
rm -rf "$RUN"
step train "$BUDGET_TRAIN" "$PY" -m replication.train --configfile "$CFG" --group a2c --game pong --workers 32 \
  --seed 0 --threads "$THREADS" --total-frames "$TRAIN_FRAMES" --out "$RUN"
for f in done.json config.json; do
  [ -f "$RUN/$f" ] && cp "$RUN/$f" "$OUT/train_$f"
done
[ -f "$RUN/updates.csv" ] && { head -n 1 "$RUN/updates.csv"; tail -n +2 "$RUN/updates.csv" | tail -n 20; } \
  > "$OUT/train_updates_tail.csv"

# 6. A3C FF per actor-learner count on this host's CPU cores (A3C's learners are CPU processes by design)
step bench_a3c "$BUDGET_A3C" "${BENCH_A3C[@]}" --algos a3c --precisions fp32 --frames "$A3C_FRAMES" --repeats 1 \
  --device cpu --threads "$THREADS" --out "$OUT/bench_a3c.csv"

# 7. bf16 and overlap beside fp32 at A2C's two shapes, in the time left
step bench_a2c "$BUDGET_BENCH2" "${BENCH[@]}" --algos a2c --precisions fp32 bf16 --frames "$BENCH_FRAMES" \
  --device "$DEVICE" --threads "$THREADS" --out "$OUT/bench_gpu_a2c.csv"

# 8. the numbers for README.md / docs/speed.md
RESERVE_S=0 step summary 30 "$PY" - "$OUT" <<'EOF'
import json
import sys
from pathlib import Path
import pandas as pd
out = Path(sys.argv[1])
pd.set_option("display.width", 200)
for name in ("bench_gpu.csv", "bench_a3c.csv", "bench_gpu_a2c.csv"):
    if (out / name).exists():
        df = pd.read_csv(out / name)
        print(f"-- {name}; host: {df['host'].iloc[0]}")
        cols = ["line", "workers", "network", "precision", "device", "frames", "frames_per_s",
                "fraction_of_serial_bound", "cpu_steal"]
        print(df[[c for c in cols if c in df]].to_string(index=False))
    else:
        print(f"-- {name}: none")
if (out / "train_done.json").exists():
    done = json.loads((out / "train_done.json").read_text())
    cfg = json.loads((out / "train_config.json").read_text())
    print(f"-- train: {done['frames']:,} frames in {done['wall_time_s']:.0f} s = {done['frames_per_s']:,.0f} frames/s "
          f"(device {cfg.get('device')}, precision {cfg.get('precision')}, GPU {cfg['host'].get('gpu')}, CPU "
          f"{cfg['host'].get('cpu')}, {cfg['host'].get('cores')} cores, torch {cfg['versions'].get('torch')})")
elif (out / "train_updates_tail.csv").exists() and len(pd.read_csv(out / "train_updates_tail.csv")):
    up = pd.read_csv(out / "train_updates_tail.csv")
    print(f"-- train: stopped (no done.json) at {int(up['frames'].iloc[-1]):,} frames, "
          f"{up['frames_per_s'].iloc[-1]:,.0f} frames/s at its last update row")
else:
    print("-- train: no done.json and no update rows")
EOF

log "== steps: ${STEPS[*]} (total $(( $(date +%s) - START ))s)"
ls -l "$OUT" | tee -a "$LOG"
