"""
Experiments behind docs/RESULTS.md (`meta-mpc bench all`, `make results`).

Each experiment module exposes `run(budget, seed, out)`: it trains or loads what it
needs (caching models under runs/results/), measures, writes
docs/results/<experiment>.json and its figures docs/figures/<experiment>*.png, and
returns the JSON dict. Every JSON records the seed, the data volume (transitions and
sim-hours), the wall time and the budget. `budget` is 'smoke' (minutes, used by the
tests) or 'full' (the numbers in the docs). results/report.py renders RESULTS.md from
the JSON files only, so the text can never disagree with them.
"""
