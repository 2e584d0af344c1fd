"""What a run ran on, recorded in its ``config.json``: the host (``host_info``), package versions (``versions``),
the source tree's git commit (``git_commit``) and the process-wide runtime settings (``provenance``)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import psutil
import torch

from replication.core import runtime


def host_info() -> dict:
    """CPU model, core count and GPU of this host, for provenance."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = None
    try:
        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # provenance only; never fail a run for it
        gpu = None
    return {"hostname": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "gpu": gpu,
            "python": platform.python_version(), "platform": platform.platform()}


def cpu_times() -> dict | None:
    """This host's cumulative CPU times since boot, seconds per state summed over CPUs (``psutil.cpu_times``: user,
    nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice on Linux); None where psutil cannot read
    them."""
    try:
        return psutil.cpu_times()._asdict()
    except (OSError, AttributeError, NotImplementedError):  # provenance only; never fail a run for it
        return None


def cpu_time_split(before: dict | None, after: dict | None) -> tuple[float, float]:
    """(all, stolen) CPU seconds of this host between two ``cpu_times`` readings, summed over its CPUs: all sums
    every state but ``guest`` and ``guest_nice`` (Linux counts those inside ``user`` and ``nice`` already), stolen
    is ``steal`` (the time the hypervisor gave to other machines). (0.0, 0.0) where a reading is None or has no
    ``steal`` state (not Linux)."""
    if not before or not after or "steal" not in before or "steal" not in after:
        return 0.0, 0.0
    counted = [k for k in after if k in before and k not in ("guest", "guest_nice")]
    return sum(after[k] - before[k] for k in counted), after["steal"] - before["steal"]


def cpu_steal_share(before: dict | None, after: dict | None) -> float:
    """The share of this host's CPU time that the hypervisor gave to other machines between two ``cpu_times``
    readings (``cpu_time_split``: stolen / all). 0.0 on bare metal; 0.4 means a run had 60% of the CPUs it asked
    for. NaN where a reading is None, has no ``steal`` state (not Linux), or no time passed."""
    total, steal = cpu_time_split(before, after)
    return steal / total if total > 0 else float("nan")


def versions() -> dict:
    """Versions of the libraries that decide the numbers."""
    out = {}
    for pkg in ("torch", "ale-py", "gymnasium", "numpy", "replication"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def git_commit() -> str | None:
    """The git commit of the source tree, or None outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    """Everything besides the config needed to rerun and interpret a run (the runtime settings included: they
    change frames/s, see ``replication/core/runtime.py``)."""
    command = " ".join(shlex.quote(a) for a in getattr(sys, "orig_argv", sys.argv))
    return {"versions": versions(), "host": host_info(), "git_commit": git_commit(), "runtime": runtime.settings(),
            "command": command}
