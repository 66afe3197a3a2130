# Shapes detection data (written by `python tools/make_dataset.py`), defined as
# `shapes_`-prefixed variables only, so this file can be a second `_base_` next
# to a stock mmdet config (mmengine forbids duplicate keys among bases):
#
#   _base_ = ['mmdet::yolox/yolox_s_8xb8-300e_coco.py',
#             '_base_/datasets/shapes_detection.py']  # from configs/
#   model = dict(bbox_head=dict(num_classes=6))
#   train_dataloader = dict(  # YOLOX wraps it in a MultiImageMixDataset
#       dataset=dict(dataset=_base_.shapes_det_train_dataset))
#   val_dataloader = dict(dataset=_base_.shapes_det_val_dataset)
#   test_dataloader = val_dataloader
#   val_evaluator = _base_.shapes_det_val_evaluator
#   test_evaluator = val_evaluator
#
# (the stock pipelines stay: these dicts have no `pipeline` key.) A config
# with its own pipelines builds its dataloaders from the loader settings
# below, as configs/yolo_baseline.py does:
#
#   train_dataloader = dict(
#       _delete_=True, **_base_.shapes_det_train_loader,
#       dataset=dict(**_base_.shapes_det_train_dataset,
#                    pipeline=train_pipeline))
#
# A dataset
# in another folder: change `data_root` in each dict and the evaluator's
# `ann_file`. COCO instead: drop this file from `_base_` and keep the stock
# dataloaders (data/coco/, annotations/instances_{train,val}2017.json,
# data_prefix=dict(img='{train,val}2017/'), 80 classes), and build the teach
# split from a held-out part of COCO train in the same form.
# The datasets below are l2t_mm's CocoWithCleanLabels.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

shapes_data_root = 'data/shapes/'
shapes_classes = ('circle', 'square', 'triangle', 'star', 'hexagon', 'cross')
shapes_palette = [(220, 20, 60), (0, 130, 230), (255, 160, 0), (150, 60, 200),
                  (0, 170, 110), (120, 120, 120)]

# CocoWithCleanLabels: CocoDataset that also keeps each noisy box's clean
# class (`clean_category_id`, written by tools/make_dataset.py), for the
# noise diagnostic only; with a training pipeline that does not load them
# (LoadCleanLabels) it is exactly CocoDataset.
shapes_det_train_dataset = dict(
    type='CocoWithCleanLabels',
    data_root=shapes_data_root,
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='img_dir/train/'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette),
    filter_cfg=dict(filter_empty_gt=True, min_size=32))
shapes_det_val_dataset = dict(
    type='CocoDataset',
    data_root=shapes_data_root,
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='img_dir/val/'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette),
    test_mode=True)
# Held out for the L2T teacher; never trained on.
shapes_det_teach_dataset = dict(
    type='CocoDataset',
    data_root=shapes_data_root,
    ann_file='annotations/instances_teach.json',
    data_prefix=dict(img='img_dir/teach/'),
    metainfo=dict(classes=shapes_classes, palette=shapes_palette))
shapes_det_val_evaluator = dict(
    type='CocoMetric',
    ann_file=shapes_data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)

# Loader settings (no dataset: a detector's pipeline goes with it).
shapes_det_train_loader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True))
shapes_det_val_loader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False))
# For L2TTeacherHook: the teach split with the detector's training pipeline.
shapes_det_teach_loader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True))
