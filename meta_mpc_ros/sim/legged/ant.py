"""
The ant with a crippled leg.

Follows the official AntEnv (learning_to_adapt/envs/ant_env.py):

- observation: qpos (15, with the free joint's x, y, z and quaternion), qvel (14), the
  torso's rotation matrix (9) and the centre of mass of the torso's subtree (3): 41;
- timestep 0.02 s, RK4, no frame skip: one env step is 0.02 s;
- reward: forward velocity of the centre of mass + 0.05 alive bonus, no control cost;
- initial pose from the asset's `init_qpos` numeric (z 0.55 m, knees bent);
- task 'cripple': leg k (hip_{k+1}, ankle_{k+1}) gets no torque, its two outer capsules
  are halved in radius and length and the foot capsule is moved up to the thigh's
  centre, and they are painted red. Training legs 0..2, held-out leg 3.

As officially, the shrunken capsules keep their compiled masses (only the geometry
changes at run time). After the reset noise we renormalise the root quaternion (the
official code left it to the integrator).
"""

from meta_mpc_ros.core.spaces import StateSpec
from meta_mpc_ros.robots.ant import ANT
from meta_mpc_ros.sim.legged import assets, conditions
from meta_mpc_ros.sim.legged.env_base import LeggedEnv
import mujoco
import numpy as np

# Official leg numbering: leg k is the chain of hip_{k+1} / ankle_{k+1}.
LEG_GEOMS = (('left_leg_geom', 'left_ankle_geom'), ('right_leg_geom', 'right_ankle_geom'),
             ('back_leg_geom', 'third_ankle_geom'), ('rightback_leg_geom', 'fourth_ankle_geom'))
ANT_JOINTS = tuple(f'{part}_{leg}' for leg in range(1, 5) for part in ('hip', 'ankle'))
_AXES = 'xyz'

ANT_STATE = StateSpec(
    names=('root_x', 'root_y', 'root_z', 'root_qw', 'root_qx', 'root_qy', 'root_qz')
    + ANT_JOINTS
    + ('root_vx', 'root_vy', 'root_vz', 'root_wx', 'root_wy', 'root_wz')
    + tuple(f'{joint}_vel' for joint in ANT_JOINTS)
    + tuple(f'torso_xmat_{row}{col}' for row in _AXES for col in _AXES)
    + ('torso_com_x', 'torso_com_y', 'torso_com_z'),
    units=('m',) * 3 + ('1',) * 4 + ('rad',) * 8 + ('m/s',) * 3 + ('rad/s',) * 3
    + ('rad/s',) * 8 + ('1',) * 9 + ('m',) * 3,
    # The dynamics do not depend on where on the (flat) floor the ant is.
    model_input_excluded=('root_x', 'root_y', 'torso_com_x', 'torso_com_y'),
)


class AntCrippledLegEnv(LeggedEnv):
    """Ant on flat ground with leg `crippled_leg` (0..3) disabled and shortened."""

    condition_type = conditions.CrippledLeg
    MUTABLE_FIELDS = ('geom_rgba', 'geom_size', 'geom_pos')
    TRAINING_CONDITIONS = conditions.CRIPPLED_LEG_TRAINING
    TEST_CONDITIONS = conditions.CRIPPLED_LEG_TEST
    frame_skip = 1
    control_cost_weight = 0.0
    alive_bonus = 0.05

    @staticmethod
    def sample_training_condition(rng):
        """Return a training spec drawn with a numpy Generator."""
        return conditions.sample_from(conditions.CRIPPLED_LEG_TRAINING, rng)

    def _build_model(self):
        return assets.ant_model()

    def _build_state_spec(self):
        model = self._model
        joint_names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
                       for j in range(model.njnt)]
        if joint_names[1:] != list(ANT_JOINTS) or model.nq != 15 or model.nv != 14:
            raise RuntimeError(f'unexpected ant joints {joint_names}')
        numeric = self._id(mujoco.mjtObj.mjOBJ_NUMERIC, 'init_qpos')
        start = model.numeric_adr[numeric]
        self._init_qpos = model.numeric_data[start:start + model.nq].copy()
        return ANT_STATE

    def _initial_qpos(self):
        return self._init_qpos.copy()

    def _normalise_state(self):
        quaternion = self._data.qpos[3:7]
        quaternion /= np.linalg.norm(quaternion)

    def _observe(self):
        data = self._data
        return np.concatenate([data.qpos, data.qvel, data.xmat[self._progress_body],
                               data.subtree_com[self._progress_body]])

    def _apply_condition(self, condition):
        if condition.leg is None:
            return
        model = self._model
        for joint in (f'hip_{condition.leg + 1}', f'ankle_{condition.leg + 1}'):
            joint_id = self._id(mujoco.mjtObj.mjOBJ_JOINT, joint)
            actuators = np.flatnonzero(model.actuator_trnid[:, 0] == joint_id)
            self._action_mask[actuators] = 0.0
        thigh, foot = (self._id(mujoco.mjtObj.mjOBJ_GEOM, name)
                       for name in LEG_GEOMS[condition.leg])
        model.geom_size[[thigh, foot], :2] *= 0.5
        model.geom_pos[foot] = model.geom_pos[thigh]
        self._colour(LEG_GEOMS[condition.leg])


class AntEnv(AntCrippledLegEnv):
    """
    The ant robot of the graph (robots.ant).

    The crippled-leg family's physics, tasks and reward, observing the robot
    description's state (what /odom and /joint_states carry) instead of the benchmark's
    41 entries, and naming its actions by the joints they drive. sim_node steps this
    environment, so the graph's states are its states.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        driven = tuple(mujoco.mj_id2name(self._model, mujoco.mjtObj.mjOBJ_JOINT, joint)
                       for joint in self._model.actuator_trnid[:, 0])
        if driven != ANT.action.names:
            raise RuntimeError(f'the ant actuators drive {driven}, the description says '
                               f'{ANT.action.names}')
        self.action_spec = ANT.action

    def _build_state_spec(self):
        super()._build_state_spec()
        self._joint_qpos, self._joint_dofs = self.joint_addresses(ANT.joints)
        return ANT.state

    def _observe(self):
        return ANT.build_state(*self.measurements(self._joint_qpos, self._joint_dofs))
