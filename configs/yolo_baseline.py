# YOLOv3-MobileNetV2 on the built-in shapes data: the baseline twin of
# configs/yolo_l2t.py. Everything but the data and the schedule is the stock
# mmdet config. Trained from scratch (no weights are downloaded); pass
# `--cfg-options load_from=...` to start from a checkpoint.
#
# Other data: `python tools/train.py configs/yolo_baseline.py --data-root DIR`
# for another shapes folder; for COCO replace the dataloaders below with the
# stock ones (drop the shapes base) and set num_classes=80.
_base_ = [
    'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py',
    './_base_/datasets/shapes_detection.py'
]
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

input_size = (256, 256)
max_iters = 600
model = dict(
    backbone=dict(init_cfg=None),  # stock: ImageNet weights from the web
    bbox_head=dict(
        num_classes=6,
        # Shapes are 12-96 px on 256 px images.
        anchor_generator=dict(base_sizes=[[(56, 56), (72, 72), (96, 96)],
                                          [(28, 28), (36, 36), (46, 46)],
                                          [(12, 12), (16, 16), (22, 22)]])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='LoadCleanLabels'),  # noise diagnostic only (L2T logs)
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=input_size, keep_ratio=True),
    dict(type='PackCleanLabels', pack=dict(type='PackDetInputs'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=input_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_base_.shapes_det_train_dataset, pipeline=train_pipeline))
val_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_base_.shapes_det_val_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_det_val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=False, milestones=[450, 550],
         gamma=0.1)
]
default_hooks = dict(
    # Iteration-based schedule: metrics are logged against the iteration.
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
