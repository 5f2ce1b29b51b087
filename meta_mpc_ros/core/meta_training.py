"""
Meta-training (GrBAL, ReBAL) and ordinary training (MB) of the dynamics model.

The loop follows the paper: sample a batch of windows from tasks of the training
distribution, take the meta-objective (core.objectives), and update theta (and GrBAL's
step size psi) with Adam. Every `eval_every` iterations the same objective is measured
on fixed validation windows; the best parameters are kept (best-checkpoint selection)
and training stops after `patience` evaluations without improvement.
"""

from dataclasses import asdict, dataclass, field
import math
import time

from meta_mpc_ros.core.adapters import ADAPTERS, ContinualSettings
from meta_mpc_ros.core.dataset import HISTORY_LENGTHS, WindowSampler
from meta_mpc_ros.core.model import Normalizer
from meta_mpc_ros.core.objectives import METHODS, objective
from meta_mpc_ros.core.roles import DEFAULT_ADAPTER
from meta_mpc_ros.core.step_size import STEP_SIZE_MODES, StepSize
import torch

# Re-exported: the registry of training methods lives with their objectives.
__all__ = ('fit_normalizer', 'learns_step_size', 'make_step_size', 'METHODS', 'Trainer',
           'TrainingConfig', 'TrainingState')


def learns_step_size(method):
    """Return True when a training method (a key of METHODS) learns psi."""
    return METHODS[method].learns_step_size


@dataclass(frozen=True)
class TrainingConfig:
    """
    Hyper-parameters of (meta-)training; defaults follow the official GrBAL code.

    :param past_steps: M, the adaptation window (official: 16).
    :param future_steps: K, the transitions scored after adapting (official: 16).
    :param batch_size: windows per (meta-)batch.
    :param learning_rate: Adam's step for theta (official: 1e-3).
    :param inner_step_size: initial psi.
    :param step_size_mode: psi's form, one of core.step_size.STEP_SIZE_MODES.
    :param step_size_learning_rate: Adam's step for rho = log psi, its own group.
    :param share_action_columns: one column factor of psi for every action input of
        the first layer (factored mode), so the step transfers to unperturbed inputs.
    :param learn_step_size: learn psi jointly with theta (the paper's meta-objective).
    :param first_order: first-order MAML instead of second order.
    :param unroll_steps: U, consecutive online steps unrolled by the continual method.
    :param continual_decay: the continual adapter's own decay (ContinualSettings), which
        its training method unrolls it with; pipeline.config fills it from the robot
        YAML's `adapters:` section.
    :param rollout_steps: R, how transitions are scored: 1 is the paper's one-step loss;
        R > 1 rolls the (adapted) model out open loop over chunks of R executed actions
        and compares the states reached, as the planner uses it (core.per_window).
    :param history_lengths: ReBAL's encoder reads 'full' M-transition histories, or
        'all' lengths from 0 to M (so an episode's first steps are in distribution).
    :param eval_every: iterations between validation measurements.
    :param patience: evaluations without improvement before stopping (0: never stop).
    :param validation_windows: how many fixed validation windows to score.
    """

    method: str = ADAPTERS[DEFAULT_ADAPTER].training_method
    past_steps: int = 16
    future_steps: int = 16
    batch_size: int = 32
    iterations: int = 2000
    learning_rate: float = 1e-3
    inner_step_size: float = 0.01
    step_size_mode: str = 'factored'
    step_size_learning_rate: float = 0.02
    share_action_columns: bool = False
    learn_step_size: bool = True
    first_order: bool = False
    unroll_steps: int = 8
    continual_decay: float = ContinualSettings.decay
    rollout_steps: int = 1
    history_lengths: str = 'full'
    validation_fraction: float = 0.1
    eval_every: int = 100
    patience: int = 10
    validation_windows: int = 256
    gradient_clip: float = 10.0
    seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f'method must be one of {tuple(METHODS)}, got {self.method!r}')
        if self.step_size_mode not in STEP_SIZE_MODES:
            raise ValueError(f'step_size_mode must be one of {STEP_SIZE_MODES}')
        if self.share_action_columns and self.step_size_mode != 'factored':
            raise ValueError('share_action_columns needs step_size_mode factored')
        try:
            ContinualSettings(decay=self.continual_decay)
        except ValueError as error:
            raise ValueError(f'continual_decay: {error}') from None
        if self.history_lengths not in HISTORY_LENGTHS:
            raise ValueError(f'history_lengths must be one of {HISTORY_LENGTHS}')
        for name in ('past_steps', 'future_steps', 'batch_size', 'eval_every',
                     'validation_windows', 'unroll_steps', 'rollout_steps'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1')
        if self.iterations < 0 or self.patience < 0:
            raise ValueError('iterations and patience must be >= 0')
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError('validation_fraction must be in (0, 1)')
        if not (self.learning_rate > 0.0 and self.inner_step_size > 0.0
                and self.step_size_learning_rate > 0.0):
            raise ValueError('learning rates must be positive')

    def to_dict(self):
        """Return a plain dict (for checkpoints and logs)."""
        return asdict(self)


@dataclass
class TrainingState:
    """
    Everything needed to resume: iteration, optimiser and generator state, the best.

    `best_step_size` is StepSize.state_dict() of the best psi (its free parameters rho).
    """

    iteration: int = 0
    best_validation: float = math.inf
    best_params: dict = None
    best_step_size: object = None
    evaluations_without_improvement: int = 0
    history: list = field(default_factory=list)
    optimizer: dict = None
    generator: torch.Tensor = None


def make_step_size(model, config, device='cpu'):
    """Return the StepSize that psi starts from for a model and a TrainingConfig."""
    shapes = {name: value.shape for name, value in model.named_parameters()}
    first = len(model.config.input_indices)
    columns = (first, first + model.config.action_dim) if config.share_action_columns else None
    return StepSize(shapes, config.step_size_mode, config.inner_step_size, columns,
                    device).requires_grad_(config.learn_step_size)


def fit_normalizer(model, dataset):
    """Fit the model's normalisation statistics on a dataset's transitions."""
    states, actions, next_states = dataset.transitions()
    model.set_normalizer(Normalizer.fit(states, actions, next_states,
                                        model.config.input_indices))


class Trainer:
    """
    Train a DynamicsModel with one of METHODS.

    :param model: DynamicsModel (its normaliser already fitted; see fit_normalizer).
    :param train_set: TrajectoryDataset.
    :param validation_set: TrajectoryDataset.
    :param config: TrainingConfig.
    :param device: torch device.
    :param state: a TrainingState to resume from, or None.
    """

    def __init__(self, model, train_set, validation_set, config, device='cpu', state=None):
        if METHODS[config.method].needs_context and not model.config.context_dim:
            raise ValueError(f'{config.method} needs a model with context_dim > 0')
        self.model = model.to(device)
        self.config = config
        self.device = device
        # The continual method scores U consecutive windows: its stretches start M + U - 1
        # transitions before the last future.
        past = config.past_steps + METHODS[config.method].extra_past_steps(config)
        self.sampler = WindowSampler(train_set, past, config.future_steps,
                                     config.history_lengths)
        validation_sampler = WindowSampler(validation_set, past, config.future_steps,
                                           config.history_lengths)
        fixed = torch.Generator().manual_seed(config.seed + 1)
        count = min(config.validation_windows, len(validation_sampler))
        picks = torch.randperm(len(validation_sampler), generator=fixed)[:count].numpy()
        self.validation_batch = validation_sampler.batch(picks, fixed).to(device)
        self.params = dict(self.model.named_parameters())
        self.step_size = make_step_size(self.model, config, device)
        groups = [{'params': list(self.params.values())}]
        if learns_step_size(config.method) and config.learn_step_size:
            groups.append({'params': self.step_size.parameters(),
                           'lr': config.step_size_learning_rate})
        self.optimizer = torch.optim.Adam(groups, lr=config.learning_rate)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.state = TrainingState()
        if state is not None:
            self.load_state(state)

    def load_state(self, state):
        """Resume from a TrainingState (parameters come from the model and `step_size`)."""
        if state.optimizer is not None:
            self.optimizer.load_state_dict(state.optimizer)
        if state.generator is not None:
            self.generator.set_state(state.generator)
        if state.best_step_size is not None:
            self.step_size.load_state_dict(state.best_step_size)
        self.state = state

    def warm_start(self, step_size_state, optimizer_state=None):
        """
        Continue psi (and Adam's moments) from an earlier round of Algorithm 1.

        :param step_size_state: StepSize.state_dict() of that round's psi.
        :param optimizer_state: that round's optimiser state_dict, or None.
        """
        self.step_size.load_state_dict(step_size_state)
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)

    def loss(self, batch):
        """Return the training objective on a batch (a scalar with a graph)."""
        return objective(self.config.method, self.model, self.params, self.step_size,
                         batch, self.config.first_order, self.config)

    def validate(self):
        """Return the objective on the fixed validation windows (a float)."""
        # torch.func.grad ignores the outer no_grad, so GrBAL's inner step still works.
        with torch.no_grad():
            loss = objective(self.config.method, self.model, self.params, self.step_size,
                             self.validation_batch, True, self.config)
        return float(loss)

    def step(self):
        """Run one (meta-)training iteration; return the training loss."""
        batch = self.sampler.sample(self.config.batch_size, self.generator).to(self.device)
        loss = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(
            [p for group in self.optimizer.param_groups for p in group['params']],
            self.config.gradient_clip)
        self.optimizer.step()
        self.state.iteration += 1
        return float(loss.detach())

    def train(self, on_evaluation=None, on_step=None):
        """
        Train until `iterations` or early stopping; keep and restore the best parameters.

        :param on_evaluation: called with a dict (iteration, train_loss, validation_loss,
            best, seconds) after each validation.
        :param on_step: called with (iteration, train_loss) after each iteration.
        :return: the final TrainingState (history holds every evaluation).
        """
        config, state = self.config, self.state
        start, running = time.perf_counter(), []
        if state.best_params is None:
            initial = self.validate()
            self._remember_if_best(initial)
            record = {'iteration': 0, 'train_loss': None, 'validation_loss': initial,
                      'best': True, 'seconds': 0.0}
            state.history.append(record)
            if on_evaluation is not None:
                on_evaluation(record)
        while state.iteration < config.iterations:
            running.append(self.step())
            if on_step is not None:
                on_step(state.iteration, running[-1])
            if state.iteration % config.eval_every and state.iteration < config.iterations:
                continue
            validation = self.validate()
            improved = self._remember_if_best(validation)
            record = {'iteration': state.iteration,
                      'train_loss': sum(running) / len(running),
                      'validation_loss': validation, 'best': improved,
                      'seconds': time.perf_counter() - start}
            running = []
            state.history.append(record)
            if on_evaluation is not None:
                on_evaluation(record)
            if config.patience and state.evaluations_without_improvement >= config.patience:
                break
        self.restore_best()
        state.optimizer = self.optimizer.state_dict()
        state.generator = self.generator.get_state()
        return state

    def _remember_if_best(self, validation):
        """Keep a copy of the parameters if `validation` is the best so far."""
        state = self.state
        if validation < state.best_validation:
            state.best_validation = validation
            state.best_params = {name: value.detach().clone()
                                 for name, value in self.params.items()}
            state.best_step_size = self.step_size.state_dict()
            state.evaluations_without_improvement = 0
            return True
        state.evaluations_without_improvement += 1
        return False

    def restore_best(self):
        """Load the best parameters (and psi) seen into the model."""
        with torch.no_grad():
            for name, value in self.state.best_params.items():
                self.params[name].copy_(value)
        self.step_size.load_state_dict(self.state.best_step_size)

    def detached_step_size(self):
        """Return psi as the adapters use it: name -> tensor, or a scalar tensor."""
        with torch.no_grad():
            if self.step_size.mode == 'scalar':
                return self.step_size.for_parameter(None)[1].clone()
            return {name: value.detach().clone()
                    for name, value in self.step_size.values().items()}
