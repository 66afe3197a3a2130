# Peer of configs/yolo_l2t.py: the YOLOv3 baseline with its four loss terms
# weighted by Dynamic Weight Average (Liu et al. 2019), a fixed rule with no
# parameters, so there is no teacher hook. configs/yolo_uw.py already wraps
# the head in DynamicLossHead; only the weighting changes. The paper's window
# is an epoch: 100 iterations are one epoch of the built-in data at batch 8.
_base_ = ['./yolo_uw.py']
# L2TLoss, DynamicLossHead and L2TTeacherHook live in l2t_mm; set here
# too, so the import stays when the bases above are swapped.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        dln=dict(_delete_=True, type='DynamicWeightAverage', max_terms=4,
                 window=100, temperature=2.0)))
