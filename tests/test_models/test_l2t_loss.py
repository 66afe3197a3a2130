"""L2TLoss is a drop-in: identical to the loss it wraps at initialisation."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, init_default_scope

import l2t_mm  # noqa: F401
from l2t_mm.models import loss_context
from l2t_mm.models.weight_record import DLNRecord

NUM_CLASSES = 5
N = 12


def _boxes(generator: torch.Generator, n: int) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 50
    wh = torch.rand(n, 2, generator=generator) * 30 + 2
    return torch.cat([xy, xy + wh], dim=1)


def _case(name: str):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, NUM_CLASSES + 1, (N,), generator=g)
    if name == 'ce':
        return (dict(type='mmdet.CrossEntropyLoss'),
                torch.randn(N, NUM_CLASSES + 1, generator=g), labels,
                torch.rand(N, generator=g))
    if name == 'sigmoid_ce_labels':
        return (dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True),
                torch.randn(N, NUM_CLASSES, generator=g), labels,
                torch.rand(N, generator=g))
    if name == 'sigmoid_ce_soft':
        return (dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                     loss_weight=2.0),
                torch.randn(N, 1, generator=g), torch.rand(N, 1, generator=g),
                torch.rand(N, 1, generator=g))
    if name == 'focal':
        return (dict(type='mmdet.FocalLoss', use_sigmoid=True),
                torch.randn(N, NUM_CLASSES, generator=g), labels,
                torch.rand(N, generator=g))
    if name in ('iou', 'giou'):
        loss_type = 'mmdet.IoULoss' if name == 'iou' else 'mmdet.GIoULoss'
        target = _boxes(g, N)
        pred = target + torch.randn(N, 4, generator=g) * 3
        return dict(type=loss_type), pred, target, torch.rand(N, generator=g)
    if name == 'l1':
        return (dict(type='mmdet.L1Loss', loss_weight=0.5),
                torch.randn(N, 4, generator=g), torch.randn(N, 4, generator=g),
                torch.rand(N, 4, generator=g))
    if name == 'mse':
        return (dict(type='mmdet.MSELoss'), torch.randn(N, 2, generator=g),
                torch.randn(N, 2, generator=g), torch.rand(N, 2, generator=g))
    if name == 'seg_ce':
        label = torch.randint(0, NUM_CLASSES, (2, 6, 6), generator=g)
        label[:, 0] = 255
        return (dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True),
                torch.randn(2, NUM_CLASSES, 6, 6, generator=g), label,
                torch.rand(2, 6, 6, generator=g))
    if name == 'seg_ce_class_weight':
        # Labels with the ignore index, where stock mmseg's class_weight
        # stops with IndexError (tests/test_models/
        # test_class_weighted_cross_entropy.py).
        _, pred, label, weight = _case('seg_ce')
        cfg = dict(type='ClassWeightedCrossEntropyLoss',
                   class_weight=[0.5, 2.0, 1.0, 3.0, 1.5])
        return cfg, pred, label, weight
    raise KeyError(name)


CASES = ['ce', 'sigmoid_ce_labels', 'sigmoid_ce_soft', 'focal', 'iou', 'giou',
         'l1', 'mse', 'seg_ce', 'seg_ce_class_weight']
CALLS = {
    'plain': lambda w: dict(),
    'weight': lambda w: dict(weight=w),
    'weight_avg_factor': lambda w: dict(weight=w, avg_factor=7.0),
    'sum': lambda w: dict(weight=w, reduction_override='sum'),
    'none': lambda w: dict(weight=w, reduction_override='none'),
}


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')


def _value_and_grad(loss_module, pred, target, kwargs):
    pred = pred.clone().requires_grad_()
    value = loss_module(pred, target, **kwargs)
    value.sum().backward()
    return value.detach(), pred.grad


@pytest.mark.parametrize('call', list(CALLS))
@pytest.mark.parametrize('case', CASES)
def test_equals_wrapped_loss_at_init(case, call):
    cfg, pred, target, weight = _case(case)
    kwargs = CALLS[call](weight)
    if case.startswith('seg_ce'):
        kwargs['ignore_index'] = 255
    stock = MODELS.build(cfg)
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    expected, expected_grad = _value_and_grad(stock, pred, target, kwargs)
    actual, actual_grad = _value_and_grad(wrapped, pred, target, kwargs)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(actual_grad, expected_grad, rtol=1e-5,
                               atol=1e-7)


def test_trained_dln_reweights_elements():
    cfg, pred, target, weight = _case('ce')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    stock_value = MODELS.build(cfg)(pred, target)
    with torch.no_grad():
        wrapped.dln.mlp.fc2.weight.normal_()
    record = DLNRecord()
    with loss_context(dict(loss=wrapped), records=dict(loss=record)):
        changed = wrapped(pred, target)
    assert not torch.allclose(changed, stock_value)
    with loss_context(dict(loss=wrapped), stock=True):
        torch.testing.assert_close(wrapped(pred, target), stock_value)
    summary = record.summary()
    assert summary['min'] < summary['mean'] < summary['max']
    torch.testing.assert_close(summary['mean'], torch.tensor(1.0))


def test_weights_are_recorded_only_inside_a_recording_block():
    cfg, pred, target, _ = _case('ce')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    record = DLNRecord()
    wrapped(pred, target)  # outside any block: nothing recorded anywhere
    with loss_context(dict(loss=wrapped), records=dict(loss=record)):
        wrapped(pred, target)
        wrapped(pred[:4], target[:4])  # a head calls its loss per level
    wrapped(pred, target)
    assert record.weights.summary()['mean'] == pytest.approx(1.0)
    assert record.weights._count == N + 4
    assert wrapped.context.record is None  # the block restored the context


def test_hidden_slope_reports_saturated_dln_units():
    cfg, pred, target, _ = _case('ce')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    logit = MODELS.build(
        dict(type='L2TLoss', loss=cfg, dln=dict(type='LogitDLN')))
    modules = dict(loss=wrapped, logit=logit)

    def slopes():
        records = dict(loss=DLNRecord(), logit=DLNRecord())
        with loss_context(modules, records=records):
            wrapped(pred, target)
            logit(pred, target)
        return {name: r.hidden_slope() for name, r in records.items()}

    healthy = slopes()
    assert 0.3 < healthy['loss'] <= 1.0  # xavier init on log-loss features
    assert healthy['logit'] is None  # LeakyReLU: nothing saturates
    assert DLNRecord().hidden_slope() is None  # nothing recorded
    with torch.no_grad():  # a teacher that stepped far: tanh saturates
        wrapped.dln.mlp.fc1.weight.mul_(1e3)
        wrapped.dln.mlp.fc1.bias.fill_(50.0)
    assert slopes()['loss'] < 0.01


def test_dln_gets_no_gradient_from_student_loss():
    cfg, pred, target, _ = _case('focal')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    pred = pred.requires_grad_()
    wrapped(pred, target).backward()
    assert pred.grad is not None
    assert all(p.grad is None and not p.requires_grad
               for p in wrapped.dln.parameters())


def test_attributes_pass_through():
    wrapped = MODELS.build(
        dict(type='L2TLoss',
             loss=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                       loss_weight=3.0)))
    assert wrapped.use_sigmoid is True
    assert wrapped.loss_weight == 3.0
    seg = MODELS.build(
        dict(type='L2TLoss',
             loss=dict(type='mmseg.CrossEntropyLoss', loss_name='loss_ce')))
    assert seg.loss_name == 'loss_ce'
    with pytest.raises(AttributeError):
        wrapped.no_such_attribute


def test_unknown_loss_type_names_key_and_suggestion():
    with pytest.raises(ValueError) as error:
        MODELS.build(dict(type='L2TLoss', loss=dict(type='FocalLos')))
    message = str(error.value)
    assert 'L2TLoss.loss' in message and "'FocalLoss'" in message


def test_logit_dln_softmax_and_sigmoid_shapes():
    for case in ('ce', 'focal', 'seg_ce'):
        cfg, pred, target, _ = _case(case)
        wrapped = MODELS.build(
            dict(type='L2TLoss', loss=cfg, dln=dict(type='LogitDLN')))
        kwargs = dict(ignore_index=255) if case == 'seg_ce' else {}
        pred = pred.requires_grad_()
        value = wrapped(pred, target, **kwargs)
        assert value.dim() == 0 and torch.isfinite(value)
        value.backward()
        assert pred.grad.abs().sum() > 0


def test_logit_dln_rejects_regression_loss():
    cfg, pred, target, _ = _case('l1')
    wrapped = MODELS.build(
        dict(type='L2TLoss', loss=cfg, dln=dict(type='LogitDLN')))
    with pytest.raises(TypeError, match='WeightingDLN'):
        wrapped(pred, target)


def test_lookahead_mode_feeds_focal_loss_a_one_hot_target(monkeypatch):
    cfg, pred, target, weight = _case('focal')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    seen = []
    original = type(wrapped.stock_loss).forward

    def spy(self, pred, target, *args, **kwargs):
        seen.append(target)
        return original(self, pred, target, *args, **kwargs)

    monkeypatch.setattr(type(wrapped.stock_loss), 'forward', spy)
    expected = wrapped(pred, target, weight=weight)
    assert seen[-1].dim() == 1
    pred = pred.clone().requires_grad_()
    with loss_context(dict(loss=wrapped), lookahead=True):
        value = wrapped(pred, target, weight=weight)
    assert seen[-1].shape == pred.shape
    torch.testing.assert_close(value, expected)
    # second order: the gradient's norm is itself differentiable
    (grad, ) = torch.autograd.grad(value, pred, create_graph=True)
    (grad.norm()).backward()
    assert torch.isfinite(pred.grad).all()


def _class_mean(loss_cfg: dict, pred, label, **kwargs):
    """(stock loss, class-mean loss) of the L2TLoss around ``loss_cfg``."""
    wrapped = MODELS.build(dict(type='L2TLoss', loss=loss_cfg))
    modules = dict(loss=wrapped)
    with loss_context(modules, stock=True):
        stock = wrapped(pred, label, **kwargs)
    with loss_context(modules, stock=True, class_mean=True):
        return stock, wrapped(pred, label, **kwargs)


def _expected_class_mean(per_element, label, counted):
    return torch.stack([per_element[counted & (label == c)].mean()
                        for c in label[counted].unique()]).mean()


@pytest.mark.parametrize('avg_non_ignore', [True, False])
def test_class_mean_stock_loss_counts_every_class_equally(avg_non_ignore):
    """ℓ_val of ``val_loss='class_mean'``: the mean over the classes present
    of each class's mean stock loss, whatever the stock denominator;
    ignored pixels count for nothing, pixels of loss 0 count."""
    init_default_scope('mmseg')
    _, pred, label, _ = _case('seg_ce')
    label[0, 1:] = 0  # one frequent class, so the two means differ
    pred[1, 0, 3:] = 100.0  # saturated: these class-0 pixels have loss 0
    label[1, 3:] = 0
    cfg = dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=avg_non_ignore)
    per_pixel = F.cross_entropy(pred, label, ignore_index=255,
                                reduction='none')
    assert (per_pixel[1, 3:] == 0).all()
    stock, balanced = _class_mean(cfg, pred, label, ignore_index=255)
    kept = label != 255
    torch.testing.assert_close(
        balanced, _expected_class_mean(per_pixel, label, kept))
    assert abs(balanced - stock) > 1e-3
    # class_weight scales each class's mean as it scales its pixels;
    # avg_factor belongs to the stock mean and does not enter.
    weights = [1.0, 2.0, 0.5, 1.0, 3.0]
    weighted = dict(cfg, class_weight=weights)
    _, balanced = _class_mean(weighted, pred, label, ignore_index=255,
                              avg_factor=7.0)
    scaled = per_pixel * torch.tensor(weights)[label.clamp(max=4)]
    torch.testing.assert_close(
        balanced, _expected_class_mean(scaled, label, kept))


def test_class_mean_skips_elements_of_weight_zero_and_ignore_index():
    init_default_scope('mmdet')
    cfg, pred, label, weight = _case('ce')
    weight[:3] = 0
    _, balanced = _class_mean(cfg, pred, label, weight=weight,
                              avg_factor=3.0)
    per_sample = F.cross_entropy(pred, label, reduction='none') * weight
    torch.testing.assert_close(
        balanced, _expected_class_mean(per_sample, label, weight != 0))
    ignored = dict(cfg, ignore_index=int(label[5]))
    _, balanced = _class_mean(ignored, pred, label)
    per_sample = F.cross_entropy(pred, label, reduction='none')
    torch.testing.assert_close(
        balanced, _expected_class_mean(per_sample, label, label != label[5]))


@pytest.mark.parametrize('case', ['sigmoid_ce_labels', 'l1'])
def test_class_mean_stock_loss_refuses_losses_without_class_indices(case):
    init_default_scope('mmdet')
    cfg, pred, target, _ = _case(case)
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    with loss_context(dict(bbox_head=wrapped), stock=True, class_mean=True):
        with pytest.raises(ValueError, match=r"val_loss='class_mean' needs "
                           r'class-index targets .* but bbox_head \(\w+Loss\)'
                           r" gives (sigmoid|regression) elements; use "
                           r"val_loss='stock'"):
            wrapped(pred, target)


def test_class_mean_is_refused_for_other_reductions_and_without_stock():
    init_default_scope('mmdet')
    cfg, pred, label, _ = _case('ce')
    wrapped = MODELS.build(dict(type='L2TLoss', loss=cfg))
    with loss_context(dict(loss=wrapped), stock=True, class_mean=True):
        with pytest.raises(ValueError, match="replaces the stock mean, but "
                           "loss was called with reduction='none'"):
            wrapped(pred, label, reduction_override='none')
    with pytest.raises(ValueError, match='set stock=True'):
        with loss_context(dict(loss=wrapped), class_mean=True):
            pass
