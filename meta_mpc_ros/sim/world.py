"""
Apply a Condition to a compiled millirobot model, and take it off again, at run time.

Every model field that a condition changes is copied when the `World` is made, and
`restore()` writes those copies back, so applying and then removing a condition gives
the original model bit for bit; `apply()` always starts from the original, so
conditions never stack by accident.

What each parameter changes:
    ground friction, solref and solimp -> the floor plane's and the terrain mat's geoms
        (their geom priority makes their values the ones every foot contact uses);
    roughness and bumps -> the heightfield data of the terrain mat (switched off when
        the terrain is flat, so that the plane alone is the floor);
    slope -> the direction of gravity (the odom frame is the slope's frame);
    a missing leg -> that wheg's feet stop colliding and its spokes are hidden;
    payload -> mass added at the body's centre of mass (inertia unchanged);
    drag -> damping on the free joint's horizontal translations, a viscous force
        -drag * v on the body that MuJoCo integrates implicitly.
Command miscalibration is not a model field: `miscalibrate` maps commands to the
rates the motors actually receive.
"""

import math

from meta_mpc_ros.robots.millirobot import MAX_LEG_RATE
from meta_mpc_ros.sim import millirobot_model as mm
import numpy as np

_TOUCHED = ('geom_friction', 'geom_solref', 'geom_solimp', 'geom_contype',
            'geom_conaffinity', 'geom_rgba', 'hfield_data', 'body_mass', 'dof_damping')
# Bumps are scattered over the central part of the mat, where the tasks' paths lie.
BUMP_REGION_HALF_SIZE = 2.0


def terrain_heights(condition):
    """
    Return the terrain mat's heights above its base for a condition.

    Roughness is independent uniform heights in [0, roughness] at every grid point;
    bumps are Gaussian hills of height bump_height and standard deviation
    bump_radius / 2 centred uniformly in the central BUMP_REGION_HALF_SIZE square.
    Both are drawn from numpy.random.default_rng(condition.seed).

    :param condition: Condition.
    :return: (TERRAIN_CELLS, TERRAIN_CELLS) float64 array, m; rows run along y.
    """
    cells, half = mm.TERRAIN_CELLS, mm.TERRAIN_HALF_SIZE
    rng = np.random.default_rng(condition.seed)
    heights = condition.roughness * rng.random((cells, cells))
    if condition.bumps and condition.bump_height:
        spacing = 2.0 * half / (cells - 1)
        sigma = 0.5 * condition.bump_radius
        reach = int(math.ceil(3.0 * sigma / spacing))
        offsets = np.arange(-reach, reach + 1) * spacing
        centres = rng.uniform(-BUMP_REGION_HALF_SIZE, BUMP_REGION_HALF_SIZE,
                              size=(condition.bumps, 2))
        for cx, cy in centres:
            col = int(round((cx + half) / spacing))
            row = int(round((cy + half) / spacing))
            dx = col * spacing - half + offsets - cx
            dy = row * spacing - half + offsets - cy
            hill = condition.bump_height * np.exp(
                -(dy[:, None] ** 2 + dx[None, :] ** 2) / (2.0 * sigma ** 2))
            heights[row - reach:row + reach + 1, col - reach:col + reach + 1] += hill
    return np.minimum(heights, mm.TERRAIN_MAX_HEIGHT - mm.TERRAIN_MAT_THICKNESS)


def miscalibrate(condition, command):
    """
    Return the leg rates the motors receive for a command under a condition.

    :param condition: Condition.
    :param command: (2,) left and right leg-rate commands, rad/s.
    :return: (2,) scale * command + bias per side, clipped to [0, MAX_LEG_RATE].
    """
    scale = np.array([condition.cmd_scale_left, condition.cmd_scale_right])
    bias = np.array([condition.cmd_bias_left, condition.cmd_bias_right])
    return np.clip(scale * np.asarray(command, dtype=np.float64) + bias, 0.0, MAX_LEG_RATE)


class World:
    """Applies Conditions to one compiled millirobot model and restores it exactly."""

    def __init__(self, model, layout):
        self.model = model
        self.layout = layout
        self._original = {name: getattr(model, name).copy() for name in _TOUCHED}
        self._original_gravity = model.opt.gravity.copy()
        self._cache_key = None     # terrain parameters of the last generated mat
        self._cache = None         # its normalised heightfield data
        self._active_key = None    # terrain parameters of the mat in the model, if on
        self.condition = None

    def restore(self):
        """Write back every field a condition may have changed."""
        for name, value in self._original.items():
            getattr(self.model, name)[...] = value
        self.model.opt.gravity[:] = self._original_gravity
        self._active_key = None
        self.condition = None

    @property
    def terrain_key(self):
        """Return the parameters of the terrain mat in the model (None when it is off)."""
        return self._active_key

    def apply(self, condition):
        """
        Restore the original model, then apply one condition.

        :param condition: Condition.
        """
        self.restore()
        model, layout = self.model, self.layout
        for geom in (layout.floor_geom, layout.terrain_geom):
            model.geom_friction[geom, 0] = condition.friction
            model.geom_solref[geom, :2] = (condition.ground_timeconst,
                                           condition.ground_dampratio)
            model.geom_solimp[geom, :3] = (condition.ground_impedance,
                                           max(condition.ground_impedance, 0.95), 0.001)
        self._apply_terrain(condition)
        magnitude = float(np.linalg.norm(self._original_gravity))
        slope = math.radians(condition.slope_deg)
        direction = math.radians(condition.slope_dir_deg)
        # On a slope rising at `slope` towards `direction`, gravity in the slope's frame
        # points down the slope by sin(slope) and into it by cos(slope).
        model.opt.gravity[:] = magnitude * np.array([
            -math.sin(slope) * math.cos(direction), -math.sin(slope) * math.sin(direction),
            -math.cos(slope)])
        if condition.leg_missing >= 0:
            for geom in layout.leg_collision_geoms[condition.leg_missing]:
                model.geom_contype[geom] = model.geom_conaffinity[geom] = 0
            for geom in (layout.leg_collision_geoms[condition.leg_missing]
                         + layout.leg_visual_geoms[condition.leg_missing]):
                model.geom_rgba[geom, 3] = 0.0
        model.body_mass[layout.base_body] += condition.payload_kg
        model.dof_damping[layout.free_dof:layout.free_dof + 2] = condition.drag
        self.condition = condition

    def _apply_terrain(self, condition):
        """Write the terrain mat's heightfield, or switch the mat off when flat."""
        model, layout = self.model, self.layout
        if condition.terrain_is_flat:
            model.geom_contype[layout.terrain_geom] = 0
            model.geom_conaffinity[layout.terrain_geom] = 0
            model.geom_rgba[layout.terrain_geom, 3] = 0.0
            return
        key = (condition.roughness, condition.bumps, condition.bump_height,
               condition.bump_radius, condition.seed)
        if key != self._cache_key:
            heights = terrain_heights(condition) + mm.TERRAIN_MAT_THICKNESS
            self._cache = (heights / mm.TERRAIN_MAX_HEIGHT).astype(np.float32).ravel()
            self._cache_key = key
        start = model.hfield_adr[layout.terrain_hfield]
        model.hfield_data[start:start + self._cache.size] = self._cache
        self._active_key = key

    def ground_height(self, x, y, radius=0.0):
        """
        Return the highest ground within `radius` of (x, y) in the odom frame, m.

        :param x: position, m.
        :param y: position, m.
        :param radius: half-size of the square searched, m.
        :return: float, 0 for the plane, the mat's surface where the mat is on.
        """
        if self._active_key is None:
            return 0.0
        cells, half = mm.TERRAIN_CELLS, mm.TERRAIN_HALF_SIZE
        spacing = 2.0 * half / (cells - 1)
        if abs(x) > half + radius or abs(y) > half + radius:
            return 0.0
        lo_c, hi_c = (int(np.clip(round((v + half) / spacing), 0, cells - 1))
                      for v in (x - radius, x + radius))
        lo_r, hi_r = (int(np.clip(round((v + half) / spacing), 0, cells - 1))
                      for v in (y - radius, y + radius))
        grid = self._cache.reshape(cells, cells)
        return float(grid[lo_r:hi_r + 1, lo_c:hi_c + 1].max()) * mm.TERRAIN_MAX_HEIGHT
