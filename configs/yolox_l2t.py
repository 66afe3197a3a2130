# YOLOX-tiny taught by L2T-DLN: configs/yolox_baseline.py with its four
# stock losses (cls, bbox IoU, obj, l1) wrapped in L2TLoss and the teacher
# hook added next to the stock YOLOX hooks.
_base_ = ['./yolox_baseline.py']
# L2TLoss, DynamicLossHead and L2TTeacherHook live in l2t_mm; set here
# too, so the import stays when the bases above are swapped.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

stock_head = _base_.model.bbox_head
model = dict(
    bbox_head=dict(
        loss_cls=dict(_delete_=True, type='L2TLoss',
                      loss=stock_head.loss_cls),
        loss_bbox=dict(_delete_=True, type='L2TLoss',
                       loss=stock_head.loss_bbox),
        loss_obj=dict(_delete_=True, type='L2TLoss',
                      loss=stock_head.loss_obj),
        loss_l1=dict(_delete_=True, type='L2TLoss',
                     loss=stock_head.loss_l1)))

custom_hooks = [
    *_base_.yolox_hooks,
    dict(
        type='L2TTeacherHook',
        # The held-out `teach` split: the student never trains on it.
        teach_dataloader=dict(
            **_base_.shapes_det_teach_loader,
            dataset=dict(**_base_.shapes_det_teach_dataset,
                         pipeline=_base_.train_pipeline)),
        interval=10,
        lookahead_params='head')
]
