"""DiagnosticArray helpers: levels, value formatting, reading back."""

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from meta_mpc_ros.ros.diagnostics import (diagnostic_array, diagnostic_status, format_value,
                                          level_byte, read_status)
import numpy as np
import pytest


def test_status_round_trip():
    status = diagnostic_status('mppi_controller_node: planner', 'warn', 'fallback to theta*',
                               {'compute_ms': 3.14159265, 'stale': True, 'drops': 2,
                                'model': 'theta*'})
    assert status.level == DiagnosticStatus.WARN
    array = diagnostic_array([status], Time(sec=4))
    assert array.header.stamp.sec == 4 and len(array.status) == 1
    # Floats keep 6 significant digits; bools read true/false; order is kept.
    assert read_status(array.status[0]) == {
        'name': 'mppi_controller_node: planner', 'level': 'warn',
        'message': 'fallback to theta*',
        'values': {'compute_ms': '3.14159', 'stale': 'true', 'drops': '2', 'model': 'theta*'}}


@pytest.mark.parametrize('level, expected', [
    ('ok', DiagnosticStatus.OK), ('ERROR', DiagnosticStatus.ERROR), (3, DiagnosticStatus.STALE),
    (b'\x01', DiagnosticStatus.WARN)])
def test_levels(level, expected):
    assert level_byte(level) == expected


@pytest.mark.parametrize('level', ['fine', 4, True, b'\x07'])
def test_unknown_level_is_rejected(level):
    with pytest.raises(ValueError, match='unknown diagnostic level'):
        level_byte(level)


def test_format_value_handles_numpy_scalars_and_non_finite():
    assert format_value(np.float32(0.5)) == '0.5'
    assert format_value(np.int64(7)) == '7'
    assert format_value(float('inf')) == 'inf'
    assert format_value(1e-9) == '1e-09'
