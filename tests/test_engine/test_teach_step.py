"""The teach step's math, without a runner."""
import copy
import importlib

import pytest
import torch
from mmengine.registry import init_default_scope
from toy import ToyClassifier, record_keyword, sgd_step, toy_batch

from l2t_mm.engine.teach_step import (MetaObjective, dln_meta_gradient,
                                      lookahead, lookahead_tensors,
                                      pair_meta_gradient,
                                      partition_parameters, student_state,
                                      teach_step)
from l2t_mm.models import AdamTeacher, LSTMTeacher


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')
    torch.manual_seed(0)


def _setup(dtype=torch.float32, lookahead_params='all'):
    model = ToyClassifier().to(dtype)
    # A DLN away from identity, so every φ coordinate has a meta-gradient.
    with torch.no_grad():
        for param in model.loss_cls.dln.parameters():
            param.add_(torch.randn_like(param) * 0.3)
    partition = partition_parameters(model, lookahead_params)
    num = sum(p.numel() for n, p in model.named_parameters()
              if n in partition.dln)
    teacher = LSTMTeacher(num).to(dtype)
    optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    return model, partition, teacher, optimizer


def test_partition_roles():
    model = ToyClassifier()
    partition = partition_parameters(model, ['head'])
    assert partition.student == ['head.weight', 'head.bias']
    assert set(partition.dln) == {
        f'loss_cls.dln.{n}' for n, _ in model.loss_cls.dln.named_parameters()
    }
    assert 'backbone.weight' in partition.fixed
    assert not set(partition.dln) & set(partition.fixed)


def test_partition_errors_name_the_key():
    with pytest.raises(ValueError, match='lookahead_params'):
        partition_parameters(ToyClassifier(), ['neck'])
    with pytest.raises(ValueError, match='no L2TLoss or DynamicLossHead'):
        partition_parameters(torch.nn.Linear(2, 2), 'head')


def test_teach_step_changes_phi_and_psi_only():
    model, partition, teacher, optimizer = _setup()
    student_before = copy.deepcopy(
        {n: p for n, p in model.state_dict().items() if '.dln.' not in n})
    phi_before = {n: p.clone() for n, p in model.named_parameters()
                  if n in partition.dln}
    psi_before = copy.deepcopy(teacher.state_dict())
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0), toy_batch(16, 1),
                        sgd_step(model, partition, 0.1), dln_lr=0.1,
                        progress=0.5)
    assert result.applied, result.skip_reason
    assert result.meta_grad_norm > 0 and result.update_norm > 0
    for name, value in student_before.items():
        assert torch.equal(model.state_dict()[name], value), name
    params = dict(model.named_parameters())
    assert any(not torch.equal(params[n], v) for n, v in phi_before.items())
    after = teacher.state_dict()
    assert not torch.equal(after['memory'], psi_before['memory'])
    assert not torch.equal(after['output.weight'],
                           psi_before['output.weight'])


def test_pair_meta_gradient_is_stage_one_and_changes_nothing():
    model, partition, _, _ = _setup()
    state = copy.deepcopy(model.state_dict())
    train, val = toy_batch(16, 0), toy_batch(16, 1)
    step = sgd_step(model, partition, 0.1)
    pair = pair_meta_gradient(model, partition, train, val, step, 0.5)
    student, constants, phi = lookahead_tensors(model, partition)
    expected, _, _ = dln_meta_gradient(model, student, constants, phi, train,
                                       val, step, progress=0.5)
    assert pair.abs().sum() > 0 and torch.allclose(pair, expected)
    for name, value in state.items():
        assert torch.equal(model.state_dict()[name], value), name
    bad = toy_batch(16, 1)
    bad['inputs'][0, 0] = float('nan')
    assert pair_meta_gradient(model, partition, train, bad, step, 0.5) is None


def test_accumulated_meta_gradients_join_this_pairs_before_the_teacher():
    # AdamTeacher's first step is dln_lr · sign(g): handed -2 g_pair as the
    # earlier pairs' sum, the teacher sees -g_pair and steps the other way.
    model, partition, _, _ = _setup()
    train, val = toy_batch(16, 0), toy_batch(16, 1)
    step = sgd_step(model, partition, 0.1)
    g_pair = pair_meta_gradient(model, partition, train, val, step, 0.5)
    phi = torch.cat([p.detach().reshape(-1).clone() for n, p in
                     model.named_parameters() if n in partition.dln])
    moves = []
    for accumulated in (None, -2 * g_pair):
        copied = copy.deepcopy(model)
        result = teach_step(copied, partition, AdamTeacher(phi.numel()),
                            None, train, val,
                            sgd_step(copied, partition, 0.1), dln_lr=0.1,
                            progress=0.5, accumulated=accumulated)
        assert result.applied, result.skip_reason
        moves.append(torch.cat([p.detach().reshape(-1) for n, p in
                                copied.named_parameters()
                                if n in partition.dln]) - phi)
    plain, turned = moves
    # (eps of √v̂ + eps shortens the smallest coordinates a little)
    assert torch.allclose(plain, -0.1 * g_pair.sign(), atol=1e-3)
    assert torch.allclose(turned, -plain, atol=1e-6)


def test_class_mean_loss_reaches_the_meta_gradient():
    model, partition, _, _ = _setup()
    train, val = toy_batch(16, 0), toy_batch(16, 1)
    labels = val['data_samples']
    counts = torch.bincount(labels, minlength=3)
    assert counts.max() > counts.min()  # unbalanced: the means differ
    still = sgd_step(model, partition, 0.0)  # θ' = θ: ℓ_val at θ
    results = {}
    for class_mean in (False, True):
        student, constants, phi = lookahead_tensors(model, partition)
        results[class_mean] = dln_meta_gradient(
            model, student, constants, phi, train, val, still,
            MetaObjective(class_mean=class_mean), progress=0.0)
    with torch.no_grad():
        per_sample = torch.nn.functional.cross_entropy(
            copy.deepcopy(model)(val['inputs']), labels, reduction='none')
    class_means = torch.stack(
        [per_sample[labels == c].mean() for c in labels.unique()])
    torch.testing.assert_close(results[False][2], per_sample.mean())
    torch.testing.assert_close(results[True][2], class_means.mean())
    # With a real step, g follows the class mean, not the stock mean.
    grads = []
    for class_mean in (False, True):
        student, constants, phi = lookahead_tensors(model, partition)
        grads.append(dln_meta_gradient(
            model, student, constants, phi, train, val,
            sgd_step(model, partition, 0.5),
            MetaObjective(class_mean=class_mean), progress=0.0)[0])
    assert grads[0].abs().max() > 0 and grads[1].abs().max() > 0
    assert not torch.allclose(grads[0], grads[1])


def test_meta_gradient_matches_finite_differences():
    model, partition, _, _ = _setup(torch.float64)
    train = toy_batch(16, 0, torch.float64)
    val = toy_batch(16, 1, torch.float64)
    student, constants, phi = lookahead_tensors(model, partition)
    meta_grad, _, _ = dln_meta_gradient(model, student, constants, phi, train,
                                        val, sgd_step(model, partition, 0.5),
                                        progress=0.0)
    flat = torch.cat([p.reshape(-1) for p in phi.values()]).detach()
    names = list(phi)
    sizes = [phi[n].numel() for n in names]

    def val_loss_at(flat_phi):
        pieces = torch.split(flat_phi, sizes)
        phi_eval = {n: piece.view_as(phi[n]).clone().requires_grad_()
                    for n, piece in zip(names, pieces)}
        s, c, _ = lookahead_tensors(model, partition)
        _, _, val_loss = dln_meta_gradient(model, s, c, phi_eval, train, val,
                                           sgd_step(model, partition, 0.5),
                                           progress=0.0)
        return val_loss

    coords = torch.argsort(meta_grad.abs(), descending=True)[:6].tolist()
    coords += [0, len(flat) - 1]
    eps = 1e-6
    for j in coords:
        step = torch.zeros_like(flat)
        step[j] = eps
        numeric = (val_loss_at(flat + step) - val_loss_at(flat - step)) / (
            2 * eps)
        torch.testing.assert_close(meta_grad[j], numeric, rtol=1e-4,
                                   atol=1e-9)
    assert meta_grad.abs().max() > 1e-6


def test_batchnorm_buffers_untouched_by_lookahead():
    model, partition, teacher, optimizer = _setup()
    running_mean = model.bn.running_mean.clone()
    tracked = model.bn.num_batches_tracked.clone()
    teach_step(model, partition, teacher, optimizer, toy_batch(16, 0),
               toy_batch(16, 1), sgd_step(model, partition, 0.1), dln_lr=0.1,
               progress=0.0)
    assert torch.equal(model.bn.running_mean, running_mean)
    assert torch.equal(model.bn.num_batches_tracked, tracked)


def test_non_finite_validation_loss_skips_and_changes_nothing():
    model, partition, teacher, optimizer = _setup()
    state = copy.deepcopy(model.state_dict())
    teacher_state = copy.deepcopy(teacher.state_dict())
    bad = toy_batch(16, 1)
    bad['inputs'][0, 0] = float('nan')
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0), bad, sgd_step(model, partition, 0.1),
                        dln_lr=0.1, progress=0.0)
    assert not result.applied and 'non-finite' in result.skip_reason
    for name, value in state.items():
        assert torch.equal(model.state_dict()[name], value, ), name
    for name, value in teacher_state.items():
        assert torch.equal(teacher.state_dict()[name], value), name


def test_head_only_lookahead_reports_dln_without_meta_gradient():
    model, partition, teacher, optimizer = _setup()
    # With a zero head, a look-ahead through the backbone cannot feel φ.
    partition = partition_parameters(model, ['backbone'])
    with torch.no_grad():
        model.head.weight.zero_()
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0), toy_batch(16, 1),
                        sgd_step(model, partition, 0.1), dln_lr=0.1,
                        progress=0.0)
    assert result.applied
    assert result.zero_meta_grad_modules == ['loss_cls']


def test_lookahead_clips_like_the_student_optimizer():
    model, partition, _, _ = _setup()
    student, constants, phi = lookahead_tensors(model, partition)
    data = toy_batch(16, 0)
    sgd = sgd_step(model, partition, 1.0)
    _, free = lookahead(model, student, constants, phi, data, sgd,
                        MetaObjective(), progress=0.0)
    _, clipped = lookahead(model, student, constants, phi, data, sgd,
                           MetaObjective(max_grad_norm=1e-3), progress=0.0)

    def step_norm(ahead):
        return torch.sqrt(sum(((ahead[n] - student[n])**2).sum()
                              for n in student))

    assert step_norm(free) > 1e-2
    torch.testing.assert_close(step_norm(clipped), torch.tensor(1e-3),
                               rtol=1e-3, atol=0)


def test_direction_only_keeps_the_step_and_drops_its_length_from_phi():
    def shaped(grad, max_norm, direction_only=False):
        return MetaObjective(max_grad_norm=max_norm,
                             direction_only=direction_only
                             ).lookahead_gradient([grad])[0]

    # A "DLN" that only scales the gradient: the step gets longer with φ,
    # never turns. Direction-only, φ gets nothing from it.
    phi = torch.tensor(2.0, requires_grad=True)
    direction = torch.tensor([3.0, 4.0])
    for max_norm in (None, 100.0, 1.0):
        free = shaped(phi * direction, max_norm)
        fixed = shaped(phi * direction, max_norm, True)
        torch.testing.assert_close(fixed, free)
        (grad, ) = torch.autograd.grad(fixed.sum(), phi)
        assert grad.abs() < 1e-6, max_norm
        (grad, ) = torch.autograd.grad(free.sum(), phi)
        # Unclipped, the longer step is φ's to take; clipped, it is not.
        assert (grad.abs() > 1) == (max_norm != 1.0), max_norm
    # A batch with nothing to learn: a zero meta-gradient, not NaN.
    for max_norm, direction_only in ((None, True), (1.0, False), (1.0, True)):
        zero = shaped(phi * torch.zeros(2), max_norm, direction_only)
        (grad, ) = torch.autograd.grad(zero.sum(), phi)
        assert grad == 0, (max_norm, direction_only)
    # A φ that turns the gradient still reaches it.
    turned = shaped(torch.stack([phi, 1 - phi]), None, True)
    (grad, ) = torch.autograd.grad(turned[0], phi)
    assert grad.abs() > 0.1


def test_direction_only_lookahead_same_student_other_meta_gradient():
    model, partition, _, _ = _setup()
    train, val = toy_batch(16, 0), toy_batch(16, 1)
    step = sgd_step(model, partition, 0.5)
    aheads, grads = [], []
    for direction_only in (False, True):
        objective = MetaObjective(direction_only=direction_only)
        student, constants, phi = lookahead_tensors(model, partition)
        aheads.append(lookahead(model, student, constants, phi, train, step,
                                objective, progress=0.0)[1])
        grads.append(dln_meta_gradient(
            model, student, constants, phi, train, val, step, objective,
            progress=0.0)[0])
    for name in aheads[0]:
        torch.testing.assert_close(aheads[1][name], aheads[0][name])
    assert grads[1].norm() > 0
    assert not torch.allclose(grads[0], grads[1])


def test_both_lookaheads_of_a_learned_teacher_step_get_the_objective(
        monkeypatch):
    # the module, not the function l2t_mm.engine exports under its name
    module = importlib.import_module('l2t_mm.engine.teach_step')
    seen = record_keyword(monkeypatch, module, 'lookahead', 'objective')
    model, partition, teacher, optimizer = _setup()
    objective = MetaObjective(direction_only=True)
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0), toy_batch(16, 1),
                        sgd_step(model, partition, 0.1), dln_lr=0.1,
                        progress=0.5, objective=objective)
    assert result.applied, result.skip_reason
    assert seen == [objective, objective]  # φ's meta-gradient, then ψ's


def test_student_state_lives_on_the_device_of_the_losses():
    # The meta device stands in for CUDA: a tensor made on the CPU here
    # would fail to stack with them, as it did on a GPU before.
    loss = torch.tensor(2.0, dtype=torch.float64, device='meta')
    state = student_state(0.25, loss, loss)
    assert state.device.type == 'meta' and state.dtype == torch.float64
    assert state.shape == (3, )
    values = student_state(0.25, torch.tensor(1.0), torch.tensor(-1.0))
    torch.testing.assert_close(
        values, torch.tensor([0.25, torch.log1p(torch.tensor(1.0)), 0.0]))


def test_teach_step_keeps_a_float64_model_and_teacher_in_float64():
    model, partition, _, _ = _setup(torch.float64)
    teacher = LSTMTeacher(sum(p.numel() for n, p in model.named_parameters()
                              if n in partition.dln)).double()
    optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0, torch.float64),
                        toy_batch(16, 1, torch.float64),
                        sgd_step(model, partition, 0.1), dln_lr=0.1,
                        progress=0.5)
    assert result.applied, result.skip_reason
    assert all(t.dtype == torch.float64 for t in teacher.state_dict().values()
               if t.is_floating_point())


class _TiedClassifier(ToyClassifier):
    """The toy model with one submodule under two names, as RTMDet shares
    convolutions between levels."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = torch.nn.ModuleList([self.head, self.head])


def test_tied_modules_keep_their_parameters_after_a_teach_step():
    model = _TiedClassifier()
    partition = partition_parameters(model, 'all')
    teacher = LSTMTeacher(sum(p.numel() for n, p in model.named_parameters()
                              if n in partition.dln))
    optimizer = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    params_before = dict(model.named_parameters())
    result = teach_step(model, partition, teacher, optimizer,
                        toy_batch(16, 0), toy_batch(16, 1),
                        sgd_step(model, partition, 0.1), dln_lr=0.1,
                        progress=0.5)
    assert result.applied, result.skip_reason
    for name, param in params_before.items():
        assert isinstance(model.get_parameter(name), torch.nn.Parameter)
        assert model.get_parameter(name) is param, name
    # The student can train on: no tensor of the look-ahead's graph is left.
    loss, _ = model.parse_losses(model(**toy_batch(16, 2), mode='loss'))
    loss.backward()
    assert model.head.weight.grad is not None
