"""Parameter values as rclpy hands them over, checked against their specs."""

import array

from meta_mpc_ros.ros.parameters import ParameterSpec, plain_value

SIGMA = ParameterSpec('noise_sigma', [6.0, 6.0], 'MPPI noise std.', bounds=(1e-6, 1e3),
                      dynamic=True)


def test_double_arrays_from_a_set_request_are_checked_as_lists():
    # A `ros2 param set ... '[4.0, 4.0]'` request arrives as array.array('d'): every
    # value was rejected before, as if it were not a number list.
    assert SIGMA.validate(array.array('d', [4.0, 4.0])) is None
    assert 'outside' in SIGMA.validate(array.array('d', [4.0, 1e4]))
    assert plain_value(array.array('d', [4.0, 4.0])) == [4.0, 4.0]
    assert plain_value(array.array('q', [1, 2])) == [1, 2]
    assert plain_value('text') == 'text'
