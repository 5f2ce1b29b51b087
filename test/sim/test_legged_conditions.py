"""Condition specs, task distributions and terrain profiles of the legged benchmarks."""

from meta_mpc_ros.sim.legged import (AntCrippledLegEnv, CrippledLeg, DisabledJoint,
                                     HalfCheetahDisabledJointEnv, HalfCheetahHillsEnv,
                                     HalfCheetahPierEnv, LEGGED_ENVS, PierDamping, Terrain)
from meta_mpc_ros.sim.legged import terrain
import numpy as np
import pytest

CONDITION_TYPES = (DisabledJoint, Terrain, PierDamping, CrippledLeg)


@pytest.mark.parametrize('spec, expected', [
    ('disabled_joint=3', DisabledJoint(3)),
    (' disabled_joint = 03 ', DisabledJoint(3)),
    ('crippled_leg=3', CrippledLeg(3)),
    ('terrain=steep', Terrain('steep')),
    ('terrain_seed=7', Terrain('random', 7)),
    ('terrain=flat', Terrain()),
    ('pier_damping_seed=0', PierDamping(0)),
])
def test_parse_and_canonical_round_trip(spec, expected):
    parsed = type(expected).parse(spec)
    assert parsed == expected
    assert type(expected).parse(parsed.to_spec()) == parsed


@pytest.mark.parametrize('condition_type', CONDITION_TYPES)
@pytest.mark.parametrize('spec', ['', 'nominal', '  nominal '])
def test_nominal_spellings(condition_type, spec):
    condition = condition_type.parse(spec)
    assert condition == condition_type()
    assert condition.to_spec() == 'nominal'


@pytest.mark.parametrize('condition_type, spec, bad_part', [
    (DisabledJoint, 'disabled_joint', 'key=value'),
    (DisabledJoint, 'disabled_joint=', 'no value'),
    (DisabledJoint, 'disabled_joint=6', '6 is outside'),
    (DisabledJoint, 'disabled_joint=-1', "'-1'"),
    (DisabledJoint, 'disabled_joint=1.5', "'1.5'"),
    (DisabledJoint, 'disabled_joint=bthigh', "'bthigh'"),
    (DisabledJoint, 'disabled_joint=1=2', 'key=value'),
    (DisabledJoint, 'crippled_leg=1', "'crippled_leg'"),
    (CrippledLeg, 'crippled_leg=4', '4 is outside'),
    (CrippledLeg, 'leg=1', "'leg'"),
    (Terrain, 'terrain=mountain', "'mountain'"),
    (Terrain, 'terrain=random', 'terrain_seed'),
    (Terrain, 'terrain_seed=-3', "'-3'"),
    (PierDamping, 'pier_damping_seed=abc', "'abc'"),
    (PierDamping, 'pier_damping_seed=99999999999', 'outside'),
])
def test_malformed_specs_name_the_bad_part(condition_type, spec, bad_part):
    with pytest.raises(ValueError, match=bad_part):
        condition_type.parse(spec)


def test_non_string_spec_and_non_integer_fields_are_refused():
    with pytest.raises(TypeError):
        DisabledJoint.parse(3)
    for bad in (1.0, True, '1'):
        with pytest.raises(ValueError):
            DisabledJoint(bad)
    with pytest.raises(ValueError, match='seed'):
        Terrain('hill', 3)
    with pytest.raises(ValueError, match='seed'):
        Terrain('random')
    assert DisabledJoint(np.int64(2)).to_spec() == 'disabled_joint=2'


def test_training_and_test_tasks_follow_the_official_split():
    # Official: cheetah joint randint(1, 6), ant leg randint(0, 3); held out: joint 0, leg 3.
    assert HalfCheetahDisabledJointEnv.TRAINING_CONDITIONS == tuple(
        f'disabled_joint={j}' for j in range(1, 6))
    assert HalfCheetahDisabledJointEnv.TEST_CONDITIONS == ('disabled_joint=0',)
    assert AntCrippledLegEnv.TRAINING_CONDITIONS == ('crippled_leg=0', 'crippled_leg=1',
                                                     'crippled_leg=2')
    assert AntCrippledLegEnv.TEST_CONDITIONS == ('crippled_leg=3',)
    assert HalfCheetahHillsEnv.TEST_CONDITIONS == ('terrain=hill', 'terrain=basin',
                                                   'terrain=gentle', 'terrain=steep')
    assert HalfCheetahPierEnv.TEST_CONDITIONS == ('pier_damping_seed=0',)


@pytest.mark.parametrize('name', sorted(LEGGED_ENVS))
def test_training_samples_are_seeded_valid_and_never_held_out(name):
    env_class = LEGGED_ENVS[name]
    draws = [env_class.sample_training_condition(np.random.default_rng(5)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    samples = [env_class.sample_training_condition(rng) for _ in range(300)]
    for spec in samples:
        assert env_class.parse_condition(spec).to_spec() == spec
    assert not set(samples) & set(env_class.TEST_CONDITIONS)
    assert 'nominal' not in samples
    if env_class.TRAINING_CONDITIONS is not None:
        # 300 uniform draws from at most 5 tasks miss one with probability < 5 * 0.8**300.
        assert set(samples) == set(env_class.TRAINING_CONDITIONS)
    else:
        assert len(set(samples)) > 290


def test_pier_dampings_are_seeded_uniform_draws():
    first, again, other = (PierDamping(s).dampings() for s in (4, 4, 5))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert PierDamping().dampings() is None
    every = np.concatenate([PierDamping(s).dampings() for s in range(200)])
    assert every.shape == (1600,) and every.min() >= 0.0 and every.max() < 10.0
    # U(0, 10): mean 5, standard error 10 / sqrt(12 * 1600) = 0.072.
    assert abs(every.mean() - 5.0) < 0.3


def column_x(column):
    """Return the world x of a heightfield column."""
    return (terrain.FIELD_CENTRE_X - terrain.HALF_LENGTH + terrain.COLUMN_SPACING * column)


def test_named_profiles_match_the_official_shapes():
    hill = terrain.named_profile('hill')
    # Official hill: +1/column for 15 columns from 250, then -1 for 15: peak 0.6 m at 264.
    assert hill.argmax() == 264 and hill.max() == pytest.approx(0.6)
    assert hill[:250].max() == 0.0 and hill[280:].max() == 0.0
    basin = terrain.named_profile('basin')
    # Basin: the start level is the top (0.55 m), the bottom 0.55 m below it at 264.
    assert basin[0] == pytest.approx(0.55) and basin[264] == 0.0
    for name, height in (('gentle', 1.0), ('steep', 4.0)):
        profile = terrain.named_profile(name)
        # Six rising 15-column walls: from 0 before column 250 to `height` at column 339.
        assert profile[249] == 0.0 and profile[339] == pytest.approx(height)
        assert np.all(np.diff(profile) >= 0.0)
        slope = (profile[300] - profile[299]) / terrain.COLUMN_SPACING
        assert slope == pytest.approx(height / 90 / terrain.COLUMN_SPACING)
    # The last flat column before the test ramps is at TERRAIN_START_X.
    assert column_x(249) == pytest.approx(terrain.TERRAIN_START_X)


def test_random_profiles_are_seeded_and_within_the_official_ranges():
    profiles = [terrain.random_profile(seed) for seed in range(50)]
    np.testing.assert_array_equal(profiles[3], terrain.random_profile(3))
    assert not np.array_equal(profiles[3], profiles[4])
    for profile in profiles:
        # Total height U(0.2, 1) m, the first two walls (columns 255..274) rising.
        assert 0.2 <= profile.max() - profile.min() <= 1.0
        assert np.all(np.diff(profile[254:275]) > 0.0)
        assert np.all(profile[:255] == profile[0])


def test_heightfield_data_and_start_offset():
    profile = terrain.named_profile('basin')
    data, z_offset = terrain.heightfield(profile)
    assert data.dtype == np.float32 and data.shape == (terrain.NUM_ROWS * terrain.NUM_COLUMNS,)
    rows = data.reshape(terrain.NUM_ROWS, terrain.NUM_COLUMNS)
    np.testing.assert_array_equal(rows[0], rows[-1])
    np.testing.assert_allclose(rows[0] * terrain.MAX_HEIGHT, profile, atol=1e-6)
    assert z_offset == pytest.approx(-0.55)
    assert terrain.ground_height(profile, -5.0) == pytest.approx(0.0)
    assert terrain.ground_height(profile, column_x(264)) == pytest.approx(-0.55)
