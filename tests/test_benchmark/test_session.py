"""One benchmark invocation end to end, with a stand-in for tools/train.py
that writes the logs a run would: which runs train in which order with
which options, the report's layout, and --reuse-runs."""
import json

import pytest
from tool_helpers import REPO, fake_train_script

from l2t_mm.benchmark import BenchmarkSettings, run_benchmark
from l2t_mm.benchmark.table import markdown

# Writes scalars.json as mmengine would: 4 iterations, a teach step after
# iterations 2 and 4 for the L2T variant, one validation at the end whose
# mAP depends on the variant and the seed.
FAKE_TRAIN = '''import json, pathlib, sys
args = sys.argv[1:]
work_dir = pathlib.Path(args[args.index('--work-dir') + 1])
variant, seed = work_dir.name.split('_seed')
(work_dir / 'argv.json').write_text(json.dumps(args))
run = work_dir / '20240101_000000' / 'vis_data'
run.mkdir(parents=True, exist_ok=True)
rows, steps = [], 0
for it in range(1, 5):
    row = dict(iter=it, loss=4.0 / it, time=1.0)
    if variant == 'l2t':
        steps += it % 2 == 0
        row.update({'l2t/teach_steps': steps, 'l2t/teach_time': 0.25})
    rows.append(row)
mAP = dict(baseline=0.2, l2t=0.25, uw=0.0, dwa=0.3)[variant] + int(seed) / 100
rows.append({'coco/bbox_mAP': mAP, 'coco/bbox_mAP_50': 0.5, 'step': 4})
(run / 'scalars.json').write_text('\\n'.join(json.dumps(r) for r in rows))
'''


@pytest.fixture
def train_script(tmp_path, monkeypatch):
    return fake_train_script(tmp_path / 'fake_train.py', FAKE_TRAIN, 500,
                             monkeypatch)


def _settings(out, **changes):
    configs = REPO / 'configs'
    return BenchmarkSettings(**dict(
        dict(config=str(configs / 'yolo_l2t.py'), out=out, seeds=[0, 1],
             max_iters=4, evals=1, teach_interval=2,
             peers=[str(configs / 'yolo_uw.py'),
                    str(configs / 'yolo_dwa.py')],
             l2t_cfg_options={'custom_hooks.0.dln_lr': 2.5}), **changes))


def _argv(out) -> dict:
    return {path.parent.name: json.loads(path.read_text())
            for path in sorted(out.glob('*/argv.json'))}


def test_runs_interleave_and_only_l2t_gets_its_options(tmp_path,
                                                       train_script):
    out = tmp_path / 'out'
    report = run_benchmark(_settings(out), train_script, REPO, 'cmd')
    assert [(r['variant'], r['seed']) for r in report['runs']] == [
        ('baseline', 0), ('l2t', 0), ('uw', 0), ('dwa', 0),
        ('l2t', 1), ('uw', 1), ('dwa', 1), ('baseline', 1)]
    argv = _argv(out)
    for name, args in argv.items():
        l2t_only = ['custom_hooks.0.interval=2', 'custom_hooks.0.dln_lr=2.5']
        assert all((option in args) == name.startswith('l2t')
                   for option in l2t_only), (name, args)
        assert f'randomness.seed={name[-1]}' in args
        assert 'train_cfg.max_iters=4' in args
    # The report: its layout, the runs it measured, the comparison.
    assert list(report) == ['benchmark', 'runs', 'summary', 'plots']
    bench = report['benchmark']
    assert bench['peer_configs'] == {'uw': _settings(out).peers[0],
                                     'dwa': _settings(out).peers[1]}
    assert (bench['task'], bench['timing_window'], bench['command']) == (
        'detection', 2, 'cmd')
    runs = {(r['variant'], r['seed']): r for r in report['runs']}
    assert runs['l2t', 0]['teach_steps'] == 2
    assert runs['l2t', 0]['teach_time_share'] == pytest.approx(0.5 / 4.25)
    assert runs['uw', 1]['teach_steps'] == 0
    assert report['summary']['delta']['dwa']['coco/bbox_mAP'] == \
        pytest.approx(0.1)
    assert report['summary']['ratios']['uw']['peak_rss_mb'] == 1.0
    assert json.loads((out / 'benchmark.json').read_text()) == report
    assert all((out / name).stat().st_size > 1000
               for name in ('val_curves.png', 'loss_curves.png'))
    table = markdown(report)
    assert '| **dwa mean ± std** |' in table
    assert 'uw / baseline (runs measured together)' in table


def test_reuse_runs_trains_only_what_changed(tmp_path, train_script):
    out = tmp_path / 'out'
    first = run_benchmark(_settings(out), train_script, REPO, 'cmd')
    for path in out.glob('*/argv.json'):
        path.unlink()
    again = run_benchmark(_settings(out, reuse_runs=True), train_script,
                          REPO, 'cmd')
    assert _argv(out) == {}  # nothing trained
    # Read back, the runs still name the invocation that trained them.
    trained_in = first['benchmark']['invocation']
    assert again['benchmark']['invocation'] != trained_in
    assert {run['invocation'] for run in again['runs']} == {trained_in}
    assert "each seed's runs were trained together" in markdown(again)
    assert not any(run.pop('read_back') for run in first['runs'])
    assert all(run.pop('read_back') for run in again['runs'])
    assert again['runs'] == first['runs']
    ablation = run_benchmark(
        _settings(out, reuse_runs=True,
                  l2t_cfg_options={'custom_hooks.0.dln_lr': 10}),
        train_script, REPO, 'cmd')
    assert sorted(_argv(out)) == ['l2t_seed0', 'l2t_seed1']
    assert ablation['benchmark']['l2t_cfg_options'] == {
        'custom_hooks.0.dln_lr': 10}
    # L2T retrained next to baselines read back: not a same-run ratio; the
    # peers' pairs, both read back from the first invocation, still are.
    table = markdown(ablation)
    assert ('not a same-run ratio: l2t and baseline of seeds 0, 1 were '
            'trained in different invocations') in table
    assert "uw / baseline (read back with --reuse-runs: baseline 0, " \
        "baseline 1, uw 0, uw 1; each seed's runs were trained together" \
        in table
