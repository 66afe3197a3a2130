"""Every loss mmdet and mmseg register works inside L2TLoss, or is refused
when L2TLoss is built with a one-line reason.

The registered losses are enumerated from the registries (after importing
every module of ``mmdet.models.losses`` and ``mmseg.models.losses``), so a
loss added by a later version fails ``test_every_registered_loss_is_known``
until it gets a case or a refusal here.
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import mmdet.models.losses
import mmseg.models.losses
import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS, init_default_scope
from mmseg.registry import MODELS as MMSEG_MODELS

import l2t_mm  # noqa: F401
from l2t_mm.models import loss_context

N, C = 12, 5


@dataclass
class Case:
    """A loss config and the calls to compare on it (args, kwargs)."""
    cfg: dict
    calls: Dict[str, Callable[[], tuple]] = field(default_factory=dict)


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _standard_calls(make: Callable[[torch.Generator], tuple],
                    modes=('plain', 'weight', 'avg_factor', 'sum', 'none'),
                    **extra) -> Dict[str, Callable[[], tuple]]:
    """The stock contract's calls; ``make`` returns (pred, target, weight);
    ``extra`` keyword arguments go to every call."""
    kwargs = dict(plain=lambda w: {}, weight=lambda w: dict(weight=w),
                  avg_factor=lambda w: dict(weight=w, avg_factor=7.0),
                  sum=lambda w: dict(weight=w, reduction_override='sum'),
                  none=lambda w: dict(weight=w, reduction_override='none'))

    def call(mode):
        def build():
            pred, target, weight = make(_generator())
            return (pred, target), dict(kwargs[mode](weight), **extra)
        return build

    return {mode: call(mode) for mode in modes}


def _boxes(g: torch.Generator, n: int = N) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * 50
    return torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 30 + 2], 1)


def _labels(g, n=N, num_classes=C):
    """Class indices with background (== num_classes) among them."""
    return torch.randint(0, num_classes + 1, (n, ), generator=g)


def _seg_labels(g, with_ignore=True):
    labels = torch.randint(0, C, (2, 6, 6), generator=g)
    if with_ignore:
        labels[:, 0] = 255
    return labels


def _box_case(loss_type: str, weight_shape=(N, )) -> Case:
    def make(g):
        target = _boxes(g)
        pred = target + torch.randn(N, 4, generator=g) * 3
        return pred, target, torch.rand(*weight_shape, generator=g)

    def zero_weight():  # IoU losses return early: (pred * weight).sum()
        pred, target, weight = make(_generator())
        return (pred, target), dict(weight=torch.zeros_like(weight),
                                    avg_factor=3.0)

    calls = _standard_calls(make)
    calls['zero_weight'] = zero_weight
    return Case(dict(type=f'mmdet.{loss_type}'), calls)


def _elementwise_case(cfg: dict, shape=(N, 4)) -> Case:
    return Case(cfg, _standard_calls(lambda g: (
        torch.randn(*shape, generator=g), torch.randn(*shape, generator=g),
        torch.rand(*shape, generator=g))))


def _mask_case(scope: str) -> Case:
    def plain():
        g = _generator()
        pred = torch.randn(4, C, 7, 7, generator=g)
        target = (torch.rand(4, 7, 7, generator=g) > 0.5).float()
        labels = torch.randint(0, C, (4, ), generator=g)
        # mmseg's forward defaults ignore_index to -100, which
        # mask_cross_entropy refuses: its callers pass None.
        return (pred, target, labels), (
            dict(ignore_index=None) if scope == 'mmseg' else {})

    return Case(dict(type=f'{scope}.CrossEntropyLoss', use_mask=True,
                     loss_weight=2.0), dict(plain=plain))


def _gaussian_heatmap(g, shape):
    target = torch.rand(*shape, generator=g) * 0.9
    target.view(-1)[::7] = 1.0  # object centres
    return target


def _gaussian_pos_inds_call():
    g = _generator()
    pred = torch.rand(N, C, generator=g).clamp(1e-4, 1 - 1e-4)
    target = _gaussian_heatmap(g, (N, C))
    pos_inds = torch.tensor([1, 4, 7])
    pos_labels = torch.tensor([0, 3, 2])
    return (pred, target), dict(pos_inds=pos_inds, pos_labels=pos_labels,
                                avg_factor=3.0)


def _qfl_calls(tensor_target: bool = False):
    def make(g):
        pred = torch.randn(N, C, generator=g)
        labels = _labels(g)
        scores = torch.rand(N, generator=g)
        if tensor_target:
            soft = torch.zeros(N, C)
            positive = labels < C
            soft[positive, labels[positive]] = scores[positive]
            return pred, soft, torch.rand(N, generator=g)
        return pred, (labels, scores), torch.rand(N, generator=g)

    return _standard_calls(make)


def _ghm_calls(regression: bool):
    def make(g):
        if regression:
            pred = torch.randn(N, 4, generator=g)
            return (pred, torch.randn(N, 4, generator=g),
                    (torch.rand(N, 4, generator=g) > 0.3).float())
        return (torch.randn(N, C, generator=g), _labels(g),
                (torch.rand(N, generator=g) > 0.2).float())

    def call(kwargs):
        def build():
            pred, target, label_weight = make(_generator())
            return (pred, target, label_weight), dict(kwargs)
        return build

    # No 'sum': GHM passes its own avg_factor, which 'sum' refuses.
    return dict(plain=call({}), avg_factor_ignored=call(dict(avg_factor=7.)),
                none=call(dict(reduction_override='none')))


def _focal_labels(g):
    return torch.randn(N, C, generator=g), _labels(g), torch.rand(
        N, generator=g)


def _seg_logits_and_labels(g, with_ignore=True, weight_shape=(2, )):
    return (torch.randn(2, C, 6, 6, generator=g),
            _seg_labels(g, with_ignore), torch.rand(*weight_shape,
                                                    generator=g))


# Registered name -> the cases that must equal the stock loss at init.
CASES: Dict[str, List[Case]] = {
    'mmdet.BalancedL1Loss': [_elementwise_case(dict(
        type='mmdet.BalancedL1Loss'))],
    'mmdet.BoundedIoULoss': [_box_case('BoundedIoULoss', (N, 4))],
    'mmdet.CIoULoss': [_box_case('CIoULoss')],
    'mmdet.DIoULoss': [_box_case('DIoULoss')],
    'mmdet.EIoULoss': [_box_case('EIoULoss')],
    'mmdet.GIoULoss': [_box_case('GIoULoss')],
    'mmdet.IoULoss': [_box_case('IoULoss')],
    'mmdet.SIoULoss': [_box_case('SIoULoss')],
    'mmdet.CrossEntropyLoss': [
        Case(dict(type='mmdet.CrossEntropyLoss'), _standard_calls(
            lambda g: (torch.randn(N, C + 1, generator=g), _labels(g),
                       torch.rand(N, generator=g)))),
        Case(dict(type='mmdet.CrossEntropyLoss', ignore_index=2,
                  avg_non_ignore=True, class_weight=[1., 2., .5, 1., 1., .1]),
             _standard_calls(lambda g: (
                 torch.randn(N, C + 1, generator=g), _labels(g),
                 torch.rand(N, generator=g)))),
        Case(dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                  avg_non_ignore=True, ignore_index=1),
             _standard_calls(_focal_labels)),
        Case(dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                  loss_weight=2.0), _standard_calls(lambda g: (
                      torch.randn(N, 1, generator=g),
                      torch.rand(N, 1, generator=g),
                      torch.rand(N, 1, generator=g)))),
        _mask_case('mmdet'),
    ],
    'mmdet.CrossEntropyCustomLoss': [
        Case(dict(type='mmdet.CrossEntropyCustomLoss', num_classes=C),
             _standard_calls(lambda g: (torch.randn(
                 N, C + 1, generator=g), _labels(g), torch.rand(
                     N, generator=g))))
    ],
    'mmdet.DiceLoss': [
        Case(dict(type='mmdet.DiceLoss'), _standard_calls(lambda g: (
            torch.randn(N, 6, 6, generator=g),
            (torch.rand(N, 6, 6, generator=g) > 0.5).float(),
            torch.rand(N, generator=g)))),
        Case(dict(type='mmdet.DiceLoss', naive_dice=True, loss_weight=5.0),
             _standard_calls(lambda g: (
                 torch.randn(N, 9, generator=g),
                 (torch.rand(N, 9, generator=g) > 0.5).float(), None),
                 modes=('plain', 'avg_factor', 'sum', 'none'))),
    ],
    'mmdet.DistributionFocalLoss': [
        Case(dict(type='mmdet.DistributionFocalLoss', loss_weight=0.25),
             _standard_calls(lambda g: (
                 torch.randn(N, 8, generator=g),
                 torch.rand(N, generator=g) * 6.9,
                 torch.rand(N, generator=g))))
    ],
    'mmdet.FocalCustomLoss': [
        Case(dict(type='mmdet.FocalCustomLoss', num_classes=C),
             _standard_calls(_focal_labels))
    ],
    'mmdet.FocalLoss': [
        Case(dict(type='mmdet.FocalLoss'), _standard_calls(_focal_labels)),
        Case(dict(type='mmdet.FocalLoss', gamma=1.5, alpha=0.5),
             _standard_calls(lambda g: (
                 torch.randn(N, C, generator=g),
                 (torch.rand(N, C, generator=g) > 0.7).float(),
                 torch.rand(N, C, generator=g)))),
        Case(dict(type='mmdet.FocalLoss', activated=True),
             _standard_calls(lambda g: (
                 torch.rand(N, C, generator=g).clamp(0.01, 0.99), _labels(g),
                 torch.rand(N, generator=g)))),
    ],
    'mmdet.GaussianFocalLoss': [
        Case(dict(type='mmdet.GaussianFocalLoss', loss_weight=2.0),
             _standard_calls(lambda g: (
                 torch.rand(2, C, 6, 6, generator=g).clamp(1e-4, 1 - 1e-4),
                 _gaussian_heatmap(g, (2, C, 6, 6)),
                 torch.rand(2, C, 6, 6, generator=g)))),
        Case(dict(type='mmdet.GaussianFocalLoss', pos_weight=0.25,
                  neg_weight=0.75, loss_weight=2.0),
             dict(pos_inds=_gaussian_pos_inds_call)),
    ],
    'mmdet.GHMC': [Case(dict(type='mmdet.GHMC'), _ghm_calls(False)),
                   Case(dict(type='mmdet.GHMC', momentum=0.75),
                        _ghm_calls(False))],
    'mmdet.GHMR': [Case(dict(type='mmdet.GHMR'), _ghm_calls(True))],
    'mmdet.KnowledgeDistillationKLDivLoss': [
        Case(dict(type='mmdet.KnowledgeDistillationKLDivLoss', T=4),
             _standard_calls(lambda g: (
                 torch.randn(N, C, generator=g),
                 torch.randn(N, C, generator=g),
                 torch.rand(N, generator=g))))
    ],
    'mmdet.L1Loss': [_elementwise_case(dict(type='mmdet.L1Loss',
                                            loss_weight=0.5))],
    'mmdet.MSELoss': [_elementwise_case(dict(type='mmdet.MSELoss'))],
    'mmdet.SmoothL1Loss': [_elementwise_case(dict(type='mmdet.SmoothL1Loss',
                                                  beta=0.5))],
    'mmdet.MultiPosCrossEntropyLoss': [
        Case(dict(type='mmdet.MultiPosCrossEntropyLoss'),
             _standard_calls(lambda g: (
                 torch.randn(N, C, generator=g),
                 (torch.arange(N * C).view(N, C) % 4 == 0).long(),
                 torch.rand(N, generator=g))))
    ],
    'mmdet.QualityFocalLoss': [
        Case(dict(type='mmdet.QualityFocalLoss'), _qfl_calls()),
        Case(dict(type='mmdet.QualityFocalLoss', beta=1.5),
             _qfl_calls(tensor_target=True)),
    ],
    'mmdet.VarifocalLoss': [
        Case(dict(type='mmdet.VarifocalLoss'), _standard_calls(lambda g: (
            torch.randn(N, C, generator=g),
            torch.rand(N, C, generator=g) * (torch.rand(
                N, C, generator=g) > 0.7), torch.rand(N, C, generator=g))))
    ],
    'mmseg.CrossEntropyLoss': [
        Case(dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True),
             _standard_calls(lambda g: _seg_logits_and_labels(
                 g, weight_shape=(2, 6, 6)), ignore_index=255)),
        Case(dict(type='mmseg.CrossEntropyLoss'),
             _standard_calls(lambda g: _seg_logits_and_labels(
                 g, weight_shape=(2, 6, 6)), ignore_index=255)),
        Case(dict(type='mmseg.CrossEntropyLoss',
                  class_weight=[1., 2., .5, 1., .3]),
             _standard_calls(lambda g: _seg_logits_and_labels(
                 g, with_ignore=False, weight_shape=(2, 6, 6)),
                 ignore_index=255)),
        Case(dict(type='mmseg.CrossEntropyLoss', use_sigmoid=True,
                  avg_non_ignore=True),
             _standard_calls(lambda g: _seg_logits_and_labels(
                 g, weight_shape=(2, 6, 6)), ignore_index=255)),
        Case(dict(type='mmseg.CrossEntropyLoss', use_sigmoid=True,
                  avg_non_ignore=True),
             _standard_calls(lambda g: (torch.randn(
                 2, 1, 6, 6, generator=g), torch.randint(
                     0, 2, (2, 6, 6), generator=g), torch.rand(
                         2, 6, 6, generator=g)))),
        _mask_case('mmseg'),
    ],
    'mmseg.DiceLoss': [
        Case(dict(type='mmseg.DiceLoss'), _standard_calls(
            _seg_logits_and_labels, ignore_index=255)),
        Case(dict(type='mmseg.DiceLoss', use_sigmoid=False, naive_dice=True),
             _standard_calls(_seg_logits_and_labels, ignore_index=255)),
    ],
    # mmseg's own CPU path fails for class-index targets (it keeps one
    # one-hot column), so the stock loss is compared on one-hot targets.
    'mmseg.FocalLoss': [
        Case(dict(type='mmseg.FocalLoss'), _standard_calls(lambda g: (
            torch.randn(2, C, 6, 6, generator=g),
            torch.nn.functional.one_hot(_seg_labels(g, False), C).permute(
                0, 3, 1, 2).float(), torch.rand(2 * 36, generator=g))))
    ],
    'mmseg.LovaszLoss': [
        Case(dict(type='mmseg.LovaszLoss', per_image=True, loss_weight=0.5),
             _standard_calls(_seg_logits_and_labels)),
        Case(dict(type='mmseg.LovaszLoss', loss_type='binary',
                  per_image=True),
             _standard_calls(lambda g: (
                 torch.randn(2, 6, 6, generator=g),
                 torch.randint(0, 2, (2, 6, 6), generator=g), None),
                 modes=('plain', 'avg_factor', 'sum', 'none'))),
    ],
    'mmseg.SiLogLoss': [
        Case(dict(type='mmseg.SiLogLoss'), _standard_calls(lambda g: (
            torch.rand(2, 1, 6, 6, generator=g) + 0.1,
            torch.rand(2, 1, 6, 6, generator=g) + 0.1,
            torch.rand(2, generator=g))))
    ],
}

# Registered name -> (config, words of the refusal).
REFUSED = {
    'mmdet.AssociativeEmbeddingLoss': [
        (dict(type='mmdet.AssociativeEmbeddingLoss'),
         'takes no reduction_override')
    ],
    'mmdet.EQLV2Loss': [(dict(type='mmdet.EQLV2Loss'),
                         'ignores reduction_override')],
    'mmdet.L2Loss': [(dict(type='mmdet.L2Loss'), 'samples negatives')],
    'mmdet.MarginL2Loss': [(dict(type='mmdet.MarginL2Loss'),
                            'samples negatives')],
    'mmdet.SeesawLoss': [(dict(type='mmdet.SeesawLoss'),
                          'two loss terms')],
    'mmdet.TripletLoss': [(dict(type='mmdet.TripletLoss'),
                           'takes no reduction_override')],
    'mmdet.CrossEntropyLoss': [(dict(type='mmdet.CrossEntropyLoss',
                                     use_mask=True, reduction='sum'),
                                "only reduction='mean'")],
    'mmseg.BoundaryLoss': [(dict(type='mmseg.BoundaryLoss'),
                            'takes no reduction_override')],
    'mmseg.HuasdorffDisstanceLoss': [(dict(
        type='mmseg.HuasdorffDisstanceLoss'), 'one scalar')],
    'mmseg.KLDivLoss': [(dict(type='mmseg.KLDivLoss'),
                         'takes no reduction_override')],
    'mmseg.LovaszLoss': [(dict(type='mmseg.LovaszLoss', reduction='none'),
                          'per_image=True')],
    'mmseg.OhemCrossEntropy': [(dict(type='mmseg.OhemCrossEntropy'),
                                'takes no reduction_override')],
    'mmseg.TverskyLoss': [(dict(type='mmseg.TverskyLoss'),
                           'takes no reduction_override')],
}


def registered_losses() -> set:
    """``scope.Name`` of every loss class the two packages register."""
    found = set()
    for registry, package in ((MMDET_MODELS, mmdet.models.losses),
                              (MMSEG_MODELS, mmseg.models.losses)):
        registry.import_from_location()
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f'{package.__name__}.{module.name}')
        found |= {
            f'{registry.scope}.{name}'
            for name, cls in registry.module_dict.items()
            if cls.__module__.startswith(package.__name__ + '.')
        }
    return found


REGISTERED = registered_losses()


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')


def test_every_registered_loss_is_known():
    registered = REGISTERED
    assert len(registered) >= 39  # mmdet 3.3: 30, mmseg 1.2: 9 (+KLDiv)
    known = set(CASES) | set(REFUSED)
    assert registered - known == set(), (
        'new registered losses: add a case or a refusal to CASES/REFUSED')
    assert known - registered == set(), 'cases of losses no longer registered'


def _run(loss_module, args: tuple, kwargs: dict):
    pred = args[0].clone().requires_grad_()
    value = loss_module(pred, *args[1:], **kwargs)
    value.sum().backward()
    return value.detach(), pred.grad


CASE_IDS = [(name, index, call) for name, cases in CASES.items()
            for index, case in enumerate(cases) for call in case.calls]


@pytest.mark.parametrize('name, index, call', CASE_IDS,
                         ids=[f'{n}-{i}-{c}' for n, i, c in CASE_IDS])
def test_equals_stock_loss_at_init(name, index, call):
    case = CASES[name][index]
    args, kwargs = case.calls[call]()
    stock = MODELS.build(case.cfg)
    wrapped = MODELS.build(dict(type='L2TLoss', loss=case.cfg))
    expected, expected_grad = _run(stock, args, kwargs)
    actual, actual_grad = _run(wrapped, args, kwargs)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(actual_grad, expected_grad, rtol=1e-5,
                               atol=1e-6)
    # The teach step's validation loss (a fresh module: GHM keeps state).
    wrapped = MODELS.build(dict(type='L2TLoss', loss=case.cfg))
    with loss_context(dict(loss=wrapped), stock=True):
        torch.testing.assert_close(_run(wrapped, args, kwargs)[0], expected)


FIRST_CALLS = [(name, index) for name, cases in CASES.items()
               for index in range(len(cases))]


DLN_OPTIONS = dict(default=dict(), top=dict(use_top_probability=True),
                   per_target=dict(normalise_over='target'))


@pytest.mark.parametrize('option', sorted(DLN_OPTIONS))
@pytest.mark.parametrize('name, index', FIRST_CALLS,
                         ids=[f'{n}-{i}' for n, i in FIRST_CALLS])
def test_differentiable_twice_in_lookahead(name, index, option):
    """The teach step differentiates the look-ahead loss twice, with every
    option of the DLN."""
    case = CASES[name][index]
    args, kwargs = next(iter(case.calls.values()))()
    wrapped = MODELS.build(dict(
        type='L2TLoss', loss=case.cfg,
        dln=dict(type='WeightingDLN', **DLN_OPTIONS[option])))
    pred = args[0].clone().requires_grad_()
    with loss_context(dict(loss=wrapped), lookahead=True):
        value = wrapped(pred, *args[1:], **kwargs).sum()
    (grad, ) = torch.autograd.grad(value, pred, create_graph=True)
    grad.square().sum().backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize('option', ['per_target', 'top'])
@pytest.mark.parametrize('name, index', FIRST_CALLS,
                         ids=[f'{n}-{i}' for n, i in FIRST_CALLS])
def test_dln_options_work_for_every_loss(name, index, option):
    """``WeightingDLN``'s options work on every loss kind: the top-class
    probability input reads ``top``, the per-target normalisation groups by
    ``target_groups()``; identity at init, finite once φ is moved."""
    case = CASES[name][index]
    args, kwargs = next(iter(case.calls.values()))()
    expected, _ = _run(MODELS.build(case.cfg), args, kwargs)
    wrapped = MODELS.build(dict(
        type='L2TLoss', loss=case.cfg,
        dln=dict(type='WeightingDLN', **DLN_OPTIONS[option])))
    torch.testing.assert_close(_run(wrapped, args, kwargs)[0], expected,
                               rtol=1e-5, atol=1e-6)
    generator = torch.Generator().manual_seed(index)
    with torch.no_grad():
        for param in wrapped.dln.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
    value, grad = _run(wrapped, args, kwargs)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()


REFUSED_IDS = [(name, index) for name, refusals in REFUSED.items()
               for index in range(len(refusals))]


@pytest.mark.parametrize('name, index', REFUSED_IDS,
                         ids=[f'{n}-{i}' for n, i in REFUSED_IDS])
def test_refused_at_build_with_one_line_reason(name, index):
    cfg, reason = REFUSED[name][index]
    with pytest.raises(ValueError) as error:
        MODELS.build(dict(type='L2TLoss', loss=cfg))
    message = str(error.value)
    assert '\n' not in message
    assert name.split('.')[1] in message and reason in message, message


def test_mask_cross_entropy_rejects_what_mask_cross_entropy_cannot_do():
    case = _mask_case('mmdet')
    (pred, target, labels), _ = case.calls['plain']()
    wrapped = MODELS.build(dict(type='L2TLoss', loss=case.cfg))
    with pytest.raises(ValueError, match="only reduction='mean'"):
        wrapped(pred, target, labels, reduction_override='sum')
    with pytest.raises(ValueError, match='no ignore_index'):
        wrapped(pred, target, labels, ignore_index=255)


def test_qfl_with_a_class_label_target_names_the_detr_pitfall():
    wrapped = MODELS.build(
        dict(type='L2TLoss', loss=dict(type='mmdet.QualityFocalLoss')))
    g = _generator()
    with pytest.raises(ValueError, match='isinstance'):
        wrapped(torch.randn(N, C, generator=g), _labels(g))


def test_trained_dln_reweights_a_structured_target_loss():
    """A taught DLN changes QFL (tuple target) element by element."""
    case = CASES['mmdet.QualityFocalLoss'][0]
    args, kwargs = case.calls['weight']()
    wrapped = MODELS.build(dict(type='L2TLoss', loss=case.cfg))
    stock_value = MODELS.build(case.cfg)(*args, **kwargs)
    with torch.no_grad():
        for param in wrapped.dln.parameters():
            param.normal_()
    assert not torch.allclose(wrapped(*args, **kwargs), stock_value)
