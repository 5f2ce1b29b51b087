"""
The gymnasium environment that every legged benchmark shares.

Step, reward and reset follow the official MujocoEnv / HalfCheetahEnv / AntEnv:

- the action, clipped to its bounds and multiplied by the task's actuator mask, is held
  for `frame_skip` physics steps (1 in every official legged env);
- reward = forward velocity of the torso's subtree centre of mass - control cost
  (+ a constant alive bonus on the ant), control cost = weight * sum(applied action^2);
- reset adds N(0, 0.01) to the initial qpos and N(0, 0.1) to the initial qvel.

One difference: the official `step` rewarded the instantaneous centre-of-mass velocity at
the end of the step, and its planner the finite difference of the centre of mass over
the step (`(next_obs[:, -3] - obs[:, -3]) / dt`). Here both use the finite difference, so
the reward the environment reports is exactly what `cost_terms()` tells the planner.
"""

import gymnasium
from meta_mpc_ros.core.spaces import ActionSpec
import mujoco
import numpy as np

PROGRESS_ENTRY = 'torso_com_x'
RESET_QPOS_STD = 0.01
RESET_QVEL_STD = 0.1
RED = np.array([1.0, 0.0, 0.0], dtype=np.float32)


class LeggedEnv(gymnasium.Env):
    """
    Base class: a MuJoCo model, a task condition applied to it at run time, and the reward.

    Subclasses set `condition_type` (a dataclass with `parse` and `to_spec`),
    `MUTABLE_FIELDS` (the model arrays a condition may change; they are restored from a
    pristine copy before every condition is applied, so 'nominal' restores the model
    exactly), `frame_skip`, `control_cost_weight`, `alive_bonus`, and implement
    `_build_model`, `_build_state_spec`, `_observe` and `_apply_condition`.
    """

    metadata = {'render_modes': ['rgb_array']}
    condition_type = None
    MUTABLE_FIELDS = ()
    TRAINING_CONDITIONS = None
    TEST_CONDITIONS = ()
    frame_skip = 1
    control_cost_weight = 0.0
    alive_bonus = 0.0
    camera = 'track'

    def __init__(self, condition='', max_episode_steps=1000, render_width=320,
                 render_height=240):
        """
        Build the model and apply a condition.

        :param condition: str, the task's condition spec ('' or 'nominal': unperturbed).
        :param max_episode_steps: steps after which `step` reports truncated (official
            max_path_length 1000); None never truncates.
        :param render_width: pixels of `render()` frames (at most 640).
        :param render_height: pixels of `render()` frames (at most 480).
        """
        if max_episode_steps is not None and max_episode_steps < 1:
            raise ValueError(f'max_episode_steps must be positive, got {max_episode_steps}')
        self.render_mode = 'rgb_array'
        self._model = self._build_model()
        self._data = mujoco.MjData(self._model)
        self._pristine = {name: getattr(self._model, name).copy()
                          for name in self.MUTABLE_FIELDS}
        self._progress_body = self._id(mujoco.mjtObj.mjOBJ_BODY, 'torso')
        self.control_dt = float(self._model.opt.timestep) * self.frame_skip
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / self.control_dt)))
        self.max_episode_steps = max_episode_steps
        self.state_spec = self._build_state_spec()
        low, high = (self._model.actuator_ctrlrange[:, i].astype(np.float64) for i in (0, 1))
        names = tuple(mujoco.mj_id2name(self._model, mujoco.mjtObj.mjOBJ_ACTUATOR, i)
                      or f'actuator_{i}' for i in range(self._model.nu))
        self.action_spec = ActionSpec(names, ('1',) * len(names), tuple(low), tuple(high))
        self.observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, shape=(self.state_spec.dim,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Box(low, high, dtype=np.float64)
        self._action_mask = np.ones(self._model.nu)
        self._render_size = (int(render_height), int(render_width))
        self._renderer = None
        self._steps = 0
        self._condition = self.condition_type()
        self.set_condition(condition)
        self._set_initial_state(np.zeros(self._model.nq), np.zeros(self._model.nv))

    # -- task conditions -------------------------------------------------------------

    @classmethod
    def parse_condition(cls, spec):
        """Parse a condition spec into this family's frozen dataclass (ValueError if bad)."""
        return cls.condition_type.parse(spec)

    @staticmethod
    def sample_training_condition(rng):
        """
        Draw a task from the family's meta-training distribution.

        :param rng: numpy.random.Generator.
        :return: str, a condition spec.
        """
        raise NotImplementedError

    @property
    def condition(self):
        """Return the canonical spec of the active condition."""
        return self._condition.to_spec()

    def set_condition(self, spec):
        """
        Apply a task condition now, keeping the simulation state (no restart).

        :param spec: str condition spec ('' / 'nominal' restores the unperturbed model
            exactly), or an instance of `condition_type`.
        """
        if isinstance(spec, self.condition_type):
            condition = spec
        else:
            condition = self.condition_type.parse(spec)
        for name, value in self._pristine.items():
            getattr(self._model, name)[...] = value
        self._action_mask[:] = 1.0
        self._apply_condition(condition)
        self._condition = condition
        mujoco.mj_forward(self._model, self._data)

    def cost_terms(self):
        """
        Return the task's planner cost as named terms.

        cost = -weight * (s_{t+1}[position] - s_t[position]) / dt
               + weight * sum(action^2) (control_effort); the environment's reward is the
        negative of this (plus a constant alive bonus on the ant).

        :return: list of dicts with 'name', 'weight' and, for forward_velocity,
            'position' (a state entry name) and 'dt' (s).
        """
        return [{'name': 'forward_velocity', 'weight': 1.0, 'position': PROGRESS_ENTRY,
                 'dt': self.control_dt},
                {'name': 'control_effort', 'weight': self.control_cost_weight}]

    # -- gymnasium API ---------------------------------------------------------------

    def reset(self, *, seed=None, options=None):
        """
        Start an episode from the initial pose with the official reset noise.

        :param seed: int or None, seeds the env's numpy Generator (gymnasium semantics).
        :param options: dict or None; 'condition' (a spec) switches the task first.
        :return: (state (n,) float64, info dict with 'condition').
        """
        super().reset(seed=seed)
        options = {} if options is None else dict(options)
        unknown = set(options) - {'condition'}
        if unknown:
            raise ValueError(f'unknown reset options {sorted(unknown)}; only condition')
        if 'condition' in options:
            self.set_condition(options['condition'])
        qpos_noise = self.np_random.normal(size=self._model.nq) * RESET_QPOS_STD
        qvel_noise = self.np_random.normal(size=self._model.nv) * RESET_QVEL_STD
        self._set_initial_state(qpos_noise, qvel_noise)
        return self._observe(), {'condition': self.condition}

    def step(self, action):
        """
        Hold one action for `frame_skip` physics steps.

        :param action: (nu,) finite array; clipped to the action bounds.
        :return: (state, reward, terminated (always False, as officially), truncated,
            info with 'cost' (= -reward), 'forward_velocity' (m/s), 'control_cost',
            'condition').
        """
        applied = self._check_action(action) * self._action_mask
        model, data = self._model, self._data
        data.ctrl[:] = applied
        x_before = float(data.subtree_com[self._progress_body, 0])
        for _ in range(self.frame_skip):
            mujoco.mj_step(model, data)
        # mj_step leaves positions-dependent quantities at the pre-step state; refresh them.
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        forward_velocity = (float(data.subtree_com[self._progress_body, 0]) - x_before) \
            / self.control_dt
        control_cost = self.control_cost_weight * float(applied @ applied)
        reward = forward_velocity - control_cost + self.alive_bonus
        self._steps += 1
        truncated = self.max_episode_steps is not None and self._steps >= self.max_episode_steps
        info = {'cost': -reward, 'forward_velocity': forward_velocity,
                'control_cost': control_cost, 'condition': self.condition}
        return self._observe(), reward, False, truncated, info

    def render(self):
        """Return an offscreen (H, W, 3) uint8 frame from the tracking camera."""
        if self._renderer is None:
            height, width = self._render_size
            self._renderer = mujoco.Renderer(self._model, height=height, width=width)
        self._renderer.update_scene(self._data, camera=self.camera)
        return self._renderer.render().copy()

    def close(self):
        """Release the renderer."""
        self._drop_renderer()

    # -- access for nodes and tests ----------------------------------------------------

    @property
    def model(self):
        """Return the mujoco.MjModel (read it; change it only through set_condition)."""
        return self._model

    @property
    def data(self):
        """Return the mujoco.MjData of the running simulation."""
        return self._data

    @property
    def action_mask(self):
        """Return a copy of the (nu,) mask the task multiplies actions by (0: disabled)."""
        return self._action_mask.copy()

    def measurements(self, joint_qpos, joint_dofs):
        """
        Return what a ROS robot of this shape measures (/odom and /joint_states).

        :param joint_qpos: qpos addresses of the measured joints.
        :param joint_dofs: their dof addresses.
        :return: (position: the centre of mass of the torso's subtree, the whole robot;
            orientation (x, y, z, w): the torso's; linear and angular velocity: the
            torso's in its own frame; joint positions; joint velocities), float64 arrays.
        """
        model, data = self._model, self._data
        velocity = np.zeros(6)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, self._progress_body,
                                 velocity, 1)
        w, x, y, z = data.xquat[self._progress_body]
        return (data.subtree_com[self._progress_body].copy(), np.array([x, y, z, w]),
                velocity[3:].copy(), velocity[:3].copy(), data.qpos[joint_qpos].copy(),
                data.qvel[joint_dofs].copy())

    def joint_addresses(self, names):
        """Return (qpos addresses, dof addresses) of named joints (KeyError if missing)."""
        joints = [self._id(mujoco.mjtObj.mjOBJ_JOINT, name) for name in names]
        return (np.array([self._model.jnt_qposadr[joint] for joint in joints], dtype=int),
                np.array([self._model.jnt_dofadr[joint] for joint in joints], dtype=int))

    # -- helpers for subclasses --------------------------------------------------------

    def _id(self, kind, name):
        """Return the id of a named model element; KeyError if missing."""
        index = mujoco.mj_name2id(self._model, kind, name)
        if index < 0:
            raise KeyError(f'model has no {kind} named {name!r}')
        return index

    def _initial_qpos(self):
        """Return the pose episodes start from (default: the model's qpos0)."""
        return self._model.qpos0.copy()

    def _set_initial_state(self, qpos_noise, qvel_noise):
        """Reset the simulation to the initial pose plus the given noise."""
        mujoco.mj_resetData(self._model, self._data)
        self._data.qpos[:] = self._initial_qpos() + qpos_noise
        self._data.qvel[:] = qvel_noise
        self._normalise_state()
        mujoco.mj_forward(self._model, self._data)
        self._steps = 0

    def _normalise_state(self):
        """Make the perturbed initial state valid (e.g. unit quaternions)."""

    def _drop_renderer(self):
        """Close the renderer; the next render() builds a new one from the current model."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _colour(self, geom_names, rgb=RED):
        """Colour geoms (the official envs paint a crippled part red)."""
        for name in geom_names:
            self._model.geom_rgba[self._id(mujoco.mjtObj.mjOBJ_GEOM, name), :3] = rgb

    def _check_action(self, action):
        """Return the action as a clipped (nu,) float64 array; ValueError if malformed."""
        try:
            array = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f'action is not numeric: {error}') from None
        if array.shape != (self._model.nu,):
            raise ValueError(f'action must have shape ({self._model.nu},), got {array.shape}')
        if not np.all(np.isfinite(array)):
            raise ValueError(f'action has non-finite entries: {array}')
        return np.clip(array, self.action_space.low, self.action_space.high)

    def _build_model(self):
        raise NotImplementedError

    def _build_state_spec(self):
        raise NotImplementedError

    def _observe(self):
        raise NotImplementedError

    def _apply_condition(self, condition):
        raise NotImplementedError
