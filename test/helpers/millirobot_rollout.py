"""Hold one command on a MillirobotSim and record its states (shared by the sim tests)."""

import numpy as np


def hold_command(sim, command, seconds, seed=1):
    """Reset with `seed`, hold `command` for `seconds`, and return the states every 0.1 s."""
    sim.reset(seed=seed)
    sim.set_command(command)
    states = []
    for _ in range(int(round(seconds * 10))):
        sim.step(0.1)
        states.append(sim.state())
    return np.array(states)
