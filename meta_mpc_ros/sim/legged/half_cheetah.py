"""
The half-cheetah benchmarks: a disabled joint, hills, and a pier of floating blocks.

All three share the official observation (HalfCheetahEnv.get_current_obs): qpos without
rootx (8), qvel (9) and the centre of mass of the torso's subtree, i.e. of the whole
cheetah (3): 20 entries. The timestep is 0.01 s with no frame skip (official: no
`frame_skip` numeric in the asset), so one env step is 0.01 s. Reward: forward velocity
of that centre of mass - 0.05 * sum(action^2) (official `1e-1 * 0.5 * sum(a^2)`).
"""

from meta_mpc_ros.robots.half_cheetah import HALF_CHEETAH, LEG_JOINTS, ROOT_JOINTS
from meta_mpc_ros.sim.legged import assets, conditions, terrain
from meta_mpc_ros.sim.legged.env_base import LeggedEnv
import mujoco
import numpy as np

# One definition of the joints and the state: the robot's description.
HALF_CHEETAH_STATE = HALF_CHEETAH.state


class HalfCheetahEnv(LeggedEnv):
    """Shared half-cheetah observation and reward; subclasses add the task."""

    control_cost_weight = 0.05
    frame_skip = 1

    def _build_state_spec(self):
        model = self._model
        joints = [self._id(mujoco.mjtObj.mjOBJ_JOINT, name) for name in ROOT_JOINTS + LEG_JOINTS]
        self._qpos_index = np.array([model.jnt_qposadr[j] for j in joints[1:]])
        self._qvel_index = np.array([model.jnt_dofadr[j] for j in joints])
        return HALF_CHEETAH_STATE

    def _observe(self):
        data = self._data
        return np.concatenate([data.qpos[self._qpos_index], data.qvel[self._qvel_index],
                               data.subtree_com[self._progress_body]])


class HalfCheetahDisabledJointEnv(HalfCheetahEnv):
    """
    Half-cheetah whose joint `disabled_joint` (0..5: bthigh..ffoot) gets no torque.

    Official `reset_task` for task 'cripple': the action is multiplied by a mask with a
    zero at the joint (so the control cost also ignores it), and the joint's geom is
    painted red. Training joints 1..5, held-out joint 0.
    """

    condition_type = conditions.DisabledJoint
    MUTABLE_FIELDS = ('geom_rgba',)
    TRAINING_CONDITIONS = conditions.DISABLED_JOINT_TRAINING
    TEST_CONDITIONS = conditions.DISABLED_JOINT_TEST

    @staticmethod
    def sample_training_condition(rng):
        """Return a training spec drawn with a numpy Generator."""
        return conditions.sample_from(conditions.DISABLED_JOINT_TRAINING, rng)

    def _build_model(self):
        return assets.half_cheetah_model()

    def _apply_condition(self, condition):
        if condition.joint is not None:
            self._action_mask[condition.joint] = 0.0
            self._colour([LEG_JOINTS[condition.joint]])


class HalfCheetahHillsEnv(HalfCheetahEnv):
    """
    Half-cheetah on a heightfield: random ramps in training, named profiles in test.

    See `terrain` for the profiles (official HalfCheetahHFieldEnv) and how the field is
    placed. The nominal condition is flat ground.
    """

    condition_type = conditions.Terrain
    MUTABLE_FIELDS = ('hfield_data', 'geom_pos')
    TEST_CONDITIONS = conditions.HILLS_TEST

    @staticmethod
    def sample_training_condition(rng):
        """Return a random-terrain spec (terrain_seed=...) drawn with a numpy Generator."""
        return conditions.sample_seeded(lambda seed: conditions.Terrain('random', seed), rng)

    def _build_model(self):
        return assets.half_cheetah_hills_model()

    def _apply_condition(self, condition):
        profile = terrain.terrain_profile(condition)
        self._profile = profile
        if condition.name != 'flat':
            data, z_offset = terrain.heightfield(profile)
            hfield = self._id(mujoco.mjtObj.mjOBJ_HFIELD, assets.HFIELD_NAME)
            start = self._model.hfield_adr[hfield]
            self._model.hfield_data[start:start + data.size] = data
            floor = self._id(mujoco.mjtObj.mjOBJ_GEOM, assets.FLOOR_GEOM)
            self._model.geom_pos[floor, 2] = z_offset
        # The renderer holds the field's mesh on the GPU; rebuild it on the next frame.
        self._drop_renderer()

    def ground_height(self, x):
        """
        Return the terrain's height under world x.

        :param x: float or array, m.
        :return: float or array, m.
        """
        return terrain.ground_height(self._profile, x)


class HalfCheetahPierEnv(HalfCheetahEnv):
    """
    Half-cheetah running over 8 blocks on vertical springs, each with its own damping.

    Official HalfCheetahBlocksEnv, task 'damping': the damping of the 8 block joints is
    drawn uniformly in [0, 10) N s/m per task. The blocks are not observed (official
    observation: qpos[9:], qvel[8:], cheetah centre of mass), so the damping is hidden
    state the model has to adapt to. Nominal: the asset's damping (0.01 N s/m).
    """

    condition_type = conditions.PierDamping
    MUTABLE_FIELDS = ('dof_damping',)
    TEST_CONDITIONS = conditions.PIER_TEST

    @staticmethod
    def sample_training_condition(rng):
        """Return a damping spec (pier_damping_seed=...) drawn with a numpy Generator."""
        return conditions.sample_seeded(conditions.PierDamping, rng)

    def _build_model(self):
        return assets.half_cheetah_pier_model()

    @property
    def block_dofs(self):
        """Return the (8,) dof indices of the blocks' slide joints."""
        return np.array([self._model.jnt_dofadr[self._id(mujoco.mjtObj.mjOBJ_JOINT,
                                                         assets.block_joint_name(i))]
                         for i in range(conditions.PierDamping.NUM_BLOCKS)])

    def _apply_condition(self, condition):
        dampings = condition.dampings()
        if dampings is not None:
            self._model.dof_damping[self.block_dofs] = dampings
