# The schedule every detection baseline on the shapes data shares: 600
# iterations from scratch, warm-up, iteration-based logs, one checkpoint at
# the end. Keys the stock mmdet configs also set are `shapes_`-prefixed
# variables (mmengine forbids duplicate keys among bases); a detector's
# config assigns them and adds its own decay after the warm-up:
#
#   train_cfg = dict(_delete_=True, **_base_.shapes_det_train_cfg)
#   param_scheduler = [_base_.shapes_det_warmup, dict(type='MultiStepLR', ...)]
#   default_hooks = _base_.shapes_det_default_hooks
#   log_processor = _base_.shapes_det_log_processor

# 600 iterations: the L2T twins (YOLOv3 about 1.2 s/iter, YOLOX-tiny about
# 0.7 on 2 CPU cores, measured) train and evaluate within 15 minutes.
max_iters = 600
shapes_det_train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
shapes_det_warmup = dict(
    type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100)
shapes_det_default_hooks = dict(
    # Iteration-based schedule: metrics are logged against the iteration.
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1))
shapes_det_log_processor = dict(by_epoch=False)
