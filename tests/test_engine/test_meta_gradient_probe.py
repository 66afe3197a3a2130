"""The probe's summary of how meta-gradients agree (the rest of the probe
runs end to end in tests/test_tools/test_probe_meta_gradient.py)."""
import math

import pytest
import torch

from l2t_mm.engine.meta_gradient_probe import mean_pairwise_cosine


def test_mean_pairwise_cosine_of_opposite_and_equal_directions():
    direction = torch.tensor([1.0, -2.0, 0.5])
    assert mean_pairwise_cosine([direction, -3 * direction]) == \
        pytest.approx(-1.0)
    assert mean_pairwise_cosine([direction, 2 * direction, direction]) == \
        pytest.approx(1.0)
    # Three pairs: (a, b) = 1, (a, -a) = -1, (b, -a) = -1.
    assert mean_pairwise_cosine([direction, 2 * direction, -direction]) == \
        pytest.approx(-1 / 3)
    assert math.isnan(mean_pairwise_cosine([direction]))
