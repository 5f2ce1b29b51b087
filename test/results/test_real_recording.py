"""
The real-recording experiment, smoke-run on a synthetic wheeled base's bag (no download).

test/helpers/diff_drive_bag.py writes a real rosbag2 bag of /odom and /cmd_vel (Twist),
as the TurtleBot's recording has them; the experiment trains every method on its first
70 % in time, scores every adapter on the rest, and the report renders its section.
"""

import json

from diff_drive_bag import write_diff_drive_bag
from meta_mpc_ros.core.adapters import ADAPTERS
from meta_mpc_ros.results import real_recording, report


def test_the_smoke_run_scores_every_adapter_on_the_held_out_part(tmp_path, capsys):
    write_diff_drive_bag(tmp_path / 'bag', seconds=20.0)
    status = real_recording.main(['--bag', str(tmp_path / 'bag'), '--budget', 'smoke',
                                  '--out', str(tmp_path / 'docs')])
    assert status == 0, capsys.readouterr().err
    data = json.loads((tmp_path / 'docs' / 'results' / 'real_recording.json').read_text())
    # 20 s at 10 Hz: 199 transitions (the first sample closes none), 30 % held out.
    recording = data['recording']
    assert recording['transitions'] == 199
    assert recording['held_out_transitions'] == 199 - recording['train_transitions'] == 60
    assert [row['method'] for row in data['rows']] == [spec.label for spec in ADAPTERS.values()]
    # Windows need M past and max(K, H) future transitions: 60 - 10 - 10 + 1 of them.
    for row in data['rows']:
        assert row['windows'] == len(row['position_m']) == len(row['one_step_after']) == 41
    text = report.render(tmp_path / 'docs')
    section = text.split("## 6. A real robot's recording")[1]
    assert data['source']['commit'] in section and data['command'] in section
    assert '**What the recording does not contain**' in section


def test_a_bag_it_cannot_read_is_one_line(tmp_path, capsys):
    write_diff_drive_bag(tmp_path / 'bag', seconds=3.0, with_commands=False)
    status = real_recording.main(['--bag', str(tmp_path / 'bag'), '--budget', 'smoke',
                                  '--out', str(tmp_path / 'docs')])
    err = capsys.readouterr().err
    assert status == 2 and err.count('\n') == 1 and 'lacks /cmd_vel' in err, err
