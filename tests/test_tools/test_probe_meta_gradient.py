"""tools/probe_meta_gradient.py on a real segmentor and noisy labels."""
import json

import torch
from tool_helpers import run_tool


def test_probe_reports_every_pair_and_changes_no_checkpoint(
        noisy_shapes_dataset, tmp_path):
    # A checkpoint with nothing in it: the student stays at its random
    # init and φ at identity, which is what the probe then measures.
    checkpoint = tmp_path / 'empty.pth'
    torch.save(dict(state_dict={}), checkpoint)
    out = tmp_path / 'probe.json'
    result = run_tool(
        'probe_meta_gradient.py', 'configs/fcn_l2t.py', str(checkpoint),
        '--data-root', str(noisy_shapes_dataset), '--batches', '3',
        '--work-dir', str(tmp_path / 'work'), '--out', str(out),
        '--cfg-options', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False')
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert len(report['batches']) == 3
    modules = {'decode_head.loss_decode', 'auxiliary_head.loss_decode'}
    for batch in report['batches']:
        assert batch['meta_grad_norm'] > 0
        assert set(batch['own_auc']) == modules
        assert all(0 <= auc <= 1 for auc in batch['own_auc'].values())
    assert set(report['aggregate_auc']) == {'sum', 'vote'}
    assert -1 <= report['mean_cosine'] <= 1
    assert '| sum |' in result.stdout and 'mean cosine' in result.stdout


def test_probe_refuses_a_config_without_the_teacher_hook(
        noisy_shapes_dataset, tmp_path):
    checkpoint = tmp_path / 'empty.pth'
    torch.save(dict(state_dict={}), checkpoint)
    result = run_tool('probe_meta_gradient.py', 'configs/fcn_baseline.py',
                      str(checkpoint), '--data-root',
                      str(noisy_shapes_dataset), '--work-dir',
                      str(tmp_path / 'w'))
    assert result.returncode == 2
    assert 'no L2TTeacherHook' in result.stderr
