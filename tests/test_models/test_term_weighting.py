"""Term weightings of DynamicLossHead: the L2T DLN's peers (uncertainty
weighting, Dynamic Weight Average) and how the teacher hook treats them."""
import copy
import math
from types import SimpleNamespace
from unittest.mock import Mock

import pytest
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import BaseLoop
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from tool_helpers import REPO, shipped_model

from l2t_mm.engine.l2t_teacher_hook import L2TTeacherHook
from l2t_mm.models import (DynamicWeightAverage, UncertaintyWeighting,
                           loss_context)
from l2t_mm.models.weight_record import DLNRecord

NAMES = ['loss_a', 'loss_b']


def test_uncertainty_weights_start_at_one_and_learn_inverse_loss():
    weighting = UncertaintyWeighting(max_terms=3)
    losses = torch.tensor([4.0, 0.25])
    torch.testing.assert_close(weighting(losses, 0.0, NAMES),
                               torch.ones(2))
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.05)
    for _ in range(800):
        optimizer.zero_grad()
        weights = weighting(losses, 0.0, NAMES)
        total = (weights * losses).sum() + weighting.regularizer(2)
        total.backward()
        optimizer.step()
    # The minimum of exp(-s) L / 2 + s / 2 is at exp(s) = L: w = 1 / (2 L).
    torch.testing.assert_close(weighting(losses, 0.0, NAMES),
                               1 / (2 * losses), rtol=1e-3, atol=1e-3)
    # The unused third slot received no gradient.
    assert weighting.log_variance[2].item() == pytest.approx(math.log(0.5))


def test_dwa_follows_the_rate_of_descent_of_each_term():
    dwa = DynamicWeightAverage(max_terms=4, window=2, temperature=2.0)
    dwa.train()
    history = [[4.0, 1.0]] * 2 + [[2.0, 1.0]] * 2  # term a halves
    for values in history:
        weights = dwa(torch.tensor(values), 0.0, NAMES)
        torch.testing.assert_close(weights, torch.ones(2))  # < 2 windows
    rates = torch.tensor([0.5, 1.0])
    expected = 2 * torch.softmax(rates / 2.0, 0)
    weights = dwa(torch.tensor([1.0, 1.0]), 0.0, NAMES)
    torch.testing.assert_close(weights, expected)
    assert weights[1] > 1 > weights[0]  # the stalled term gets more weight
    assert weights.mean().item() == pytest.approx(1.0)


def test_dwa_state_resumes_from_a_state_dict_and_eval_does_not_count():
    def feed(module, steps, start=0):
        return [module(torch.tensor([10.0 / (i + 1), 1.0 + i]), 0.0, NAMES)
                for i in range(start, start + steps)]

    uninterrupted = DynamicWeightAverage(max_terms=2, window=3).train()
    expected = feed(uninterrupted, 12)
    first = DynamicWeightAverage(max_terms=2, window=3).train()
    feed(first, 7)
    first.eval()
    feed(first, 5)  # validation calls must not move the windows
    resumed = DynamicWeightAverage(max_terms=2, window=3).train()
    resumed.load_state_dict(copy.deepcopy(first.state_dict()))
    for ours, theirs in zip(feed(resumed, 5, start=7), expected[7:]):
        torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize('key, value', [('window', 0), ('temperature', 0.0)])
def test_dwa_rejects_bad_settings_by_name(key, value):
    with pytest.raises(ValueError, match=f'DynamicWeightAverage.{key}'):
        DynamicWeightAverage(**{key: value})


def _detector(config: str):
    model = shipped_model(config, 'mmdet')
    model.init_weights()
    packed = demo_mm_inputs(2, [[3, 128, 128]] * 2, num_classes=6)
    return model, model.data_preprocessor(packed, True)


def test_uncertainty_head_is_trained_by_the_student_and_refused_by_hook():
    model, data = _detector('yolo_uw.py')
    head = model.bbox_head
    assert head.dln.log_variance.requires_grad  # not frozen like a DLN
    record = DLNRecord()
    with loss_context(dict(bbox_head=head), records=dict(bbox_head=record)):
        losses = model(**data, mode='loss')
    assert {'weight_cls', 'weight_conf', 'weight_xy', 'weight_wh',
            'loss_weighting_reg'} <= set(losses)
    total, _ = model.parse_losses(losses)
    total.backward()
    grad = head.dln.log_variance.grad
    assert grad is not None and grad[:4].abs().min() > 0
    assert record.hidden_slope() is None  # no hidden units to saturate
    assert set(record.summary()) == {'loss_cls', 'loss_conf', 'loss_xy',
                                     'loss_wh'}
    hook = L2TTeacherHook(teach_dataloader=[])
    with pytest.raises(ValueError, match="'bbox_head' uses Uncertainty"):
        # A runner about to train (its train loop is built).
        hook.before_run(
            SimpleNamespace(model=model, _train_loop=Mock(spec=BaseLoop)))


def test_dwa_head_reweights_terms_after_two_windows():
    model, data = _detector('yolo_dwa.py')
    model.bbox_head.dln.window = 1
    model.train()
    weights = []
    for _ in range(3):
        losses = model(**data, mode='loss')
        with torch.no_grad():  # the terms move at different rates
            for param in model.bbox_head.head.convs_pred.parameters():
                param.mul_(1.5)
        weights.append(torch.stack([losses[f'weight_{term}']
                                    for term in ('cls', 'conf', 'xy', 'wh')]))
    torch.testing.assert_close(weights[0], torch.ones(4))
    assert not torch.allclose(weights[2], torch.ones(4))
    assert weights[2].mean().item() == pytest.approx(1.0)
    assert 'loss_weighting_reg' not in losses


def test_head_rejects_an_elementwise_dln():
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolo_baseline.py'))
    with pytest.raises(TypeError, match='DynamicLossHead.dln must build'):
        MODELS.build(dict(type='DynamicLossHead', head=cfg.model.bbox_head,
                          dln=dict(type='WeightingDLN'),
                          train_cfg=cfg.model.train_cfg,
                          test_cfg=cfg.model.test_cfg))


def _segmentation_head_loss(dln: str, loss_decode=None,
                            **context) -> dict:
    """One training loss of FCN's decode head wrapped in DynamicLossHead
    (inside ``loss_context(**context)``)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(REPO / 'configs' / 'fcn_baseline.py'))
    head_cfg = copy.deepcopy(cfg.model.decode_head)
    if loss_decode is not None:
        head_cfg.loss_decode = loss_decode
    head = MODELS.build(dict(type='DynamicLossHead', head=head_cfg,
                             dln=dict(type=dln, max_terms=2))).train()
    torch.manual_seed(0)
    features = [torch.rand(1, channels, 8, 8)
                for channels in (64, 128, 256, 512)]
    sample = SegDataSample(
        gt_sem_seg=PixelData(data=torch.randint(0, 7, (1, 64, 64))))
    sample.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
    with loss_context(dict(head=head), **context):
        return head.loss(features, [sample], cfg.model.train_cfg)


@pytest.mark.parametrize('dln', ['TermWeightingDLN', 'DynamicWeightAverage'])
def test_mean_one_weighting_refuses_a_head_with_one_loss_term(dln):
    # mmseg's decode heads return the single term loss_ce: a weight of mean
    # 1 over one term is 1 for good, so the head would train as the
    # baseline while the user believes it is weighted.
    with pytest.raises(ValueError, match=rf"{dln} weights the loss terms to "
                       r"mean 1.*one loss term \['loss_ce'\].*L2TLoss"):
        _segmentation_head_loss(dln)
    two_losses = [dict(type='CrossEntropyLoss', loss_name='loss_ce'),
                  dict(type='DiceLoss', loss_name='loss_dice')]
    losses = _segmentation_head_loss(dln, loss_decode=two_losses)
    assert {'weight_ce', 'weight_dice'} <= set(losses)


def test_uncertainty_weighting_scales_a_single_term():
    losses = _segmentation_head_loss('UncertaintyWeighting')
    assert set(losses) == {'loss_ce', 'acc_seg', 'weight_ce',
                           'loss_weighting_reg'}


def test_class_mean_validation_loss_is_refused_by_term_weighting():
    # A term weighting sees whole terms, no classes: its ℓ_val cannot be
    # the class mean, and must not silently stay the stock mean.
    two_losses = [dict(type='CrossEntropyLoss', loss_name='loss_ce'),
                  dict(type='DiceLoss', loss_name='loss_dice')]
    with pytest.raises(ValueError, match=r"val_loss='class_mean'.*"
                       r"DynamicLossHead weights whole loss terms"):
        _segmentation_head_loss('TermWeightingDLN', loss_decode=two_losses,
                                stock=True, class_mean=True)
