"""Deriving an L2T config and its fair baseline from a stock config."""
import json

import pytest
from mmengine.config import Config
from tool_helpers import REPO, run_quick_benchmark

from l2t_mm.utils.derive import derive_pair


@pytest.mark.parametrize('config, losses', [
    ('yolo_baseline.py', ['loss_cls', 'loss_conf', 'loss_xy', 'loss_wh']),
    ('deeplabv3plus_baseline.py', ['loss_decode']),
])
def test_every_loss_is_wrapped_and_both_train_on_the_same_side(
        config, losses):
    stock = Config.fromfile(str(REPO / 'configs' / config))
    baseline, l2t = derive_pair(stock, teach_fraction=0.2)
    head = l2t.model.get('bbox_head') or l2t.model.decode_head
    stock_head = stock.model.get('bbox_head') or stock.model.decode_head
    for name in losses:
        wrapper = dict(head[name])
        assert wrapper.pop('type') == 'L2TLoss'
        # Keys heads read from the config (use_sigmoid ...) are lifted to
        # the wrapper's top level; together they are the stock loss.
        assert {**wrapper.pop('loss'), **wrapper} == stock_head[name]
        assert baseline.model == stock.model  # the baseline keeps its losses
    for cfg in (baseline, l2t):
        dataset = cfg.train_dataloader.dataset
        assert (dataset.type, dataset.split, dataset.fraction) == (
            'HoldoutDataset', 'train', 0.2)
        assert dataset.dataset == stock.train_dataloader.dataset
        assert 'l2t_mm' in cfg.custom_imports.imports
    [hook] = [h for h in l2t.custom_hooks if h.type == 'L2TTeacherHook']
    teach = hook.teach_dataloader.dataset
    assert (teach.split, teach.fraction) == ('teach', 0.2)
    assert teach.dataset == stock.train_dataloader.dataset


def test_a_config_without_losses_is_refused():
    stock = Config(dict(model=dict(type='Nothing'),
                        train_dataloader=dict(dataset=dict(type='X'))))
    with pytest.raises(ValueError, match='no loss to wrap'):
        derive_pair(stock)


def test_benchmark_derives_trains_and_reports_the_pair(shapes_dataset,
                                                       tmp_path):
    result = run_quick_benchmark('configs/fcn_baseline.py', shapes_dataset,
                                 tmp_path, '--derive-l2t', '--teach-fraction',
                                 '0.25', '--seeds', '0')
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / 'benchmark.json').read_text())
    bench = report['benchmark']
    assert bench['derived'] and bench['teach_fraction'] == 0.25
    assert bench['l2t_config'].endswith('derived_l2t.py')
    assert bench['baseline_config'].endswith('derived_baseline.py')
    runs = {r['variant']: r for r in report['runs']}
    assert runs['l2t']['teach_steps'] == 2
    assert runs['baseline']['teach_steps'] == 0
    assert 'mIoU' in runs['l2t']['metrics']
