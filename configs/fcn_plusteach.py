# Peer of configs/fcn_l2t.py: the FCN baseline trained on the training set
# and the teacher's held-out images together. An L2T run sees the held-out
# images (clean labels) through its teacher only; this plain baseline
# trains on them, so the benchmark can tell whether the teacher beats
# simply using them. Same schedule as the baseline: with more images each
# is seen less often, as a user who adds them to the training set would
# find. For another dataset, change both entries below as you change the
# config's train and teach datasets.
_base_ = ['./fcn_baseline.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(**_base_.shapes_seg_train_dataset,
                 pipeline=_base_.shapes_seg_train_pipeline),
            dict(**_base_.shapes_seg_teach_dataset,
                 pipeline=_base_.shapes_seg_train_pipeline),
        ]))
