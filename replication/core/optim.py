"""RMSProp exactly as Mnih et al. 2016, Supplementary §7, eqs. (8)-(9).

``g = alpha * g + (1 - alpha) * dtheta^2`` and ``theta = theta - eta * dtheta / sqrt(g + eps)``:
epsilon sits *inside* the square root, as in TensorFlow 1's ``RMSPropOptimizer`` used by PAAC
(Alfredvc/paac). ``torch.optim.RMSprop`` adds eps outside the root, which with eps = 0.1 is a different
optimizer, hence this small class.

And the centred RMSProp of DeepMind's DQN release code (``CentredRMSprop``, Mnih et al. 2015).
"""

from __future__ import annotations

import os
import sys

import torch

from replication.core.errors import UserError


class PaperRMSprop(torch.optim.Optimizer):
    """RMSProp with eps under the square root (Mnih et al. 2016 eq. 9).

    Args:
        params: parameters (float tensors of any shape).
        lr: eta; changed per update by the caller for linear annealing.
        alpha: decay of the squared-gradient average g (0.99 in Mnih 2016 §8).
        eps: added to g under the square root (0.1 in Mnih 2016 §8).
        square_avg_init: initial value of g. TensorFlow 1 (PAAC's code) starts it at 1.0; 0.0 starts cold.

    Raises:
        ValueError: a non-positive lr/eps or alpha outside [0, 1).
    """

    def __init__(self, params, lr: float, alpha: float = 0.99, eps: float = 0.1, square_avg_init: float = 0.0):
        if lr < 0 or eps <= 0 or not 0.0 <= alpha < 1.0:
            raise ValueError(f"invalid RMSProp settings lr={lr}, alpha={alpha}, eps={eps}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, square_avg_init=square_avg_init))

    def init_state(self) -> list[torch.Tensor]:
        """Create g for every parameter now (normally created at the first step); returns them in order."""
        out = []
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.full_like(p, group["square_avg_init"])
                out.append(state["square_avg"])
        return out

    def share_memory(self) -> list[torch.Tensor]:
        """Move every g into shared memory (Mnih 2016 Supp. §7 "shared RMSProp": one g seen by all
        actor-learners); returns the shared tensors in parameter order."""
        return [g.share_memory_() for g in self.init_state()]

    def use_square_avgs(self, square_avgs: list[torch.Tensor]) -> None:
        """Make this optimizer update the given g tensors (e.g. shared ones), one per parameter in order.

        Raises:
            ValueError: the count or a shape does not match the parameters.
        """
        params = [p for group in self.param_groups for p in group["params"]]
        if len(params) != len(square_avgs):
            raise ValueError(f"{len(square_avgs)} statistics for {len(params)} parameters")
        for p, g in zip(params, square_avgs):
            if g.shape != p.shape:
                raise ValueError(f"statistics shape {tuple(g.shape)} != parameter shape {tuple(p.shape)}")
            self.state[p]["square_avg"] = g

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if "square_avg" not in self.state[p]:
                    self.state[p]["square_avg"] = torch.full_like(p, group["square_avg_init"])
            grads = [p.grad for p in params]
            g = [self.state[p]["square_avg"] for p in params]
            # one multi-tensor kernel per operation over all parameters instead of a Python loop per parameter
            torch._foreach_mul_(g, group["alpha"])
            torch._foreach_addcmul_(g, grads, grads, value=1.0 - group["alpha"])
            denom = torch._foreach_add(g, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
        return None


def linear_lr(initial_lr: float, frames: int, annealing_frames: int) -> float:
    """Learning rate annealed linearly from ``initial_lr`` at frame 0 to 0 at ``annealing_frames``, then 0 (Mnih 2016
    §8; PAAC's ``lr_annealing_steps``). ``annealing_frames`` may exceed the run's budget: a run cut short then stops
    part-way down the line, as PAAC's do."""
    return initial_lr * max(0.0, 1.0 - frames / max(1, annealing_frames))


LR_SCHEDULES = ("linear", "constant")


def annealing_frames(lr_annealing_frames: int, total_frames: int) -> int:
    """The horizon, in frames, over which ``linear_lr`` anneals to 0: a config's ``lr_annealing_frames``, or the
    run's own ``total_frames`` where that is 0 (Mnih 2016 §8: "annealed to 0 over the course of training")."""
    return lr_annealing_frames or total_frames


def scheduled_lr(schedule: str, initial_lr: float, frames: int, annealing_frames: int) -> float:
    """The learning rate at ``frames`` (emulator frames) under ``schedule``, annealing over ``annealing_frames``.

    ``linear``: ``linear_lr`` (Mnih 2016 §8, PAAC). ``constant``: ``initial_lr`` throughout, as Stable-Baselines3's
    A2C default and the RL Zoo's Atari A2C settings (``hyperparams/a2c.yml``: no ``learning_rate`` key, so 7e-4
    constant).

    Raises:
        UserError: an unknown schedule name.
    """
    if schedule == "linear":
        return linear_lr(initial_lr, frames, annealing_frames)
    if schedule == "constant":
        return initial_lr

    raise UserError(f"unknown lr_schedule {schedule!r}; accepted: {', '.join(LR_SCHEDULES)}")


def centred_rmsprop_(params: list[torch.Tensor], grads: list[torch.Tensor], grad_avgs: list[torch.Tensor],
                     square_avgs: list[torch.Tensor], lr: float, decay: float, eps: float) -> None:
    """One step of centred RMSProp over lists of float tensors, in place (DQN release code, ``qLearnMinibatch``).

    Per tensor, with gradient ``d``: ``g = decay * g + (1 - decay) * d``, ``g2 = decay * g2 + (1 - decay) * d^2``,
    ``theta = theta - lr * d / sqrt(g2 - g^2 + eps)``. ``params``, ``grad_avgs`` (g) and ``square_avgs`` (g2) are
    updated; the four lists pair up by position and each position has one shape. One multi-tensor (foreach) kernel
    per operation over all tensors instead of a Python loop per parameter.
    """
    torch._foreach_mul_(grad_avgs, decay)
    torch._foreach_add_(grad_avgs, grads, alpha=1.0 - decay)
    torch._foreach_mul_(square_avgs, decay)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1.0 - decay)
    denom = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1.0)  # g2 - g^2
    torch._foreach_add_(denom, eps)
    torch._foreach_sqrt_(denom)
    torch._foreach_addcdiv_(params, grads, denom, value=-lr)


_compiled: dict = {}  # update function -> its torch.compile wrapper (dynamo caches compiled code per function)


def compile_update(update, example_args: tuple, name: str):
    """``torch.compile`` an in-place optimizer ``update`` and compile it now, on copies of ``example_args``.

    Eager, an optimizer step over the Nature network's 1.7M parameters is 8 memory-bound passes (6.0 ms on a
    2-core AVX2 EPYC); inductor fuses them into one (1.0-1.4 ms), about a tenth of a DQN update. Compiling takes
    ~25 s in a fresh cache and ~2-5 s once inductor's on-disk cache holds the kernel (``/tmp/torchinductor_*``), so
    it is done here, before a run's training clock starts. Tensor arguments are cloned (gradients, parameters and
    statistics keep their values), floats are passed as they are: the compiled code is specialised on them, so a
    changing learning rate would recompile (DQN's is constant).

    Args:
        update: a function of ``example_args`` that changes its tensor arguments in place and returns nothing.
        example_args: arguments of the real calls (lists of tensors and floats), with their shapes, strides and
            dtypes; they are not modified.
        name: what the update is, for the fallback's message.

    Returns:
        ``(fn, compiled)``: the compiled update and True, or ``update`` itself and False when compiling failed
        (no C++ compiler, an unsupported device): then one line on stderr says so and the run steps eagerly (the
        same update, slower).
    """
    def clone(t):  # the same type (dynamo guards on Parameter vs Tensor), strides and requires_grad
        c = t.detach().clone()
        return torch.nn.Parameter(c, t.requires_grad) if isinstance(t, torch.nn.Parameter) else c

    def copy(a):
        return [clone(t) for t in a] if isinstance(a, list) else a

    try:
        fn = _compiled.get(update)
        if fn is None:
            if "TORCHINDUCTOR_COMPILE_THREADS" not in os.environ:  # one small graph: no pool of compile processes
                import torch._inductor.config as inductor  # (its default starts one per core, in every job)

                inductor.compile_threads = 1
            fn = _compiled[update] = torch.compile(update)
        with torch.no_grad():  # as optimizer steps run
            fn(*[copy(a) for a in example_args])
    except Exception as e:  # noqa: BLE001 (any failure of the compiler stack means: step eagerly)
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"warning: torch.compile of the {name} step failed ({type(e).__name__}: {reason[:200]}): "
              "stepping eagerly (the same update, ~5x slower step; recorded in config.json as optimizer_step)",
              file=sys.stderr)
        return update, False
    return fn, True


class CentredRMSprop(torch.optim.Optimizer):
    """Centred RMSProp exactly as DeepMind's DQN release code (``dqn/NeuralQLearner.lua``, ``qLearnMinibatch``).

    Per parameter, with gradient ``d``: ``g = decay * g + (1 - decay) * d``, ``g2 = decay * g2 + (1 - decay) * d^2``,
    ``theta = theta - lr * d / sqrt(g2 - g^2 + eps)``; ``g`` and ``g2`` start at 0 (``centred_rmsprop_``). ``eps``
    sits *under* the root, unlike ``torch.optim.RMSprop(centered=True)``, which adds it outside.

    Args:
        params: parameters (float tensors of any shape).
        lr: learning rate (0.00025).
        decay: decay of both running averages (0.95).
        eps: added under the square root (0.01).
        compile: step with the ``torch.compile``'d update (``compile_update``: compiled here, falls back to eager
            with one line on stderr). Attribute ``compiled`` says which one steps. The compiled step is specialised
            on ``lr``, ``decay`` and ``eps``; changing them later recompiles.

    Raises:
        ValueError: ``lr < 0``, ``eps <= 0`` or ``decay`` outside [0, 1).
    """

    def __init__(self, params, lr: float, decay: float = 0.95, eps: float = 0.01, compile: bool = False):
        if lr < 0 or eps <= 0 or not 0.0 <= decay < 1.0:
            raise ValueError(f"invalid centred RMSProp settings lr={lr}, decay={decay}, eps={eps}")
        super().__init__(params, dict(lr=lr, decay=decay, eps=eps))
        self._update, self.compiled = centred_rmsprop_, False
        if compile:  # warmed up on the first group (DQN has one); another group's shapes compile on its first step
            example = self._group_args(self.param_groups[0], example=True)
            self._update, self.compiled = compile_update(centred_rmsprop_, example, "centred RMSProp")

    def _group_args(self, group: dict, example: bool = False) -> tuple:
        """``centred_rmsprop_``'s arguments for ``group``: the parameters with a gradient (all of them, with zero
        gradients, when ``example``), their gradients, g and g2 (created at zero on first use), lr, decay, eps."""
        params = [p for p in group["params"] if example or p.grad is not None]
        for p in params:
            if "grad_avg" not in self.state[p]:
                self.state[p]["grad_avg"] = torch.zeros_like(p)
                self.state[p]["square_avg"] = torch.zeros_like(p)
        grads = [torch.zeros_like(p) if example else p.grad for p in params]
        return (params, grads, [self.state[p]["grad_avg"] for p in params],
                [self.state[p]["square_avg"] for p in params], group["lr"], group["decay"], group["eps"])

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            args = self._group_args(group)
            if args[0]:
                self._update(*args)
        return None
