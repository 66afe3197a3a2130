"""WeightingDLN: identity at init, no collapse, a meta-gradient everywhere."""
import pytest
import torch
from mmengine.registry import init_default_scope
from toy import ToyClassifier, sgd_step, toy_batch

from l2t_mm.engine.teach_step import (dln_meta_gradient, lookahead_tensors,
                                      partition_parameters)
from l2t_mm.models.dln import ScoreMLP, normalise_log_weights, standardise


def test_score_is_exactly_zero_at_init_for_any_input():
    torch.manual_seed(0)
    mlp = ScoreMLP(4, 16)
    features = torch.randn(1000, 4) * 100
    assert torch.equal(mlp(features), torch.zeros(1000))
    weights = normalise_log_weights(mlp(features),
                                    torch.ones(1000, dtype=torch.bool))
    assert torch.equal(weights, torch.ones(1000))


def test_hidden_slope_is_the_mean_of_one_minus_tanh_squared():
    from l2t_mm.models.weight_record import WeightStats
    torch.manual_seed(0)
    mlp = ScoreMLP(4, 8)
    with torch.no_grad():
        mlp.fc1.weight.mul_(3)  # units away from 0: slopes well below 1
        mlp.fc1.bias.uniform_(-1, 1)
    features = torch.randn(50, 4)
    valid = torch.rand(50) > 0.3
    slope = WeightStats()
    mlp(features, valid, slope)
    hidden = torch.tanh(mlp.fc1(features))[valid]
    expected = (1 - hidden.square()).mean()
    assert expected < 0.8  # the units are far from linear: the test bites
    torch.testing.assert_close(slope.summary()['mean'], expected)


def test_weights_cannot_collapse_or_overflow():
    valid = torch.tensor([True, True, True, False])
    for scores in (torch.full((4, ), -1e4), torch.full((4, ), 1e4),
                   torch.tensor([-1e4, 0.0, 1e4, 5.0])):
        weights = normalise_log_weights(scores, valid)
        assert torch.isfinite(weights).all()
        torch.testing.assert_close(weights[valid].mean(), torch.tensor(1.0),
                                   rtol=1e-4, atol=0)
        assert weights[valid].max() >= 1.0
    # A teacher that stepped far: scores are bounded, so no element's
    # weight is more than e^(2 * max_score) times another's.
    mlp = ScoreMLP(4, 8)
    with torch.no_grad():
        for param in mlp.parameters():
            param.normal_(std=1e3)
    scores = mlp(torch.randn(500, 4))
    assert scores.abs().max() <= mlp.max_score
    weights = normalise_log_weights(scores, torch.ones(500, dtype=torch.bool))
    assert weights.max() / weights.min() <= torch.exp(
        torch.tensor(2 * mlp.max_score)) * 1.0001


def test_standardised_hardness_has_zero_mean_unit_spread_on_valid():
    values = torch.tensor([1.0, 2.0, 3.0, 100.0, 0.0])
    valid = torch.tensor([True, True, True, True, False])
    z = standardise(torch.log1p(values), valid)
    torch.testing.assert_close(z[valid].mean(), torch.tensor(0.0),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(z[valid].std(unbiased=False),
                               torch.tensor(1.0), atol=1e-4, rtol=0)


def test_meta_gradient_reaches_every_dln_layer_at_init():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = ToyClassifier()  # DLN at identity, as in a real run's start
    partition = partition_parameters(model, 'all')
    student, constants, phi = lookahead_tensors(model, partition)
    meta_grad, _, _ = dln_meta_gradient(
        model, student, constants, phi, toy_batch(16, 0), toy_batch(16, 1),
        sgd_step(model, partition, 0.5), progress=0.0)
    offset = 0
    for name, value in phi.items():
        piece = meta_grad[offset:offset + value.numel()]
        offset += value.numel()
        assert piece.abs().sum() > 0, name


def test_dln_keeps_the_dtype_and_lookahead_step_the_device():
    from l2t_mm.engine.student_step import StudentStep
    from l2t_mm.models import WeightingDLN
    from l2t_mm.models.elementwise import describe_elements
    dln = WeightingDLN().double()
    logits = torch.randn(6, 3, dtype=torch.float64)
    labels = torch.zeros(6, dtype=torch.long)
    values = torch.rand(6, dtype=torch.float64)
    shaped = dln(describe_elements(logits, labels, values, False, 0.5))
    assert shaped.dtype == torch.float64
    # The meta device stands in for CUDA: a tensor created on the CPU
    # inside the step would fail to combine with these.
    param = torch.nn.Parameter(torch.randn(3, device='meta'))
    optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    ahead, _ = StudentStep(optimizer, dict(w=param)).step(
        dict(w=param), dict(w=torch.randn(3, device='meta')))
    assert ahead['w'].device.type == 'meta'


def test_weights_stay_mean_one_under_float16_autocast():
    """Under AMP the DLN's layers run in float16, whose largest value
    (65504) is below the pixel count of one segmentation batch: the weights
    and their logged mean must still be finite and of mean 1 (on a GPU
    they were inf from the first iteration)."""
    import torch.nn.functional as F

    from l2t_mm.models import WeightingDLN
    from l2t_mm.models.elementwise import describe_elements
    from l2t_mm.models.weight_record import DLNRecord
    torch.manual_seed(0)
    dln = WeightingDLN()
    with torch.no_grad():
        dln.mlp.fc1.weight[16:].mul_(1.1)  # scores that differ by element
    logits = torch.randn(2, 7, 200, 200)  # 80,000 pixels
    labels = torch.randint(0, 7, (2, 200, 200))
    shaped = {}
    for amp in (False, True):
        record = DLNRecord()
        with torch.autocast('cpu', dtype=torch.float16, enabled=amp):
            values = F.cross_entropy(logits, labels, reduction='none')
            shaped[amp] = dln(
                describe_elements(logits, labels, values, False, 0.5),
                record=record)
        weights = shaped[amp] / values
        assert torch.isfinite(weights).all(), amp
        assert weights.std() > 1e-3  # not the identity: the test bites
        assert abs(float(weights.mean()) - 1) < 1e-4, amp
        assert abs(float(record.summary()['mean']) - 1) < 1e-4, amp
        assert 0 < float(record.hidden_slope()) <= 1, amp
    torch.testing.assert_close(shaped[True], shaped[False], rtol=1e-2,
                               atol=1e-3)


def test_top_probability_is_the_predictions_own_top_answer():
    from l2t_mm.models.elementwise import describe_elements
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0],
                           [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 0, 255])  # 255: ignored
    values = torch.tensor([1.0, 1.0, 0.0])
    softmax = describe_elements(logits, labels, values, False, 0.)
    expected = logits.softmax(1).max(1).values
    torch.testing.assert_close(softmax.top[:2], expected[:2])
    assert softmax.top[2] == 0
    # Label 0 of the second row is contradicted: top high, confidence low.
    assert softmax.top[1] > 0.8 > 0.1 > softmax.confidence[1]
    # Segmentation logits (N, C, H, W): the top over the class dim.
    maps = torch.randn(2, 3, 4, 5)
    per_pixel = describe_elements(maps, torch.zeros(2, 4, 5, dtype=torch.long),
                                  torch.ones(2, 4, 5), False, 0.)
    torch.testing.assert_close(per_pixel.top, maps.softmax(1).amax(1))
    # Sigmoid: the side each element leans to (which dim holds the classes
    # is not in the shapes), for (N, C) and (images, anchors) alike.
    for pred in (logits, torch.tensor([[-2.0, 0.0, 3.0]])):
        sigmoid = describe_elements(pred, torch.ones_like(pred),
                                    torch.ones_like(pred), True, 0.)
        prob = pred.sigmoid()
        torch.testing.assert_close(sigmoid.top, torch.maximum(prob, 1 - prob))
    regression = describe_elements(torch.randn(4, 4), torch.randn(4, 4),
                                   torch.ones(4, 4), False, 0.)
    assert torch.equal(regression.top, torch.zeros(4, 4))


def test_top_probability_lets_equal_losses_be_weighted_apart():
    from l2t_mm.models import WeightingDLN
    from l2t_mm.models.elementwise import describe_elements
    # Two pixels with the same label probability (same loss, confidence):
    # one the prediction is unsure about, one it gives to another class.
    logits = torch.tensor([[0.0, 0.0, 0.0], [0.0, 4.0, -4.0]])
    probs = logits.softmax(1)
    logits[1, 0] = torch.log(probs[0, 0] / (1 - probs[0, 0])
                             * (logits[1, 1:].exp().sum()))
    labels = torch.tensor([0, 0])
    values = torch.nn.functional.cross_entropy(logits, labels,
                                               reduction='none')
    torch.testing.assert_close(values[0], values[1])
    elements = describe_elements(logits, labels, values, False, 0.5)
    plain = WeightingDLN(hidden_channels=4)
    with_top = WeightingDLN(hidden_channels=4, use_top_probability=True)
    # Identity at initialisation, with or without the input.
    assert torch.equal(with_top(elements), values)
    for dln in (plain, with_top):  # one half of the units steps away
        with torch.no_grad():
            half = dln.mlp.fc1.out_features // 2
            dln.mlp.fc1.weight[:half].fill_(0.5)
            dln.mlp.fc1.weight[half:].zero_()
    shaped_plain, shaped_top = plain(elements), with_top(elements)
    torch.testing.assert_close(shaped_plain[0], shaped_plain[1])
    assert (shaped_top[0] - shaped_top[1]).abs() > 1e-3


def test_use_top_probability_must_be_a_bool():
    from l2t_mm.models import WeightingDLN
    with pytest.raises(ValueError, match='WeightingDLN.use_top_probability '
                       "must be True or False, got 'yes'"):
        WeightingDLN(use_top_probability='yes')


def test_weights_have_mean_one_within_each_group():
    valid = torch.tensor([True, True, True, True, True, False, True])
    # Ids need not be contiguous nor positive; 255 has one valid element.
    groups = torch.tensor([-1, -1, 2, 2, 2, 2, 255])
    for scores in (torch.tensor([0.0, 1.0, -3.0, 0.5, 3.0, 9.0, 2.0]),
                   torch.tensor([-1e4, 1e4, -1e4, 0.0, 1e4, 0.0, -1e4])):
        weights = normalise_log_weights(scores, valid, groups)
        assert torch.isfinite(weights).all()
        for group in (-1, 2, 255):
            members = valid & (groups == group)
            torch.testing.assert_close(weights[members].mean(),
                                       torch.tensor(1.0))
        assert weights[~valid].eq(1).all()
    # Within a group the order of the weights is the order of the scores.
    scores = torch.tensor([0.0, 1.0, -3.0, 0.5, 3.0, 9.0, 2.0])
    weights = normalise_log_weights(scores, valid, groups)
    assert weights[0] < weights[1] and weights[2] < weights[3] < weights[4]
    # The same scores normalised over all elements move loss between groups.
    overall = normalise_log_weights(scores, valid)
    assert abs(float(overall[valid & (groups == 2)].mean()) - 1) > 0.1


def test_grouped_normalisation_passes_a_finite_gradient():
    """The masked branches hold inf (a group without valid elements) in
    the forward pass; none may reach the backward pass."""
    scores = torch.tensor([0.5, -1.0, 2.0, 0.0], requires_grad=True)
    valid = torch.tensor([True, True, True, False])
    groups = torch.tensor([1, 1, 3, 0])  # group 0: only an invalid element
    weights = normalise_log_weights(scores, valid, groups)
    (weights * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert scores.grad[0] != 0 and scores.grad[3] == 0
    # A one-element group's weight is 1 whatever its score.
    assert scores.grad[2] == 0 and weights[2] == 1


def test_target_normalisation_keeps_each_class_mean_weight_one():
    """``normalise_over='target'``: the DLN ranks pixels within a label;
    each class keeps its total weight, so it cannot weight one class
    against another as a whole (section 12 of the easy regime: a class-level
    weighting that swamped the within-label ranking)."""
    import torch.nn.functional as F

    from l2t_mm.models import WeightingDLN
    from l2t_mm.models.elementwise import describe_elements
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 16, 16) * 3
    logits[:, 0] += 3  # class 0 is easy: its pixels have the lowest losses
    labels = torch.randint(0, 4, (2, 16, 16))
    labels[0, :2] = 255  # ignored
    values = F.cross_entropy(logits, labels, reduction='none',
                             ignore_index=255)
    elements = describe_elements(logits, labels, values, False, 0.5)
    per_target = WeightingDLN(hidden_channels=4, normalise_over='target')
    overall = WeightingDLN(hidden_channels=4)
    for dln in (per_target, overall):
        assert torch.equal(dln(elements), values)  # identity at init
        with torch.no_grad():  # score = tanh(hardness): hard pixels up
            half = dln.mlp.fc1.out_features // 2
            dln.mlp.fc1.weight.zero_()
            dln.mlp.fc1.weight[:half, 0] = 1.0
    weights = per_target(elements) / values
    valid = elements.valid
    for label in range(4):
        members = valid & (labels == label)
        torch.testing.assert_close(weights[members].mean(), torch.tensor(1.))
    assert weights[valid].std() > 0.2  # it does weight within a label
    shaped = overall(elements) / values
    class_means = [float(shaped[valid & (labels == label)].mean())
                   for label in range(4)]
    assert max(class_means) - min(class_means) > 0.3


def test_target_groups_of_class_index_losses():
    """Groups from the loss's own description (the soft-target and
    regression cases: tests/test_engine/test_noise_diagnostic.py)."""
    from l2t_mm.models.elementwise import describe_elements
    labels = torch.tensor([2, 0, 255])
    softmax = describe_elements(torch.randn(3, 3), labels,
                                torch.tensor([1.0, 1.0, 0.0]), False, 0.)
    assert torch.equal(softmax.target_groups(), labels)
    # Sigmoid with class-index targets (index 3 = background): positive or
    # not, per class column.
    sigmoid = describe_elements(torch.randn(2, 3), torch.tensor([1, 3]),
                                torch.ones(2, 3), True, 0.)
    assert torch.equal(sigmoid.target_groups(),
                       torch.tensor([[0, 1, 0], [0, 0, 0]]))


def test_normalise_over_must_be_a_known_value():
    from l2t_mm.models import WeightingDLN
    with pytest.raises(ValueError, match=r"WeightingDLN.normalise_over must "
                       r"be one of \('all', 'target'\), got 'class'"):
        WeightingDLN(normalise_over='class')
