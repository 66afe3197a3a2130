"""ClassWeightedCrossEntropyLoss: mmseg's class-weighted cross-entropy where
stock mmseg crashes (labels with the ignore index), and stock's value
everywhere else."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS, init_default_scope

import l2t_mm  # noqa: F401

CLASS_WEIGHT = [0.4, 2.0, 1.0, 3.5]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')


def _logits_and_labels(ignored: bool):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 5, generator=generator)
    labels = torch.randint(4, (2, 5, 5), generator=generator)
    if ignored:
        labels[:, 0] = 255
    return logits, labels


def _loss(type_name: str, **kwargs):
    return MODELS.build(dict(type=type_name, class_weight=CLASS_WEIGHT,
                             **kwargs))


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_is_torchs_weighted_mean_on_labels_with_the_ignore_index(
        avg_non_ignore):
    logits, labels = _logits_and_labels(ignored=True)
    loss = _loss('ClassWeightedCrossEntropyLoss',
                 avg_non_ignore=avg_non_ignore)
    expected = F.cross_entropy(logits, labels,
                               weight=torch.tensor(CLASS_WEIGHT),
                               ignore_index=255)
    torch.testing.assert_close(loss(logits, labels, ignore_index=255),
                               expected)
    # Why the class exists: stock mmseg looks up class_weight[255].
    stock = _loss('CrossEntropyLoss', avg_non_ignore=avg_non_ignore)
    with pytest.raises(IndexError):
        stock(logits, labels, ignore_index=255)


# Ignore indices stock runs with: 255 on labels without it, a class index
# (its pixels count under avg_non_ignore=False), and -1, which stock's
# class_weight[label] reads from the end.
IGNORED_LABELS = {'255 absent': (255, None), 'class 2': (2, 2),
                  'negative': (-1, -1)}


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('ignored', list(IGNORED_LABELS))
@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('call', [
    dict(), dict(avg_factor=7.0), dict(reduction_override='sum'),
    dict(reduction_override='none'), dict(weight='pixels')
])
def test_equals_stock_wherever_stock_runs(avg_non_ignore, call, ignored,
                                          dtype):
    logits, labels = _logits_and_labels(ignored=False)
    logits = logits.to(dtype)
    ignore_index, written = IGNORED_LABELS[ignored]
    if written is not None:
        labels[:, 0] = written
    if call.get('weight') == 'pixels':
        call = dict(weight=torch.rand(2, 5, 5,
                                      generator=torch.Generator()
                                      .manual_seed(1)))
    ours = _loss('ClassWeightedCrossEntropyLoss',
                 avg_non_ignore=avg_non_ignore)
    stock = _loss('CrossEntropyLoss', avg_non_ignore=avg_non_ignore)
    expected = stock(logits, labels, ignore_index=ignore_index, **call)
    actual = ours(logits, labels, ignore_index=ignore_index, **call)
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual, expected)


def test_without_class_weight_it_is_stock():
    logits, labels = _logits_and_labels(ignored=True)
    ours = MODELS.build(dict(type='ClassWeightedCrossEntropyLoss'))
    stock = MODELS.build(dict(type='CrossEntropyLoss'))
    torch.testing.assert_close(ours(logits, labels, ignore_index=255),
                               stock(logits, labels, ignore_index=255))


def test_l2t_loss_over_the_stock_loss_runs_where_the_stock_loss_stops():
    # L2TLoss reads the stock loss per element and divides by the same
    # class_weight_denominator, so wrapping needs no subclass.
    logits, labels = _logits_and_labels(ignored=True)
    wrapped = MODELS.build(dict(
        type='L2TLoss',
        loss=dict(type='CrossEntropyLoss', class_weight=CLASS_WEIGHT)))
    ours = _loss('ClassWeightedCrossEntropyLoss')
    torch.testing.assert_close(wrapped(logits, labels, ignore_index=255),
                               ours(logits, labels, ignore_index=255))
