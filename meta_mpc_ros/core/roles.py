"""
The roles that registered adapters play outside their registry.

Everything else that lists adapters or training methods iterates over
core.adapters.ADAPTERS and core.objectives.METHODS; these names are the only ones
the rest of the package picks out by name:

    DEFAULT_ADAPTER   the paper's GrBAL: the default of the nodes' and the CLI's
                      `adapter`, the run the demo features, and the method whose
                      Algorithm 1 collects the data the legged benchmarks train on
    BASELINE_ADAPTER  MB, no adaptation: what results and the demo compare every
                      adapter against, and the method of the legged oracles
    DYNAMIC_EVALUATION_BASELINE
                      MB+DE, MB's model fine-tuned online: the second baseline
                      the results judge every adaptive method against

All are keys of ADAPTERS; `ADAPTERS[name].training_method` gives the training method
(a key of METHODS) whose checkpoints each ships with. test/package/test_registries.py
checks them, and that no other module spells an adapter's name.
"""

DEFAULT_ADAPTER = 'grbal'
BASELINE_ADAPTER = 'mb'
DYNAMIC_EVALUATION_BASELINE = 'de'
