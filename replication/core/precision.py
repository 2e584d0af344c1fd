"""Training precision: ``fp32`` (default) or ``bf16`` autocast, the opt-in config key ``precision``.

``bf16`` runs the network's forward passes (acting and learning) under ``torch.autocast`` with bfloat16 on the
run's device (CPU with AVX512-BF16/AMX, or a CUDA GPU); parameters, optimizer state, returns and losses stay
float32 (the algorithms cast logits and values to float32 before the loss). Neither paper used it: it is a
speed option of this suite (# deviation: not in Mnih 2016 / Clemente 2017). Evaluation always runs in fp32.
"""

from __future__ import annotations

import torch

from replication.core.errors import UserError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of ``PRECISIONS``.

    Raises:
        UserError: names the bad value and the accepted ones.
    """
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; accepted: {', '.join(PRECISIONS)}")
    return precision


BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with native bfloat16 arithmetic


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux); empty where that file is missing."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bf16(device: torch.device | str, flags: set[str] | None = None) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CUDA GPU that supports it, or a CPU with AVX512-BF16 or AMX.
    Without it (e.g. an AVX2-only CPU) oneDNN emulates bf16 and a ``bf16`` run trains 4-5x slower than fp32
    (measured on a 2-core AMD EPYC: A2C Nature-16 network limit 3,481 -> 570 frames/s)."""
    if torch.device(device).type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return bool((cpu_flags() if flags is None else flags) & set(BF16_CPU_FLAGS))


def effective_precision(precision: str, device: torch.device | str, flags: set[str] | None = None) -> tuple[str, str]:
    """The precision a run on ``device`` trains at, and a one-line note ('' when it is the requested one).

    ``bf16`` where the device has no native bfloat16 (``native_bf16``) falls back to ``fp32``: emulated bf16 is
    several times slower and no more accurate, so nothing is gained by it.

    Raises:
        UserError: ``precision`` not in ``PRECISIONS``.
    """
    check_precision(precision)
    if precision == "bf16" and not native_bf16(device, flags):
        return "fp32", ("precision bf16 requested but this device has no native bfloat16 (CPU flags avx512_bf16 / "
                        "amx_bf16, or a bf16-capable GPU): training in fp32 instead (recorded in config.json as "
                        "precision_requested)")
    return precision, ""


def autocast(device: torch.device | str, precision: str):
    """Context manager for the forward passes of a run on ``device`` at ``precision``.

    Raises:
        UserError: ``precision`` not in ``PRECISIONS``.
    """
    check_precision(precision)
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")
