# Peer of configs/fcn_l2t.py: configs/fcn_classweight.py with the median-
# frequency rule median(share) / share (Eigen & Fergus 2015), the other
# standard class balance; it weights the background half as much again
# down (0.16 against 0.36). Counted as there:
#   python tools/class_weights.py configs/fcn_baseline.py \
#       --data-root data/shapes_colour_noisy40 --rule median_frequency
_base_ = ['./fcn_classweight.py']

class_weight = [0.1619, 5.7883, 7.1918, 8.7793, 9.4098, 6.2874, 7.6296]
model = dict(
    decode_head=dict(loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(loss_decode=dict(class_weight=class_weight)))
