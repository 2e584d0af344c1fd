"""Training precision: ``fp32`` (default) or ``bf16`` autocast, the opt-in config key ``precision``.

``bf16`` runs the network's forward passes (acting and learning) under ``torch.autocast`` with bfloat16 on the
run's device (CPU with AVX512-BF16/AMX, or a CUDA GPU); parameters, optimizer state, returns and losses stay
float32 (the algorithms cast logits and values to float32 before the loss). Neither paper used it: it is a
speed option of this suite (# deviation: not in Mnih 2016 / Clemente 2017). Evaluation always runs in fp32.
"""

from __future__ import annotations

import torch

from replication.errors import UserError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of ``PRECISIONS``.

    Raises:
        UserError: names the bad value and the accepted ones.
    """
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; accepted: {', '.join(PRECISIONS)}")
    return precision


def autocast(device: torch.device | str, precision: str):
    """Context manager for the forward passes of a run on ``device`` at ``precision``.

    Raises:
        UserError: ``precision`` not in ``PRECISIONS``.
    """
    check_precision(precision)
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")
