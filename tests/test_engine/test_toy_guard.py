"""The fast guard: on the toy noisy-label problem every teacher must make
the DLN find the flipped labels and help the student (seconds on CPU)."""
import pytest
from mmengine.registry import init_default_scope

from l2t_mm.testing.noisy_toy import make_problem, run_toy

SEEDS = (0, 2)


@pytest.fixture(scope='module')
def untaught():
    init_default_scope('mmdet')
    return {seed: run_toy(None, seed) for seed in SEEDS}


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('teacher, direction_only', [
    ('AdamTeacher', False), ('MLPTeacher', False), ('LSTMTeacher', False),
    ('AdamTeacher', True)])
def test_teacher_finds_flipped_labels_and_helps(untaught, teacher,
                                                direction_only, seed):
    init_default_scope('mmdet')
    result = run_toy(dict(type=teacher), seed, problem=make_problem(seed),
                     lookahead_direction_only=direction_only)
    assert result.auc >= 0.9, result
    assert result.test_loss < untaught[seed].test_loss - 0.1, (
        result, untaught[seed])
    # Mean-1 weights that neither collapsed (all 0) nor went uniform.
    assert result.weights_max > 2 * result.weights_min > 0, result
