"""tools/probe_meta_gradient.py on a real segmentor and noisy labels."""
import json
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from tool_helpers import REPO, run_tool

import l2t_mm  # noqa: F401

SMALL = ['--cfg-options', 'train_dataloader.batch_size=2',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'custom_hooks.0.teach_dataloader.batch_size=2']


@pytest.fixture(scope='module')
def baseline_checkpoint(tmp_path_factory):
    """An FCN checkpoint without DLN parameters, as a baseline run saves."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(
        str(REPO / 'configs' / 'fcn_baseline.py')).model)
    path = tmp_path_factory.mktemp('probe') / 'baseline.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_probe_reports_every_pair_from_identity(
        noisy_shapes_dataset, baseline_checkpoint, tmp_path):
    out = tmp_path / 'probe.json'
    result = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py',
        str(baseline_checkpoint), '--data-root', str(noisy_shapes_dataset),
        '--batches', '2', '--work-dir', str(tmp_path / 'work'), '--out',
        str(out), *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report['phi'].startswith('at identity') and report['seed'] == 0
    assert report['val_loss'] == 'stock'  # the hook's
    assert len(report['batches']) == 2
    modules = {'decode_head.loss_decode', 'auxiliary_head.loss_decode'}
    for batch in report['batches']:
        assert batch['meta_grad_norm'] > 0
        assert set(batch['own_auc']) == modules
        # A step from identity moves the weights: no longer all tied (0.5).
        assert all(auc != 0.5 for auc in batch['own_auc'].values())
    assert set(report['aggregate_auc']) == {'sum', 'vote'}
    assert '| own step weights corrupted down |' in result.stdout
    assert 'φ at identity' in result.stdout
    assert report['lookahead_direction_only'] is False
    # The hook's val_loss and look-ahead reach the probe: the same pairs,
    # another ℓ_val.
    class_mean = tmp_path / 'class_mean.json'
    result = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py',
        str(baseline_checkpoint), '--data-root', str(noisy_shapes_dataset),
        '--batches', '2', '--work-dir', str(tmp_path / 'work'), '--out',
        str(class_mean), *SMALL, 'custom_hooks.0.val_loss=class_mean',
        'custom_hooks.0.lookahead_direction_only=True')
    assert result.returncode == 0, result.stderr[-3000:]
    other = json.loads(class_mean.read_text())
    assert other['val_loss'] == 'class_mean'
    assert other['lookahead_direction_only'] is True
    assert 'direction of the look-ahead gradient only' in result.stdout
    assert [batch['val_loss'] for batch in other['batches']] != [
        batch['val_loss'] for batch in report['batches']]


@pytest.mark.parametrize('extra, message', [
    (['--batches', '5'], 'exceeds the 2 batches of the teach split'),
    (['--progress', '2'], '--progress must be in [0, 1]'),
    (['--step-size', '0'], '--step-size must be > 0'),
])
def test_bad_probe_options_are_one_line_errors(
        noisy_shapes_dataset, baseline_checkpoint, tmp_path, extra,
        message):
    result = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py',
        str(baseline_checkpoint), '--data-root', str(noisy_shapes_dataset),
        '--work-dir', str(tmp_path / 'work'), *extra, *SMALL)
    assert result.returncode == 2
    assert message in result.stderr and 'Traceback' not in result.stderr


def test_probe_refuses_data_without_clean_labels_and_configs_without_hook(
        shapes_dataset, baseline_checkpoint, tmp_path):
    clean = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py',
        str(baseline_checkpoint), '--data-root', str(shapes_dataset),
        '--batches', '1', '--work-dir', str(tmp_path / 'a'), *SMALL)
    assert clean.returncode == 2
    assert 'no training batch has a corrupted label' in clean.stderr
    assert 'Traceback' not in clean.stderr
    baseline = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_baseline.py',
        str(baseline_checkpoint), '--data-root', str(shapes_dataset),
        '--work-dir', str(tmp_path / 'b'))
    assert baseline.returncode == 2
    assert 'no L2TTeacherHook' in baseline.stderr


def test_probe_names_a_missing_teach_split(noisy_shapes_dataset,
                                           baseline_checkpoint, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(noisy_shapes_dataset, data,
                    ignore=shutil.ignore_patterns('teach'))
    result = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py',
        str(baseline_checkpoint), '--data-root', str(data),
        '--work-dir', str(tmp_path / 'work'), *SMALL)
    assert result.returncode == 2
    assert ('custom_hooks.0.teach_dataloader.dataset.data_prefix.img_path='
            "'img_dir/teach' does not exist") in result.stderr
    assert 'Traceback' not in result.stderr
