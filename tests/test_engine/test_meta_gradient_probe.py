"""The meta-gradient probe on a real segmentor: it reads, never writes."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, MODELS, init_default_scope
from tool_helpers import REPO

import l2t_mm  # noqa: F401
from l2t_mm.engine import meta_gradient_probe
from l2t_mm.engine.meta_gradient_probe import (mean_pairwise_cosine,
                                               probe_meta_gradients,
                                               step_noise_auc)
from l2t_mm.engine.student_step import StudentStep
from l2t_mm.engine.teach_step import MetaObjective, partition_parameters


@pytest.fixture(scope='module')
def segmentor(noisy_shapes_dataset):
    """FCN with L2T losses, its partition and two preprocessed batches of
    noisy labels with their clean ones."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = Config.fromfile(str(REPO / 'configs' / 'fcn_l2t.py'))
    model = MODELS.build(cfg.model)
    model.train()
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = f'{noisy_shapes_dataset}/'
    dataset = DATASETS.build(dataset)
    batches = [model.data_preprocessor(
        pseudo_collate([dataset[index], dataset[index + 1]]), True)
        for index in (0, 2)]
    return model, partition_parameters(model, 'head'), batches


def _state(model):
    return {name: value.clone() for name, value in
            list(model.named_parameters()) + list(model.named_buffers())}


def test_probe_leaves_every_parameter_and_buffer_as_it_was(segmentor):
    model, partition, batches = segmentor
    before = _state(model)
    params = dict(model.named_parameters())
    step = StudentStep(None, {name: params[name]
                              for name in partition.student}, lr=0.01)
    report = probe_meta_gradients(
        model, partition, step, [(batches[0], batches[1]),
                                 (batches[1], batches[0])],
        step_size=0.01, progress=0.0)
    for name, value in _state(model).items():
        assert torch.equal(value, before[name]), name
    assert len(report.batches) == 2
    phi_size = sum(params[name].numel() for name in partition.dln)
    assert all(batch.meta_grad.shape == (phi_size, )
               for batch in report.batches)
    assert set(report.aggregate_auc) == {'sum', 'vote'}
    assert -1 <= report.mean_cosine <= 1


def _probe_first_pair(segmentor, objective: MetaObjective):
    model, partition, batches = segmentor
    params = dict(model.named_parameters())
    step = StudentStep(None, {name: params[name]
                              for name in partition.student}, lr=0.01)
    torch.manual_seed(1)  # the same dropout masks in the heads
    return probe_meta_gradients(
        model, partition, step, [(batches[0], batches[1])], step_size=0.01,
        progress=0.0, objective=objective).batches[0]


def test_probe_follows_the_class_mean_validation_loss(segmentor):
    stock, class_mean = (
        _probe_first_pair(segmentor, MetaObjective(class_mean=flag))
        for flag in (False, True))
    # Another ℓ_val: another value (the pixel mean is mostly background)
    # and another direction for φ.
    assert class_mean.val_loss != pytest.approx(stock.val_loss, rel=1e-3)
    assert not torch.allclose(class_mean.meta_grad, stock.meta_grad)


def test_probe_follows_the_direction_only_lookahead(segmentor):
    probed = [
        _probe_first_pair(segmentor, MetaObjective(direction_only=flag))
        for flag in (False, True)
    ]
    # The same look-ahead step (so the same ℓ_val), another meta-gradient.
    assert probed[1].val_loss == probed[0].val_loss
    assert not torch.allclose(probed[1].meta_grad, probed[0].meta_grad)


def test_opposite_steps_rank_the_corrupted_pixels_oppositely(segmentor):
    model, partition, batches = segmentor
    params = dict(model.named_parameters())
    direction = torch.randn(sum(params[name].numel()
                                for name in partition.dln),
                            generator=torch.Generator().manual_seed(0))
    # Small steps: the weights move linearly in φ, so -d mirrors +d (with
    # the same dropout masks in the heads).
    torch.manual_seed(1)
    up = step_noise_auc(model, partition, direction, 1e-3, batches[0], 0.0)
    torch.manual_seed(1)
    down = step_noise_auc(model, partition, -direction, 1e-3, batches[0], 0.0)
    assert set(up) == {'decode_head.loss_decode',
                       'auxiliary_head.loss_decode'}
    for name in up:
        # The same weights, reflected: each side of 0.5 by the same amount.
        assert (up[name] - 0.5) * (down[name] - 0.5) < 0, name
        assert up[name] - 0.5 == pytest.approx(0.5 - down[name], abs=0.01)


def test_phi_is_unchanged_when_the_diagnostic_fails(segmentor, monkeypatch):
    model, partition, batches = segmentor
    before = _state(model)

    def fail(*args, **kwargs):
        raise RuntimeError('diagnostic failed')

    monkeypatch.setattr(meta_gradient_probe, 'noise_reports', fail)
    params = dict(model.named_parameters())
    direction = torch.ones(sum(params[name].numel()
                               for name in partition.dln))
    with pytest.raises(RuntimeError, match='diagnostic failed'):
        step_noise_auc(model, partition, direction, 0.5, batches[0], 0.0)
    for name, value in _state(model).items():
        assert torch.equal(value, before[name]), name


def test_mean_pairwise_cosine_of_opposite_and_equal_directions():
    direction = torch.tensor([1.0, -2.0, 0.5])
    assert mean_pairwise_cosine([direction, -3 * direction]) == \
        pytest.approx(-1.0)
    assert mean_pairwise_cosine([direction, 2 * direction, direction]) == \
        pytest.approx(1.0)
    # Three pairs: (a, b) = 1, (a, -a) = -1, (b, -a) = -1.
    assert mean_pairwise_cosine([direction, 2 * direction, -direction]) == \
        pytest.approx(-1 / 3)
    assert math.isnan(mean_pairwise_cosine([direction]))
