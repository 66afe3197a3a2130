# Peer of configs/fcn_l2t.py: the FCN baseline with mmseg's online hard
# example mining on the decode head (as mmseg's own *-ohem configs), a fixed
# rule that trains on the pixels the student gets most wrong. The L2T runs
# that beat the baseline in docs/benchmark/easy_regime.md weighted high-loss
# pixels up; this is the hand-made version of that. mmseg's min_kept is 100,000 per
# image of the batch for 512x1024 crops (19 %); the same share of a 256x256
# crop is 12,500 (100,000 would keep every pixel here: no mining at all).
_base_ = ['./fcn_baseline.py']

model = dict(
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=12500)))
