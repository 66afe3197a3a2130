"""tools/zoo_sweep.py: stock configs train and teach with wrapped losses."""
import json

from tool_helpers import run_tool

from l2t_mm.utils.zoo_config import (load_stock_config, set_num_classes,
                                     shrink_resnet, strip_pretrained,
                                     sweep_config)

# A representative sample (one per kind and per special case), sized to
# train in about a minute on 2 idle CPU cores: config -> (status, DLNs or the
# words of the refusal). The whole zoo sample: README, "Model zoo sweep".
SAMPLE = {
    # one-stage: AnchorHead reads use_sigmoid from the wrapper; FocalLoss
    'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py': ('pass', 2),
    # one-stage: QualityFocalLoss (labels, scores) and DistributionFocalLoss
    'mmdet::gfl/gfl_r50_fpn_1x_coco.py': ('pass', 3),
    # one-stage: GaussianFocalLoss heatmap, L1 size and offset
    'mmdet::centernet/centernet_r18_8xb16-crop512-140e_coco.py': ('pass', 3),
    # transformer: DETRHead rewrites class_weight and bg_cls_weight
    'mmdet::detr/detr_r18_8xb2-500e_coco.py': ('pass', 3),
    # instance: RPN, RoI box head and the mask head's use_mask CE
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py': ('pass', 5),
    # semantic, decode and auxiliary heads
    'mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py': ('pass', 2),
    # semantic, matched sets: Mask2FormerHead reads loss_cls.class_weight
    'mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py':
    ('pass', 3),
    # refused at build time: a loss with two element sets
    'mmdet::seesaw_loss/mask-rcnn_r50_fpn_seesaw-loss_random-ms-2x_lvis-v1'
    '.py': ('refused', 'SeesawLoss cannot be wrapped: it returns two loss '
            'terms'),
}


def test_sample_passes_or_is_refused_with_its_reason(shapes_dataset,
                                                     tmp_path):
    result = run_tool('zoo_sweep.py', '--data-root', str(shapes_dataset),
                      '--work-dir', str(tmp_path), '--image-size', '64',
                      *SAMPLE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[
        -3000:]
    report = json.loads((tmp_path / 'zoo_sweep.json').read_text())
    for row in report['results']:
        status, expected = SAMPLE[row['config']]
        assert row['status'] == status, row
        if status == 'pass':
            norms = row['meta_grad_norms']
            assert len(norms) == expected and all(
                0 < norm < float('inf') for norm in norms.values()), row
        else:
            assert expected in row['reason'] and '\n' not in row['reason']
    assert '| mmdet::detr/detr_r18_8xb2-500e_coco.py | transformer | pass |' \
        in result.stdout
    assert report['coverage']['instance'] == dict(passed=1, refused=1,
                                                  failed=0, total=2)


def test_resnet50_becomes_resnet18_with_the_neck_channels():
    cfg = load_stock_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco'
                            '.py')
    assert shrink_resnet(cfg.model)
    assert cfg.model.backbone.depth == 18
    assert cfg.model.neck.in_channels == [64, 128, 256, 512]
    assert cfg.model.rpn_head.in_channels == 256  # FPN output, unchanged
    seg = load_stock_config(
        'mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py')
    assert shrink_resnet(seg.model)
    assert (seg.model.decode_head.in_channels,
            seg.model.auxiliary_head.in_channels) == (512, 256)
    assert not shrink_resnet(seg.model)  # already ResNet-18


def test_nothing_pretrained_is_left():
    cfg = load_stock_config(
        'mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py')
    assert 'Pretrained' in repr(cfg.model.to_dict())
    strip_pretrained(cfg)
    model = repr(cfg.model.to_dict())
    assert 'Pretrained' not in model and 'https://' not in model


def test_class_counts_and_class_weights_follow_the_dataset():
    cfg = load_stock_config(
        'mmseg::mask2former/mask2former_r50_8xb2-90k_cityscapes-512x1024.py')
    set_num_classes(cfg.model, 7)
    head = cfg.model.decode_head
    assert head.num_classes == 7
    assert head.loss_cls.class_weight == [1.0] * 7 + [0.1]
    rpn = load_stock_config(
        'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py').model
    set_num_classes(rpn, 6)
    assert rpn.roi_head.bbox_head.num_classes == 6


def test_sweep_config_is_a_small_offline_l2t_run(tmp_path):
    cfg = load_stock_config('mmdet::yolox/yolox_tiny_8xb8-300e_coco.py')
    sweep_config(cfg, 'detection', 'data/shapes', str(tmp_path), 96, 2)
    assert cfg.model.bbox_head.loss_cls.type == 'L2TLoss'
    assert 'batch_augments' not in cfg.model.data_preprocessor
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'
    assert {'type': 'Resize', 'scale': (96, 96),
            'keep_ratio': True} in cfg.train_dataloader.dataset.pipeline
    [hook] = cfg.custom_hooks
    assert (hook.type, hook.interval) == ('L2TTeacherHook', 1)
    assert cfg.train_cfg.max_iters == 2 and cfg.val_dataloader is None
    assert cfg.default_hooks.checkpoint is None and cfg.load_from is None
