# Peer of configs/fcn_l2t.py: the FCN baseline trained on the training set
# and the teacher's held-out images together. An L2T run sees the held-out
# images (clean labels) through its teacher only; this plain baseline
# trains on them, so the benchmark can tell whether the teacher beats
# simply using them. Same schedule as the baseline: with more images each
# is seen less often, as a user who adds them to the training set would
# find. The two datasets are the teacher's and the baseline's own (the
# teach dataloader's dataset carries the training pipeline), so they follow
# any change made there.
_base_ = ['./fcn_baseline.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            _base_.shapes_seg_train_dataloader.dataset,
            _base_.shapes_seg_teach_dataloader.dataset,
        ]))
