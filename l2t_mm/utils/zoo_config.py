"""Turn a stock mmdet/mmseg config into a tiny L2T run on the shapes data:
what ``tools/zoo_sweep.py`` trains for each config of the model zoo.

Only what makes the run small and offline changes: no pretrained weights,
ResNet-50/101 backbones at depth 18, the shapes dataset at a small image
size with a plain pipeline (no mosaic, no multi-scale batches), a few
iterations without evaluation or checkpoints. The model's heads and losses
stay stock, every loss wrapped in ``L2TLoss``, and ``L2TTeacherHook``
teaches after every iteration.
"""
import importlib
import os.path as osp
from typing import Optional

from mmengine.config import Config

from ..datasets import SHAPES_CLASSES
from .derive import wrap_losses
from .launch import iter_dicts, replace_sync_bn

DETECTION_CLASSES = SHAPES_CLASSES
SEGMENTATION_CLASSES = ('background', ) + SHAPES_CLASSES
RESNETS = ('ResNet', 'ResNetV1c', 'ResNetV1d')
# Stage widths of ResNet-50/101/152 -> ResNet-18 (basic blocks).
RESNET18_CHANNELS = {256: 64, 512: 128, 1024: 256, 2048: 512}


def load_stock_config(name: str) -> Config:
    """``'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'`` from the config
    folder installed with the package (``<package>/.mim/configs``)."""
    scope, separator, relative = name.partition('::')
    if not separator or scope not in ('mmdet', 'mmseg'):
        raise ValueError(f'{name!r}: stock configs are named '
                         '"mmdet::<folder>/<file>.py" or "mmseg::..."')
    package = importlib.import_module(scope)
    path = osp.join(osp.dirname(package.__file__), '.mim', 'configs',
                    relative)
    if not osp.isfile(path):
        raise ValueError(f'{name!r}: no such config in {scope} ({path})')
    return Config.fromfile(path)


def strip_pretrained(cfg: Config) -> None:
    """Random initialisation only: nothing may be downloaded."""
    cfg.load_from = None
    for node in iter_dicts(cfg.model):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        elif isinstance(init_cfg, list):
            node['init_cfg'] = [
                item for item in init_cfg if item.get('type') != 'Pretrained'
            ] or None
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None


def shrink_resnet(model: dict) -> bool:
    """ResNet-50/101/152 -> ResNet-18, and the channels of what reads the
    backbone (the neck, or the heads when there is none). True if shrunk."""
    backbone = model.get('backbone') or {}
    if (str(backbone.get('type', '')).split('.')[-1] not in RESNETS
            or backbone.get('depth') in (18, 34)):
        return False
    backbone['depth'] = 18
    if model.get('neck'):
        readers = [model['neck']]
    else:
        readers = [model.get('decode_head'), model.get('auxiliary_head')]
    for reader in readers:
        for node in reader if isinstance(reader, list) else [reader]:
            for key in ('in_channels', 'c1_in_channels'):
                if node and key in node:
                    node[key] = _resnet18_channels(node[key])
    return True


def _resnet18_channels(channels):
    if isinstance(channels, (list, tuple)):
        return [RESNET18_CHANNELS.get(value, value) for value in channels]
    return RESNET18_CHANNELS.get(channels, channels)


def set_num_classes(model: dict, num_classes: int) -> None:
    """Every head's ``num_classes`` (RPN's single class stays) and the
    per-class ``class_weight`` lists sized by the old count (Mask2Former:
    one weight per class plus the no-object class)."""
    for node in iter_dicts(model):
        old = node.get('num_classes')
        if not isinstance(old, int) or old <= 1:
            continue
        node['num_classes'] = num_classes
        for inner in iter_dicts(node):
            weights = inner.get('class_weight')
            if isinstance(weights, list) and len(weights) in (old, old + 1):
                inner['class_weight'] = weights[:1] * num_classes + \
                    weights[old:]


def has_mask_head(model: dict) -> bool:
    return any('mask_head' in node for node in iter_dicts(model))


def shapes_dataloader(task: str, data_root: str, split: str,
                      image_size: int, with_mask: bool = False,
                      batch_size: int = 2) -> dict:
    """The shapes ``split`` (written by tools/make_dataset.py) at
    ``image_size`` with a plain training pipeline."""
    scale = (image_size, image_size)
    if task == 'detection':
        dataset = dict(
            type='CocoDataset', data_root=data_root,
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'img_dir/{split}/'),
            metainfo=dict(classes=DETECTION_CLASSES),
            filter_cfg=dict(filter_empty_gt=True),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True,
                     with_mask=with_mask),
                dict(type='Resize', scale=scale, keep_ratio=True),
                dict(type='PackDetInputs')
            ])
    else:
        dataset = dict(
            type='BaseSegDataset', data_root=data_root, img_suffix='.png',
            seg_map_suffix='.png',
            data_prefix=dict(img_path=f'img_dir/{split}',
                             seg_map_path=f'ann_dir/{split}'),
            metainfo=dict(classes=SEGMENTATION_CLASSES),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='Resize', scale=scale, keep_ratio=True),
                dict(type='PackSegInputs')
            ])
    return dict(batch_size=batch_size, num_workers=0,
                persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dataset)


def sweep_config(cfg: Config, task: str, data_root: str, work_dir: str,
                 image_size: int = 128, iters: int = 2,
                 name: Optional[str] = None) -> Config:
    """The stock ``cfg`` as a tiny L2T run, in place (module docstring)."""
    model = cfg.model
    strip_pretrained(cfg)
    shrink_resnet(model)
    replace_sync_bn(model)
    set_num_classes(model, len(DETECTION_CLASSES if task == 'detection'
                               else SEGMENTATION_CLASSES))
    preprocessor = model.get('data_preprocessor') or {}
    if 'size' in preprocessor:  # mmseg pads every batch to the crop size
        preprocessor['size'] = (image_size, image_size)
    preprocessor.pop('batch_augments', None)  # YOLOX's multi-scale batches
    if not wrap_losses(model):
        raise ValueError('the model config has no loss to wrap')
    with_mask = task == 'detection' and has_mask_head(model)
    cfg.train_dataloader = shapes_dataloader(task, data_root, 'train',
                                             image_size, with_mask)
    cfg.custom_hooks = [
        dict(type='L2TTeacherHook',
             teach_dataloader=shapes_dataloader(task, data_root, 'teach',
                                                image_size, with_mask),
             interval=1, lookahead_params='head')
    ]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=iters + 1)
    for stage in ('val', 'test'):
        for suffix in ('dataloader', 'cfg', 'evaluator'):
            cfg[f'{stage}_{suffix}'] = None
    cfg.param_scheduler = None
    hooks = dict(cfg.get('default_hooks') or {})
    hooks.pop('visualization', None)  # draws validation results only
    cfg.default_hooks = dict(
        hooks, checkpoint=None,
        logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False))
    cfg.log_processor = dict(by_epoch=False)
    cfg.log_level = 'WARNING'
    cfg.visualizer = dict(type='Visualizer', name=name or work_dir,
                          vis_backends=[dict(type='LocalVisBackend')])
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') == 'AmpOptimWrapper':  # CUDA only
        wrapper.type = 'OptimWrapper'
        wrapper.pop('loss_scale', None)
        wrapper.pop('dtype', None)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.resume = False
    cfg.randomness = dict(seed=0)
    cfg.custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)
    return cfg
