# FCN (ResNet-18-d8) on the built-in shapes data: the baseline twin of
# configs/fcn_l2t.py. Same data, schedule and conventions as
# configs/deeplabv3plus_baseline.py; only the stock model differs.
_base_ = [
    'mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    './_base_/datasets/shapes_segmentation.py',
    './_base_/schedules/shapes_segmentation.py'
]

crop_size = _base_.shapes_seg_crop_size
model = dict(
    _base_.shapes_seg_model,
    pretrained=None)  # stock: ImageNet weights from the web

train_dataloader = _base_.shapes_seg_train_dataloader
val_dataloader = _base_.shapes_seg_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_seg_val_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.shapes_seg_train_cfg
param_scheduler = _base_.shapes_seg_param_scheduler
default_hooks = _base_.shapes_seg_default_hooks
