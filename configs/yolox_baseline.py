# YOLOX-tiny on the built-in shapes data: the baseline twin of
# configs/yolox_l2t.py. Stock model, stock SyncNorm/EMA hooks and batch-level
# random resize; trained from scratch with a short iteration schedule, so
# Mosaic/MixUp and the epoch-based YOLOXModeSwitchHook are left out.
# Other data: `--data-root DIR` for another shapes folder; for COCO keep the
# stock dataloaders (drop the shapes base) and num_classes=80.
_base_ = [
    'mmdet::yolox/yolox_tiny_8xb8-300e_coco.py',
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_detection.py'
]

img_scale = (256, 256)
model = dict(
    data_preprocessor=dict(batch_augments=[
        dict(type='BatchSyncRandomResize', random_size_range=(224, 288),
             size_divisor=32, interval=10)
    ]),
    bbox_head=dict(num_classes=6))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadCleanLabels'),  # noise diagnostic only (L2T logs)
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', pad_to_square=True,
         pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackCleanLabels', pack=dict(type='PackDetInputs'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', pad_to_square=True,
         pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    _delete_=True,
    **_base_.shapes_det_train_loader,
    dataset=dict(**_base_.shapes_det_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    **_base_.shapes_det_val_loader,
    dataset=dict(**_base_.shapes_det_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_det_val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, **_base_.shapes_det_train_cfg)
param_scheduler = [
    _base_.shapes_det_warmup,
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100,
         end=_base_.max_iters, T_max=_base_.max_iters - 100, eta_min=5e-4)
]
yolox_hooks = [
    dict(type='SyncNormHook', priority=48),
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001,
         update_buffers=True, priority=49)
]
custom_hooks = yolox_hooks
default_hooks = _base_.shapes_det_default_hooks
log_processor = _base_.shapes_det_log_processor
