"""
A robot's training and evaluation settings, read from config/<robot>.yaml.

Sizes that come from the robot (state and action dimensions, which state entries the
model sees) are never written in the YAML: they come from the environment's specs.
Every section maps onto a frozen dataclass, and unknown keys are errors, except
`cost`: the planner's cost, term by term (core.costs.COST_TERMS), which the
mppi_controller_node and in-process runs both plan with, and `adapters`: each
adapter's own settings (core.adapters.ADAPTERS), which the adaptive_dynamics_node's
`adapter.<name>.<setting>` parameters default to and in-process runs adapt with.
"""

from dataclasses import dataclass, field, fields, replace
import pathlib

from meta_mpc_ros.core.adapters import adapter_settings, ADAPTERS, FLAT_SETTING_NAMES
from meta_mpc_ros.core.controller import controller_from_mapping, ControllerConfig
from meta_mpc_ros.core.costs import COST_TERMS
from meta_mpc_ros.core.layers import ACTIVATIONS
from meta_mpc_ros.core.meta_training import TrainingConfig
from meta_mpc_ros.core.settings import settings_from_mapping
from meta_mpc_ros.paths import share_path
from meta_mpc_ros.robots import ROBOTS
import yaml


@dataclass(frozen=True)
class ModelSettings:
    """
    Architecture choices (sizes from the data are added at build time).

    :param activation: the MLP's activation, by name, from core.layers.ACTIVATIONS.
    """

    hidden_sizes: tuple = (512, 512, 512)
    activation: str = 'relu'
    context_dim: int = 32
    encoder: str = 'gru'

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f'activation {self.activation!r} is not one of '
                             f'{sorted(ACTIVATIONS)}')


@dataclass(frozen=True)
class CollectionSettings:
    """
    How experience is gathered.

    :param episodes_per_iteration: episodes per collection round, over sampled tasks.
    :param episode_steps: control steps per episode.
    :param random_hold_steps: random actions are held for a uniform number of steps in
        this inclusive range (smooth exploration, as a human driving the robot would).
    :param controller_noise: std of exploration noise added to controller actions, as a
        fraction of the action range.
    """

    episodes_per_iteration: int = 24
    episode_steps: int = 200
    random_hold_steps: tuple = (1, 5)
    controller_noise: float = 0.1
    tasks: tuple = ('straight', 'left_turn', 'zigzag', 'figure8')


@dataclass(frozen=True)
class EvaluationSettings:
    """
    In-process closed-loop settings (each adapter's own are RobotConfig.adapters).

    :param episode_steps: control steps per episode, 0 for the environment's default.
    """

    episode_steps: int = 0


def default_adapter_settings():
    """Return adapter name -> its default settings, for every adapter that has some."""
    return {name: adapter_settings(name) for name, spec in ADAPTERS.items()
            if spec.settings is not None}


@dataclass(frozen=True)
class RobotConfig:
    """
    Everything in config/<robot>.yaml.

    :param cost: the planner's cost terms, dicts of name, weight and settings
        (core.costs.build_cost); empty: the environment's own `cost_terms()`.
    :param adapters: adapter name -> its own settings (core.adapters.adapter_settings),
        for every registered adapter that has some.
    """

    robot: str
    model: ModelSettings = field(default_factory=ModelSettings)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    collection: CollectionSettings = field(default_factory=CollectionSettings)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    cost: tuple = ()
    adapters: dict = field(default_factory=default_adapter_settings)
    source: str = ''

    def cost_terms(self, env):
        """Return the planner's cost terms (dicts): the YAML's `cost`, else the env's."""
        return [dict(term) for term in self.cost] if self.cost else env.cost_terms()

    def adapter_settings(self, adapter):
        """Return one adapter's own settings (its defaults if the config has none)."""
        return adapter_settings(adapter, self.adapters.get(adapter))


SECTIONS = {'model': ModelSettings, 'training': TrainingConfig,
            'collection': CollectionSettings, 'controller': ControllerConfig,
            'evaluation': EvaluationSettings}
# The sections that older robot YAMLs gave adapter settings in, as flat keys.
FLAT_SECTIONS = ('training', 'evaluation')


def flat_adapter_settings(data):
    """
    Split the flat adapter-setting keys (`de_steps`, ...) off a section's mapping.

    Robot YAMLs and run records written before each adapter owned its settings spell
    them so (core.adapters.FLAT_SETTING_NAMES); they still load.

    :return: (the mapping without them, adapter -> {setting: value} they gave).
    """
    if not isinstance(data, dict):
        return data, {}
    rest, given = {}, {}
    for key, value in data.items():
        if key in FLAT_SETTING_NAMES:
            adapter, setting = FLAT_SETTING_NAMES[key]
            given.setdefault(adapter, {})[setting] = value
        else:
            rest[key] = value
    return rest, given


def adapters_section(data, where, flat=None):
    """
    Return adapter name -> own settings from the `adapters:` mapping, complete.

    :param data: adapter -> {setting: value}, or None; unset settings keep defaults.
    :param flat: adapter -> {setting: value} from flat keys elsewhere (older files).
    :raises ValueError: for an unknown adapter or setting, a value out of range, or a
        setting given both in `adapters:` and as a flat key.
    """
    if data is not None and not (isinstance(data, dict) and all(
            isinstance(value, dict) or value is None for value in data.values())):
        raise ValueError(f'{where}: expected a mapping adapter -> settings')
    given = {name: dict(settings or {}) for name, settings in (data or {}).items()}
    unknown = sorted(set(given) - set(ADAPTERS))
    if unknown:
        raise ValueError(f'{where}: unknown adapters {unknown}; known: {sorted(ADAPTERS)}')
    for name, settings in (flat or {}).items():
        twice = sorted(set(settings) & set(given.get(name, {})))
        if twice:
            raise ValueError(f'{where}: {name} {twice} given twice (also as flat keys)')
        given[name] = dict(given.get(name, {}), **settings)
    complete = default_adapter_settings()
    for name, settings in given.items():
        try:
            complete[name] = adapter_settings(name, settings)
        except ValueError as error:
            raise ValueError(f'{where}: {error}') from None
    return {name: settings for name, settings in complete.items() if settings is not None}


def trained_adapter_settings(training, adapters):
    """
    Return TrainingConfig `training` with the adapter settings that its objectives use.

    A TrainingConfig field spelled as a flat adapter setting (`continual_decay`) is
    that adapter's own setting, which `adapters` holds, its one source.
    """
    names = {item.name for item in fields(TrainingConfig)}
    return replace(training, **{
        flat: getattr(adapters[adapter], setting)
        for flat, (adapter, setting) in FLAT_SETTING_NAMES.items()
        if flat in names and adapter in adapters})


def cost_section(data, where):
    """
    Return the `cost:` mapping (term -> {weight, settings}) as a tuple of term dicts.

    :raises ValueError: for a term that core.costs.COST_TERMS does not know.
    """
    if data is None:
        return ()
    if not isinstance(data, dict) or not all(
            isinstance(value, dict) or value is None for value in data.values()):
        raise ValueError(f'{where}: expected a mapping term -> settings')
    unknown = sorted(set(data) - set(COST_TERMS))
    if unknown:
        raise ValueError(f'{where}: unknown cost terms {unknown}; known: {sorted(COST_TERMS)}')
    return tuple(dict({'name': name}, **(settings or {})) for name, settings in data.items())


def load_robot_config(path_or_robot):
    """
    Read a robot config file.

    :param path_or_robot: a YAML path, or a robot name: its description's `config`
        (robots.ROBOTS; the config's robot is then the description's name), else
        config/<robot>.yaml.
    :return: RobotConfig
    :raises ValueError: on malformed YAML or unknown keys, naming the file.
    """
    path = pathlib.Path(path_or_robot)
    description = None
    if path.suffix not in ('.yaml', '.yml'):
        description = ROBOTS.get(str(path_or_robot))
        config = description.config if description is not None else ''
        path = pathlib.Path(config) if config.endswith(('.yaml', '.yml')) else \
            share_path('config', f'{config or path_or_robot}.yaml')
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ValueError(f'{path}: cannot read ({error})') from None
    except yaml.YAMLError as error:
        raise ValueError(f'{path}: malformed YAML ({error})') from None
    if not isinstance(data, dict) or 'robot' not in data:
        raise ValueError(f'{path}: expected a mapping with a `robot` key')
    unknown = sorted(set(data) - set(SECTIONS) - {'robot', 'cost', 'adapters'})
    if unknown:
        raise ValueError(f'{path}: unknown sections {unknown}')
    sections, flat = {}, {}
    for name, cls in SECTIONS.items():
        section = data.get(name)
        if name in FLAT_SECTIONS:
            section, given = flat_adapter_settings(section)
            for adapter, settings in given.items():
                flat.setdefault(adapter, {}).update(settings)
        where = f'{path}: {name}'
        # The controller section also reads planner settings spelled flat (older files).
        sections[name] = controller_from_mapping(section, where) if cls is ControllerConfig \
            else settings_from_mapping(cls, section, where)
    adapters = adapters_section(data.get('adapters'), f'{path}: adapters', flat)
    sections['training'] = trained_adapter_settings(sections['training'], adapters)
    # Read by a robot's name, the config is that robot's (its checkpoints are named so),
    # even when the file is shared with a benchmark family (half_cheetah's).
    robot = description.name if description is not None else str(data['robot'])
    return RobotConfig(robot=robot, source=str(path),
                       cost=cost_section(data.get('cost'), f'{path}: cost'),
                       adapters=adapters, **sections)
