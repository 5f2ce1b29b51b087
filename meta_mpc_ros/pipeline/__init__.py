"""The learning workflow: collect experience, (meta-)train, evaluate in closed loop."""
