"""The core tests' fixtures (their analytic systems are in test/helpers/)."""

import pytest


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    """
    Run the core's small models on one torch thread.

    Their matrices are tiny, and a second OpenMP thread waiting on a core that another
    process holds (the graph tests, a parallel build) can make each product 100 times
    slower.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=['onednn', 'addmm'])
def predictor_kernel(request, monkeypatch):
    """Make core.predictor run its layers as oneDNN matmuls or as addmm (skip if none)."""
    import torch
    from meta_mpc_ros.core import predictor
    if request.param == 'onednn' and not predictor.onednn_available('cpu', torch.float32):
        pytest.skip('this torch has no oneDNN')
    if request.param == 'addmm':
        monkeypatch.setattr(predictor, 'onednn_available', lambda device, dtype: False)
    return request.param
