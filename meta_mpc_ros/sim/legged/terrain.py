"""
Height profiles of the half-cheetah hills benchmark.

The profiles follow the official `HalfCheetahHFieldEnv.reset_task`: a row of 500
heightfield columns over 100 m (x from -50 to 50 m) is built from ramps ("walls"), each
`width` columns long and rising `slope` units per column; after a ramp the row stays
at the ramp's top. The row is then normalised to [0, 1] and scaled by the terrain's
total height. The terrain is constant across y.

Where we differ, and why:

- The official row is placed so that the test ramps start at x = 0.1 m, under the
  cheetah's front feet, and the cheetah starts at z = 1 m (0.3 m above its flat-ground
  start), so it drops onto the slope, or into the ground on the basin, whose start level
  is 0.55 m. Here the whole field is shifted so that the test ramps start at
  x = TERRAIN_START_X (the random training ramps 5 columns, 1 m, later, as in the
  official column layout) and lowered so that the ground under the start is at z = 0: every terrain
  starts exactly like flat ground.
- The official random terrain draws the wall columns with `np.random.choice` of 6 out
  of 6 candidates and sorts them, which always gives the same columns; we skip that
  draw. Randomness comes from a seeded numpy Generator.
"""

import numpy as np

NUM_COLUMNS = 500
HALF_LENGTH = 50.0          # m: x spans [-50, 50] around the field's centre
HALF_WIDTH = 5.0            # m
MAX_HEIGHT = 4.0            # m: the steep profile's total height, the largest one
BASE_DEPTH = 0.1            # m: thickness of the field below elevation 0
NUM_ROWS = 11               # the profile is constant in y; a few rows suffice
COLUMN_SPACING = 2.0 * HALF_LENGTH / (NUM_COLUMNS - 1)

# Official layout: the test ramps' first raised column is 250 (the random training
# ramps' is 255); the ground is flat up to column 249, which we place at x = 1 m.
TEST_FIRST_COLUMN = 250
TERRAIN_START_X = 1.0       # m: where the ground starts rising on the test terrains
FIELD_CENTRE_X = TERRAIN_START_X - (-HALF_LENGTH + (TEST_FIRST_COLUMN - 1) * COLUMN_SPACING)

# Named test profiles: slope of each of six 15-column walls, and the total height (m).
_TEST_WALL_COLUMNS = np.arange(255, 331, 15) - 5      # 250, 265, ..., 325
_TEST_PROFILES = {
    'hill': ((1, -1, 0, 0, 0, 0), 0.6),
    'basin': ((-1, 1, 0, 0, 0, 0), 0.55),
    'gentle': ((1, 1, 1, 1, 1, 1), 1.0),
    'steep': ((1, 1, 1, 1, 1, 1), 4.0),
}
_TEST_WALL_WIDTH = 15

# Random training profiles: six 10-column walls at columns 255, 265, ..., 305.
_RANDOM_WALL_COLUMNS = np.arange(255, 310, 10)
_RANDOM_WALL_WIDTH = 10
_RANDOM_HEIGHT_RANGE = (0.2, 1.0)
_RANDOM_SLOPE_RANGE = (0.2, 0.6)


def _ramps(wall_columns, slopes, width):
    """
    Build the unnormalised row: each wall adds a ramp, and the row stays at its top after.

    :param wall_columns: (W,) int first column of each wall, increasing.
    :param slopes: (W,) rise per column of each wall.
    :param width: columns per wall.
    :return: (NUM_COLUMNS,) float64.
    """
    row = np.zeros(NUM_COLUMNS)
    for column, slope in zip(wall_columns, slopes):
        row[column:column + width] += slope * np.arange(1, width + 1)
        row[column + width:] = row[column + width - 1]
    return row


def _normalised(row):
    """Scale a non-constant row to [0, 1]."""
    return (row - row.min()) / (row.max() - row.min())


def random_profile(seed):
    """
    Return the official random training profile drawn from `seed`.

    Total height U(0.2, 1) m; wall slopes U(0.2, 0.6) with random sign, the first two
    walls rising.

    :param seed: int.
    :return: (NUM_COLUMNS,) elevation in m, before the start-level shift.
    """
    rng = np.random.default_rng(seed)
    height = rng.uniform(*_RANDOM_HEIGHT_RANGE)
    signs = rng.choice(np.array([1.0, -1.0]), size=len(_RANDOM_WALL_COLUMNS))
    signs[:2] = 1.0
    slopes = rng.uniform(*_RANDOM_SLOPE_RANGE, size=len(_RANDOM_WALL_COLUMNS)) * signs
    row = _ramps(_RANDOM_WALL_COLUMNS, slopes, _RANDOM_WALL_WIDTH)
    return _normalised(row) * height


def named_profile(name):
    """
    Return one of the named held-out profiles (hill, basin, gentle, steep).

    :param name: str.
    :return: (NUM_COLUMNS,) elevation in m, before the start-level shift.
    """
    slopes, height = _TEST_PROFILES[name]
    return _normalised(_ramps(_TEST_WALL_COLUMNS, slopes, _TEST_WALL_WIDTH)) * height


def terrain_profile(terrain):
    """
    Return the elevation row of a hills condition.

    :param terrain: conditions.Terrain.
    :return: (NUM_COLUMNS,) elevation in m, before the start-level shift (flat: zeros).
    """
    if terrain.name == 'flat':
        return np.zeros(NUM_COLUMNS)
    if terrain.name == 'random':
        return random_profile(terrain.seed)
    return named_profile(terrain.name)


def heightfield(profile):
    """
    Convert an elevation row into MuJoCo heightfield data and the field's z offset.

    MuJoCo's elevation is data * MAX_HEIGHT with data in [0, 1]; the field is lowered by
    the elevation of its first column so that the ground under the start is at z = 0.

    :param profile: (NUM_COLUMNS,) elevation in m, within [0, MAX_HEIGHT].
    :return: ((NUM_ROWS * NUM_COLUMNS,) float32 data, row-major in y, z offset in m).
    """
    data = np.tile(profile / MAX_HEIGHT, NUM_ROWS).astype(np.float32)
    return data, -float(profile[0])


def ground_height(profile, x):
    """
    Return the ground's z at world x (after the start-level shift), by linear interpolation.

    :param profile: (NUM_COLUMNS,) elevation in m.
    :param x: float or array, world x in m.
    :return: float or array, z in m.
    """
    columns = FIELD_CENTRE_X - HALF_LENGTH + COLUMN_SPACING * np.arange(NUM_COLUMNS)
    return np.interp(x, columns, profile) - profile[0]
