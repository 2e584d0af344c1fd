# The run plan and the helpers every rule file shares. Included first by the Snakefile.

import json
import os
import shlex
import sys

from replication.algorithms.replay import replay_nbytes
from replication.config.load import validate_config
from replication.config.plan import check_workers_fit_cores, group_algorithm, peer_plan, run_plan
from replication.config.resolve import requests_gpu, resolve_run
from replication.core.errors import UserError
from replication.peers.sb3 import PEER_PREFIX
from replication.runs.rundir import run_dir


def exit_on_user_error(check, *args):
    """``check(*args)``; a ``UserError`` it raises becomes one line on stderr and exit status 2 (no traceback)."""
    try:
        return check(*args)
    except UserError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)


# data/config_schema.yaml via snakemake.utils.validate, then games, groups and keys
exit_on_user_error(validate_config, config)

PY = shlex.quote(sys.executable)
# the suite's own published results: the report draws their curves beside a rerun at the same settings
_BENCHMARKS = os.path.join(workflow.basedir, "benchmarks")
PUBLISHED = f"--published {shlex.quote(_BENCHMARKS)}" if os.path.isdir(_BENCHMARKS) else ""
RESULTS = config["results_dir"]
REPORTS = config["reports_dir"]
PLAN = run_plan(config) + peer_plan(config)  # (group, game, workers, seed); peers: SB3 runs of `peer: true` groups


def run_path(group, game, workers, seed):
    """``<results_dir>/runs/<group>/<game>/w<workers>/s<seed>``: the one definition of a run directory's path."""
    return str(run_dir(RESULTS, group, game, workers, seed))


def algorithm(group):
    """The algorithm (a2c, a3c_ff, a3c_lstm, dqn) run group ``group`` trains."""
    return group_algorithm(group, config["groups"][group])


def needs_gpu(group):
    """1 if run group ``group``'s device asks for a GPU (the ``gpu`` resource a job holds), else 0. The device as
    written: it is resolved (auto -> cuda/cpu) only by the job, on the host it runs on."""
    return int(requests_gpu(config["groups"][group].get("device", config["device"]), workflow.local_exec))


def train_threads(group, workers):
    """Cores a training job holds: A3C one per actor-learner process (Mnih 2016 Supp. section 8), others
    ``train_threads``."""
    return workers if algorithm(group).startswith("a3c") else config["train_threads"]


def train_mem_mb(group, game, workers, seed):
    """Memory (MiB) a training job holds: ``mem_mb_per_train_job``, plus DQN's preallocated replay buffer (about
    7.07 GB at 1M transitions)."""
    mem = config["mem_mb_per_train_job"]
    if algorithm(group) == "dqn":
        run = resolve_run(config, group, game, workers, seed)
        frame = (run["env"]["screen_size"], run["env"]["screen_size"])
        mem += -(-replay_nbytes(run["hyper"]["replay_capacity"], frame) // 2**20)
    return mem


def run_config(w):
    """The resolved run of wildcards ``w`` (``group, game, workers, seed``) as a shell-quoted JSON argument."""
    return shlex.quote(json.dumps(resolve_run(config, w.group, w.game, int(w.workers), int(w.seed))))


def scope_game(scope):
    """The game a report scope covers: ``games/<game>`` -> ``<game>``; ``replication`` (all games) -> None."""
    return scope.split("/", 1)[1] if scope.startswith("games/") else None


def done_files(game=None):
    """Every planned run's ``done.json`` (of ``game`` only, if given): what the aggregate of a scope waits for."""
    return [f"{run_path(*r)}/done.json" for r in PLAN if game is None or r[1] == game]


def check_a3c_fits():
    """The A3C runs this invocation will train need a core per worker: one line and exit 2 if they do not fit."""
    needed = {(j.wildcards.group, int(j.wildcards.workers)) for j in workflow.dag.needrun_jobs()
              if j.rule.name == "train"}  # the A3C runs this invocation will train, not the whole plan
    # in plan order (the DAG's order is not fixed), so the same config always names the same run group
    training = [(group, workers) for group, _, workers, _ in run_plan(config) if (group, workers) in needed]
    exit_on_user_error(check_workers_fit_cores, config,
                       workflow.resource_settings.cores if workflow.local_exec else None, training)
