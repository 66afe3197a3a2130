"""The noise diagnostic: do the DLNs' weights single out corrupted labels?

On a batch whose data samples carry clean labels next to the noisy ones
(``l2t_mm.datasets.clean_labels``), the training loss is evaluated twice
without gradients: with the noisy labels, as trained, and with the clean
ones. Every DLN sees the same elements both times (same predictions, same
priors or pixels) unless the head's assigner looks at the labels (YOLOX's
SimOTA may then pick other positives: such a DLN is left out of that step's
report); an element whose loss target differs between the two passes had
its label corrupted: a pixel whose class was flipped, a positive
prior assigned a box whose class was flipped. The noise AUC is how well a
low weight in the noisy pass picks those out (0.5: blind); the
within-target AUC compares only elements with the same noisy target (on
sigmoid heads the plain one also rewards weighting target-1 columns
against target-0 ones, where corrupted elements are over-represented).

Works for any head, since it compares what the losses receive rather than
how the head assigned it; only element-weighting DLNs (``WeightingDLN``)
have weights to rank.
"""
import contextlib
import copy
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor, nn

from ..models.dln import WeightingDLN
from ..models.dynamic_loss_module import dynamic_loss_modules
from ..models.noise_auc import noise_auc, noise_auc_within
from .teach_step import model_loss


@dataclass
class NoiseReport:
    """What one DLN did with the corrupted elements of one batch."""
    auc: float  # NaN when the batch had no corrupted (or no clean) element
    auc_within_target: float  # the same within elements of equal target
    num_elements: int
    num_corrupted: int
    values: Tensor  # per valid element: stock loss, weight, corrupted
    weights: Tensor
    corrupted: Tensor


def clean_labelled(data: dict) -> Optional[dict]:
    """``data`` (a data preprocessor's output) with every sample's clean
    labels in place of its noisy ones, or ``None`` if a sample has none."""
    samples = data.get('data_samples')
    if not isinstance(samples, (list, tuple)) or not samples:
        return None
    clean = []
    for sample in samples:
        # A deep copy: ``clone`` shares nested elements (gt_instances), and
        # the noisy batch must stay as it is.
        if 'gt_sem_seg_clean' in sample:
            relabelled = copy.deepcopy(sample)
            relabelled.gt_sem_seg = PixelData(data=_padded_like(
                sample.gt_sem_seg_clean.data, sample.gt_sem_seg.data))
        elif 'gt_instances' in sample and \
                'clean_labels' in sample.gt_instances:
            relabelled = copy.deepcopy(sample)
            relabelled.gt_instances.labels = \
                sample.gt_instances.clean_labels.to(sample.gt_instances.labels)
        else:
            return None
        clean.append(relabelled)
    return dict(data, data_samples=clean)


def _padded_like(clean: Tensor, noisy: Tensor) -> Tensor:
    """The clean map padded at the bottom and right with the ignore index,
    as mmseg's data preprocessor padded the noisy one to the batch shape."""
    height = noisy.shape[-2] - clean.shape[-2]
    width = noisy.shape[-1] - clean.shape[-1]
    if height or width:
        clean = F.pad(clean, (0, width, 0, height), value=255)
    return clean.to(noisy)


@contextlib.contextmanager
def _recording(modules: Dict[str, nn.Module],
               records: Dict[str, List]) -> Iterator[None]:
    """Record (inputs, output) of every element-weighting DLN call."""
    handles = []
    for name, module in modules.items():
        if not isinstance(module.dln, WeightingDLN):
            continue
        calls = records.setdefault(name, [])
        handles.append(module.dln.register_forward_hook(
            lambda _, inputs, output, calls=calls: calls.append(
                (inputs[0], output.detach()))))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _record(model: nn.Module, tensors: Dict[str, Tensor], data: dict,
            progress: float) -> Dict[str, List]:
    records: Dict[str, List] = {}
    with torch.no_grad(), _recording(dynamic_loss_modules(model), records):
        model_loss(model, tensors, data, progress=progress)
    return records


def noise_reports(model: nn.Module, data: dict, clean_data: dict, *,
                  progress: float,
                  phi: Optional[Dict[str, Tensor]] = None
                  ) -> Dict[str, NoiseReport]:
    """One :class:`NoiseReport` per element-weighting DLN of ``model``, its
    DLNs at training progress ``progress`` and, given ``phi``, with those
    values in place of their parameters (a φ the teacher has not applied).

    The model's parameters and buffers are not changed (BatchNorm running
    statistics are updated on copies).
    """
    tensors = {name: param.detach()
               for name, param in model.named_parameters()}
    tensors.update(phi or {})
    tensors.update(
        {name: buffer.clone() for name, buffer in model.named_buffers()})
    noisy = _record(model, tensors, data, progress)
    tensors.update(
        {name: buffer.clone() for name, buffer in model.named_buffers()})
    clean = _record(model, tensors, clean_data, progress)
    reports = {}
    for name, calls in noisy.items():
        values, weights, corrupted, targets = [], [], [], []
        clean_calls = clean.get(name, [])
        for (loss, output), (clean_loss, _) in zip(calls, clean_calls):
            labels, clean_labels = loss.labels(), clean_loss.labels()
            if labels.shape != clean_labels.shape:
                continue  # the head saw different elements: not comparable
            valid = loss.valid
            values.append(loss.values.detach()[valid])
            weights.append((output[valid] / values[-1]))
            corrupted.append((labels != clean_labels)[valid])
            targets.append(loss.target_groups()[valid])
        if not values:
            continue
        values, weights, corrupted, targets = (
            torch.cat(values), torch.cat(weights), torch.cat(corrupted),
            torch.cat(targets))
        reports[name] = NoiseReport(
            auc=noise_auc(weights, corrupted),
            auc_within_target=noise_auc_within(weights, corrupted, targets),
            num_elements=values.numel(),
            num_corrupted=int(corrupted.sum()), values=values,
            weights=weights, corrupted=corrupted)
    return reports
