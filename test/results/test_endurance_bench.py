"""`meta-mpc bench endurance`: how it counts stops and measures growth (no graph run)."""

from meta_mpc_ros.bench.endurance import slope_per_minute, summarise, ZeroCommandEpisodes
import pytest


def test_a_zero_command_episode_is_a_run_of_zeros_after_moving():
    episodes = ZeroCommandEpisodes()
    # Zeros before the first move (start-up) are no episode; then two separate stops.
    for command in ([0, 0], [0, 0], [3, 1], [0, 0], [0, 0], [2, 0], [0, 2], [0, 0]):
        episodes.add(command)
    assert (episodes.commands, episodes.episodes) == (8, 2)


def test_growth_is_the_slope_per_minute_after_warm_up():
    # RSS 100 MB during warm-up, then 200 MB + 1 MB per minute (60 s samples); the bag
    # grows 6 MB per minute throughout.
    samples = [(t, {'sim_node': 100.0 if t < 120 else 200.0 + (t - 120) / 60.0}, t / 10.0)
               for t in range(0, 600, 60)]
    rows, bag = summarise(samples, 120.0, ['sim_node', 'gone_node'])
    assert rows[0]['rss_mb_after_warmup'] == pytest.approx(200.0)
    assert rows[0]['rss_mb_per_min'] == pytest.approx(1.0)
    assert rows[1]['rss_mb_end'] is None and rows[1]['rss_mb_per_min'] == 0.0
    assert bag['bag_mb_per_min'] == pytest.approx(6.0)
    assert slope_per_minute([0.0], [5.0]) == 0.0
