"""DynamicLossHead on a real YOLOv3 head: identity at init, re-weighting,
inference untouched, and a teach step through it."""
import copy

import pytest
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from tool_helpers import REPO
from toy import sgd_step

from l2t_mm.engine.teach_step import partition_parameters, teach_step
from l2t_mm.models import LSTMTeacher, loss_context
from l2t_mm.models.weight_record import DLNRecord


@pytest.fixture(scope='module')
def detector_and_batch():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = Config.fromfile(str(REPO / 'configs' / 'yolo_baseline.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.bbox_head = dict(type='DynamicLossHead',
                               head=cfg.model.bbox_head)
    model = MODELS.build(model_cfg)
    model.init_weights()
    packed = demo_mm_inputs(2, [[3, 128, 128]] * 2, num_classes=6)
    data = model.data_preprocessor(packed, True)
    return model, data


def _head_losses(model, data, stock: bool):
    features = model.extract_feat(data['inputs'])
    head = model.bbox_head.head if stock else model.bbox_head
    return head.loss(features, data['data_samples'])


def test_identity_at_init(detector_and_batch):
    model, data = detector_and_batch
    torch.manual_seed(1)
    stock = _head_losses(model, data, stock=True)
    torch.manual_seed(1)
    wrapped = _head_losses(model, data, stock=False)
    assert set(stock) == {'loss_cls', 'loss_conf', 'loss_xy', 'loss_wh'}
    weights = {'weight_cls', 'weight_conf', 'weight_xy', 'weight_wh'}
    assert set(wrapped) == set(stock) | weights
    for name in weights:
        assert wrapped[name].item() == 1.0
    for name in stock:
        for ours, theirs in zip(wrapped[name], stock[name]):
            torch.testing.assert_close(ours, theirs)


def test_trained_dln_reweights_terms_with_mean_one(detector_and_batch):
    model, data = detector_and_batch
    dln = model.bbox_head.dln
    saved = copy.deepcopy(dln.state_dict())
    with torch.no_grad():
        dln.mlp.fc2.weight.normal_()
    record = DLNRecord()
    try:
        stock = _head_losses(model, data, stock=True)
        with loss_context(dict(bbox_head=model.bbox_head),
                          records=dict(bbox_head=record)):
            wrapped = _head_losses(model, data, stock=False)
        ratios = torch.stack([
            sum(w.sum() for w in wrapped[name]) /
            sum(s.sum() for s in stock[name]) for name in sorted(stock)
        ])
        assert not torch.allclose(ratios, torch.ones(4))
        torch.testing.assert_close(ratios.mean(), torch.tensor(1.0))
        summary = record.summary()
        assert set(summary) == set(stock)
        for name in stock:  # each term's weight, as the loss dict has it
            torch.testing.assert_close(
                summary[name], wrapped[name.replace('loss', 'weight')])
        assert 0 < record.hidden_slope() <= 1
    finally:
        dln.load_state_dict(saved)


def test_inference_and_attributes_pass_through(detector_and_batch):
    model, data = detector_and_batch
    assert model.bbox_head.num_classes == 6
    model.eval()
    with torch.no_grad():
        features = model.extract_feat(data['inputs'])
        ours = model.bbox_head.predict(features, data['data_samples'])
        theirs = model.bbox_head.head.predict(features, data['data_samples'])
    model.train()
    torch.testing.assert_close(ours[0].bboxes, theirs[0].bboxes)


def test_teach_step_through_a_wrapped_head(detector_and_batch):
    model, data = detector_and_batch
    partition = partition_parameters(model, 'head')
    assert partition.student and all(
        n.startswith('bbox_head.head.') for n in partition.student)
    assert all(n.startswith('bbox_head.dln.') for n in partition.dln)
    numel = sum(p.numel() for n, p in model.named_parameters()
                if n in partition.dln)
    teacher = LSTMTeacher(numel)
    optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-3)
    phi = {n: p.clone() for n, p in model.named_parameters()
           if n in partition.dln}
    result = teach_step(model, partition, teacher, optimizer, data, data,
                        sgd_step(model, partition, 1e-3), dln_lr=0.1,
                        progress=0.1)
    assert result.applied, result.skip_reason
    assert result.meta_grad_norm > 0
    assert result.zero_meta_grad_modules == []
    params = dict(model.named_parameters())
    assert any(not torch.equal(params[n], v) for n, v in phi.items())


def test_too_many_terms_names_the_key():
    init_default_scope('mmdet')
    dln = MODELS.build(dict(type='TermWeightingDLN', max_terms=2))
    with pytest.raises(ValueError, match='max_terms=3'):
        dln(torch.ones(3), 0.0, ['a', 'b', 'c'])
