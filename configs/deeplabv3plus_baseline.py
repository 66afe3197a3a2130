# DeepLabV3+ (ResNet-18-d8) on the built-in shapes data: the baseline twin of
# configs/deeplabv3plus_l2t.py. The model is the stock mmseg one (SyncBN
# becomes BN on CPU in tools/train.py), trained from scratch: no weights are
# downloaded; pass `--cfg-options load_from=...` to start from a checkpoint.
# Other data: `--data-root DIR` for another shapes folder; for Cityscapes or
# ADE20K keep the stock dataloaders (drop the shapes base) and num_classes.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    './_base_/datasets/shapes_segmentation.py'
]
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

crop_size = (256, 256)
# 300 iterations: the L2T twin (about 2.5 s/iter on 2 CPU cores, measured)
# must train and evaluate within 15 minutes.
max_iters = 300
model = dict(
    pretrained=None,  # stock: ImageNet weights from the web
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=7),
    auxiliary_head=dict(num_classes=7))

train_dataloader = _base_.shapes_seg_train_dataloader
val_dataloader = _base_.shapes_seg_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.shapes_seg_val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
