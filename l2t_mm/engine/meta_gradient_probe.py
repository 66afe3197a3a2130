"""Does the meta-gradient agree with itself? A probe over many batches.

A teach step moves φ along one batch pair's meta-gradient g. Whether that
helps depends on whether g points the same way from batch to batch and
whether its size says how much to trust it. The probe computes g on N
(training batch, teach batch) pairs at one fixed student and φ, and asks of
each direction a teacher could take what a step along it does to the noise
AUC of the DLN weights (on batches with clean labels beside noisy ones):

- ``own``: batch i's sign step, a fresh AdamTeacher's first step on g_i
  (whatever teacher the config names), scored on batch i's own training
  data;
- ``sum``: the sign of Σ g_i, where Adam's direction goes after many steps:
  batches with a large g outvote the rest;
- ``vote``: the sign of Σ g_i / ‖g_i‖, every batch pair one vote.

The aggregates are scored on every batch's training data. From φ at
identity a sign step gives an AUC near 0 or 1 almost by construction: it
says which way the step turns the weights, not how strong g is; how
often the pairs agree is the measure of consistency. Nothing of the model,
φ included, is changed.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple

import torch
from torch import Tensor, nn

from .noise_diagnostic import clean_labelled, noise_reports
from .student_step import StudentStep
from .teach_step import (MetaObjective, ParameterPartition,
                         dln_meta_gradient, flatten, lookahead_tensors,
                         unflatten)


@dataclass
class ProbedBatch:
    """One batch pair's meta-gradient and what a step along it did."""
    meta_grad: Tensor
    val_loss: float
    own_auc: Dict[str, float]  # per DLN, after batch i's own sign step


@dataclass
class ProbeReport:
    """Every pair's meta-gradient, and the noise AUC of the aggregate
    directions, averaged over the pairs' training batches."""
    batches: List[ProbedBatch]
    aggregate_auc: Dict[str, Dict[str, float]]  # 'sum'/'vote' -> DLN -> AUC
    mean_cosine: float  # mean cosine similarity between pairs of g_i


def step_noise_auc(model: nn.Module, partition: ParameterPartition,
                   direction: Tensor, step_size: float, train_data: dict,
                   progress: float) -> Dict[str, float]:
    """Noise AUC of each DLN on ``train_data`` with φ moved to
    ``φ - step_size · direction`` (in the forward pass only: the model's
    own φ stays as it is)."""
    clean_data = clean_labelled(train_data)
    if clean_data is None:
        raise ValueError(
            'the meta-gradient probe needs training batches with clean labels '
            'beside the noisy ones (a dataset made by tools/make_dataset.py '
            'with --noise-class-flip/--noise-drop-box)')
    params = dict(model.named_parameters())
    phi = {name: params[name].detach() for name in partition.dln}
    moved = unflatten(flatten(list(phi.values()), list(phi.values())) -
                      step_size * direction, phi)
    reports = noise_reports(model, train_data, clean_data, progress=progress,
                            phi=moved)
    return {name: report.auc for name, report in reports.items()}


def _mean_auc(aucs: Iterable[Dict[str, float]]) -> Dict[str, float]:
    collected: Dict[str, List[float]] = {}
    for auc in aucs:
        for name, value in auc.items():
            if value == value:  # NaN: nothing corrupted on that batch
                collected.setdefault(name, []).append(value)
    return {name: sum(values) / len(values)
            for name, values in collected.items()}


def _unit(gradients: List[Tensor]) -> Tensor:
    """The gradients as rows of unit length (a zero one stays zero)."""
    return torch.stack([g / g.norm().clamp(min=1e-30) for g in gradients])


def mean_pairwise_cosine(gradients: List[Tensor]) -> float:
    """Mean cosine similarity over all pairs (NaN with fewer than two)."""
    if len(gradients) < 2:
        return float('nan')
    unit = _unit(gradients)
    cosine = unit @ unit.T
    count = len(gradients)
    return float((cosine.sum() - cosine.diagonal().sum()) /
                 (count * (count - 1)))


def probe_meta_gradients(model: nn.Module, partition: ParameterPartition,
                         student_step: StudentStep,
                         pairs: Iterable[Tuple[dict, dict]], *,
                         step_size: float, progress: float,
                         objective: MetaObjective = MetaObjective()
                         ) -> ProbeReport:
    """Meta-gradients of every (train, teach) pair of preprocessed batches at
    the model's current θ and φ, and the noise AUC of steps along them
    (module docstring); ``objective``: as the hook's teach step has it
    (:meth:`L2TTeacherHook.meta_objective`)."""
    batches, train_batches = [], []
    for train_data, val_data in pairs:
        student, constants, phi = lookahead_tensors(model, partition)
        meta_grad, _, val_loss = dln_meta_gradient(
            model, student, constants, phi, train_data, val_data,
            student_step, objective, progress=progress)
        own = step_noise_auc(model, partition, meta_grad.sign(), step_size,
                             train_data, progress)
        batches.append(ProbedBatch(meta_grad, val_loss.item(), own))
        train_batches.append(train_data)
    if not batches:
        raise ValueError('the meta-gradient probe got no batch pairs')
    gradients = [batch.meta_grad for batch in batches]
    directions = {
        'sum': torch.stack(gradients).sum(0).sign(),
        'vote': _unit(gradients).sum(0).sign(),
    }
    aggregate = {
        name: _mean_auc(
            step_noise_auc(model, partition, direction, step_size, data,
                           progress) for data in train_batches)
        for name, direction in directions.items()
    }
    return ProbeReport(batches, aggregate, mean_pairwise_cosine(gradients))
