"""Host-to-device copies of the learners' inputs: uint8 observations from ale-py (numpy) to the learner's device.

On a CUDA learner each copy goes through a page-locked (pinned) host buffer and is issued with
``non_blocking=True``: the host thread goes on queueing the forward pass while the DMA runs, and the copy is
ordered before the forward on the same stream. PyTorch's caching host allocator hands the pinned buffers out
again only after their copies have finished, so a buffer is never overwritten in flight. On a CPU learner
nothing is copied: the tensor wraps the numpy array.
"""

from __future__ import annotations

import numpy as np
import torch


def host_buffer(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised host tensor of ``shape``/``dtype`` to stage a copy to ``device``: pinned when ``device``
    is CUDA (pinning needs a CUDA runtime), ordinary memory otherwise."""
    return torch.empty(shape, dtype=dtype, pin_memory=device.type == "cuda")


def to_device(array: np.ndarray, device: torch.device, stage: bool | None = None) -> torch.Tensor:
    """``array`` (any shape, a numpy dtype torch knows, e.g. uint8 ``(n, stack, 84, 84)`` frames) as a tensor of
    the same shape and dtype on ``device``.

    ``stage`` (default: ``device`` is not the CPU) copies through ``host_buffer`` and ``non_blocking=True``;
    without it a CPU result wraps ``array`` (no copy, so later writes to ``array`` show through). The result of
    a staged copy never aliases ``array``; ``stage=True`` on the CPU runs the CUDA path's code with unpinned
    memory (how the tests cover it on hosts without a GPU).
    """
    src = torch.from_numpy(array)
    if stage is None:
        stage = device.type != "cpu"
    if not stage:
        return src.to(device)
    host = host_buffer(src.shape, src.dtype, device)
    host.copy_(src)
    return host.to(device, non_blocking=True, copy=True)
