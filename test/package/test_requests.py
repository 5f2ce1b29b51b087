"""Each pipeline entry point takes one frozen request built with keywords, checked early."""

import dataclasses
import inspect

from meta_mpc_ros.pipeline.collect import (collect, collect_episode, CollectEpisodeRequest,
                                           CollectRequest, EpisodePlan)
from meta_mpc_ros.pipeline.config import load_robot_config
from meta_mpc_ros.pipeline.episodes import EpisodeRequest, run_episode
from meta_mpc_ros.pipeline.evaluate import evaluate, EvaluateRequest
from meta_mpc_ros.pipeline.iterate import iterate, IterateRequest
from meta_mpc_ros.pipeline.train import train, TrainRequest
import pytest

ENTRY_POINTS = {collect: CollectRequest, collect_episode: CollectEpisodeRequest,
                train: TrainRequest, iterate: IterateRequest, evaluate: EvaluateRequest,
                run_episode: EpisodeRequest}


@pytest.fixture(scope='module')
def config():
    return load_robot_config('millirobot')


def valid(config):
    """Return request class -> the keywords of a valid request."""
    return {
        CollectRequest: {'robot_config': config, 'episodes': 1},
        CollectEpisodeRequest: {'robot_config': config,
                                'plan': EpisodePlan(seed=0, task='straight', condition='carpet')},
        TrainRequest: {'robot_config': config, 'method': 'mb', 'dataset': None, 'out': 'x.pt'},
        IterateRequest: {'robot_config': config, 'method': 'grbal', 'out': 'x.pt', 'rounds': 1},
        EvaluateRequest: {'robot_config': config, 'checkpoint_path': 'x.pt', 'adapter': 'grbal',
                          'condition': 'carpet'},
        EpisodeRequest: {'env': None, 'policy': None, 'seed': 0}}


def test_each_entry_point_takes_one_request():
    for function, request_class in ENTRY_POINTS.items():
        assert list(inspect.signature(function).parameters) == ['request'], function
        assert request_class.__dataclass_params__.frozen, request_class
        # Every field is documented in the class docstring, once.
        for field in dataclasses.fields(request_class):
            assert request_class.__doc__.count(f':param {field.name}:') == 1, field.name


def test_requests_are_built_with_keywords_only(config):
    for request_class, keywords in valid(config).items():
        request = request_class(**keywords)
        with pytest.raises(TypeError):
            request_class(*keywords.values())
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(request, next(iter(keywords)), None)


@pytest.mark.parametrize('request_class, bad, needle', [
    (CollectRequest, {'episodes': 0}, 'episodes must be at least 1'),
    (CollectRequest, {'workers': -1}, 'workers >= 0'),
    (CollectRequest, {'adapter': 'nope'}, "unknown adapter 'nope'"),
    (CollectEpisodeRequest, {'adapter': 'nope'}, "unknown adapter 'nope'"),
    (TrainRequest, {'method': 'nope'}, "unknown training method 'nope'"),
    (TrainRequest, {'iterations': -1}, 'iterations must be None or >= 0'),
    (IterateRequest, {'method': 'nope'}, "unknown training method 'nope'"),
    (IterateRequest, {'rounds': 0}, 'rounds must be at least 1'),
    (EvaluateRequest, {'adapter': 'nope'}, "unknown adapter 'nope'"),
    (EvaluateRequest, {'episodes': 0}, 'episodes and threads must be at least 1'),
    (EvaluateRequest, {'switch': (-1, 'ice')}, 'switch must be a (step >= 0'),
    (EpisodeRequest, {'frame_every': 0}, 'frame_every must be >= 1'),
    (EpisodeRequest, {'switch': (5,)}, 'switch must be a (step >= 0'),
])
def test_bad_values_are_refused_when_the_request_is_built(config, request_class, bad, needle):
    keywords = dict(valid(config)[request_class], **bad)
    with pytest.raises(ValueError, match=needle.replace('(', r'\(')):
        request_class(**keywords)


def test_iterate_keeps_its_initial_data_as_a_tuple(config):
    request = IterateRequest(**dict(valid(config)[IterateRequest], initial_data=['a.npz']))
    assert request.initial_data == ('a.npz',)
