# Two commands do everything on a fresh Debian/Ubuntu machine without ROS:
#   make demo   runs the main job
#   make test   runs the whole test suite
# Both create or refresh .venv from requirements/ first; a second run with nothing
# changed skips the installs.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS := $(wildcard requirements/*.txt)
PACKAGE_SOURCES := setup.py setup.cfg package.xml $(shell find meta_mpc_ros launch config urdf rviz models scripts resource -type f -not -name '*.pyc' 2>/dev/null)

# DDS stays on loopback (the tests and the demo set the variable the ROS 2 distro in
# use reads, meta_mpc_ros/ros/discovery.py), and each run gets its own domain so that
# runs never hear each other (the tests lease free ones, test/conftest.py; the demo
# draws one). Set ROS_DOMAIN_ID on the command line to pin one.
ifneq ($(strip $(ROS_DOMAIN_ID)),)
export ROS_DOMAIN_ID
endif
export MUJOCO_GL ?= egl
export PYTHONUNBUFFERED := 1

.PHONY: demo test venv system-deps results bench models models-grbal models-mb \
	models-rebal models-continual models-diff-drive models-half-cheetah models-ant clean

demo: venv
	$(BIN)/meta-mpc demo

# Tests run the source tree (PYTHONPATH) against the installed data, executables and
# dependencies; the colcon test checks the installed copy of the code as well.
test: venv
	PYTHONPATH=$(CURDIR) $(BIN)/pytest

venv: $(VENV)/.installed

system-deps:
	@tools/install_system_deps.sh

$(VENV)/.requirements: $(REQUIREMENTS) tools/install_system_deps.sh
	@tools/install_system_deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade-strategy only-if-needed \
		-r requirements/venv.txt -c requirements/constraints.txt
	@# mbrl 0.2.0 (a benchmark peer) pins gymnasium 0.26 and hydra 1.0, which clash with
	@# ours; its planner runs with the versions above, so it goes in without its pins.
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/bench-nodeps.txt
	@touch $@

$(VENV)/.installed: $(VENV)/.requirements $(PACKAGE_SOURCES)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	@rm -rf build meta_mpc_ros.egg-info
	@touch $@

# The shipped millirobot models (models/), from scratch with fixed seeds: the paper's
# Algorithm 1 with GrBAL (3 rounds of collect-then-meta-train: 240 random episodes,
# then 96 with the current controller twice: 86,400 transitions, 2.4 sim-hours), then
# MB and ReBAL trained on the very same aggregated data (they are cheap to train, so
# up to 8000 iterations with early stopping), then the continual adapter's meta-training
# (U unrolled online steps) warm-started from GrBAL's last round, psi and Adam included.
# `make -j3 models` trains those three side by side once GrBAL is done. Every training
# stops early when validation has not improved for `patience` evaluations (1500
# iterations, config/millirobot.yaml). Logs and the rounds' checkpoints go to
# runs/models/; the shipped files hold no optimiser state.
# The budget, overridable: `make models GRBAL_ROUNDS=1 META_ITERATIONS=1500 ...` for a
# quicker, smaller run (docs/training.md says which budget the shipped files used).
GRBAL_ROUNDS ?= 3
RANDOM_EPISODES ?= 240
CONTROLLER_EPISODES ?= 96
META_ITERATIONS ?= 3000
MB_ITERATIONS ?= 8000
CONTINUAL_ITERATIONS ?= 1500
TRAIN_THREADS ?= 0
LAST_ROUND = $(shell echo $$(($(GRBAL_ROUNDS) - 1)))

models: models-grbal models-mb models-rebal models-continual models-diff-drive \
	models-half-cheetah models-ant

models-grbal: venv
	mkdir -p runs/models
	$(BIN)/meta-mpc train --method grbal --iterate $(GRBAL_ROUNDS) \
		--random-episodes $(RANDOM_EPISODES) --episodes $(CONTROLLER_EPISODES) \
		--iterations $(META_ITERATIONS) --threads $(TRAIN_THREADS) \
		--seed 0 --config config/millirobot.yaml --save-data runs/models/millirobot_data.npz \
		--log-dir runs/models --slim --out models/millirobot_grbal.pt \
		2>&1 | tee runs/models/grbal.log

# The other three read GrBAL's aggregated data (and continual its last round), so they
# wait for it; with `make -j3 models` they then train side by side.
models-mb: models-grbal
	$(BIN)/meta-mpc train --method mb --data runs/models/millirobot_data.npz --slim \
		--iterations $(MB_ITERATIONS) --threads $(TRAIN_THREADS) \
		--config config/millirobot.yaml --log-dir runs/models --out models/millirobot_mb.pt \
		2>&1 | tee runs/models/mb.log

models-rebal: models-grbal
	$(BIN)/meta-mpc train --method rebal --data runs/models/millirobot_data.npz --slim \
		--iterations $(MB_ITERATIONS) --threads $(TRAIN_THREADS) \
		--config config/millirobot.yaml --log-dir runs/models \
		--out models/millirobot_rebal.pt 2>&1 | tee runs/models/rebal.log

models-continual: models-grbal
	$(BIN)/meta-mpc train --method continual --data runs/models/millirobot_data.npz --slim \
		--warm-start runs/models/millirobot_grbal_round$(LAST_ROUND).pt \
		--iterations $(CONTINUAL_ITERATIONS) --threads $(TRAIN_THREADS) \
		--config config/millirobot.yaml --log-dir runs/models \
		--out models/millirobot_continual.pt 2>&1 | tee runs/models/continual.log

# The shipped differential-drive models (models/diff_drive_*.pt), small (2 x 128, about
# 150 KB each) and quick (a few minutes on one thread): Algorithm 1 with GrBAL in the
# MuJoCo base (sim/diff_drive_env.py) over its training floors (carpet, tile, wood with
# seeded grip, load, tyre, motor and slope variation, sim/diff_drive_conditions.py):
# DD_RANDOM_EPISODES random episodes, then DD_CONTROLLER_EPISODES with the controller
# per further round; MB and ReBAL on the same data, continual warm-started from GrBAL.
DD_ROUNDS ?= 2
DD_RANDOM_EPISODES ?= 60
DD_CONTROLLER_EPISODES ?= 24
DD_ITERATIONS ?= 2000
DD_LAST_ROUND = $(shell echo $$(($(DD_ROUNDS) - 1)))
DD_TRAIN = $(BIN)/meta-mpc train --robot diff_drive --threads 1 --slim --log-dir runs/models

models-diff-drive: venv
	mkdir -p runs/models
	$(DD_TRAIN) --method grbal --iterate $(DD_ROUNDS) --random-episodes $(DD_RANDOM_EPISODES) \
		--episodes $(DD_CONTROLLER_EPISODES) --iterations $(DD_ITERATIONS) --workers 1 \
		--seed 0 --save-data runs/models/diff_drive_data.npz \
		--out models/diff_drive_grbal.pt 2>&1 | tee runs/models/diff_drive_grbal.log
	$(DD_TRAIN) --method mb --data runs/models/diff_drive_data.npz \
		--iterations $(DD_ITERATIONS) --out models/diff_drive_mb.pt \
		2>&1 | tee runs/models/diff_drive_mb.log
	$(DD_TRAIN) --method rebal --data runs/models/diff_drive_data.npz \
		--iterations $(DD_ITERATIONS) --out models/diff_drive_rebal.pt \
		2>&1 | tee runs/models/diff_drive_rebal.log
	$(DD_TRAIN) --method continual --data runs/models/diff_drive_data.npz \
		--warm-start runs/models/diff_drive_grbal_round$(DD_LAST_ROUND).pt \
		--iterations $(DD_ITERATIONS) --out models/diff_drive_continual.pt \
		2>&1 | tee runs/models/diff_drive_continual.log

# The shipped legged models (models/half_cheetah_*.pt and models/ant_*.pt, 3 x 200,
# about 700 KB each): Algorithm 1 with GrBAL in MuJoCo over the training tasks of the
# robot's family (half-cheetah: joint 1..5 gets no torque, joint 0 held out; ant: leg
# 0..2 crippled, leg 3 held out), the legged section's full budget for one family:
# LEGGED_RANDOM_EPISODES random episodes, then LEGGED_EPISODES with the controller in
# each of LEGGED_ROUNDS - 1 rounds, 500 steps each (config); MB and ReBAL on the same
# data, continual warm-started from GrBAL. About 4 (half-cheetah) and 10 (ant) minutes
# on one thread.
LEGGED_ROUNDS ?= 8
LEGGED_RANDOM_EPISODES ?= 10
LEGGED_EPISODES ?= 3
LEGGED_ITERATIONS ?= 600
LEGGED_AGGREGATE_ITERATIONS ?= 4000
LEGGED_CONTINUAL_ITERATIONS ?= 300
LEGGED_LAST_ROUND = $(shell echo $$(($(LEGGED_ROUNDS) - 1)))
LEGGED_TRAIN = $(BIN)/meta-mpc train --threads 1 --slim --log-dir runs/models

# $(call legged_models,ROBOT): the four shipped models of a legged robot.
define legged_models
	mkdir -p runs/models
	$(LEGGED_TRAIN) --robot $(1) --method grbal --iterate $(LEGGED_ROUNDS) \
		--random-episodes $(LEGGED_RANDOM_EPISODES) --episodes $(LEGGED_EPISODES) \
		--iterations $(LEGGED_ITERATIONS) --workers 1 --seed 0 \
		--save-data runs/models/$(1)_data.npz \
		--out models/$(1)_grbal.pt 2>&1 | tee runs/models/$(1)_grbal.log
	$(LEGGED_TRAIN) --robot $(1) --method mb --data runs/models/$(1)_data.npz \
		--iterations $(LEGGED_AGGREGATE_ITERATIONS) --out models/$(1)_mb.pt \
		2>&1 | tee runs/models/$(1)_mb.log
	$(LEGGED_TRAIN) --robot $(1) --method rebal --data runs/models/$(1)_data.npz \
		--iterations $(LEGGED_AGGREGATE_ITERATIONS) --out models/$(1)_rebal.pt \
		2>&1 | tee runs/models/$(1)_rebal.log
	$(LEGGED_TRAIN) --robot $(1) --method continual --data runs/models/$(1)_data.npz \
		--warm-start runs/models/$(1)_grbal_round$(LEGGED_LAST_ROUND).pt \
		--iterations $(LEGGED_CONTINUAL_ITERATIONS) --out models/$(1)_continual.pt \
		2>&1 | tee runs/models/$(1)_continual.log
endef

models-half-cheetah: venv
	$(call legged_models,half_cheetah)

models-ant: venv
	$(call legged_models,ant)

# Every result experiment, then docs/RESULTS.md; it prints (and RESULTS.md states) its
# wall time and budget. Sections 3 and 4 run as Ray tasks: a local Ray on all cores, or
# the cluster at RAY_ADDRESS (`make results RAY_ADDRESS=auto` on a cluster's head node).
# BUDGET=paper runs sections 3 and 4 at the paper's budget (250,000 transitions per
# family, 3 x 512 models, every test task): meant for a cluster.
BUDGET ?= full
results: venv
	$(BIN)/meta-mpc bench all --budget $(BUDGET) $(if $(RAY_ADDRESS),--address $(RAY_ADDRESS))

bench: venv
	$(BIN)/meta-mpc bench core

clean:
	rm -rf $(VENV) build install log meta_mpc_ros.egg-info
