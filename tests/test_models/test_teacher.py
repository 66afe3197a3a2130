"""Teachers: an update that follows the meta-gradient, bounded, pure."""
import copy

import pytest
import torch

from l2t_mm.models import AdamTeacher, LSTMTeacher, MLPTeacher

TEACHERS = [AdamTeacher, MLPTeacher, LSTMTeacher]
STATE = torch.tensor([0.3, 1.2, 1.1])


def _gradient(seed: int = 0, n: int = 50) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    # Per-coordinate sizes from 1e-7 to 1e1, as in real runs.
    return torch.randn(n, generator=generator) * 10**torch.empty(n).uniform_(
        -7, 1, generator=generator)


@pytest.mark.parametrize('cls', TEACHERS)
def test_first_update_is_adam_whatever_the_gradient_scale(cls):
    torch.manual_seed(0)
    teacher = cls(50)
    gradient = _gradient()
    update, _ = teacher.propose(gradient, STATE)
    # Adam's first step is sign(g) (up to eps): the size of g does not
    # matter, so a 1e-7 meta-gradient moves φ as much as a 10 one.
    expected = gradient.sign() * (gradient.abs() /
                                  (gradient.abs() + 1e-8))
    torch.testing.assert_close(update, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls', [MLPTeacher, LSTMTeacher])
def test_learned_update_follows_the_gradient_and_is_bounded(cls):
    torch.manual_seed(0)
    teacher = cls(50)
    with torch.no_grad():  # a teacher whose ψ learned something extreme
        for param in teacher.parameters():
            param.normal_(std=30.0)
    gradient = _gradient(1)
    gradient[:5] = 0.0
    update, _ = teacher.propose(gradient, STATE)
    assert torch.all(update[:5] == 0)  # no common-mode drift
    moving = gradient != 0
    assert torch.all(update[moving].sign() == gradient[moving].sign())
    assert update.abs().max() <= teacher.max_gain + 1e-6


@pytest.mark.parametrize('cls', TEACHERS)
def test_propose_is_pure_and_commit_stores_the_state(cls):
    torch.manual_seed(0)
    teacher = cls(50)
    before = copy.deepcopy(teacher.state_dict())
    _, state = teacher.propose(_gradient(), STATE)
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, before[name]), name
    teacher.commit(state)
    assert teacher.steps.item() == 1
    assert not torch.equal(teacher.exp_avg, before['exp_avg'])
    if cls is LSTMTeacher:
        assert teacher.memory.abs().sum() > 0


@pytest.mark.parametrize('cls', [MLPTeacher, LSTMTeacher])
def test_teacher_parameters_get_a_gradient_through_the_update(cls):
    torch.manual_seed(0)
    teacher = cls(50)
    update, _ = teacher.propose(_gradient(), STATE)
    (update * torch.randn(50)).sum().backward()
    assert teacher.output.weight.grad.abs().sum() > 0
    assert teacher.learnable


def test_adam_teacher_has_nothing_to_learn():
    assert not AdamTeacher(4).learnable
    assert list(AdamTeacher(4).parameters()) == []


@pytest.mark.parametrize('cls', TEACHERS)
def test_teacher_works_on_the_device_and_dtype_it_is_moved_to(cls):
    # The meta device: any tensor created on the CPU inside propose would
    # raise here, as it would on CUDA.
    teacher = cls(8).to(device='meta', dtype=torch.float64)
    gradient = torch.randn(8, dtype=torch.float64, device='meta')
    update, state = teacher.propose(
        gradient, torch.zeros(3, dtype=torch.float64, device='meta'))
    assert update.device.type == 'meta' and update.dtype == torch.float64
    assert all(value.device.type == 'meta' for value in state.values())


@pytest.mark.parametrize('cls', TEACHERS)
def test_without_bias_correction_steps_grow_only_while_signs_agree(cls):
    gradient = _gradient(3).abs() + 1e-3  # sizes from 1e-3 to 10

    def sizes(signs, correct):
        torch.manual_seed(0)
        teacher = cls(50, betas=(0.9, 0.999), momentum_bias_correction=correct)
        out = []
        for sign in signs:
            update, state = teacher.propose(sign * gradient, STATE)
            teacher.commit(state)
            out.append(update.abs().mean().item())
        return out

    agreeing, alternating = [1.0] * 10, [1.0, -1.0] * 5
    # Adam's correction: the first step is full size, whatever follows.
    assert sizes(agreeing, True)[0] == pytest.approx(1.0, rel=1e-4)
    # Without it: 1 - β1 at first, growing towards 1 while signs agree ...
    grown = sizes(agreeing, False)
    assert grown[0] == pytest.approx(0.1, rel=1e-3)
    assert all(later > earlier for earlier, later in zip(grown, grown[1:]))
    assert grown[-1] == pytest.approx(1 - 0.9**10, rel=0.05)
    # ... and staying small while they alternate.
    assert max(sizes(alternating, False)) < 0.15


@pytest.mark.parametrize('kwargs, key', [
    (dict(num_coordinates=0), 'num_coordinates'),
    (dict(num_coordinates=4, betas=(0.9, 1.0)), 'betas'),
    (dict(num_coordinates=4, eps=0.0), 'eps'),
    (dict(num_coordinates=4, momentum_bias_correction='no'),
     'momentum_bias_correction'),
])
def test_bad_options_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=key):
        LSTMTeacher(**kwargs)


def test_wrong_gradient_size_is_refused():
    with pytest.raises(ValueError, match='built for 4 DLN parameters'):
        AdamTeacher(4).propose(torch.ones(5))
