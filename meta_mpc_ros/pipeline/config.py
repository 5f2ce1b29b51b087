"""
A robot's training and evaluation settings, read from config/<robot>.yaml.

Sizes that come from the robot (state and action dimensions, which state entries the
model sees) are never written in the YAML: they come from the environment's specs.
Every section maps onto a frozen dataclass, and unknown keys are errors, except
`cost`: the planner's cost, term by term (core.costs.COST_TERMS), which the
mppi_controller_node and in-process runs both plan with.
"""

from dataclasses import dataclass, field, fields
import pathlib

from meta_mpc_ros.core.controller import ControllerConfig
from meta_mpc_ros.core.costs import COST_TERMS
from meta_mpc_ros.core.layers import ACTIVATIONS
from meta_mpc_ros.core.meta_training import TrainingConfig
from meta_mpc_ros.paths import share_path
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
    """Online adaptation settings used in closed loop."""

    de_steps: int = 5
    de_learning_rate: float = 0.003
    episode_steps: int = 0      # 0: the environment's default


@dataclass(frozen=True)
class RobotConfig:
    """
    Everything in config/<robot>.yaml.

    :param cost: the planner's cost terms, dicts of name, weight and settings
        (core.costs.build_cost); empty: the environment's own `cost_terms()`.
    """

    robot: str
    model: ModelSettings = field(default_factory=ModelSettings)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    collection: CollectionSettings = field(default_factory=CollectionSettings)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    cost: tuple = ()
    source: str = ''

    def cost_terms(self, env):
        """Return the planner's cost terms (dicts): the YAML's `cost`, else the env's."""
        return [dict(term) for term in self.cost] if self.cost else env.cost_terms()


SECTIONS = {'model': ModelSettings, 'training': TrainingConfig,
            'collection': CollectionSettings, 'controller': ControllerConfig,
            'evaluation': EvaluationSettings}


def _section(cls, data, where):
    """Build a dataclass from a YAML mapping, refusing unknown keys."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ValueError(f'{where}: expected a mapping, got {type(data).__name__}')
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f'{where}: unknown keys {unknown}; known: {sorted(known)}')
    values = {key: tuple(value) if isinstance(value, list) else value
              for key, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{where}: {error}') from None


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

    :param path_or_robot: a YAML path, or a robot name (config/<robot>.yaml is used).
    :return: RobotConfig
    :raises ValueError: on malformed YAML or unknown keys, naming the file.
    """
    path = pathlib.Path(path_or_robot)
    if path.suffix not in ('.yaml', '.yml'):
        path = share_path('config', f'{path_or_robot}.yaml')
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ValueError(f'{path}: cannot read ({error})') from None
    except yaml.YAMLError as error:
        raise ValueError(f'{path}: malformed YAML ({error})') from None
    if not isinstance(data, dict) or 'robot' not in data:
        raise ValueError(f'{path}: expected a mapping with a `robot` key')
    unknown = sorted(set(data) - set(SECTIONS) - {'robot', 'cost'})
    if unknown:
        raise ValueError(f'{path}: unknown sections {unknown}')
    sections = {name: _section(cls, data.get(name), f'{path}: {name}')
                for name, cls in SECTIONS.items()}
    return RobotConfig(robot=str(data['robot']), source=str(path),
                       cost=cost_section(data.get('cost'), f'{path}: cost'), **sections)
