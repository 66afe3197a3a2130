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
    './_base_/datasets/shapes_detection.py',
    './_base_/schedules/shapes_detection.py'
]

input_size = (256, 256)
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
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    _base_.shapes_det_warmup,
    dict(type='MultiStepLR', by_epoch=False, milestones=[450, 550],
         gamma=0.1)
]
default_hooks = _base_.shapes_det_default_hooks
log_processor = _base_.shapes_det_log_processor
