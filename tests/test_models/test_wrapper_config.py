"""Heads that read their loss config before building it see the keys they
read on an L2TLoss config too (l2t_mm/models/wrapper_config.py)."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import l2t_mm  # noqa: F401
from l2t_mm.models.wrapper_config import lift_head_keys
from l2t_mm.utils.derive import wrap_losses
from l2t_mm.utils.launch import lift_l2t_head_keys
from l2t_mm.utils.zoo_config import load_stock_config


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')


def _stock_head(config: str, **changes) -> dict:
    head = load_stock_config(f'mmdet::{config}').model.bbox_head.to_dict()
    head.update(changes)
    return head


def _wrapped(head: dict) -> dict:
    head = copy.deepcopy(head)
    assert wrap_losses(head, 'bbox_head')
    return head


def test_retinanet_head_keeps_its_sigmoid_classifier():
    stock = _stock_head('retinanet/retinanet_r50_fpn_1x_coco.py',
                        num_classes=3, in_channels=8, feat_channels=8,
                        stacked_convs=1)
    wrapped = _wrapped(stock)
    assert wrapped['loss_cls']['use_sigmoid'] is True
    assert 'use_sigmoid' not in wrapped['loss_cls']['loss']
    stock_head, wrapped_head = MODELS.build(stock), MODELS.build(wrapped)
    assert wrapped_head.cls_out_channels == stock_head.cls_out_channels == 3
    assert wrapped_head.loss_cls.use_sigmoid is True
    # Why: with use_sigmoid only inside `loss` AnchorHead reads False and
    # silently builds a softmax classifier with a background channel.
    nested = copy.deepcopy(stock)
    nested['loss_cls'] = dict(type='L2TLoss', loss=stock['loss_cls'])
    assert MODELS.build(nested).cls_out_channels == 4


def test_detr_head_reads_and_rewrites_class_weight_through_the_wrapper():
    stock_cfg = _stock_head('detr/detr_r50_8xb2-150e_coco.py', num_classes=3,
                            embed_dims=16)
    wrapped_cfg = _wrapped(stock_cfg)
    assert (wrapped_cfg['loss_cls']['class_weight'],
            wrapped_cfg['loss_cls']['bg_cls_weight']) == (1.0, 0.1)
    stock, wrapped = MODELS.build(stock_cfg), MODELS.build(wrapped_cfg)
    assert wrapped.bg_cls_weight == stock.bg_cls_weight == 0.1
    torch.testing.assert_close(wrapped.loss_cls.class_weight,
                               stock.loss_cls.class_weight)
    scores = torch.randn(10, 4)
    labels = torch.tensor([0, 1, 2, 3, 3, 3, 3, 3, 3, 3])
    torch.testing.assert_close(
        wrapped.loss_cls(scores, labels, avg_factor=2.7),
        stock.loss_cls(scores, labels, avg_factor=2.7))


def test_hand_written_nested_detr_wrapper_gets_an_error_or_is_lifted():
    stock_cfg = _stock_head('detr/detr_r50_8xb2-150e_coco.py', num_classes=3,
                            embed_dims=16)
    nested = dict(stock_cfg,
                  loss_cls=dict(type='L2TLoss', loss=stock_cfg['loss_cls']))
    with pytest.raises(ValueError, match='bg_cls_weight') as error:
        MODELS.build(copy.deepcopy(nested))
    assert '\n' not in str(error.value)
    # tools/train.py and tools/test.py lift the keys of every L2TLoss.
    cfg = Config(dict(model=nested))
    lift_l2t_head_keys(cfg)
    assert MODELS.build(cfg.model.to_dict()).bg_cls_weight == 0.1


def test_fused_semantic_head_writes_its_deprecated_keys_through():
    head = MODELS.build(
        dict(type='mmdet.FusedSemanticHead', num_ins=1, fusion_level=0,
             num_convs=1, in_channels=4, conv_out_channels=4, num_classes=5,
             ignore_label=7, loss_weight=0.2,
             loss_seg=dict(type='L2TLoss',
                           loss=dict(type='mmdet.CrossEntropyLoss'))))
    assert (head.criterion.ignore_index, head.criterion.loss_weight) == (7,
                                                                         0.2)


def test_mask2former_reads_class_weight_as_an_attribute():
    cfg = load_stock_config(
        'mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py')
    wrapped = wrap_losses(cfg.model)
    assert 'model.decode_head.loss_cls' in wrapped
    loss_cls = cfg.model.decode_head.loss_cls
    assert len(loss_cls.class_weight) == 20  # what Mask2FormerHead reads
    assert 'class_weight' not in loss_cls.loss


def test_conflicting_and_unknown_keys_are_named():
    wrapper = dict(type='L2TLoss', use_sigmoid=False,
                   loss=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True))
    with pytest.raises(ValueError, match="'use_sigmoid' is set both"):
        lift_head_keys(copy.deepcopy(wrapper), 'model.head.loss_cls')
    with pytest.raises(ValueError, match="'use_sigmoid' is set both"):
        MODELS.build(wrapper)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['gamma'\]"):
        MODELS.build(dict(type='L2TLoss', gamma=2.0,
                          loss=dict(type='mmdet.FocalLoss')))
    same = dict(type='L2TLoss', use_sigmoid=True,
                loss=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True))
    lift_head_keys(same)
    assert same == dict(type='L2TLoss', use_sigmoid=True,
                        loss=dict(type='mmdet.CrossEntropyLoss'))
    assert MODELS.build(same).use_sigmoid is True
