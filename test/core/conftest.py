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
