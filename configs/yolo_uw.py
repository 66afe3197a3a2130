# Peer of configs/yolo_l2t.py: the YOLOv3 baseline with its four loss terms
# weighted by uncertainty weighting (Kendall et al. 2018) instead of a taught
# DLN. The log-variances are ordinary parameters trained by the student's
# optimizer, so there is no teacher hook. `tools/benchmark.py
# configs/yolo_l2t.py --peers configs/yolo_uw.py` compares all three.
_base_ = ['./yolo_baseline.py']
# L2TLoss, DynamicLossHead and L2TTeacherHook live in l2t_mm; set here
# too, so the import stays when the bases above are swapped.
custom_imports = dict(imports=['l2t_mm'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(
        _delete_=True,
        type='DynamicLossHead',
        head=_base_.model.bbox_head,
        dln=dict(type='UncertaintyWeighting', max_terms=4)))
