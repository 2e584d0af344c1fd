"""The benchmark's measuring functions run and return rates (speed itself is measured by the bench, not here)."""

from replication.bench import bench_env_limit, bench_network_limit, bench_ours


def test_bench_functions_return_positive_rates():
    assert bench_env_limit("pong", 2, 800, threads=1) > 0
    assert bench_network_limit(2, "nips", rollout_length=2, threads=1, updates=1) > 0
    assert bench_ours("pong", 2, "nips", 800, threads=1) > 0
