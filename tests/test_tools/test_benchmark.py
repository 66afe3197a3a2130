"""tools/benchmark.py --quick end to end: real trainings, the JSON they
fill, the teacher analysis of one, reading them back. The statistics, the
table, the run cache, the order of the runs and their options are tested
without training in tests/test_benchmark."""
import json

import pytest
import torch
from tool_helpers import run_quick_benchmark, run_tool


@pytest.fixture(scope='module')
def quick_report(noisy_shapes_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp('benchmark')
    result = run_quick_benchmark('configs/fcn_l2t.py', noisy_shapes_dataset,
                                 out)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result.stdout


def test_report_schema(quick_report):
    out, stdout = quick_report
    report = json.loads((out / 'benchmark.json').read_text())
    bench = report['benchmark']
    assert bench['task'] == 'segmentation'
    assert bench['baseline_config'] == 'configs/fcn_baseline.py'
    assert bench['seeds'] == [0, 1] and bench['max_iters'] == 2
    runs = report['runs']
    assert [(r['variant'], r['seed']) for r in runs] == [
        ('baseline', 0), ('l2t', 0), ('l2t', 1), ('baseline', 1)]
    for run in runs:
        assert run['time_per_iter_s'] > 0 and run['peak_rss_mb'] > 50
        assert 0 <= run['metrics']['mIoU'] <= 100
        assert set(run['per_class_iou']) >= {'background', 'circle'}
        assert len(run['curves']['loss']) == 2
        assert run['curves']['val'][-1][0] == 2
    assert all(r['teach_steps'] == 2 and 0 < r['teach_time_share'] < 1
               for r in runs if r['variant'] == 'l2t')
    assert all(r['teach_steps'] == 0 and r['teach_time_share'] == 0
               for r in runs if r['variant'] == 'baseline')
    # Noisy labels with clean ones beside them: the L2T runs report how well
    # their DLNs' weights find the corrupted pixels; baselines cannot.
    for run in runs:
        if run['variant'] == 'l2t':
            assert set(run['noise_auc']) == {'decode_head.loss_decode',
                                             'auxiliary_head.loss_decode'}
            assert all(0 <= v <= 1 for v in run['noise_auc'].values())
            # Within one target: logged when a batch's target held both
            # clean and corrupted pixels.
            assert set(run['noise_auc_within']) <= set(run['noise_auc'])
            assert all(0 <= v <= 1
                       for v in run['noise_auc_within'].values())
            # And their means over the run's teach steps.
            assert set(run['noise_auc_run_mean']) == set(run['noise_auc'])
            assert all(0 <= v <= 1
                       for v in run['noise_auc_run_mean'].values())
        else:
            assert run['noise_auc'] == run['noise_auc_within'] == {}
            assert run['noise_auc_run_mean'] == {}
    assert report['summary']['l2t']['noise_auc']['n'] == 2
    assert report['summary']['baseline']['noise_auc']['n'] == 0
    for plot in report['plots']:
        assert (out / plot.split('/')[-1]).stat().st_size > 1000
    assert '| variant | seed | mIoU' in stdout and '| noise AUC |' in stdout


def test_analyze_teacher_plots_an_l2t_run(quick_report):
    out, _ = quick_report
    result = run_tool('analyze_teacher.py', str(out / 'l2t_seed0'), '--out',
                      str(out / 'analysis'))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / 'analysis' / 'teacher_analysis.json')
                        .read_text())
    summary = report['summary']
    assert summary['teach_steps'] == 2
    assert set(summary['modules']) == {'decode_head.loss_decode',
                                       'auxiliary_head.loss_decode'}
    assert summary['update_norm']['max'] > 0
    assert set(summary['slopes']) == set(summary['modules'])
    assert all(0 < slope['min'] <= slope['last'] <= 1
               for slope in summary['slopes'].values())
    assert len(report['series']['teach']['update_norm']) == 2
    assert (out / 'analysis' / 'teacher_analysis.png').stat().st_size > 1000
    # Per-class weights of the decode head's cross-entropy, named by class
    # (the auxiliary head's too). Background is in every image, so its first
    # value is from iteration 1, before any teaching: the identity DLN's 1.
    classes = summary['classes']['decode_head.loss_decode']
    assert {'background', 'circle'} <= set(classes)
    assert classes['background']['first'] == pytest.approx(1.0)
    background = report['series']['classes']['decode_head.loss_decode'][
        'background']
    assert [point[0] for point in background] == [1, 2]
    assert (out / 'analysis' / 'class_weights.png').stat().st_size > 1000
    # Where the teacher left φ, read from the run's own last checkpoint.
    state = torch.load(out / 'l2t_seed0' / 'iter_2.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    parameters = summary['dln_parameters']
    assert set(parameters) == set(summary['modules'])
    for module, entries in parameters.items():
        assert set(entries) == {'mlp.fc1.weight', 'mlp.fc1.bias',
                                'mlp.fc2.weight'}
        for name in entries:
            assert entries[name]['norm'] == pytest.approx(
                state[f'{module}.dln.{name}'].norm().item())
    # Noisy labels with clean ones beside them: the noise AUC over training
    # and the weight-against-loss figure of the last teach step.
    assert set(summary['noise_auc']) == set(summary['modules'])
    assert all(0 <= auc['last'] <= 1 for auc in summary['noise_auc'].values())
    assert set(summary['noise_auc_within']) <= set(summary['noise_auc'])
    # ... and its mean over the teach steps, as the benchmark reports it.
    run = next(run for run in json.loads(
        (out / 'benchmark.json').read_text())['runs']
               if run['variant'] == 'l2t' and run['seed'] == 0)
    for key in ('noise_auc', 'noise_auc_within'):
        for module, auc in summary[key].items():
            assert auc['run_mean'] == pytest.approx(
                run[key + '_run_mean'][module])
            points = [value for _, value in report['series'][key][module]]
            assert min(points) <= auc['run_mean'] <= max(points)
    assert (out / 'analysis' / 'noise_weights.png').stat().st_size > 1000
    baseline = run_tool('analyze_teacher.py', str(out / 'baseline_seed0'))
    assert baseline.returncode != 0
    assert 'no l2t/ scalars' in baseline.stderr


def test_reuse_runs_reads_back_only_runs_with_the_same_settings(
        quick_report, noisy_shapes_dataset):
    out, _ = quick_report
    before = json.loads((out / 'benchmark.json').read_text())
    result = run_quick_benchmark('configs/fcn_l2t.py', noisy_shapes_dataset,
                                 out, '--reuse-runs')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count('reusing the finished run') == 4
    after = json.loads((out / 'benchmark.json').read_text())
    assert [r['metrics'] for r in after['runs']] == [
        r['metrics'] for r in before['runs']]
    assert after['summary']['ratios'] == before['summary']['ratios']


def test_bad_peer_names_the_option(tmp_path):
    result = run_tool('benchmark.py', 'configs/yolo_l2t.py', '--peers',
                      'configs/yolo_nope.py', '--out', str(tmp_path))
    assert result.returncode != 0
    assert '--peers: configs/yolo_nope.py does not exist' in result.stderr
