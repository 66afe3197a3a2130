# The schedule every segmentation baseline on the shapes data shares: 300
# iterations from scratch, one validation and one checkpoint at the end.
# Keys the stock mmseg configs also set are `shapes_`-prefixed variables
# (mmengine forbids duplicate keys among bases); a segmentor's config
# assigns them:
#
#   train_cfg = _base_.shapes_seg_train_cfg
#   param_scheduler = _base_.shapes_seg_param_scheduler
#   default_hooks = _base_.shapes_seg_default_hooks

# 300 iterations: the L2T twins (DeepLabV3+ about 2.5 s/iter, FCN about 2.2
# on 2 CPU cores, measured) train and evaluate within 15 minutes.
max_iters = 300
shapes_seg_train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
shapes_seg_param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
shapes_seg_default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
