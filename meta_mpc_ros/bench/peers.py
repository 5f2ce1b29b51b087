"""
Peer planners for `meta-mpc bench core`, set up to plan the problem our MPPI plans.

Each adapter takes the same dynamics callable (a core Predictor), K, H, action box,
noise sigma and temperature lambda as core.planning.MPPI, scores trajectories with an
equivalent cost, and offers `plan(state) -> (nu,) action`, warm-starting between calls:

    pytorch_mppi   pytorch_mppi.MPPI.command (PyPI pytorch-mppi)
    mbrl           mbrl.planning.MPPIOptimizer.optimize (mbrl-lib, PyPI mbrl 0.2.0)

Both libraries draw their noise from torch's global generator; the benchmark only
times them, so it does not seed it.
"""

from importlib import import_module, metadata

from meta_mpc_ros.core.costs import build_cost, nearest_points
from meta_mpc_ros.core.planning.common import rollout
from meta_mpc_ros.robots.millirobot import MILLIROBOT_ACTION, MILLIROBOT_STATE
import torch

# peer name -> the module its adapter imports
PEER_MODULES = {'pytorch_mppi': 'pytorch_mppi', 'mbrl': 'mbrl.planning'}


def load_peers():
    """
    Import the peer libraries.

    :return: dict peer name -> (module, '') or (None, why it could not be imported).
    """
    peers = {}
    for name, module_name in PEER_MODULES.items():
        try:
            peers[name] = (import_module(module_name), '')
        except Exception as error:  # e.g. hydra-core 1.0 raises ValueError on Python 3.11
            peers[name] = (None, f'{type(error).__name__}: {error}')
    return peers


def peer_version(name):
    """Return the installed version of a peer's distribution, or '-'."""
    distribution = {'pytorch_mppi': 'pytorch-mppi', 'mbrl': 'mbrl'}[name]
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return '-'


class PytorchMPPIPeer:
    """
    pytorch_mppi's MPPI with our dynamics and the path-tracking cost split per step.

    :param module: the imported pytorch_mppi module.
    :param predictor: dynamics callable (K, nx), (K, nu) -> (K, nx).
    :param cost_terms: COST_TERMS dicts (path_tracking first, then control_effort).
    :param context: CostContext of the path.
    :param num_samples: K.
    :param horizon: H.
    :param sigma: noise standard deviation, action units.
    :param temperature: lambda.
    :param device: torch device.
    """

    def __init__(self, module, predictor, cost_terms, context, num_samples, horizon, sigma,
                 temperature, device):
        cost = build_cost(cost_terms, MILLIROBOT_STATE)
        tracking, effort = cost.terms[0], cost.terms[1].weight
        position = tracking.position_index.to(device)

        def running_cost(states, actions):
            # The same distance + heading terms per step (nearest_points, as PathTracking
            # does); progress is scored once at the end below.
            positions = states.index_select(-1, position)
            distance, nearest = nearest_points(positions, context.path_points)
            yaw = torch.atan2(states[:, tracking.sin_index], states[:, tracking.cos_index])
            error = torch.remainder(yaw - context.path_headings[nearest] + torch.pi,
                                    2 * torch.pi) - torch.pi
            return (tracking.distance * distance + tracking.heading * error.abs()
                    + effort * actions.pow(2).sum(-1))

        def terminal_cost(states, actions):
            # pytorch_mppi passes (rollout_samples, K, H, nx).
            final = states[..., -1, :].index_select(-1, position).reshape(-1, 2)
            nearest = nearest_points(final, context.path_points)[1]
            return -tracking.progress * context.path_arclength[nearest]

        low = torch.tensor(MILLIROBOT_ACTION.low, device=device)
        high = torch.tensor(MILLIROBOT_ACTION.high, device=device)
        variance = torch.diag(torch.full((MILLIROBOT_ACTION.dim,), sigma ** 2, device=device))
        # Start from the centre of the box, as ours and mbrl do (its default is noise).
        centre = 0.5 * (low + high)
        self.mppi = module.MPPI(predictor, running_cost, MILLIROBOT_STATE.dim,
                                noise_sigma=variance, num_samples=num_samples,
                                horizon=horizon, device=device,
                                terminal_state_cost=terminal_cost, lambda_=temperature,
                                u_min=low, u_max=high, u_init=centre,
                                U_init=centre.expand(horizon, -1).clone())

    def plan(self, state):
        """Return the (nu,) action to apply now (command shifts its nominal)."""
        return self.mppi.command(state)


class MbrlMPPIPeer:
    """
    mbrl-lib's MPPIOptimizer maximising minus our TrajectoryCost of Predictor rollouts.

    The objective does what ours does per iteration: roll the K sequences through the
    predictor for H steps (core.planning.common.rollout) and score them with the very
    TrajectoryCost that our MPPI uses. mbrl maximises, so it returns -cost; its weights
    exp(gamma * (v - max v)) equal our softmax(-(S - min S) / lambda) when gamma = 1 / lambda.

    mbrl 0.2.0 overwrites its sigma-scaled population with beta * (mean + noise) + ...,
    so its noise is a unit truncated normal (|eps| < 2) whatever sigma is. To sample
    with our sigma it optimises u = (a - centre) / sigma: the box becomes
    [(low - centre) / sigma, (high - centre) / sigma], the objective maps u back to
    actions, and its zero initial mean is the centre of the box, our initial nominal.
    beta = 1 turns off its time correlation, as our MPPI has no smoothing.

    Warm start: optimize() is called directly (no TrajectoryOptimizer). MPPIOptimizer
    ignores x0 and warm-starts itself, shifting its mean one step at the start of every
    call (the last step repeated), which is what it does under TrajectoryOptimizer too;
    that wrapper would only add a roll of the unused x0 and a .cpu().numpy() copy.

    :param module: the imported mbrl.planning module.
    :param predictor: dynamics callable (K, nx), (K, nu) -> (K, nx).
    :param cost_terms: COST_TERMS dicts.
    :param context: CostContext of the path.
    :param num_samples: K (population_size).
    :param horizon: H.
    :param sigma: noise standard deviation, action units.
    :param temperature: lambda (gamma = 1 / lambda).
    :param device: torch device.
    """

    def __init__(self, module, predictor, cost_terms, context, num_samples, horizon, sigma,
                 temperature, device):
        self.predictor = predictor
        self.cost = build_cost(cost_terms, MILLIROBOT_STATE)
        self.context = context
        low = torch.tensor(MILLIROBOT_ACTION.low, dtype=torch.float32, device=device)
        high = torch.tensor(MILLIROBOT_ACTION.high, dtype=torch.float32, device=device)
        self.centre = 0.5 * (low + high)
        self.sigma = float(sigma)
        lower = ((low - self.centre) / self.sigma).tolist()
        upper = ((high - self.centre) / self.sigma).tolist()
        self.optimizer = module.MPPIOptimizer(
            num_iterations=1, population_size=num_samples, gamma=1.0 / temperature,
            sigma=1.0, beta=1.0, lower_bound=[lower] * horizon,
            upper_bound=[upper] * horizon, device=torch.device(device))

    def to_actions(self, scaled):
        """Return actions (..., nu) from the optimiser's variables u (..., nu)."""
        return self.centre + self.sigma * scaled

    def plan(self, state):
        """Return the (nu,) action to apply now."""
        def objective(population):
            actions = self.to_actions(population)
            states = rollout(self.predictor, state, actions)
            return -self.cost(states, actions, self.context)

        return self.to_actions(self.optimizer.optimize(objective)[0])
