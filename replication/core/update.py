"""The one update step every learner takes (A2C, each A3C actor-learner, DQN, and the bench's network limit).

loss -> backward -> global gradient norm (clipped to ``max_grad_norm`` when given: Mnih 2016 §5.1 / PAAC clip the
global norm; Nature DQN clips the TD error in the loss instead) -> refuse a non-finite loss or norm -> learning rate
-> (A3C: hand the local gradients to the shared parameters, Hogwild) -> optimizer step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch


class TrainingDiverged(RuntimeError):
    """A non-finite loss or gradient norm; the step was not applied. The message names where (frames, update)."""


def update_step(loss: torch.Tensor, params: Iterable[torch.nn.Parameter], optimizer: torch.optim.Optimizer, *,
                learning_rate: float | None = None, max_grad_norm: float | None = None,
                shared_params: Iterable[torch.nn.Parameter] | None = None,
                where: Callable[[], str] = lambda: "") -> float:
    """Backpropagate ``loss`` into ``params`` and take one ``optimizer`` step.

    Args:
        loss: scalar float tensor with a graph to ``params``.
        params: the parameters the gradients are computed for (their old gradients are dropped first).
        optimizer: steps ``params``, or ``shared_params`` when those are given.
        learning_rate: set on every parameter group before the step (a schedule's value); None keeps it.
        max_grad_norm: clip the global L2 norm of the gradients to this; None measures it without clipping.
        shared_params: A3C (Mnih 2016 Algorithm S3): the shared parameters, in ``params``' order, that receive the
            local gradients and are what ``optimizer`` steps (no lock: Hogwild).
        where: called only when the step diverges; its text is appended to the message, e.g.
            ``" at frames 4000, update 200"`` (so the hot path formats nothing).

    Returns:
        The global gradient norm before clipping (float).

    Raises:
        TrainingDiverged: the loss or the gradient norm is NaN or infinite; no parameter was changed.
    """
    params = list(params)
    for p in params:
        p.grad = None
    loss.backward()
    if max_grad_norm is not None:
        norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    else:
        norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
    loss_value, grad_norm = float(loss.detach()), float(norm)
    if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
        raise TrainingDiverged(f"non-finite loss {loss_value} / grad norm {grad_norm}{where()}")
    if learning_rate is not None:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
    if shared_params is not None:
        for shared, local in zip(shared_params, params, strict=True):
            shared.grad = local.grad
    optimizer.step()
    return grad_norm
