"""The process-wide speed settings applied by ``import replication`` (replication/core/runtime.py): the OpenMP spin
default goes in before torch loads and never over a user's value (and is recorded in each run's provenance);
glibc malloc keeps freed memory unless the user configured malloc."""

import os
import platform
import subprocess
import sys

import pytest

PROBE = ("import replication, torch, os; from replication.runs.provenance import provenance; "
         "r = provenance()['runtime']; "
         "print(os.environ['GOMP_SPINCOUNT'], r['GOMP_SPINCOUNT'], r['malloc_keeps_freed_memory'])")


def _probe(**env_overrides) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "GLIBC_TUNABLES")}
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("user_value, expected", [(None, "30000"), ("5000", "5000")])
def test_spin_count_default_and_user_override(user_value, expected):
    assert _probe(GOMP_SPINCOUNT=user_value)[:2] == [expected, expected]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning applies to glibc only")
def test_malloc_keeps_freed_memory_unless_the_user_configured_malloc():
    assert _probe()[2] == "True"
    assert _probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072")[2] == "False"
