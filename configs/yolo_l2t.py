# YOLOv3-MobileNetV2 taught by L2T-DLN: configs/yolo_baseline.py with every
# stock loss wrapped in L2TLoss and the teacher hook added. Nothing else
# changes, so the two are a fair side-by-side (tools/benchmark.py).
_base_ = ['./yolo_baseline.py']
# L2TLoss, DynamicLossHead and L2TTeacherHook live in l2t_mm; set here
# too, so the import stays when the bases above are swapped.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

stock_head = _base_.model.bbox_head
model = dict(
    bbox_head=dict(
        loss_cls=dict(_delete_=True, type='L2TLoss',
                      loss=stock_head.loss_cls),
        loss_conf=dict(_delete_=True, type='L2TLoss',
                       loss=stock_head.loss_conf),
        loss_xy=dict(_delete_=True, type='L2TLoss', loss=stock_head.loss_xy),
        loss_wh=dict(_delete_=True, type='L2TLoss',
                     loss=stock_head.loss_wh)))

custom_hooks = [
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
