# FCN (ResNet-18-d8) taught by L2T-DLN: configs/fcn_baseline.py
# with the CrossEntropyLoss of the decode head and of the auxiliary head
# wrapped in L2TLoss, and the teacher hook added. The look-ahead runs
# through both heads ('head'), so both DLNs receive a meta-gradient.
_base_ = ['./fcn_baseline.py']
# L2TLoss, DynamicLossHead and L2TTeacherHook live in l2t_mm; set here
# too, so the import stays when the bases above are swapped.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

model = dict(
    decode_head=dict(
        loss_decode=dict(_delete_=True, type='L2TLoss',
                         loss=_base_.model.decode_head.loss_decode)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, type='L2TLoss',
                         loss=_base_.model.auxiliary_head.loss_decode)))

custom_hooks = [
    dict(
        type='L2TTeacherHook',
        teach_dataloader=_base_.shapes_seg_teach_dataloader,
        interval=10,
        lookahead_params='head')
]
