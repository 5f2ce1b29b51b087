"""
GrBAL's learned inner step size psi, positive by construction.

psi = exp(rho), with rho the free parameter that meta-training updates. Three forms:

    scalar          one psi for every parameter
    per_parameter   one psi per entry of every parameter (the paper's general form)
    factored        for each weight matrix (out, in): psi[o, i] = row[o] * column[i],
                    row = exp(rho_row), column = exp(rho_column); biases per entry.
                    The column factor scales each network input's step, and with
                    `share_action_columns` one value serves every action input, so a
                    step learned on the actuators it saw perturbed transfers to one it
                    never saw. Batched meta-training never forms a per-window weight
                    matrix in this form (core.per_window).

`values()` gives psi as a name -> tensor dict of the parameters' shapes, the form the
adapters and checkpoints use whatever form was trained.
"""

import math

import torch

STEP_SIZE_MODES = ('scalar', 'per_parameter', 'factored')


class StepSize:
    """
    The free parameters rho of psi for one model's parameters.

    :param shapes: name -> torch.Size of each model parameter.
    :param mode: one of STEP_SIZE_MODES.
    :param initial: psi at initialisation (every entry).
    :param action_columns: (first, last) input columns of the actions in the first
        layer, shared by one column factor when given (factored mode only).
    :param device: torch device.
    """

    def __init__(self, shapes, mode, initial, action_columns=None, device='cpu'):
        if mode not in STEP_SIZE_MODES:
            raise ValueError(f'step_size_mode must be one of {STEP_SIZE_MODES}, got {mode!r}')
        if not initial > 0.0:
            raise ValueError('the initial step size must be positive')
        self.mode = mode
        self.shapes = dict(shapes)
        self.action_columns = tuple(action_columns) if action_columns else None
        log = math.log(initial)
        options = {'dtype': torch.float32, 'device': device}
        if mode == 'scalar':
            self.free = {'scalar': torch.tensor(log, **options)}
        elif mode == 'per_parameter':
            self.free = {name: torch.full(shape, log, **options)
                         for name, shape in self.shapes.items()}
        else:
            self.free = {}
            for name, shape in self.shapes.items():
                if len(shape) == 2:
                    self.free[f'{name}:row'] = torch.full(shape[:1], log, **options)
                    self.free[f'{name}:column'] = torch.zeros(self._columns(name, shape),
                                                              **options)
                else:
                    self.free[name] = torch.full(shape, log, **options)

    def _columns(self, name, shape):
        """Return how many free column entries a weight matrix has."""
        if self.action_columns and name == self.first_weight:
            first, last = self.action_columns
            return shape[1] - (last - first) + 1
        return shape[1]

    @property
    def first_weight(self):
        """Return the name of the first two-dimensional parameter (the input layer)."""
        return next(name for name, shape in self.shapes.items() if len(shape) == 2)

    def parameters(self):
        """Return the free tensors rho (what the optimiser updates)."""
        return list(self.free.values())

    def requires_grad_(self, flag=True):
        """Mark rho as trainable (or not); return self."""
        for value in self.free.values():
            value.requires_grad_(flag)
        return self

    def column(self, name):
        """Return (in,) the column factor of weight `name` (factored mode)."""
        free = self.free[f'{name}:column']
        if self.action_columns and name == self.first_weight:
            first, last = self.action_columns
            shared = free[first:first + 1].expand(last - first)
            free = torch.cat([free[:first], shared, free[first + 1:]])
        return free.exp()

    def row(self, name):
        """Return (out,) the row factor of weight `name` (factored mode)."""
        return self.free[f'{name}:row'].exp()

    def for_parameter(self, name):
        """
        Return psi for one parameter in its cheapest form.

        :return: ('scalar', tensor ()), ('full', tensor of the parameter's shape) or
            ('factored', (row (out,), column (in,))).
        """
        if self.mode == 'scalar':
            return 'scalar', self.free['scalar'].exp()
        if self.mode == 'factored' and len(self.shapes[name]) == 2:
            return 'factored', (self.row(name), self.column(name))
        return 'full', self.free[name].exp()

    def values(self):
        """Return psi as name -> tensor of each parameter's shape (positive)."""
        psi = {}
        for name, shape in self.shapes.items():
            kind, value = self.for_parameter(name)
            if kind == 'factored':
                value = value[0][:, None] * value[1][None, :]
            psi[name] = value.expand(shape) if kind == 'scalar' else value
        return psi

    def state_dict(self):
        """Return rho and the form, for training checkpoints (tensors and plain values)."""
        return {'mode': self.mode, 'action_columns': list(self.action_columns or []),
                'free': {name: value.detach().cpu().clone()
                         for name, value in self.free.items()}}

    def load_state_dict(self, state):
        """Copy rho from `state_dict()` output of the same form; raise ValueError if not."""
        if state.get('mode') != self.mode or \
                tuple(state.get('action_columns') or ()) != (self.action_columns or ()):
            raise ValueError(f'step size of form {state.get("mode")!r} cannot warm-start '
                             f'a {self.mode!r} one')
        with torch.no_grad():
            for name, value in self.free.items():
                if name not in state['free'] or state['free'][name].shape != value.shape:
                    raise ValueError(f'step size entry {name!r} is missing or mis-shaped')
                value.copy_(state['free'][name])
        return self
