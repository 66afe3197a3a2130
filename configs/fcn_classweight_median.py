# Peer of configs/fcn_l2t.py: configs/fcn_classweight.py with the median-
# frequency rule median(f) / f (Eigen & Fergus 2015; f, a class's pixels over
# those of the images it appears in), the other standard class balance; it
# weights the background further down (0.27 against 0.36), square,
# triangle, star and cross further up, circle and hexagon about the same.
# Counted as there:
#   python tools/class_weights.py configs/fcn_baseline.py \
#       --data-root data/shapes_colour_noisy40 --rule median_frequency
_base_ = ['./fcn_classweight.py']

class_weight = [0.2734, 5.1839, 6.4703, 7.7123, 8.1059, 5.4315, 6.9598]
model = dict(
    decode_head=dict(loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(loss_decode=dict(class_weight=class_weight)))
