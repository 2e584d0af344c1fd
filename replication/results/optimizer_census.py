"""How much of each layer's RMSProp step its epsilon decides, read from a training checkpoint.

With eps under the root (Mnih 2016's shared RMSProp, ``theta <- theta - lr * d / sqrt(g + eps)``; PAAC's the same;
the DQN release code's centred form ``d / sqrt(g2 - g^2 + eps)``), a parameter whose squared-gradient average ``g``
is far below ``eps`` takes an SGD step ``lr / sqrt(eps) * d``: the optimizer's normalisation is off there, and the
step scales with the gradient. With eps 0.1 that is every parameter of a Pong actor-critic (issue 28 item 3): then
A3C at lr 7e-4 on one 5-step rollout and PAAC at ``0.0007 * n_e`` on the mean over ``n_e`` rollouts move the
network by the same amount per frame (``lr / sqrt(eps)`` per rollout), which is why PAAC scales its rate with n_e.

``python -m replication.diagnose RUN_DIR ...`` prints the table for a run's ``checkpoint.pt``.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from replication.core.errors import UserError

COLUMNS = ["layer", "parameters", "rms_weight", "rms_grad", "eps_share", "step_rms", "relative_step"]


def layer_census(weight: torch.Tensor, square_avg: torch.Tensor, lr: float, eps: float,
                 grad_avg: torch.Tensor | None = None) -> dict:
    """One layer's row: ``parameters`` (count), ``rms_weight``, ``rms_grad`` (``sqrt(mean(g))``, g the average
    of squared gradients), ``eps_share`` (share of its parameters whose denominator eps dominates: ``eps > g``, or
    ``eps > g2 - g^2`` when centred), ``step_rms`` (the RMS over its parameters of a typical step
    ``lr * sqrt(g) / sqrt(v + eps)``, v = g, or the centred variance) and ``relative_step`` (``step_rms /
    rms_weight``).

    Args:
        weight: the parameter, any shape, float.
        square_avg: its RMSProp average of squared gradients ``g`` (``g2`` when centred), same shape.
        lr: the learning rate the step uses.
        eps: RMSProp's epsilon, under the root.
        grad_avg: the centred form's average gradient ``g`` (DQN's ``CentredRMSprop``); None for the plain form.
    """
    g = square_avg.double()
    v = g if grad_avg is None else (g - grad_avg.double() ** 2).clamp_min(0.0)
    rms_w = float(weight.double().pow(2).mean().sqrt())
    step = float((lr * (g / (v + eps)).sqrt()).pow(2).mean().sqrt())
    return {"parameters": weight.numel(), "rms_weight": rms_w, "rms_grad": float(g.mean().sqrt()),
            "eps_share": float((v < eps).double().mean()), "step_rms": step,
            "relative_step": step / rms_w if rms_w > 0 else math.nan}


def optimizer_census(checkpoint: dict) -> tuple[pd.DataFrame, dict]:
    """Every trained layer's ``layer_census`` from a checkpoint (``replication.runs.rundir.load_checkpoint``), and
    ``{frames, updates, lr, eps, sgd_rate}`` (``sgd_rate = lr / sqrt(eps)``, the step per unit gradient where eps
    decides). The learning rate is the one saved with the optimizer (A2C: the annealed rate at the checkpoint;
    A3C's workers set theirs per update, so this is the initial rate).

    Raises:
        UserError: an optimizer without RMSProp state (``square_avg``), or whose parameters cannot be paired with
            the model's (by order: all of the model's, or those of its ``online`` network for DQN).
    """
    model, opt = checkpoint["model"], checkpoint["optimizer"]
    group = opt["param_groups"][0]
    indices = [i for g in opt["param_groups"] for i in g["params"]]
    names = [k for k, t in model.items() if torch.is_floating_point(t)]
    if len(names) != len(indices):
        names = [k for k in names if k.startswith("online.")]  # DQN: the optimizer steps the online network
    if len(names) != len(indices) or any(model[n].shape != opt["state"].get(i, {}).get("square_avg", model[n]).shape
                                         for n, i in zip(names, indices)):
        raise UserError(f"cannot pair the optimizer's {len(indices)} parameters with the model's "
                        f"{len(model)} tensors; accepted: a checkpoint of replication.train (A2C, A3C or DQN)")
    eps = group["eps"]
    rows = []
    for name, i in zip(names, indices):
        state = opt["state"].get(i)
        if not state or "square_avg" not in state:
            raise UserError(f"optimizer state of {name} has no square_avg; accepted: an RMSProp checkpoint")
        rows.append({"layer": name, **layer_census(model[name], state["square_avg"], group["lr"], eps,
                                                   state.get("grad_avg"))})
    counters = checkpoint["counters"]
    info = {"frames": counters["frames"], "updates": counters["updates"], "lr": group["lr"], "eps": eps,
            "sgd_rate": group["lr"] / math.sqrt(eps)}
    return pd.DataFrame(rows, columns=COLUMNS), info
