"""
Build the simulated millirobot from urdf/millirobot.urdf, the file rviz also reads.

MuJoCo parses the URDF (its `<mujoco><compiler/></mujoco>` block keeps the visual
geoms), then an MjSpec step adds what a URDF cannot hold: the free joint of the body,
the floor (an infinite plane plus a heightfield mat whose data the world conditions
rewrite at run time), a light, velocity servos on the two motor joints and the joint
equality constraints that tie each leg to its side's motor (the URDF's mimic tags).

Only MjSpec calls that MuJoCo 3.2 already had are used; simulation options are set on
the compiled MjModel, which every 3.x exposes the same way.
"""

from dataclasses import dataclass

from meta_mpc_ros.paths import share_path
from meta_mpc_ros.robots.millirobot import MAX_LEG_RATE, MOTOR_JOINTS
from meta_mpc_ros.sim.conditions import LEG_NAMES
import mujoco
import numpy as np

# Leg geometry, as in the URDF: spoke length (hub to foot centre) and foot radius, m.
SPOKE_LENGTH = 0.025
FOOT_RADIUS = 0.003
LEG_JOINTS = tuple(f'{leg}_leg' for leg in LEG_NAMES)
FREE_JOINT = 'root'
# 4 ms: 25 physics steps per 10 Hz control step; contacts, couplings and servos stay
# stable up to MAX_PHYSICS_TIMESTEP (their time constants are at least 2 steps).
DEFAULT_PHYSICS_TIMESTEP = 0.004
MAX_PHYSICS_TIMESTEP = 0.005

# Motors: a velocity servo (torque = kv * (setpoint - rate), clipped at the stall
# torque) behind a gearbox whose reflected inertia is the motor joint's armature.
MOTOR_KV = 1.0e-3            # N m s / rad
MOTOR_STALL_TORQUE = 0.01    # N m
MOTOR_ARMATURE = 2.0e-6      # kg m^2
LEG_ARMATURE = 2.0e-7        # kg m^2, keeps the tiny wheg inertias well conditioned
# Leg-to-motor couplings: stiff, critically damped (time constant >= 2 timesteps).
COUPLING_SOLREF = (0.01, 1.0)
COUPLING_SOLIMP = (0.95, 0.99, 0.001, 0.5, 2.0)

# The terrain mat: a heightfield of TERRAIN_HALF_SIZE x 2 square with TERRAIN_CELLS
# grid points a side (2 cm spacing), lying on the infinite floor plane. Its lowest
# point is TERRAIN_MAT_THICKNESS above the plane, so that the two surfaces never
# touch a foot at the same time; the mat is switched off on flat conditions.
TERRAIN_HALF_SIZE = 3.0
TERRAIN_CELLS = 301
TERRAIN_MAX_HEIGHT = 0.04
TERRAIN_BASE_DEPTH = 0.005
TERRAIN_MAT_THICKNESS = 0.003

# Collision filtering: feet (contype 2) touch the ground but not each other (sibling
# whegs sweep overlapping discs); the body box (contype 1) touches the ground.
GROUND_CONTYPE, GROUND_CONAFFINITY = 1, 3
BODY_CONTYPE, BODY_CONAFFINITY = 1, 1
FOOT_CONTYPE, FOOT_CONAFFINITY = 2, 1
COLLISION_GROUP = 3          # hidden by default when rendering; visuals are group 1
GROUND_PRIORITY = 1          # the ground's friction and softness win in every contact


@dataclass(frozen=True)
class MillirobotLayout:
    """Indices into the compiled model that the simulator and conditions use."""

    base_body: int
    free_qpos: int
    free_dof: int
    motor_qpos: tuple
    motor_dof: tuple
    leg_qpos: tuple
    leg_dof: tuple
    actuators: tuple
    floor_geom: int
    terrain_geom: int
    terrain_hfield: int
    leg_collision_geoms: tuple
    leg_visual_geoms: tuple


def default_urdf_path():
    """Return the path of the package's urdf/millirobot.urdf."""
    return share_path('urdf', 'millirobot.urdf')


def _load_spec(path):
    """Parse a URDF or MJCF file into an MjSpec (static in 3.3+, a method in 3.2)."""
    try:
        return mujoco.MjSpec.from_file(str(path))
    except TypeError:
        spec = mujoco.MjSpec()
        spec.from_file(str(path))
        return spec


def _find_body(spec, name):
    """Return a body of the spec by name (`body` in newer MuJoCo, `find_body` in 3.2)."""
    finder = getattr(spec, 'find_body', None) or spec.body
    body = finder(name)
    if body is None:
        raise ValueError(f'the millirobot URDF has no link {name!r}')
    return body


def _padded(values, size):
    """Return values padded with zeros to `size` entries."""
    out = np.zeros(size)
    out[:len(values)] = values
    return out


def _add_floor(spec):
    """Add the floor plane, the heightfield mat and a light to the world body."""
    texture = spec.add_texture()
    texture.name = 'grid'
    texture.type = mujoco.mjtTexture.mjTEXTURE_2D
    texture.builtin = mujoco.mjtBuiltin.mjBUILTIN_CHECKER
    texture.rgb1 = [0.35, 0.38, 0.42]
    texture.rgb2 = [0.28, 0.3, 0.34]
    texture.width = texture.height = 256
    material = spec.add_material()
    material.name = 'grid'
    material.texrepeat = [20.0, 20.0]
    if hasattr(material, 'textures'):
        textures = list(material.textures)
        textures[int(mujoco.mjtTextureRole.mjTEXROLE_RGB)] = 'grid'
        material.textures = textures
    else:
        material.texture = 'grid'  # MuJoCo 3.2

    hfield = spec.add_hfield()
    hfield.name = 'terrain'
    hfield.nrow = hfield.ncol = TERRAIN_CELLS
    hfield.size = [TERRAIN_HALF_SIZE, TERRAIN_HALF_SIZE, TERRAIN_MAX_HEIGHT,
                   TERRAIN_BASE_DEPTH]
    hfield.userdata = [TERRAIN_MAT_THICKNESS / TERRAIN_MAX_HEIGHT] * TERRAIN_CELLS ** 2

    for name, kind in (('floor', mujoco.mjtGeom.mjGEOM_PLANE),
                       ('terrain', mujoco.mjtGeom.mjGEOM_HFIELD)):
        geom = spec.worldbody.add_geom()
        geom.name = name
        geom.type = kind
        geom.contype, geom.conaffinity = GROUND_CONTYPE, GROUND_CONAFFINITY
        geom.priority = GROUND_PRIORITY
        geom.condim = 3
        if kind == mujoco.mjtGeom.mjGEOM_PLANE:
            geom.size = [0.0, 0.0, 0.05]
            geom.material = 'grid'
        else:
            geom.hfieldname = 'terrain'
            geom.rgba = [0.45, 0.55, 0.35, 1.0]

    light = spec.worldbody.add_light()
    light.pos = [0.0, 0.0, 4.0]
    light.dir = [0.0, 0.0, -1.0]
    light.cutoff = 80.0
    light.castshadow = False


def _add_drive(spec):
    """Add the motor servos and the leg-to-motor couplings."""
    for motor in MOTOR_JOINTS:
        joint = _find_body(spec, motor.replace('_motor', '_crank')).first_joint()
        joint.armature = MOTOR_ARMATURE
        actuator = spec.add_actuator()
        actuator.name = motor
        actuator.target = motor
        actuator.trntype = mujoco.mjtTrn.mjTRN_JOINT
        actuator.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        actuator.gainprm = _padded([MOTOR_KV], 10)
        actuator.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        actuator.biasprm = _padded([0.0, 0.0, -MOTOR_KV], 10)
        actuator.ctrlrange = [0.0, MAX_LEG_RATE]
        actuator.forcerange = [-MOTOR_STALL_TORQUE, MOTOR_STALL_TORQUE]

    # MuJoCo >= 3.3 turns URDF mimic tags into equalities; 3.2 ignores them.
    existing = {eq.name1: eq for eq in _equalities(spec)}
    for leg, joint_name in zip(LEG_NAMES, LEG_JOINTS):
        _find_body(spec, f'{leg}_leg_link').first_joint().armature = LEG_ARMATURE
        equality = existing.get(joint_name) or spec.add_equality()
        equality.type = mujoco.mjtEq.mjEQ_JOINT
        equality.name1 = joint_name
        equality.name2 = f'{leg.split("_")[0]}_motor'
        data = np.array(equality.data)
        data[:5] = [0.0, 1.0, 0.0, 0.0, 0.0]
        equality.data = data
        equality.solref = list(COUPLING_SOLREF)
        equality.solimp = list(COUPLING_SOLIMP)
        if hasattr(equality, 'objtype'):
            equality.objtype = mujoco.mjtObj.mjOBJ_JOINT


def _equalities(spec):
    """Return the spec's equality constraints (an empty list where 3.2 cannot list them)."""
    return list(getattr(spec, 'equalities', ()))


def _set_collisions(spec):
    """Filter and hide the collision geoms, and let ground properties win contacts."""
    body = _find_body(spec, 'base_link')
    bodies = [body] + [_find_body(spec, f'{leg}_leg_link') for leg in LEG_NAMES]
    for owner in bodies:
        geom = owner.first_geom()
        while geom is not None:
            if geom.contype or geom.conaffinity:
                is_foot = owner is not body
                geom.contype = FOOT_CONTYPE if is_foot else BODY_CONTYPE
                geom.conaffinity = FOOT_CONAFFINITY if is_foot else BODY_CONAFFINITY
                geom.group = COLLISION_GROUP
                geom.condim = 3
                geom.priority = 0
            geom = owner.next_geom(geom)


def build_spec(urdf_path=None):
    """
    Parse the URDF and add the free joint, floor, light, actuators and couplings.

    :param urdf_path: path of the URDF; default: the package's urdf/millirobot.urdf.
    :return: mujoco.MjSpec, ready to compile.
    """
    spec = _load_spec(urdf_path or default_urdf_path())
    spec.modelname = 'millirobot'
    base = _find_body(spec, 'base_link')
    base.pos = [0.0, 0.0, SPOKE_LENGTH + FOOT_RADIUS]
    free = base.add_freejoint()
    free.name = FREE_JOINT
    _set_collisions(spec)
    _add_drive(spec)
    _add_floor(spec)
    return spec


def compile_model(spec, physics_timestep=DEFAULT_PHYSICS_TIMESTEP):
    """
    Compile a millirobot spec and set the simulation options.

    :param spec: mujoco.MjSpec from `build_spec`.
    :param physics_timestep: physics step, s, at most MAX_PHYSICS_TIMESTEP.
    :return: (mujoco.MjModel, MillirobotLayout)
    """
    if not 0.0 < physics_timestep <= MAX_PHYSICS_TIMESTEP:
        raise ValueError(f'physics_timestep must be in (0, {MAX_PHYSICS_TIMESTEP}] s, '
                         f'got {physics_timestep}')
    model = spec.compile()
    # Velocity servos on tiny inertias are stiff: an implicit integrator takes the
    # actuator damping implicitly, which explicit Euler cannot do stably at this step.
    # implicitfast would do for walking, but a tumbling body with spinning whegs needs
    # the Coriolis derivatives that only the full implicit integrator includes.
    model.opt.timestep = physics_timestep
    model.opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICIT
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, 1280)
    model.vis.global_.offheight = max(model.vis.global_.offheight, 960)
    return model, _layout(model)


def _layout(model):
    """Return the indices of the parts the simulator reads and the conditions change."""
    def joint(name):
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)

    def geom(name):
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)

    legs_collision, legs_visual = [], []
    for leg in LEG_NAMES:
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f'{leg}_leg_link')
        geoms = np.flatnonzero(model.geom_bodyid == body)
        hub = geom(f'{leg}_hub')
        legs_collision.append(tuple(int(g) for g in geoms if model.geom_contype[g]))
        legs_visual.append(tuple(int(g) for g in geoms
                                 if not model.geom_contype[g] and g != hub))
    free = joint(FREE_JOINT)
    return MillirobotLayout(
        base_body=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, 'base_link'),
        free_qpos=int(model.jnt_qposadr[free]),
        free_dof=int(model.jnt_dofadr[free]),
        motor_qpos=tuple(int(model.jnt_qposadr[joint(m)]) for m in MOTOR_JOINTS),
        motor_dof=tuple(int(model.jnt_dofadr[joint(m)]) for m in MOTOR_JOINTS),
        leg_qpos=tuple(int(model.jnt_qposadr[joint(j)]) for j in LEG_JOINTS),
        leg_dof=tuple(int(model.jnt_dofadr[joint(j)]) for j in LEG_JOINTS),
        actuators=tuple(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, m)
                        for m in MOTOR_JOINTS),
        floor_geom=geom('floor'),
        terrain_geom=geom('terrain'),
        terrain_hfield=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_HFIELD, 'terrain'),
        leg_collision_geoms=tuple(legs_collision),
        leg_visual_geoms=tuple(legs_visual),
    )


def build_model(physics_timestep=DEFAULT_PHYSICS_TIMESTEP, urdf_path=None):
    """
    Build and compile the millirobot scene.

    :param physics_timestep: physics step, s.
    :param urdf_path: path of the URDF; default: the package's.
    :return: (mujoco.MjModel, MillirobotLayout)
    """
    return compile_model(build_spec(urdf_path), physics_timestep)
