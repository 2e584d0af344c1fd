"""The OpenMP spin default set by ``import replication`` (replication/__init__.py): applied before torch loads,
never over a value the user set, and recorded in each run's provenance."""

import os
import subprocess
import sys

import pytest

PROBE = ("import replication, torch, os; from replication.rundir import provenance; "
         "print(os.environ['GOMP_SPINCOUNT'], provenance()['threading']['GOMP_SPINCOUNT'])")


@pytest.mark.parametrize("user_value, expected", [(None, "30000"), ("5000", "5000")])
def test_spin_count_default_and_user_override(user_value, expected):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if user_value is not None:
        env["GOMP_SPINCOUNT"] = user_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [expected, expected]
