"""
The contracts of the core's extension points, as typing.Protocol classes.

Each registry holds objects that satisfy one of these: ADAPTERS (core.adapters) builds
Adapters, PLANNERS (core.controller) Planners, COST_TERMS (core.costs) CostTerms, and
METHODS (core.objectives) holds TrainingObjectives. A new one needs no base class: it
has the attributes and methods below, with the meaning their docstrings state.
test/package/test_extending.py adds one of each through its registry.
"""

from typing import Protocol


class Adapter(Protocol):
    """
    Turns the last M transitions into the parameters (and context) to plan with.

    `adapt` is pure: the same (params, window, state) give the same Adapted. A carrying
    adapter (restarts_from_meta False) is handed back its own last parameters and the
    `state` of its last Adapted by core.session.AdaptationSession.
    """

    name: str
    restarts_from_meta: bool        # True: every window starts again from theta*
    reads_short_history: bool       # True: adapts on windows shorter than M (from 0)

    def adapt(self, model, params, window, **carried):
        """Return core.adapters.Adapted for core.adapters.Window `window`."""


class Planner(Protocol):
    """
    Chooses the action to apply now by rolling a dynamics model out over a horizon.

    A planner owns its settings dataclass and a seeded torch.Generator, so that the
    same states, model and seed give the same actions. One whose settings name
    `dynamic` ones also has `check_setting(name, value) -> reason or None` and
    `set_setting(name, value)`, which the controller node calls between plans
    (core.planning.common.SamplingPlanner has both).
    """

    def reset(self):
        """Forget the warm start (a new path, a fallback to theta*)."""

    def plan(self, dynamics, state, context):
        """
        Return core.planning.common.PlanResult.

        :param dynamics: callable (K, nx), (K, nu) -> (K, nx).
        :param state: (nx,) float32 tensor on the planner's device.
        :param context: core.costs.CostContext.
        """


class CostTerm(Protocol):
    """
    One weighted term of the task cost, built by name from a dict of its settings.

    :param name: its key in COST_TERMS and its parameter namespace `cost.<name>.*`.
    :param settings: its tunable settings, name -> default.
    :param reads_path: it reads the reference path (CostContext.path_*), so the
        controller tracks a path for it.
    """

    name: str
    settings: dict
    reads_path: bool

    def __call__(self, states, actions, context):
        """Return (K,) costs of states (K, H+1, nx) and actions (K, H, nu)."""


class TrainingObjective(Protocol):
    """
    The loss a training method minimises (core.objectives.TrainingMethod.objective).

    It is called with these keyword arguments, always all of them; an objective names
    the ones it reads and takes the others as `**_`.
    """

    def __call__(self, *, model, params, step_size, batch, first_order, config):
        """
        Return a scalar loss with a graph.

        :param params: name -> tensor, theta (requires grad).
        :param step_size: psi (core.step_size), or None for methods that learn none.
        :param batch: core.dataset.WindowBatch.
        :param first_order: ignore second derivatives.
        :param config: core.meta_training.TrainingConfig.
        """
