"""The RMSProp eps census (``python -m replication.diagnose``) against hand-computed values (on the smoke
workflow's real checkpoints: tests/workflow/test_smoke_workflow.py)."""

import math

import pytest
import torch

from replication.core.errors import UserError
from replication.results.optimizer_census import layer_census, optimizer_census


def test_layer_census_by_hand():
    # g = [0.01, 0.3], eps 0.1, lr 0.01: eps dominates the first parameter only; steps 0.01*sqrt(0.01/0.11) and
    # 0.01*sqrt(0.3/0.4), their RMS 0.01*sqrt((0.090909 + 0.75) / 2) = 0.0064843
    row = layer_census(torch.tensor([0.3, -0.4]), torch.tensor([0.01, 0.3]), lr=0.01, eps=0.1)
    assert row["parameters"] == 2 and row["eps_share"] == 0.5
    assert row["rms_weight"] == pytest.approx(math.sqrt((0.09 + 0.16) / 2))
    assert row["rms_grad"] == pytest.approx(math.sqrt(0.155))
    assert row["step_rms"] == pytest.approx(0.0064843, rel=1e-4)
    assert row["relative_step"] == pytest.approx(0.0064843 / math.sqrt(0.125), rel=1e-4)
    # centred: variance g2 - g^2 = 0.3 - 0.25 = 0.05 < eps: eps decides; step 0.01*sqrt(0.3/0.15)
    row = layer_census(torch.tensor([1.0]), torch.tensor([0.3]), lr=0.01, eps=0.1, grad_avg=torch.tensor([0.5]))
    assert row["eps_share"] == 1.0 and row["step_rms"] == pytest.approx(0.01 * math.sqrt(2.0))


def _checkpoint(model: torch.nn.Module, square_avgs: list, lr=0.01, eps=0.1) -> dict:
    params = list(model.parameters())
    return {"model": model.state_dict(), "counters": {"frames": 400, "updates": 5},
            "optimizer": {"param_groups": [{"lr": lr, "eps": eps, "params": list(range(len(params)))}],
                          "state": {i: {"square_avg": s} for i, s in enumerate(square_avgs)}}}


def test_optimizer_census_pairs_layers_and_refuses_what_it_cannot_pair():
    model = torch.nn.Linear(2, 1)
    table, info = optimizer_census(_checkpoint(model, [torch.full((1, 2), 0.4), torch.full((1,), 0.01)]))
    assert list(table["layer"]) == ["weight", "bias"] and list(table["eps_share"]) == [0.0, 1.0]
    assert info["sgd_rate"] == pytest.approx(0.01 / math.sqrt(0.1)) and info["frames"] == 400
    with pytest.raises(UserError, match="cannot pair the optimizer's 1 parameters with the model's 2 tensors"):
        ck = _checkpoint(model, [torch.zeros(1, 2)])
        ck["optimizer"]["param_groups"][0]["params"] = [0]
        optimizer_census(ck)
