# Peer of configs/fcn_l2t.py: the FCN baseline trained on the teacher's
# held-out images alone (clean labels, fewer images) instead of the
# training set. If a few clean images beat many noisy ones, a learned loss
# on the noisy ones has to beat this too; see also configs/fcn_plusteach.py.
_base_ = ['./fcn_baseline.py']

# The teacher's dataset, which carries the training pipeline.
train_dataloader = dict(
    dataset=dict(_delete_=True, **_base_.shapes_seg_teach_dataloader.dataset))
