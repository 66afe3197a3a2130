# Shapes semantic segmentation data (written by `python
# tools/make_dataset.py`), defined as `shapes_`-prefixed variables only, so
# this file can be a second `_base_` next to a stock mmseg config (mmengine
# forbids duplicate keys among bases):
#
#   _base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
#             '_base_/datasets/shapes_segmentation.py']  # from configs/
#   model = dict(decode_head=dict(num_classes=7),
#                auxiliary_head=dict(num_classes=7))
#   train_dataloader = dict(dataset=_base_.shapes_seg_train_dataset)
#   val_dataloader = dict(dataset=_base_.shapes_seg_val_dataset)
#   test_dataloader = val_dataloader
#   val_evaluator = _base_.shapes_seg_val_evaluator
#   test_evaluator = val_evaluator
#
# (the stock pipelines stay: these dicts have no `pipeline` key; 255 is the
# ignore index, as in mmseg.) A dataset in another folder: change `data_root`
# in each dict. Cityscapes instead: drop this file from `_base_` and keep the
# stock dataloaders (type='CityscapesDataset', data/cityscapes/,
# data_prefix=dict(img_path='leftImg8bit/{train,val}',
# seg_map_path='gtFine/{train,val}'), 19 classes), and build the teach split
# from a held-out part of Cityscapes train in the same form.
# The pipelines below use l2t_mm's LoadCleanLabels and PackCleanLabels.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

shapes_data_root = 'data/shapes/'
shapes_classes = ('background', 'circle', 'square', 'triangle', 'star',
                  'hexagon', 'cross')
shapes_palette = [(0, 0, 0), (220, 20, 60), (0, 130, 230), (255, 160, 0),
                  (150, 60, 200), (0, 170, 110), (120, 120, 120)]

shapes_seg_train_dataset = dict(
    type='BaseSegDataset',
    data_root=shapes_data_root,
    img_suffix='.png',
    seg_map_suffix='.png',
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette))
shapes_seg_val_dataset = dict(
    type='BaseSegDataset',
    data_root=shapes_data_root,
    img_suffix='.png',
    seg_map_suffix='.png',
    data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette))
# Held out for the L2T teacher; never trained on.
shapes_seg_teach_dataset = dict(
    type='BaseSegDataset',
    data_root=shapes_data_root,
    img_suffix='.png',
    seg_map_suffix='.png',
    data_prefix=dict(img_path='img_dir/teach', seg_map_path='ann_dir/teach'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette))
shapes_seg_val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])

# What a segmentor needs to change for these images: their size and the
# class count (background and the six shapes) of its heads.
shapes_seg_crop_size = (256, 256)
shapes_seg_model = dict(
    data_preprocessor=dict(size=shapes_seg_crop_size),
    decode_head=dict(num_classes=7),
    auxiliary_head=dict(num_classes=7))

# Complete dataloaders for 256x256 shapes images (mmseg's dataset base
# configs carry their pipelines too); a model config assigns them, e.g.
# `train_dataloader = _base_.shapes_seg_train_dataloader`.
# LoadCleanLabels/PackCleanLabels carry the clean map of a noisy train image
# (ann_dir_clean/) for the noise diagnostic only; nothing trains on it.
shapes_seg_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadCleanLabels'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackCleanLabels', pack=dict(type='PackSegInputs'))
]
shapes_seg_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
shapes_seg_train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**shapes_seg_train_dataset,
                 pipeline=shapes_seg_train_pipeline))
shapes_seg_val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**shapes_seg_val_dataset, pipeline=shapes_seg_test_pipeline))
# For L2TTeacherHook: held-out images with the training pipeline.
shapes_seg_teach_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**shapes_seg_teach_dataset,
                 pipeline=shapes_seg_train_pipeline))
