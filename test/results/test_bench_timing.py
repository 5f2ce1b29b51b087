"""The benchmark's bookkeeping: interleaved rounds, spreads, verdicts, update latencies."""

from meta_mpc_ros.bench import timing
from meta_mpc_ros.bench.core_speed import make_model, model_gflop
from meta_mpc_ros.bench.ros_graph import update_latencies
from meta_mpc_ros.ros.graph.run import Observations
import pytest


def test_rounds_call_every_function_once_in_a_rotating_order():
    calls = []
    times = timing.interleaved_ms({name: (lambda name=name: calls.append(name))
                                   for name in 'abc'}, rounds=3, warmup=0)
    assert calls == list('abcbcacab')
    assert all(len(samples) == 3 for samples in times.values())


def test_spread_and_verdict():
    # Quartiles of 1..9 (inclusive method): 3 and 7 around the median 5.
    assert timing.spread(list(range(1, 10))) == (5, 3.0, 7.0)
    ours, near, far = (5, 3, 7), (8, 6.5, 9), (20, 18, 22)
    assert timing.verdict(ours, near) == 'overlap'
    assert timing.verdict(ours, far) == 'faster' and timing.verdict(far, ours) == 'slower'


def test_model_flops_count_the_linear_layers():
    # 19 state entries, 16 of them inputs, 2 actions: 18 -> 8 -> 19 is 18*8 + 8*19 = 296
    # multiply-adds per sample, so K = 100, H = 5 take 2 * 296 * 500 = 296,000 FLOPs.
    assert model_gflop(make_model((8,), 'cpu'), 100, 5) == pytest.approx(296e3 / 1e9)


def test_load_warning_only_over_the_thread_count(monkeypatch):
    monkeypatch.setattr(timing, 'load_average', lambda: 3.5)
    assert 'loaded' in timing.load_warning(2) and timing.load_warning(4) == ''


def test_update_latency_runs_to_the_first_plan_stamped_after_the_update():
    seen = Observations()
    seen.plan = [(10.00, 1.0), (10.10, 1.1), (10.20, 1.2)]      # (wall, state stamp)
    seen.model = [(10.03, 200_000, 7, 1.05), (10.25, 200_000, 8, 1.25)]
    seen.diagnostics = [(10.03, {'name': 'adaptive_dynamics_node: adaptation',
                                 'values': {'version': '7', 'adapt_ms': '2.0',
                                            'encode_ms': '1.0'}})]
    to_plan, from_adaptation = update_latencies(seen)
    # Version 7 arrived at 10.03 s, published at sim 1.05 s: the plan from the state of
    # 1.1 s arrived at 10.10 s, 70 ms later; with 2 + 1 ms of adapting and encoding, 73.
    # Version 8 has no plan after it yet.
    assert to_plan == pytest.approx([70.0]) and from_adaptation == pytest.approx([73.0])
