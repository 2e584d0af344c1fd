"""Actor-critic networks: the NIPS (Mnih et al. 2013) and Nature (Mnih et al. 2015) torsos.

Mnih et al. 2016 §8 (Supplementary, "Experimental Setup"): NIPS torso = 16 8x8/4 conv, 32 4x4/2 conv,
256 FC; the 57-game agent uses the Nature torso = 32 8x8/4, 64 4x4/2, 64 3x3/1 conv, 512 FC; all ReLU.
Outputs: a softmax policy over the minimal action set and one linear value, all non-output layers shared (§4).
"""

from __future__ import annotations

from itertools import islice

import torch
from torch import nn

from replication.core.errors import UserError

NETWORKS = ("nips", "nature")
INITS = ("torch", "orthogonal")


def initialize(model: nn.Module, init: str) -> None:
    """Initialise ``model``'s weights in place.

    ``torch``: PyTorch's default, uniform with bound 1/sqrt(fan_in) for weights and biases; this is the "torch"
    init of PAAC's code (Alfredvc/paac networks.py) and the Torch7 default the A3C authors used (muupan wiki).
    ``orthogonal``: OpenAI Baselines' A2C init, orthogonal weights with gain sqrt(2) in the torso, 0.01 for the
    policy head and 1 for the value head, zero biases; it keeps activations at unit scale through the torso.

    Raises:
        UserError: unknown ``init``.
    """
    if init == "torch":
        return
    if init != "orthogonal":
        raise UserError(f"unknown init {init!r}; accepted: {', '.join(INITS)}")
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            gain = 0.01 if name == "policy" else 1.0 if name == "value" else 2 ** 0.5
            nn.init.orthogonal_(m.weight, gain=gain)
            nn.init.zeros_(m.bias)


def scale_frames(obs: torch.Tensor) -> torch.Tensor:
    """uint8 frames ``(B, C, H, W)`` -> float32 ``(B, C, H, W)`` in [0, 1], stored channels-last (NHWC strides).

    The logical shape and values are unchanged; only the memory layout differs. With the networks' conv
    weights also channels-last (``channels_last``), oneDNN's CPU convolutions skip their layout conversions:
    forward+backward of a 32-state minibatch ran ~30% faster on a 2-core AVX-512 Xeon (bench in
    ``replication/bench/throughput.py``).
    """
    return obs.contiguous(memory_format=torch.channels_last).float().div_(255.0)


def channels_last(model: nn.Module) -> nn.Module:
    """Store ``model``'s 4-d (conv) weights channels-last, in place; returns ``model``. Values, ``state_dict``
    keys and shapes are unchanged, so checkpoints load either way."""
    return model.to(memory_format=torch.channels_last)


@torch.no_grad()
def sample_actions(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Sample ``a ~ pi(. | s) = softmax(logits)`` per row: the actor's action choice of A3C (Mnih et al. 2016,
    Algorithm S3) and PAAC (Clemente et al. 2017, Algorithm 1), and the sampled evaluation policy.

    Args:
        logits: float ``(B, A)`` of any precision (bf16 under autocast) on any device; the softmax is taken in
            float32 with autocast off, so bf16 runs sample from the same probabilities as fp32 ones.
        generator: ``torch.Generator``, normally the run's CPU one; rows draw from it in order.

    Returns:
        int64 ``(B,)`` action indices on the generator's device. Logits on another device (a CUDA learner with the
        run's CPU generator) have their ``(B, A)`` probabilities copied there first: ``torch.multinomial`` refuses
        a generator of another device, and the actions go to the emulators on the CPU anyway. The draws are the
        same on every device for the same generator state.
    """
    with torch.autocast(logits.device.type, enabled=False):
        probs = torch.softmax(logits.float(), -1)
    if probs.device != generator.device:
        probs = probs.to(generator.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def act(model: "ActorCritic", obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One acting forward of an on-policy learner (A2C, A3C FF): sample actions, keep what the update needs.

    The convolutions run with autograd on (their graph is kept for the update's backward); the FC layer and the
    heads run without it, only to sample. The update then computes ``model.heads(torch.cat(features_of_steps))``
    with gradients: the same parameters on the same inputs give the same logits and values, so the loss and its
    gradient are those of a full forward per step (``ActorCritic.heads`` says why it is split).

    Args:
        model: ``ActorCritic``.
        obs: uint8 ``(B, 4, 84, 84)`` on the model's device.
        generator: as for ``sample_actions``.

    Returns:
        ``(features, actions)``: float32 ``(B, F)`` with its autograd graph, int64 ``(B,)`` on the generator's device.
    """
    features = model.features(obs)
    with torch.no_grad():
        logits = model.heads(features)[0]
    return features, sample_actions(logits, generator)


def _torso(kind: str, in_channels: int) -> tuple[nn.Sequential, int]:
    if kind == "nips":
        layers = [nn.Conv2d(in_channels, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
                  nn.Flatten(), nn.Linear(32 * 9 * 9, 256), nn.ReLU()]
        return nn.Sequential(*layers), 256
    if kind == "nature":
        layers = [nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(), nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
                  nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU()]
        return nn.Sequential(*layers), 512
    raise UserError(f"unknown network {kind!r}; accepted: {', '.join(NETWORKS)}")


class ActorCritic(nn.Module):
    """Shared torso with a policy head and a value head.

    Args:
        kind: ``"nips"`` or ``"nature"``.
        num_actions: size of the minimal action set.
        in_channels: frame stack (4).
        init: ``torch`` or ``orthogonal`` (see ``initialize``).

    ``forward(obs)`` takes uint8 ``(B, 4, 84, 84)`` (scaled to [0, 1] inside) and returns
    ``(logits float32 (B, A), value float32 (B,))``.

    Raises:
        UserError: unknown ``kind``.
    """

    def __init__(self, kind: str, num_actions: int, in_channels: int = 4, init: str = "torch"):
        super().__init__()
        self.torso, hidden = _torso(kind, in_channels)
        self.policy = nn.Linear(hidden, num_actions)
        self.value = nn.Linear(hidden, 1)
        initialize(self, init)
        channels_last(self)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(obs))

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The convolutional part of the torso: uint8 ``(B, 4, 84, 84)`` -> float32 ``(B, F)``, flattened
        (F = 2592 NIPS, 3136 Nature). ``heads(features(obs))`` equals ``forward(obs)``."""
        x = scale_frames(obs)
        for layer in islice(self.torso, len(self.torso) - 2):  # convolutions, ReLUs, flatten (not FC and ReLU)
            x = layer(x)
        return x

    def heads(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fully connected layer and both heads: float32 ``(B, F)`` -> ``(logits (B, A), value (B,))``.

        Splitting the network here lets a learner with several acting forwards per update (A2C, A3C) keep the
        autograd graph of each step's convolutions only and run the big FC layer (Nature: 3136 x 512) with
        gradients once, on the whole batch (``act``, then ``heads`` of the steps' features): its weight gradient
        is then one matrix product over all steps instead of one per step summed, the same gradient with ~5x
        less memory traffic (measured on a 2-core AVX2 EPYC: the A2C update 6% faster at Nature-16, 9% at NIPS-32).
        """
        h = self.torso[-1](self.torso[-2](features))
        return self.policy(h), self.value(h).squeeze(-1)


class ActorCriticLSTM(nn.Module):
    """A3C LSTM agent (Mnih et al. 2016 §5.1): the torso, then 256 LSTM cells, then policy and value heads.

    ``forward(obs, state)`` takes uint8 ``(B, 4, 84, 84)`` and ``state = (h, c)``, each float32 ``(B, 256)``,
    and returns ``(logits (B, A), value (B,), (h', c'))``. ``initial_state(B)`` gives zeros. ``init`` as for
    ``ActorCritic``.

    Raises:
        UserError: unknown ``kind`` or ``init``.
    """

    def __init__(self, kind: str, num_actions: int, in_channels: int = 4, cells: int = 256, init: str = "torch"):
        super().__init__()
        self.torso, hidden = _torso(kind, in_channels)
        self.lstm = nn.LSTMCell(hidden, cells)
        self.cells = cells
        self.policy = nn.Linear(cells, num_actions)
        self.value = nn.Linear(cells, 1)
        initialize(self, init)  # the LSTM cell keeps torch's init either way
        channels_last(self)

    def initial_state(self, batch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(batch, self.cells, device=device)
        return z, z.clone()

    def forward(self, obs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = self.lstm(self.torso(scale_frames(obs)), state)
        return self.policy(h), self.value(h).squeeze(-1), (h, c)


class RecurrentPolicy:
    """Adapts ``ActorCriticLSTM`` to the evaluator's ``policy(obs) -> logits``: keeps ``(h, c)`` between calls
    (one row per evaluation game) and starts from zeros after ``reset()``."""

    def __init__(self, model: ActorCriticLSTM):
        self.model = model
        self.state = None

    def reset(self) -> None:
        self.state = None

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        if self.state is None or self.state[0].shape[0] != obs.shape[0]:
            self.state = self.model.initial_state(obs.shape[0], obs.device)
        logits, _, self.state = self.model(obs, self.state)
        return logits


class QNetwork(nn.Module):
    """Q-network: the NIPS or Nature torso (``replication/core/networks.py``) and a linear layer to one Q per action.

    ``forward(obs)`` takes uint8 ``(B, stack, 84, 84)`` (scaled to [0, 1] inside) and returns float32 ``(B, A)``.
    PyTorch's default initialisation (uniform, bound 1/sqrt(fan_in)) equals the Torch7 default of the release code.

    Raises:
        UserError: unknown ``kind``.
    """

    def __init__(self, kind: str, num_actions: int, in_channels: int = 4):
        super().__init__()
        self.torso, hidden = _torso(kind, in_channels)
        self.head = nn.Linear(hidden, num_actions)
        channels_last(self)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.torso(scale_frames(obs)))
