"""
The mppi_controller_node's planning parameters, with the robot's YAML as their defaults.

One source: the `controller:` and `cost:` sections of config/<robot>.yaml, which
in-process runs plan with, are the defaults of every parameter declared here, so
that a graph started with only `robot` plans exactly as `meta-mpc evaluate` does.

- every core.controller.ControllerConfig field is a parameter of its name
  (`planner`, `num_samples`, `horizon`, ...), except `planners`, which is
- `planner.<name>.<setting>`: each registered planner's own settings
  (core.controller.PlannerSpec.settings: MPPI's `temperature`, `noise_sigma`, ...,
  CEM's `elite_fraction`, ...), described, checked and marked dynamic by the
  planner's settings dataclass;
- `cost.terms`, `cost.<term>.weight` and `cost.<term>.<setting>`: the cost terms.
"""

from dataclasses import asdict

from meta_mpc_ros.core.controller import ControllerConfig, PLANNERS, setting_names
from meta_mpc_ros.core.costs import COST_TERMS
from meta_mpc_ros.ros.parameters import config_parameters, ParameterSpec, settings_parameters

# ControllerConfig fields that are parameters of this node, planners aside (defaults
# from the robot's YAML): name -> (description, ParameterSpec options).
CONTROLLER_PARAMETERS = {
    'planner': ('Planner, a key of core.controller.PLANNERS.', {'choices': PLANNERS}),
    'num_samples': ('K: sampled action sequences per step.', {'bounds': (2, 100000)}),
    'horizon': ('H: planned steps (of one control period each).', {'bounds': (1, 500)}),
    'dtype': ('Model precision while planning (bfloat16 runs in float32 on a CPU without '
              'native bf16 matrix products).', {'choices': ('float32', 'bfloat16')}),
    'lookahead_m': ('Length of the reference segment the cost sees, m.',
                    {'bounds': (0.05, 100.0)}),
    'path_stride': ('Keep every n-th reference point in the cost (fewer distances).',
                    {'bounds': (1, 100)}),
    'model_timeout_s': ('Model update older than this (sim s): use theta*.',
                        {'bounds': (0.01, 3600.0)}),
    'seed': ('Seed of the planner noise.', {'bounds': (0, 2 ** 31 - 1)}),
}
# The ControllerConfig field that the planner.<name>.<setting> parameters fill.
PLANNER_SETTINGS_FIELD = 'planners'


def planner_parameters(config):
    """
    Return `planner.<name>.<setting>` for every registered planner's own settings.

    Only the chosen planner (`planner`) reads its own; MPPI's temperature and
    noise_sigma are dynamic.

    :param config: ControllerConfig whose `planners` give the defaults (the robot's).
    :return: tuple of ParameterSpec.
    """
    return tuple(spec for planner, registered in PLANNERS.items() if registered.settings
                 for spec in settings_parameters('planner', planner, registered.settings,
                                                 asdict(config.own(planner))))


def controller_parameters(config):
    """
    Return the parameters of every ControllerConfig field, defaulting to `config`.

    :param config: ControllerConfig, the robot YAML's `controller:` section.
    :return: tuple of ParameterSpec: the fields in CONTROLLER_PARAMETERS, then
        planner_parameters.
    """
    return config_parameters(config, CONTROLLER_PARAMETERS) + planner_parameters(config)


def controller_config(values):
    """
    Return the ControllerConfig that the parameter values describe.

    :param values: parameter name -> value (declare_parameters' dict).
    """
    fields = {name: tuple(values[name]) if isinstance(values[name], list) else values[name]
              for name in CONTROLLER_PARAMETERS}
    planners = {planner: {name: values[f'planner.{planner}.{name}']
                          for name in setting_names(planner)}
                for planner, registered in PLANNERS.items() if registered.settings}
    return ControllerConfig(**fields, **{PLANNER_SETTINGS_FIELD: planners})


def _check_terms(names):
    """Return None if every name is a registered cost term, else the reason."""
    unknown = [name for name in names if name not in COST_TERMS]
    if unknown or not names:
        return f'cost.terms: unknown terms {unknown} (known: {sorted(COST_TERMS)})'
    return None


def cost_parameters(default_cost, terms=None):
    """
    Return the cost's parameters, as nav2's MPPI critics declare theirs.

    `cost.terms` lists the terms (core.costs.COST_TERMS) in order; each term then has
    a dynamic `cost.<term>.weight` and one `cost.<term>.<setting>` per entry of its
    class's `settings`, defaulting to the robot's YAML and then to the class.

    :param default_cost: the robot's cost term dicts (RobotConfig.cost).
    :param terms: the names chosen (`cost.terms`), or None for the robot's.
    :return: tuple of ParameterSpec, `cost.terms` first.
    """
    defaults = {term['name']: term for term in default_cost}
    names = list(defaults) if terms is None else list(terms)
    specs = [ParameterSpec('cost.terms', list(defaults), 'Cost terms (core.costs.COST_TERMS)'
                           ', in order; each declares cost.<term>.weight and its settings. '
                           "Default: the robot config YAML's cost.", check=_check_terms)]
    for name in names:
        given = defaults.get(name, {})
        for key, default in (('weight', 1.0),) + tuple(COST_TERMS[name].settings.items()):
            specs.append(ParameterSpec(f'cost.{name}.{key}', float(given.get(key, default)),
                                       f'Cost term {name}: {key}.', bounds=(0.0, 1e6),
                                       dynamic=True))
    return tuple(specs)
