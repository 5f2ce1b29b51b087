"""
A robot's trajectory-following tasks as a gymnasium environment, for any simulator.

Each step holds one command for one control period (10 Hz by default) and scores it
with the task cost of core.reference (`PathTracker.step_cost`); the reward is minus
that cost, exactly what `cost_terms()` tells the planner. The world condition can be
changed between steps, as the paper's test conditions are. A robot's environment is a
subclass that names its description, simulator and conditions (sim.millirobot_env,
sim.diff_drive_env).
"""

import math

import gymnasium
from meta_mpc_ros.core.reference import PathTracker, ReferencePath, TaskCostWeights, TASKS
import numpy as np

# Path sizes a small robot (about 0.3 m/s, turning radius down to about 0.1 m) can
# follow: ReferencePath.make's `scale` per task, m.
DEFAULT_TASK_SCALES = {'straight': 1.0, 'left_turn': 0.5, 'zigzag': 0.5, 'figure8': 0.5}
# Default episode length: time to cover the path at this speed, m/s.
EPISODE_SPEED = 0.2


class PathTaskEnv(gymnasium.Env):
    """
    Follow a reference path (straight, left_turn, zigzag, figure8) with a simulated robot.

    A subclass sets `robot` (its RobotDescription), `simulator` (a class built as
    simulator(condition, physics_timestep=...), with set_condition, reset(seed),
    set_command, step(duration), state(), time, condition and close) and its
    conditions' TRAINING_CONDITIONS, TEST_CONDITIONS, parse_condition and
    sample_training_condition; optionally `fallen(state)`.

    Observations are the robot's state vectors, actions its commands. `step` returns
    reward = -cost and info with cost, distance, heading_error, progress, index, time
    and condition; the episode terminates at the end of the path or when the robot
    falls over, and is truncated after `episode_steps`.
    """

    metadata = {'render_modes': ['rgb_array'], 'render_fps': 10}
    robot = None
    simulator = None
    default_physics_timestep = 0.004

    def __init__(self, task='figure8', condition=None, control_rate_hz=10.0,
                 episode_steps=None, render_mode=None, task_scale=None,
                 cost_weights=TaskCostWeights(), physics_timestep=None,
                 render_width=480, render_height=480):
        """
        Build the simulator and the task.

        :param task: one of core.reference.TASKS.
        :param condition: spec string or condition of the robot's conditions; None:
            its description's default condition.
        :param control_rate_hz: commands per second; the control period must be a whole
            number of physics steps.
        :param episode_steps: control steps before truncation; default: the path length
            at EPISODE_SPEED.
        :param render_mode: None or 'rgb_array'.
        :param task_scale: path size, m (see ReferencePath.make); default per task.
        :param cost_weights: TaskCostWeights of the tracking cost.
        :param physics_timestep: physics step, s (None: the simulator's default).
        :param render_width: pixels of `render()` frames.
        :param render_height: pixels of `render()` frames.
        """
        if render_mode not in (None, 'rgb_array'):
            raise ValueError(f'render_mode must be None or "rgb_array", got {render_mode!r}')
        if not control_rate_hz > 0.0:
            raise ValueError(f'control_rate_hz must be positive, got {control_rate_hz}')
        self.sim = self.simulator(
            condition or self.robot.sim.default_condition,
            physics_timestep=physics_timestep or self.default_physics_timestep)
        control_dt = 1.0 / control_rate_hz
        substeps = control_dt / self.sim.physics_timestep
        if substeps < 1.0 or abs(substeps - round(substeps)) > 1e-6:
            raise ValueError(f'the control period {control_dt} s must be a whole number of '
                             f'physics steps of {self.sim.physics_timestep} s')
        self.control_dt = control_dt
        self.metadata = dict(self.metadata, render_fps=control_rate_hz)
        self.render_mode = render_mode
        self.state_spec = state_spec = self.robot.state
        self.action_spec = action_spec = self.robot.action
        self.observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, shape=(state_spec.dim,), dtype=np.float64)
        self.action_space = gymnasium.spaces.Box(
            np.array(action_spec.low), np.array(action_spec.high), dtype=np.float64)
        self.cost_weights = cost_weights
        self._episode_steps = episode_steps
        self._task_scale = task_scale
        self._render_size = (render_width, render_height)
        self._set_task(task)
        self._steps = 0

    def _set_task(self, task):
        """Build the reference path and tracker of a task."""
        if task not in TASKS:
            raise ValueError(f'unknown task {task!r}; choose one of {TASKS}')
        scale = self._task_scale or DEFAULT_TASK_SCALES[task]
        self.task = task
        self.task_path = ReferencePath.make(task, scale=scale)
        self.tracker = PathTracker(self.task_path, self.cost_weights)
        if self._episode_steps is None:
            self.episode_steps = int(math.ceil(
                self.task_path.length / EPISODE_SPEED / self.control_dt))
        elif self._episode_steps >= 1:
            self.episode_steps = int(self._episode_steps)
        else:
            raise ValueError(f'episode_steps must be positive, got {self._episode_steps}')

    @property
    def condition(self):
        """Return the active condition's canonical spec string."""
        return self.sim.condition

    @property
    def model(self):
        """Return the MjModel being simulated (for benchmarks and viewers)."""
        return self.sim.model

    def set_condition(self, condition):
        """
        Change the world condition now, mid-episode if need be.

        :param condition: condition string or condition of the robot's conditions.
        """
        self.sim.set_condition(condition)

    def cost_terms(self):
        """
        Return the task's planner cost, term by term.

        :return: list of dicts: path_tracking with its weights (per control step, as
            core.reference documents) and a zero-weight control_effort.
        """
        return [{'name': 'path_tracking', 'weight': 1.0,
                 'distance': self.cost_weights.distance, 'heading': self.cost_weights.heading,
                 'progress': self.cost_weights.progress},
                {'name': 'control_effort', 'weight': 0.0}]

    def reset(self, *, seed=None, options=None):
        """
        Start an episode at the path's start, heading +x, at rest.

        :param seed: seeds the environment's generator (the simulator's reset seed).
        :param options: optional dict with 'task' and/or 'condition'.
        :return: (state, info)
        """
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {'task', 'condition'}
        if unknown:
            raise ValueError(f'unknown reset options {sorted(unknown)}; use task, condition')
        if 'condition' in options:
            self.sim.set_condition(options['condition'])
        if 'task' in options:
            self._set_task(options['task'])
        self.tracker.reset()
        self._steps = 0
        self.sim.reset(seed=self.sim_seed(self.np_random))
        return self.sim.state(), {'condition': self.condition, 'task': self.task}

    @staticmethod
    def sim_seed(generator):
        """
        Return the simulator's reset seed that `reset` draws from the env's generator.

        The graph's sim_node takes it as its `seed` to start where `reset(seed=s)` does:
        `Env.sim_seed(gymnasium.utils.seeding.np_random(s)[0])`.
        """
        return int(generator.integers(2 ** 31))

    def step(self, action):
        """
        Hold one command for one control period.

        :param action: (nu,) command; clipped to the bounds.
        :return: (state, reward, terminated, truncated, info)
        :raises ValueError: on a wrong size or a non-finite action.
        """
        self.sim.set_command(action)
        self.sim.step(self.control_dt)
        self._steps += 1
        state = self.sim.state()
        x, y, cos_yaw, sin_yaw = self.state_spec.indices(*self.robot.pose)
        score = self.tracker.step_cost(state[[x, y]], math.atan2(state[sin_yaw],
                                                                 state[cos_yaw]))
        fallen = self.fallen(state)
        terminated = bool(self.tracker.finished or fallen)
        truncated = bool(self._steps >= self.episode_steps and not terminated)
        info = dict(score, time=self.sim.time, condition=self.condition, fallen=fallen)
        return state, -score['cost'], terminated, truncated, info

    def fallen(self, state):
        """Return whether the robot has fallen over (which ends the episode)."""
        return False

    def render(self):
        """
        Render the robot from a camera that follows it, with the reference path drawn.

        :return: (H, W, 3) uint8 frame, or None when render_mode is None.
        """
        if self.render_mode is None:
            return None
        width, height = self._render_size
        return self.sim.render(width=width, height=height, camera='track',
                               path=self.task_path.points)

    def close(self):
        """Free the renderer."""
        self.sim.close()
