"""The look-ahead steps exactly like the student's optimizer."""
import copy

import pytest
import torch
from torch import nn

from l2t_mm.engine.student_step import StudentStep


def _model_and_grads(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    return model, [torch.randn_like(p) for p in model.parameters()]


OPTIMIZERS = {
    'sgd': lambda params: torch.optim.SGD(params, lr=0.1),
    'momentum': lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9,
                                               weight_decay=1e-2),
    'nesterov': lambda params: torch.optim.SGD(
        params, lr=0.1, momentum=0.9, nesterov=True, dampening=0.0),
    'adam': lambda params: torch.optim.Adam(params, lr=0.01,
                                            weight_decay=1e-2),
    'adamw': lambda params: torch.optim.AdamW(params, lr=0.01,
                                              weight_decay=1e-1),
}


@pytest.mark.parametrize('kind', list(OPTIMIZERS))
def test_step_matches_the_optimizer_after_it_has_state(kind):
    model, grads = _model_and_grads()
    optimizer = OPTIMIZERS[kind](model.parameters())
    for _ in range(3):  # build momentum buffers / Adam moments
        for param, grad in zip(model.parameters(), grads):
            param.grad = grad * torch.rand(())
        optimizer.step()
    params = dict(model.named_parameters())
    step = StudentStep(optimizer, params)
    assert not step.approximate
    new_grads = dict(zip(params, [torch.randn_like(g) for g in grads]))
    ahead, _ = step.step(dict(params), new_grads)
    reference = copy.deepcopy(model)
    ref_optimizer = OPTIMIZERS[kind](reference.parameters())
    ref_optimizer.load_state_dict(optimizer.state_dict())
    for name, param in reference.named_parameters():
        param.grad = new_grads[name].clone()
    ref_optimizer.step()
    for name, param in reference.named_parameters():
        torch.testing.assert_close(ahead[name], param.detach(), rtol=1e-5,
                                   atol=1e-6)
    # The student itself is untouched: the look-ahead reads state only.
    assert all(torch.equal(params[n], p) for n, p in
               dict(model.named_parameters()).items())


def test_momentum_makes_the_lookahead_step_longer_than_plain_sgd():
    model, grads = _model_and_grads()
    optimizer = OPTIMIZERS['momentum'](model.parameters())
    for _ in range(10):
        for param, grad in zip(model.parameters(), grads):
            param.grad = grad.clone()
        optimizer.step()
    params = dict(model.named_parameters())
    same = dict(zip(params, grads))
    ahead, _ = StudentStep(optimizer, params).step(dict(params), same)
    plain, _ = StudentStep(None, params, lr=0.1).step(dict(params), same)

    def length(moved):
        return sum((moved[n] - params[n]).norm()**2 for n in params).sqrt()

    assert length(ahead) > 5 * length(plain)


def test_step_is_differentiable_through_the_gradient():
    model, grads = _model_and_grads()
    optimizer = OPTIMIZERS['adam'](model.parameters())
    params = dict(model.named_parameters())
    scale = torch.ones((), requires_grad=True)
    ahead, _ = StudentStep(optimizer, params).step(
        dict(params), {n: g * scale for n, g in zip(params, grads)})
    (derivative, ) = torch.autograd.grad(
        sum(p.sum() for p in ahead.values()), scale)
    assert torch.isfinite(derivative)


def test_unsupported_optimizer_is_approximated_and_says_so():
    model, _ = _model_and_grads()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.05)
    step = StudentStep(optimizer, dict(model.named_parameters()))
    assert step.approximate and 'approximating' in step.describe()


def test_parameter_outside_the_optimizer_needs_an_explicit_lr():
    model, _ = _model_and_grads()
    optimizer = torch.optim.SGD(list(model.parameters())[:2], lr=0.1)
    with pytest.raises(ValueError, match='lookahead_lr'):
        StudentStep(optimizer, dict(model.named_parameters()))
    StudentStep(optimizer, dict(model.named_parameters()), lr=0.1)
