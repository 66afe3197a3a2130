"""--reuse-runs: a finished run is read back only if it was trained with the
settings asked for; otherwise (or without a record) it is trained."""
import json

import psutil
import pytest
from tool_helpers import fake_train_script

from l2t_mm.benchmark.process import train_and_measure, tree_rss
from l2t_mm.benchmark.run_cache import (reusable_measurement, run_settings,
                                        write_measurement)
from l2t_mm.benchmark.schema import MEASUREMENT_FILE, STDOUT_FILE
from l2t_mm.benchmark.variants import BenchmarkError

OPTIONS = ['randomness.seed=0', 'train_cfg.max_iters=600']
SETTINGS = run_settings('configs/yolo_l2t.py', OPTIONS, 'data/shapes_noisy')
MEASURED = dict(peak_rss_mb=4221.3, wall_time_s=720.1,
                invocation='20261130-120000-0a1b2c3d')
# What a record from before invocations were recorded reads back as.
OLD_MEASURED = dict(peak_rss_mb=4221.3, wall_time_s=720.1)

# Stands in for tools/train.py: records its command line, exits with the
# code given in its --cfg-options (0 unless asked).
FAKE_TRAIN = '''import json, pathlib, sys
work_dir = pathlib.Path(sys.argv[sys.argv.index('--work-dir') + 1])
(work_dir / 'argv.json').write_text(json.dumps(sys.argv[1:]))
print('training', sys.argv[1])
sys.exit(int(sys.argv[-1].split('=')[1]) if 'exit=' in sys.argv[-1] else 0)
'''


@pytest.fixture
def train_script(tmp_path, monkeypatch):
    return fake_train_script(tmp_path / 'train.py', FAKE_TRAIN, 300,
                             monkeypatch)


def test_tree_rss_counts_the_process_and_its_children():
    own = psutil.Process()
    assert tree_rss(own) >= own.memory_info().rss > 0


def test_a_measurement_written_by_an_earlier_version_reads_back(tmp_path):
    # The layout runs of earlier invocations left on disk.
    (tmp_path / MEASUREMENT_FILE).write_text(json.dumps(dict(
        OLD_MEASURED, settings=dict(config='configs/yolo_l2t.py',
                                    options=OPTIONS,
                                    data_root='data/shapes_noisy'))))
    # It cannot say which invocation trained it.
    assert reusable_measurement(tmp_path, SETTINGS) == dict(OLD_MEASURED,
                                                            invocation=None)


def test_only_the_same_settings_are_reused(tmp_path, capsys):
    assert reusable_measurement(tmp_path, SETTINGS) is None  # nothing yet
    write_measurement(tmp_path, MEASURED, SETTINGS)
    assert reusable_measurement(tmp_path, SETTINGS) == MEASURED
    assert 'reusing the finished run in' in capsys.readouterr().err
    for changed in (dict(SETTINGS, options=OPTIONS + ['x=1']),
                    dict(SETTINGS, data_root=None),
                    dict(SETTINGS, config='configs/yolox_l2t.py')):
        assert reusable_measurement(tmp_path, changed) is None
        assert 'was trained with other settings' in capsys.readouterr().err


def test_a_record_without_settings_is_reused_with_a_warning(tmp_path,
                                                            capsys):
    (tmp_path / MEASUREMENT_FILE).write_text(json.dumps(OLD_MEASURED))
    assert reusable_measurement(tmp_path, SETTINGS) == dict(OLD_MEASURED,
                                                            invocation=None)
    assert 'does not record its settings' in capsys.readouterr().err


def test_train_and_measure_records_and_reuses(tmp_path, train_script):
    work_dir = tmp_path / 'l2t_seed0'
    measured = train_and_measure('configs/yolo_l2t.py', work_dir, OPTIONS,
                                 'data/x', train_script, tmp_path,
                                 invocation='first')
    assert measured['peak_rss_mb'] == 300 and measured['wall_time_s'] > 0
    assert measured['invocation'] == 'first'
    assert measured.pop('read_back') is False
    assert json.loads((work_dir / 'argv.json').read_text()) == [
        'configs/yolo_l2t.py', '--work-dir', str(work_dir), '--data-root',
        'data/x', '--cfg-options', *OPTIONS]
    assert 'training configs/yolo_l2t.py' in (
        work_dir / STDOUT_FILE).read_text()
    recorded = json.loads((work_dir / MEASUREMENT_FILE).read_text())
    assert recorded == dict(measured, settings=dict(
        config='configs/yolo_l2t.py', options=OPTIONS, data_root='data/x'))
    (work_dir / 'argv.json').unlink()
    # Read back in a later invocation, it still names the one that trained
    # it.
    again = train_and_measure('configs/yolo_l2t.py', work_dir, OPTIONS,
                              'data/x', train_script, tmp_path, reuse=True,
                              invocation='second')
    assert again == dict(measured, read_back=True)
    assert not (work_dir / 'argv.json').exists()
    # Without --reuse-runs it trains again.
    train_and_measure('configs/yolo_l2t.py', work_dir, OPTIONS, 'data/x',
                      train_script, tmp_path, invocation='third')
    assert (work_dir / 'argv.json').exists()


def test_a_failed_training_is_an_error_and_leaves_no_record(tmp_path,
                                                            train_script):
    work_dir = tmp_path / 'run'
    with pytest.raises(BenchmarkError, match=r'training c.py failed '
                       r'\(exit 3\):\ntraining c.py'):
        train_and_measure('c.py', work_dir, ['exit=3'], None, train_script,
                          tmp_path, invocation='x')
    assert not (work_dir / MEASUREMENT_FILE).exists()


def test_a_failed_retraining_removes_the_earlier_record(
        tmp_path, train_script):
    # Otherwise --reuse-runs would pair the old record with the new,
    # partial logs of the failed run.
    work_dir = tmp_path / 'run'
    train_and_measure('c.py', work_dir, ['exit=0'], None, train_script,
                      tmp_path, invocation='x')
    assert (work_dir / MEASUREMENT_FILE).exists()
    with pytest.raises(BenchmarkError):
        train_and_measure('c.py', work_dir, ['exit=3'], None, train_script,
                          tmp_path, invocation='x')
    assert not (work_dir / MEASUREMENT_FILE).exists()
