"""
Sampling-based planners over a learned dynamics model: MPPI, random shooting and CEM.

Shapes, used throughout this package (documented here once):

    K   num_samples, the number of sampled action sequences
    H   horizon, the number of planned steps
    nx  state size;  nu  action size

    state             (nx,)            the current state
    action sequences  (K, H, nu)       sampled; the nominal sequence is (H, nu)
    predicted states  (K, H + 1, nx)   index 0 is the current state
    costs             (K,)

A planner sees the model only as `dynamics(states (K, nx), actions (K, nu)) -> (K, nx)`
and the task only as a `TrajectoryCost` (core.costs); it knows nothing else about
either. `plan(dynamics, state, context)` returns a `PlanResult`.
"""
