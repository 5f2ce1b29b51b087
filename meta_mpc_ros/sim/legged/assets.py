"""
MuJoCo models of the legged benchmarks, built from gymnasium's shipped MJCF assets.

The assets are read from the installed gymnasium package and edited in memory (XML,
which every MuJoCo 3.x parses alike); nothing is vendored. Each builder states where
and why it differs from gymnasium's file, so that the model matches the official
learning_to_adapt assets (`envs/assets/*.xml`).
"""

import pathlib
import xml.etree.ElementTree as ElementTree

import gymnasium.envs.mujoco
from meta_mpc_ros.sim.legged import terrain
import mujoco

ASSET_DIR = pathlib.Path(gymnasium.envs.mujoco.__file__).resolve().parent / 'assets'
# Both official half-cheetah assets use <compiler settotalmass='14'>.
CHEETAH_TOTAL_MASS = 14.0
# MuJoCo's default geom density, kg/m^3.
DEFAULT_DENSITY = 1000.0

# Official half_cheetah_blocks.xml: (x centre, half-length) of the 8 blocks, m.
PIER_BLOCKS = ((-8.0, 5.999), (0.0, 1.999), (4.0, 1.999), (8.0, 1.999), (12.0, 1.999),
               (16.0, 1.999), (20.0, 1.999), (42.0, 19.999))
PIER_BLOCK_RGBA = ('0.639 0.6 0.4 1', '0.639 0.5 0.3 1', '0.639 0.4 0.05 1',
                   '0.639 0.3 0.025 1', '0.639 0.2 0.01 1', '0.639 0.15 0.005 1',
                   '0.639 0.1 0.0 1', '0.639 0.1 0.0 1')
HFIELD_NAME = 'terrain'
FLOOR_GEOM = 'floor'


def _load(name):
    """Return the root element of one of gymnasium's MJCF assets."""
    path = ASSET_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f'gymnasium MJCF asset {path} is missing')
    return ElementTree.parse(path).getroot()


def _compile(root):
    """Compile an MJCF element tree."""
    return mujoco.MjModel.from_xml_string(ElementTree.tostring(root, encoding='unicode'))


def _find(root, tag, name):
    """Return the element `tag` named `name` anywhere below root."""
    element = root.find(f".//{tag}[@name='{name}']")
    if element is None:
        raise ValueError(f'MJCF asset has no <{tag} name={name!r}>')
    return element


def _scale_to_total_mass(root, total_mass):
    """
    Scale every mass so the model weighs `total_mass`, as `settotalmass` did.

    MuJoCo 3 deprecates `<compiler settotalmass>` (it warns on every compile); scaling
    all densities and explicit masses by one factor gives the same masses and inertias.

    :param root: MJCF root element, edited in place.
    :param total_mass: kg.
    """
    root.find('compiler').attrib.pop('settotalmass', None)
    scale = total_mass / float(_compile(root).body_mass.sum())
    default_geom = root.find('default/geom')
    density = float(default_geom.get('density', DEFAULT_DENSITY))
    default_geom.set('density', repr(density * scale))
    for geom in root.find('worldbody').iter('geom'):
        for key in ('mass', 'density'):
            if key in geom.attrib:
                geom.set(key, repr(float(geom.get(key)) * scale))


def half_cheetah_model():
    """
    Return the half-cheetah on flat ground.

    Same model as the official half_cheetah.xml (timestep 0.01 s), with the total mass
    set by scaling instead of the deprecated `settotalmass`.

    :return: mujoco.MjModel.
    """
    root = _load('half_cheetah.xml')
    _scale_to_total_mass(root, CHEETAH_TOTAL_MASS)
    return _compile(root)


def half_cheetah_hills_model():
    """
    Return the half-cheetah with a heightfield floor (flat until a condition sets it).

    Official half_cheetah_hfield.xml: the plane is replaced by a heightfield that the
    task rewrites. Our field is 500 x 11 samples over 100 m x 10 m (official: 500 x 528
    from a png; the profile is constant in y, so rows beyond a few add nothing), up to
    terrain.MAX_HEIGHT tall. The torso starts at z = 0.7 m as on flat ground (official
    1 m), because the field is lowered so the ground under the start is at z = 0.

    :return: mujoco.MjModel.
    """
    root = _load('half_cheetah.xml')
    hfield = ElementTree.SubElement(root.find('asset'), 'hfield')
    hfield.attrib.update({
        'name': HFIELD_NAME, 'nrow': str(terrain.NUM_ROWS), 'ncol': str(terrain.NUM_COLUMNS),
        'size': f'{terrain.HALF_LENGTH} {terrain.HALF_WIDTH} {terrain.MAX_HEIGHT} '
                f'{terrain.BASE_DEPTH}'})
    # The plane's checker material stretched over 100 m x 10 m; square 1 m cells instead.
    ElementTree.SubElement(root.find('asset'), 'material', {
        'name': 'MatTerrain', 'texture': 'texplane', 'texrepeat': '100 10',
        'reflectance': '0.2'})
    floor = _find(root, 'geom', FLOOR_GEOM)
    floor.attrib.pop('size', None)
    floor.set('material', 'MatTerrain')
    floor.set('type', 'hfield')
    floor.set('hfield', HFIELD_NAME)
    floor.set('pos', f'{terrain.FIELD_CENTRE_X!r} 0 0')
    _scale_to_total_mass(root, CHEETAH_TOTAL_MASS)
    return _compile(root)


def block_joint_name(index):
    """Return the name of pier block `index`'s vertical slide joint."""
    return f'blockz_{index}'


def half_cheetah_pier_model():
    """
    Return the half-cheetah on a pier of 8 blocks floating on springs.

    Official half_cheetah_blocks.xml: boxes 0.1 m thick on vertical slide joints
    (stiffness 150 N/m, range +-0.15 m, 10 kg before scaling), the floor a non-colliding
    "water" plane at z = -0.1 m. As in the official asset, `settotalmass=14` scales the
    blocks together with the cheetah: blocks weigh 1.38 kg and the cheetah 2.93 kg (not
    14 kg as on flat ground). We keep this: with 10 kg blocks the springs would rest on
    their lower stops and the damping, the task parameter, would hardly matter.

    :return: mujoco.MjModel.
    """
    root = _load('half_cheetah.xml')
    floor = _find(root, 'geom', FLOOR_GEOM)
    floor.attrib.update({'pos': '0 0 -.1', 'contype': '0', 'conaffinity': '0',
                         'rgba': '0.088 0.672 0.988 1'})
    floor.attrib.pop('material', None)
    worldbody = root.find('worldbody')
    first = list(worldbody).index(_find(root, 'body', 'torso'))
    for index, ((x, half_length), rgba) in enumerate(zip(PIER_BLOCKS, PIER_BLOCK_RGBA)):
        body = ElementTree.Element('body', {'name': f'block_{index}', 'pos': f'{x} 0 0.05'})
        ElementTree.SubElement(body, 'joint', {
            'name': block_joint_name(index), 'type': 'slide', 'pos': '0 0 0', 'axis': '0 0 1',
            'limited': 'true', 'range': '-.15 0.15', 'stiffness': '150', 'springref': '0'})
        ElementTree.SubElement(body, 'geom', {
            'name': f'block_{index}', 'type': 'box', 'size': f'{half_length} .99 0.05',
            'mass': '10', 'contype': '1', 'conaffinity': '1', 'condim': '3', 'rgba': rgba})
        worldbody.insert(first + index, body)
    _scale_to_total_mass(root, CHEETAH_TOTAL_MASS)
    return _compile(root)


def ant_model():
    """
    Return the ant.

    Official ant.xml differs from gymnasium's in the timestep (0.02 s, RK4, no frame
    skip: we set it) and in the contact softness (geom solimp .8 .8 .01: we set it).
    Actuators: gymnasium's gear 150 with controls in [-1, 1] give the same torques as the
    official gear 1 with controls in [-150, 150] behind its action-normalising wrapper.

    :return: mujoco.MjModel.
    """
    root = _load('ant.xml')
    root.find('option').set('timestep', '0.02')
    root.find('option').set('integrator', 'RK4')
    root.find('default/geom').attrib.update({'solref': '.02 1', 'solimp': '.8 .8 .01'})
    return _compile(root)
