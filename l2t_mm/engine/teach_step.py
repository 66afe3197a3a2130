"""One L2T-DLN teach step, top to bottom (docs/method.md).

Names follow the method: θ the student, θ_S the part of θ the look-ahead
differentiates through, φ the DLN parameters, ψ the teacher.

1. Student look-ahead:  θ' = θ_S - U(clip(∇_θS ℓ_DLN(θ, φ; B_train))), k
                        steps, U the student optimizer's own update rule
                        (:class:`StudentStep`: momentum, lr, weight decay);
                        optionally φ reaches θ' only through the
                        direction of the clipped gradient, not its length
                        (:meth:`MetaObjective.lookahead_gradient`)
2. DLN learning:        g = ∂ℓ_val(θ'; B_val)/∂φ;  Δφ, state = T_ψ(g, s)
                        φ_new = φ - β Δφ  (a warm-up's first step: g plus
                        earlier pairs' g, :func:`pair_meta_gradient`)
3. Teacher learning:    ψ ← Adam(∂ℓ_val(θ''(φ_new(ψ)); B_val)/∂ψ), only
                        for a teacher with parameters (not AdamTeacher)

Everything runs through ``torch.func.functional_call`` on the unwrapped
model: the module's own parameters and buffers are never written during
the step, so the student is exactly as it was, and BatchNorm running
statistics are only updated on copies. Every pass sets the L2T modules'
context itself (:func:`model_loss`: progress, look-ahead, stock loss; nothing
recorded for the logs), so the step does not depend on what the caller set
before it. Nothing is committed unless every quantity is finite.
"""
import contextlib
from dataclasses import dataclass, field
from math import nan
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Union)

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ..models.dynamic_loss_module import dynamic_loss_modules
from ..models.loss_context import loss_context
from .student_step import StudentStep

Reduce = Callable[[Tensor], Tensor]


@dataclass
class ParameterPartition:
    """Which parameter plays which role in the teach step."""
    student: List[str]  # θ_S: differentiated through in the look-ahead
    fixed: List[str]  # the rest of θ: constants of the look-ahead
    dln: List[str]  # φ
    dln_by_module: Dict[str, List[str]]  # φ names of each L2T module


@dataclass
class TeachResult:
    applied: bool
    skip_reason: str = ''
    train_loss: float = float('nan')
    val_loss_before: float = float('nan')
    val_loss_after: float = float('nan')
    meta_grad_norm: float = float('nan')
    update_norm: float = float('nan')
    zero_meta_grad_modules: List[str] = field(default_factory=list)


def partition_parameters(
        model: nn.Module,
        lookahead_params: Union[str, Sequence[str]] = 'head'
) -> ParameterPartition:
    """Split the model's parameters into θ_S, fixed θ and φ.

    ``'head'``: every top-level child of the model that carries an L2T module
    (a detector's ``bbox_head``; a segmentor's ``decode_head`` *and*
    ``auxiliary_head``). ``'all'``: every student parameter. A list: name
    prefixes of ``model.named_parameters()``.
    """
    modules = dynamic_loss_modules(model)
    if not modules:
        raise ValueError(
            'L2TTeacherHook: the model has no L2TLoss or DynamicLossHead, so '
            'there is nothing to teach. Wrap a loss in the model config, '
            "e.g. loss_cls=dict(type='L2TLoss', loss=dict(type="
            "'CrossEntropyLoss', ...)), or a head with "
            "type='DynamicLossHead'.")
    dln_by_module = {
        name: [f'{name}.dln.{param}' for param, _ in
               module.dln.named_parameters()]
        for name, module in modules.items()
    }
    dln = [name for names in dln_by_module.values() for name in names]
    dln_set = set(dln)
    all_student = [
        name for name, _ in model.named_parameters() if name not in dln_set
    ]
    if lookahead_params == 'all':
        prefixes = ['']
    elif lookahead_params == 'head':
        prefixes = sorted({name.split('.')[0] for name in modules})
    elif isinstance(lookahead_params, (list, tuple)):
        prefixes = list(lookahead_params)
    else:
        raise ValueError(
            "L2TTeacherHook.lookahead_params must be 'head', 'all' or a list "
            f'of parameter-name prefixes, got {lookahead_params!r}')
    student = [
        name for name in all_student if any(
            prefix == '' or name == prefix or name.startswith(prefix + '.')
            for prefix in prefixes)
    ]
    if not student:
        examples = sorted({name.split('.')[0] for name in all_student})[:6]
        raise ValueError(
            f'L2TTeacherHook.lookahead_params={lookahead_params!r} matches no '
            f"student parameter; use 'head', 'all' or prefixes such as "
            f'{examples}.')
    student_set = set(student)
    fixed = [name for name in all_student if name not in student_set]
    return ParameterPartition(student, fixed, dln, dln_by_module)


def lookahead_tensors(model: nn.Module, partition: ParameterPartition):
    """The three tensor dicts a look-ahead runs on: θ_S (the module's own
    parameters, differentiable), constants (the rest of θ detached, plus
    *copies* of the buffers, since BatchNorm updates running stats in place
    and the module's own buffers must not move) and φ (fresh leaves)."""
    params = dict(model.named_parameters())
    student = {name: params[name] for name in partition.student}
    constants = {name: params[name].detach() for name in partition.fixed}
    constants.update(
        {name: buffer.clone() for name, buffer in model.named_buffers()})
    phi = {
        name: params[name].detach().clone().requires_grad_()
        for name in partition.dln
    }
    return student, constants, phi


@contextlib.contextmanager
def _own_tensors_restored(model: nn.Module) -> Iterator[None]:
    """Put every module's own parameters and buffers back after the block.

    ``functional_call`` swaps tensors into the modules and back, but where
    one submodule sits under several names (RTMDet's shared convs,
    Deformable DETR's tied branches) torch 2.13 leaves some of the swapped
    tensors in place: the student would then train tensors of the
    look-ahead's graph instead of its parameters.
    """
    saved = [(module, dict(module._parameters), dict(module._buffers))
             for module in model.modules()]
    try:
        yield
    finally:
        for module, parameters, buffers in saved:
            module._parameters.update(parameters)
            module._buffers.update(buffers)


def model_loss(model: nn.Module, tensors: Dict[str, Tensor], data: dict,
               *, progress: float, stock: bool = False,
               class_mean: bool = False) -> Tensor:
    """Total training loss of ``model`` evaluated with ``tensors`` in place of
    its parameters/buffers, summed the way the runner sums it.

    Its DLNs see training progress ``progress``; with ``stock`` every L2T
    module computes its stock loss instead (ℓ_val), with ``class_mean`` as
    the mean over the classes of the targets. The losses are ready to be
    differentiated twice (look-ahead mode), and nothing is recorded.
    """
    with loss_context(dynamic_loss_modules(model), progress=progress,
                      lookahead=True, stock=stock, class_mean=class_mean), \
            _own_tensors_restored(model):
        losses = functional_call(model, tensors, args=(),
                                 kwargs=dict(data, mode='loss'))
    total, _ = model.parse_losses(losses)
    return total


@dataclass(frozen=True)
class MetaObjective:
    """What the meta-gradients of φ and ψ differentiate, beyond the two
    batches: ℓ_val (its class mean with ``class_mean``,
    :func:`validation_loss`) after ``lookahead_steps`` look-ahead steps on
    the gradient of θ_S, clipped to the total norm ``max_grad_norm`` (None:
    not clipped) like the student's and, with
    ``direction_only``, reaching φ through its direction only
    (:meth:`lookahead_gradient`).

    One value, resolved by the hook from its options and the runner's optim
    wrapper (:meth:`L2TTeacherHook.meta_objective`), so that the meta-gradient
    probe and the zoo's teaching check compute exactly what the hook's teach
    step computes.
    """
    lookahead_steps: int = 1
    max_grad_norm: Optional[float] = None
    direction_only: bool = False
    class_mean: bool = False

    def lookahead_gradient(self, grads: Sequence[Optional[Tensor]]
                           ) -> List[Optional[Tensor]]:
        """Differentiable ``clip_grad_norm_``: the look-ahead must step like
        the student's optimizer, which clips (YOLOv3: max_norm=35 against
        raw norms in the thousands). Without it the look-ahead overshoots
        by orders of magnitude and the meta-gradient explodes.

        ``direction_only``: the gradient keeps its (clipped) length, but as
        a constant: φ reaches the look-ahead only through the gradient's
        direction. A one-step look-ahead otherwise rewards any φ that
        lengthens the step while it points downhill on ℓ_val, i.e.
        weighting the large-gradient (high-loss) elements up, whether their
        labels are right or not. The step itself is unchanged. (While the
        clip is active the length is already about the constant
        ``max_grad_norm``.)
        """
        present = [g for g in grads if g is not None]
        if not present or (self.max_grad_norm is None
                           and not self.direction_only):
            return list(grads)
        # + tiny: at a zero gradient sqrt's backward would be 0/0 = NaN and
        # the teach step skipped; a gradient of norm above 1e-15 is
        # unchanged.
        tiny = torch.finfo(present[0].dtype).tiny
        total = torch.sqrt(sum((g**2).sum() for g in present) + tiny)
        scale = None if self.max_grad_norm is None else (
            self.max_grad_norm / (total + 1e-6)).clamp(max=1.0)
        if self.direction_only:
            length = total if scale is None else scale * total
            scale = length.detach() / total
        return [None if g is None else g * scale for g in grads]


def lookahead(model: nn.Module, student: Dict[str, Tensor],
              constants: Dict[str, Tensor], phi: Dict[str, Tensor],
              train_data: dict, student_step: StudentStep,
              objective: MetaObjective, *, progress: float):
    """θ' after ``objective.lookahead_steps`` differentiable optimizer steps
    on the DLN loss (at training progress ``progress``), each on the
    gradient of θ_S as :meth:`MetaObjective.lookahead_gradient` shapes it.

    Returns ``(first DLN loss, θ')``; θ' stays a function of φ (and of ψ when
    φ is), which is what both meta-gradients flow through.
    """
    names = list(student)
    current, optimizer_state = dict(student), None
    first_loss = None
    for _ in range(objective.lookahead_steps):
        loss = model_loss(model, {**constants, **phi, **current}, train_data,
                          progress=progress)
        first_loss = loss if first_loss is None else first_loss
        grads = objective.lookahead_gradient(
            torch.autograd.grad(loss, [current[name] for name in names],
                                create_graph=True, allow_unused=True))
        current, optimizer_state = student_step.step(
            current, dict(zip(names, grads)), optimizer_state)
    return first_loss, current


def validation_loss(model: nn.Module, student: Dict[str, Tensor],
                    constants: Dict[str, Tensor], phi: Dict[str, Tensor],
                    val_data: dict, class_mean: bool = False) -> Tensor:
    """ℓ_val: the stock (baseline) loss of the looked-ahead student (no DLN
    runs, so training progress does not enter); with ``class_mean`` every
    class of the validation targets counts equally, as in mIoU, where the
    stock mean lets the most frequent classes (background) decide."""
    return model_loss(model, {**constants, **phi, **student}, val_data,
                      progress=0.0, stock=True, class_mean=class_mean)


def dln_meta_gradient(model: nn.Module, student: Dict[str, Tensor],
                      constants: Dict[str, Tensor], phi: Dict[str, Tensor],
                      train_data: dict, val_data: dict,
                      student_step: StudentStep,
                      objective: MetaObjective = MetaObjective(), *,
                      progress: float):
    """Stage 1: look ahead under φ (DLNs at training progress ``progress``)
    and differentiate ℓ_val(θ') w.r.t. φ, both as ``objective`` says.

    Returns the flat meta-gradient g and the (detached) DLN training loss
    and validation loss. ``phi`` values must be leaves requiring grad.
    """
    train_loss, student_ahead = lookahead(model, student, constants, phi,
                                          train_data, student_step, objective,
                                          progress=progress)
    val_loss = validation_loss(model, student_ahead, constants, phi, val_data,
                               objective.class_mean)
    grads = torch.autograd.grad(val_loss, list(phi.values()),
                                allow_unused=True)
    return (flatten(grads, list(phi.values())).detach(),
            train_loss.detach(), val_loss.detach())


def _averaged_meta_gradient(model: nn.Module, student: Dict[str, Tensor],
                            constants: Dict[str, Tensor],
                            phi: Dict[str, Tensor], train_data: dict,
                            val_data: dict, student_step: StudentStep,
                            objective: MetaObjective, progress: float,
                            reduce_mean: Reduce):
    """Stage 1 averaged over ranks: ``(g, train loss, val loss)``, or
    ``(None, None, None)`` if any of them is not finite on some rank."""
    meta_grad, train_loss, val_loss = dln_meta_gradient(
        model, student, constants, phi, train_data, val_data, student_step,
        objective, progress=progress)
    reduced = reduce_mean(
        torch.cat([meta_grad, torch.stack([train_loss, val_loss])]))
    if not torch.isfinite(reduced).all():
        return None, None, None
    return reduced[:-2], reduced[-2], reduced[-1]


def pair_meta_gradient(model: nn.Module, partition: ParameterPartition,
                       train_data: dict, val_data: dict,
                       student_step: StudentStep, progress: float,
                       objective: MetaObjective = MetaObjective(),
                       reduce_mean: Reduce = lambda tensor: tensor
                       ) -> Optional[Tensor]:
    """Stage 1 alone: one batch pair's meta-gradient g at the current θ and
    φ, averaged over ranks (``None`` if not finite). Changes nothing: a
    warm-up sums these and hands the sum to :func:`teach_step`
    (``accumulated``)."""
    student, constants, phi = lookahead_tensors(model, partition)
    meta_grad, _, _ = _averaged_meta_gradient(
        model, student, constants, phi, train_data, val_data, student_step,
        objective, progress, reduce_mean)
    return meta_grad


def flatten(tensors: Sequence[Optional[Tensor]],
            like: Sequence[Tensor]) -> Tensor:
    """One flat vector of ``tensors`` (zeros where one is ``None``, shaped
    like its entry in ``like``): how φ, g and Δφ travel between stages."""
    return torch.cat([
        (t if t is not None else torch.zeros_like(ref)).reshape(-1)
        for t, ref in zip(tensors, like)
    ])


def unflatten(flat: Tensor, like: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The inverse of :func:`flatten`: views of ``flat`` by name."""
    out, offset = {}, 0
    for name, ref in like.items():
        out[name] = flat[offset:offset + ref.numel()].view_as(ref)
        offset += ref.numel()
    return out


def student_state(progress: float, train_loss: Tensor,
                  val_loss: Tensor) -> Tensor:
    """``[t / T, log1p(train loss), log1p(val loss)]``, on the device and in
    the dtype of the losses."""
    return torch.stack([
        torch.full_like(train_loss, float(progress)),
        torch.log1p(train_loss.clamp(min=0)),
        torch.log1p(val_loss.clamp(min=0))
    ])


def teach_step(model: nn.Module,
               partition: ParameterPartition,
               teacher: nn.Module,
               teacher_optimizer: torch.optim.Optimizer,
               train_data: dict,
               val_data: dict,
               student_step: StudentStep,
               dln_lr: float,
               progress: float,
               objective: MetaObjective = MetaObjective(),
               reduce_mean: Reduce = lambda tensor: tensor,
               accumulated: Optional[Tensor] = None) -> TeachResult:
    """Run one teach step and, if everything is finite, commit φ, ψ and the
    teacher's state. ``model`` must be unwrapped (not DDP); ``reduce_mean``
    averages a flat tensor over ranks so φ and ψ stay identical everywhere.
    ``train_data``/``val_data`` are outputs of the model's data preprocessor;
    ``objective``: the look-ahead and ℓ_val the meta-gradients differentiate
    (:class:`MetaObjective`); ``accumulated``: the summed meta-gradients of
    earlier batch pairs (:func:`pair_meta_gradient`), added to this pair's
    before the teacher sees it (a warm-up's first step).
    """
    params = dict(model.named_parameters())
    student, constants, phi = lookahead_tensors(model, partition)

    # 1. Student look-ahead under the current φ; g = ∂ℓ_val(θ')/∂φ.
    meta_grad, train_value, val_value = _averaged_meta_gradient(
        model, student, constants, phi, train_data, val_data, student_step,
        objective, progress, reduce_mean)
    if meta_grad is None:
        return TeachResult(False, 'non-finite loss or meta-gradient')
    if accumulated is not None:
        meta_grad = meta_grad + accumulated

    # 2. DLN learning: the teacher turns g into Δφ (a function of ψ).
    update, teacher_state = teacher.propose(
        meta_grad, student_state(progress, train_value, val_value))
    phi_flat = flatten(list(phi.values()), list(phi.values())).detach()
    phi_new = unflatten(phi_flat - dln_lr * update, phi)
    finite = [update] + list(teacher_state.values())

    # 3. Teacher learning: look ahead again under φ_new(ψ); ℓ_val -> ψ.
    teacher_grad, val_after_value = None, torch.full_like(val_value, nan)
    if teacher.learnable:
        _, student_ahead = lookahead(model, student, constants, phi_new,
                                     train_data, student_step, objective,
                                     progress=progress)
        val_after = validation_loss(model, student_ahead, constants, phi_new,
                                    val_data, objective.class_mean)
        teacher_params = {
            name: p
            for name, p in teacher.named_parameters() if p.requires_grad
        }
        reduced = reduce_mean(
            torch.cat([
                flatten(
                    torch.autograd.grad(val_after,
                                        list(teacher_params.values()),
                                        allow_unused=True),
                    list(teacher_params.values())),
                val_after.detach().reshape(1)
            ]))
        teacher_grad, val_after_value = reduced[:-1], reduced[-1]
        finite.append(reduced)
    if not all(torch.isfinite(value).all() for value in finite):
        return TeachResult(False, 'non-finite teacher update or gradient')

    # Commit: φ, ψ and the teacher's state change together or not at all.
    with torch.no_grad():
        for name, value in phi_new.items():
            params[name].copy_(value)
    teacher.commit(teacher_state)
    if teacher_grad is not None:
        teacher_optimizer.zero_grad()
        for name, grad in unflatten(teacher_grad, teacher_params).items():
            teacher_params[name].grad = grad.clone()
        teacher_optimizer.step()

    zero_modules = [
        module for module, names in partition.dln_by_module.items()
        if not _has_nonzero(meta_grad, phi, names)
    ]
    return TeachResult(
        applied=True,
        train_loss=train_value.item(),
        val_loss_before=val_value.item(),
        val_loss_after=val_after_value.item(),
        meta_grad_norm=meta_grad.norm().item(),
        update_norm=(dln_lr * update).detach().norm().item(),
        zero_meta_grad_modules=zero_modules)


def _has_nonzero(flat: Tensor, like: Dict[str, Tensor],
                 names: List[str]) -> bool:
    pieces = unflatten(flat, like)
    return any(bool(pieces[name].abs().sum() > 0) for name in names)
