"""The noise AUC on hand-built cases."""
import math

import pytest
import torch

from l2t_mm.models.noise_auc import noise_auc


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
