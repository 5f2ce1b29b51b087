"""
The millirobot's world conditions: named, parameterised, seeded perturbations.

A `Condition` is a frozen set of physical parameters (ground friction and softness,
terrain roughness and bumps, slope, a missing leg, command miscalibration, payload and
drag) plus the seed of its random terrain. Conditions are written as spec strings,
comma-separated parts applied left to right, each either a preset name or key=value:

    carpet
    friction=0.4,slope_deg=8,payload_kg=0.02,leg_missing=2,cmd_bias=0.1
    carpet,slope_deg=8,payload_kg=0.02

As in Nagabandi et al. (ICLR 2019), three terrains are for meta-training (carpet,
styrofoam, turf) and five conditions are held out for testing (missing leg, slippery
slope, novel terrain, pose miscalibration, pulled payload); any combination is allowed.

A schedule of condition changes in sim time is written 'T:SPEC;T:SPEC'
(`parse_schedule`), as the sim_node's `schedule` parameter and the graph's
`terrain_schedule` launch argument take it.

This module imports no MuJoCo, so that ROS nodes can validate parameters with it;
`meta_mpc_ros.sim.world` applies a Condition to a model.
"""

import dataclasses
from dataclasses import dataclass
import math

from meta_mpc_ros.robots.millirobot import MAX_LEG_RATE

# Leg order used by `leg_missing` (index or name).
LEG_NAMES = ('left_front', 'left_middle', 'left_rear',
             'right_front', 'right_middle', 'right_rear')


@dataclass(frozen=True)
class Condition:
    """
    Physical parameters of the millirobot's world; the defaults are flat carpet.

    Ground: `friction` (sliding coefficient, the floor's value wins over the feet's),
    `ground_timeconst` (s) and `ground_dampratio` (MuJoCo solref: contact stiffness and
    damping), `ground_impedance` (solimp dmin: lower is softer). Terrain: `roughness`
    (m, height of a random texture), `bumps` (count), `bump_height` (m), `bump_radius`
    (m). Slope: `slope_deg` (uphill angle), `slope_dir_deg` (direction of uphill in the
    odom frame, 0 = +x), modelled by tilting gravity. `leg_missing`: index into
    LEG_NAMES, -1 for none. Miscalibration: the robot's motors run at
    scale * command + bias (rad/s) per side. `payload_kg` is carried on the body and
    `drag` (N s/m) opposes horizontal motion (a pulled sled). `seed` draws the terrain.
    """

    friction: float = 1.0
    ground_timeconst: float = 0.02
    ground_dampratio: float = 1.0
    ground_impedance: float = 0.9
    roughness: float = 0.001
    bumps: int = 0
    bump_height: float = 0.0
    bump_radius: float = 0.05
    slope_deg: float = 0.0
    slope_dir_deg: float = 0.0
    leg_missing: int = -1
    cmd_scale_left: float = 1.0
    cmd_scale_right: float = 1.0
    cmd_bias_left: float = 0.0
    cmd_bias_right: float = 0.0
    payload_kg: float = 0.0
    drag: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f'{field.name} must be an integer, got {value!r}')
            elif (isinstance(value, bool) or not isinstance(value, (int, float))
                  or not math.isfinite(value)):
                raise ValueError(f'{field.name} must be a finite number, got {value!r}')
            else:
                value = float(value)
                object.__setattr__(self, field.name, value)
            low, high = _BOUNDS.get(field.name, (None, None))
            if low is not None and not low <= value <= high:
                raise ValueError(f'{field.name}={value} is outside [{low}, {high}]')
        for name in ('friction', 'ground_timeconst', 'ground_dampratio', 'cmd_scale_left',
                     'cmd_scale_right', 'bump_radius'):
            if not getattr(self, name) > 0.0:
                raise ValueError(f'{name} must be positive, got {getattr(self, name)}')
        # A robot that cannot stand still on its slope slides off without end (and a
        # tumbling, spinning robot is no test of a controller).
        if math.tan(math.radians(abs(self.slope_deg))) >= self.friction:
            raise ValueError(f'slope_deg={self.slope_deg} is too steep for friction='
                             f'{self.friction}: tan(slope) must be below the friction')

    def replace(self, **changes):
        """Return a copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    @property
    def terrain_is_flat(self):
        """Return True when the floor needs no heightfield (no roughness, no bumps)."""
        return self.roughness == 0.0 and (self.bumps == 0 or self.bump_height == 0.0)

    def to_spec(self):
        """
        Return the canonical spec string.

        It names the preset that leaves the fewest fields to override (the first such
        in PRESETS order), then those fields in declaration order, so that
        `parse_condition(c.to_spec()) == c` and equal conditions give equal strings.

        :return: str such as 'carpet,slope_deg=8,payload_kg=0.02'.
        """
        best_name, best_diff = None, None
        for name, preset in PRESETS.items():
            diff = [f.name for f in dataclasses.fields(self)
                    if getattr(self, f.name) != getattr(preset, f.name)]
            if best_diff is None or len(diff) < len(best_diff):
                best_name, best_diff = name, diff
        parts = [best_name] + [f'{name}={_format(getattr(self, name))}' for name in best_diff]
        return ','.join(parts)

    def to_dict(self):
        """Return the fields as a plain dict (for YAML and logs)."""
        return dataclasses.asdict(self)


_BOUNDS = {
    'friction': (0.0, 3.0),
    'ground_timeconst': (0.004, 0.2),
    'ground_dampratio': (0.0, 5.0),
    'ground_impedance': (0.5, 0.95),
    'roughness': (0.0, 0.01),
    'bumps': (0, 1000),
    'bump_height': (0.0, 0.015),
    'bump_radius': (0.005, 0.5),
    'slope_deg': (-20.0, 20.0),
    'slope_dir_deg': (-360.0, 360.0),
    'leg_missing': (-1, len(LEG_NAMES) - 1),
    'cmd_scale_left': (0.0, 2.0),
    'cmd_scale_right': (0.0, 2.0),
    'cmd_bias_left': (-MAX_LEG_RATE, MAX_LEG_RATE),
    'cmd_bias_right': (-MAX_LEG_RATE, MAX_LEG_RATE),
    'payload_kg': (0.0, 0.2),
    'drag': (0.0, 0.5),
    'seed': (0, 2 ** 32 - 1),
}

CARPET = Condition()
PRESETS = {
    # Training terrains: grippy carpet with a fine texture; smooth, softer and more
    # slippery styrofoam; springy, grippy, rough turf.
    'carpet': CARPET,
    'styrofoam': CARPET.replace(friction=0.3, ground_timeconst=0.04, ground_dampratio=0.6,
                                ground_impedance=0.8, roughness=0.0),
    'turf': CARPET.replace(friction=1.4, ground_timeconst=0.025, ground_dampratio=0.3,
                           ground_impedance=0.85, roughness=0.006),
    # Held-out test conditions, each on carpet.
    'missing_leg': CARPET.replace(leg_missing=LEG_NAMES.index('left_middle')),
    'slippery_slope': CARPET.replace(friction=0.4, slope_deg=8.0, roughness=0.0),
    'novel_terrain': CARPET.replace(roughness=0.003, bumps=800, bump_height=0.015,
                                    bump_radius=0.06, seed=7),
    'miscalibration': CARPET.replace(cmd_scale_left=0.7, cmd_bias_right=2.0),
    'payload': CARPET.replace(payload_kg=0.02, drag=0.3),
}
TRAINING_CONDITIONS = ('carpet', 'styrofoam', 'turf')
TEST_CONDITIONS = ('missing_leg', 'slippery_slope', 'novel_terrain', 'miscalibration',
                   'payload')

# Keys that set two fields at once.
_ALIASES = {
    'cmd_scale': ('cmd_scale_left', 'cmd_scale_right'),
    'cmd_bias': ('cmd_bias_left', 'cmd_bias_right'),
}
_FIELDS = {field.name: field for field in dataclasses.fields(Condition)}
_CARPET_VALUES = CARPET.to_dict()


def _format(value):
    """Return the shortest string that parses back to the same value."""
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith('.0') else text


def _parse_value(key, text, part):
    """Convert the text of one key=value part to the field's type."""
    if key == 'leg_missing' and text in LEG_NAMES:
        return LEG_NAMES.index(text)
    if key == 'leg_missing' and text == 'none':
        return -1
    kind = _FIELDS[key].type
    try:
        value = int(text) if kind is int else float(text)
    except ValueError:
        raise ValueError(f'condition part {part!r}: {text!r} is not '
                         f'{"an integer" if kind is int else "a number"}') from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f'condition part {part!r}: value must be finite')
    return value


def parse_condition(condition):
    """
    Parse a condition string (or pass a Condition through).

    :param condition: str of comma-separated parts, each a preset name (PRESETS) or
        key=value with a Condition field name (or the aliases cmd_scale, cmd_bias that
        set both sides); parts apply left to right, starting from carpet. A preset
        sets only the fields it changes relative to carpet, so presets combine.
    :return: Condition
    :raises ValueError: naming the malformed part, unknown name or bad value.
    """
    if isinstance(condition, Condition):
        return condition
    if not isinstance(condition, str):
        raise ValueError(f'a condition spec must be a string, got {type(condition).__name__}')
    if not condition.strip():
        raise ValueError('empty condition spec; use a preset such as "carpet"')
    values = CARPET.to_dict()
    for raw in condition.split(','):
        part = raw.strip()
        if not part:
            raise ValueError(f'empty part in condition spec {condition!r}')
        if '=' not in part:
            if part not in PRESETS:
                raise ValueError(f'unknown condition {part!r}; presets are '
                                 f'{", ".join(PRESETS)}')
            # A preset applies what it changes relative to carpet, so presets combine
            # ('slippery_slope,payload' is the slope with the payload).
            values.update({key: value for key, value in PRESETS[part].to_dict().items()
                           if value != _CARPET_VALUES[key]})
            continue
        key, _, text = (piece.strip() for piece in part.partition('='))
        if not key or not text or '=' in text:
            raise ValueError(f'malformed condition part {part!r}; expected key=value')
        if key in _ALIASES:
            value = _parse_value(_ALIASES[key][0], text, part)
            values.update({name: value for name in _ALIASES[key]})
        elif key in _FIELDS:
            values[key] = _parse_value(key, text, part)
        else:
            raise ValueError(f'unknown condition key {key!r} in {part!r}; keys are '
                             f'{", ".join(list(_FIELDS) + list(_ALIASES))}')
    try:
        return Condition(**values)
    except ValueError as error:
        raise ValueError(f'condition spec {condition!r}: {error}') from None


def parse_schedule(text, name='schedule'):
    """
    Check a condition schedule 'T:SPEC;T:SPEC' and return it as [(time_s, spec), ...].

    Times are sim-time seconds, non-negative and increasing; SPEC is a condition spec
    (`carpet`, `slope_deg=8,payload_kg=0.02`), checked by parse_condition where it is
    applied, not here.

    :param text: the schedule; '' is an empty schedule.
    :param name: the parameter or argument that holds it, for error messages.
    :return: list of (float, str)
    :raises ValueError: when the syntax or the times are wrong, naming `name`.
    """
    events = []
    for item in filter(None, (part.strip() for part in text.split(';'))):
        time_text, colon, spec = item.partition(':')
        try:
            time_s = float(time_text)
        except ValueError:
            time_s = math.nan
        if not colon or not spec.strip() or not math.isfinite(time_s) or time_s < 0.0:
            raise ValueError(f'{name}: {item!r} is not TIME:SPEC with TIME >= 0 s '
                             "(e.g. '20.0:slippery_slope,payload;40.0:carpet')")
        if events and time_s <= events[-1][0]:
            raise ValueError(f'{name}: times must increase, {time_s} follows '
                             f'{events[-1][0]}')
        events.append((time_s, spec.strip()))
    return events


# The meta-training distribution: the day-to-day variation a real robot meets. Each
# task draws a training terrain, scales its ground by the factors below, and draws
# motor wear, a small load and a gentle slope uniformly from these ranges. The held-out
# test conditions lie outside it in kind (a missing leg, bumps) or in magnitude: a
# steeper slope, a heavier payload and drag, a larger miscalibration
# (test/sim/test_conditions.py checks this).
TRAINING_DISTRIBUTION = {
    'friction_factor': (0.5, 1.5),
    'ground_timeconst_factor': (0.5, 1.5),
    'roughness_factor': (0.5, 1.5),
    'cmd_scale': (0.8, 1.2),          # per side
    'cmd_bias': (-1.0, 1.0),          # rad/s, per side
    'payload_kg': (0.0, 0.01),
    'drag': (0.0, 0.1),
    'slope_deg': (0.0, 5.0),
    'slope_dir_deg': (-180.0, 180.0),
}


def sample_training_condition(rng):
    """
    Draw one meta-training task from TRAINING_DISTRIBUTION.

    The terrain is chosen uniformly from TRAINING_CONDITIONS; its friction, contact
    time constant and roughness are scaled by uniform factors, motor scale and bias
    are drawn per side, a payload, drag and slope are drawn, and the terrain gets a
    fresh seed.

    :param rng: numpy.random.Generator.
    :return: canonical spec string.
    """
    base = PRESETS[TRAINING_CONDITIONS[int(rng.integers(len(TRAINING_CONDITIONS)))]]

    def draw(key, digits=3):
        low, high = TRAINING_DISTRIBUTION[key]
        return round(float(rng.uniform(low, high)), digits)

    condition = base.replace(
        friction=round(base.friction * draw('friction_factor'), 3),
        ground_timeconst=round(base.ground_timeconst * draw('ground_timeconst_factor'), 4),
        roughness=round(base.roughness * draw('roughness_factor'), 5),
        cmd_scale_left=draw('cmd_scale'), cmd_scale_right=draw('cmd_scale'),
        cmd_bias_left=draw('cmd_bias'), cmd_bias_right=draw('cmd_bias'),
        payload_kg=draw('payload_kg', 4), drag=draw('drag'),
        slope_deg=draw('slope_deg', 2), slope_dir_deg=draw('slope_dir_deg', 1),
        seed=int(rng.integers(2 ** 31)))
    return condition.to_spec()
