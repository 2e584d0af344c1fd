"""Advantage actor-critic loss (pure function).

Mnih et al. 2016, Algorithm S3: policy gradient ``-log pi(a_t|s_t) * A_t``, entropy bonus
``beta * H(pi(s_t))`` (§4, beta = 0.01) and value regression ``(R_t - V(s_t))^2``.
PAAC (Clemente et al. 2017; authors' code Alfredvc/paac ``policy_v_network.py``) averages over the
batch, weights the value term by 0.25 and multiplies the sum by ``loss_scale`` (= rollout_length 5).

And DQN's Huber TD loss (Mnih et al. 2015, ``td_loss``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class A2CLossTerms:
    """Scalar tensors: ``total`` (to backprop), ``policy``, ``value`` (unweighted mean squared error), ``entropy``
    (mean, nats)."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor

    def scalars(self) -> dict[str, torch.Tensor]:
        """The ``updates.csv`` columns these terms fill: ``loss_policy``, ``loss_value``, ``entropy``, as detached
        0-dim tensors (``TrainingRun.log_update`` reads them only for the rows it writes: no device sync per
        update)."""
        return {"loss_policy": self.policy.detach(), "loss_value": self.value.detach(),
                "entropy": self.entropy.detach()}


def actor_critic_loss(logits: torch.Tensor, values: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor,
                      entropy_beta: float, value_weight: float, loss_scale: float = 1.0) -> A2CLossTerms:
    """Batch-mean advantage actor-critic loss.

    Args:
        logits: float ``(B, A)`` unnormalised policy scores.
        values: float ``(B,)`` state values ``V(s)`` (with gradient).
        actions: int64 ``(B,)`` the actions taken.
        returns: float ``(B,)`` n-step returns ``R`` (no gradient).
        entropy_beta: weight of the entropy bonus (0.01 in Mnih 2016 §4).
        value_weight: weight of the squared value error (0.25 in PAAC's code, 0.5 for A3C).
        loss_scale: multiplies the whole loss (PAAC: rollout_length).

    Returns:
        ``A2CLossTerms`` with
        ``total = loss_scale * mean(-log pi(a|s) * (R - V).detach() - beta * H + value_weight * (R - V)^2)``.
    """
    log_probs = F.log_softmax(logits, dim=-1)
    probs = log_probs.exp()
    entropy = -(probs * log_probs).sum(-1)
    log_pi_a = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)
    advantage = (returns - values).detach()
    policy = -(log_pi_a * advantage).mean()
    value = (returns - values).pow(2).mean()
    ent = entropy.mean()
    total = loss_scale * (policy - entropy_beta * ent + value_weight * value)
    return A2CLossTerms(total=total, policy=policy, value=value, entropy=ent)


def td_loss(q: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor, next_q_target: torch.Tensor,
            dones: torch.Tensor, gamma: float, clip: float = 1.0) -> torch.Tensor:
    """Huber TD loss, summed over the minibatch (Mnih et al. 2015 eq. 3 with error clipping).

    ``y = r + gamma * (1 - done) * max_a' Q_target(s', a')`` (no gradient) and ``loss = sum_i H(Q(s_i, a_i) - y_i)``
    with ``H(x) = x^2 / 2`` for ``|x| <= clip`` else ``clip * (|x| - clip / 2)``, so the gradient with respect to
    ``Q(s, a)`` is the TD error clipped to ``[-clip, clip]``. Summed, not averaged: the release code backpropagates
    the clipped TD errors of the 32 samples as they are (``getQUpdate``/``qLearnMinibatch``).

    Args:
        q: float ``(B, A)``, online Q-values of ``s``.
        actions: int64 ``(B,)``.
        rewards: float ``(B,)``, clipped training rewards.
        next_q_target: float ``(B, A)``, target-network Q-values of ``s'``.
        dones: float ``(B,)``, 1.0 at training terminals.
        gamma: discount.
        clip: TD-error clipping threshold (Huber delta).

    Returns:
        Scalar float tensor.
    """
    q_sa = q.gather(1, actions.long().unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        target = rewards.float() + gamma * (1.0 - dones.float()) * next_q_target.float().max(dim=1).values
    return F.huber_loss(q_sa.float(), target, reduction="sum", delta=clip)
