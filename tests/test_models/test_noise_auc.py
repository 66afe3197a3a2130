"""The noise AUC on hand-built cases."""
import math

import pytest
import torch

from l2t_mm.models.noise_auc import noise_auc, noise_auc_within


def test_corrupted_elements_with_the_lowest_weights_give_one():
    weights = torch.tensor([0.1, 0.2, 1.0, 1.5, 2.0])
    corrupted = torch.tensor([True, True, False, False, False])
    assert noise_auc(weights, corrupted) == 1.0
    assert noise_auc(-weights, corrupted) == 0.0


def test_uniform_weights_give_one_half():
    corrupted = torch.tensor([True, False, False, True, False, False])
    assert noise_auc(torch.ones(6), corrupted) == 0.5


def test_ties_count_half_and_shapes_may_be_any():
    weights = torch.tensor([[0.5, 1.0], [1.0, 2.0]])
    corrupted = torch.tensor([[True, True], [False, False]])
    # pairs (corrupted, clean): (0.5,1) (0.5,2) (1,1)=tie (1,2) -> 3.5 / 4
    assert noise_auc(weights, corrupted) == pytest.approx(3.5 / 4)


def test_an_empty_group_gives_nan_and_shapes_must_match():
    assert math.isnan(noise_auc(torch.ones(3), torch.zeros(3, dtype=bool)))
    with pytest.raises(ValueError, match='corruption flags'):
        noise_auc(torch.ones(3), torch.ones(4, dtype=bool))


def test_within_target_auc_ignores_weighting_between_targets() -> None:
    # Target-1 elements all weigh less than target-0 ones, and corrupted
    # elements are over-represented among them: the plain AUC rewards that,
    # the within-target AUC sees that the DLN is blind inside each target.
    target = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    corrupted = torch.tensor([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    weights = torch.where(target == 1, 0.5, 1.5).float()
    assert noise_auc(weights, corrupted) > 0.6
    assert noise_auc_within(weights, corrupted, target) == 0.5


def test_within_target_auc_is_one_when_corrupted_weigh_least_per_target(
) -> None:
    target = torch.tensor([1, 1, 1, 0, 0, 0])
    corrupted = torch.tensor([1, 0, 0, 1, 0, 0], dtype=bool)
    # Corrupted lowest within each target, though target 0 weighs more.
    weights = torch.tensor([0.1, 0.2, 0.3, 5.0, 6.0, 7.0])
    assert noise_auc_within(weights, corrupted, target) == 1.0
    assert noise_auc_within(-weights, corrupted, target) == 0.0
    # Strata weigh by their pairs: 2 pairs at 1.0, 2 pairs at 0.0.
    flipped = torch.tensor([0.1, 0.2, 0.3, 8.0, 6.0, 7.0])
    assert noise_auc_within(flipped, corrupted, target) == 0.5


def test_within_target_auc_needs_both_groups_in_a_stratum() -> None:
    target = torch.tensor([1, 1, 0, 0])
    corrupted = torch.tensor([1, 1, 0, 0], dtype=bool)
    assert math.isnan(noise_auc_within(torch.ones(4), corrupted, target))
    with pytest.raises(ValueError, match='3 strata'):
        noise_auc_within(torch.ones(4), corrupted, target[:3])
