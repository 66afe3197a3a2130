"""Dynamic Loss Networks (DLN): the small networks the teacher adjusts.

A DLN turns the stock loss of one loss term into the loss the student
minimises. Its parameters are φ in docs/method.md: they never receive
gradients from the student's loss (``requires_grad`` is off, see
:func:`freeze_dln`); only the teacher hook changes them.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..utils.checks import require_bool
from ..utils.precision import at_least_float32
from .weight_record import DLNRecord, WeightStats


@dataclass
class ElementwiseLoss:
    """One loss term seen element by element, as a DLN sees it.

    ``values`` is the stock loss with ``reduction='none'`` (the caller's
    ``weight`` and the stock ``loss_weight`` already applied). The features
    are detached: a DLN decides how much each element counts, it does not open
    new gradient paths into the prediction.
    """
    values: Tensor
    confidence: Tensor  # probability of the correct answer; 0: regression
    # probability of the prediction's own top answer: softmax, its top
    # class (0 where the label is ignored), so with ``confidence`` it tells
    # a label the prediction confidently contradicts (top high, confidence
    # low) from a hard one (both low); sigmoid, the side the element leans
    # to, max(p, 1 - p); 0: regression (and QualityFocalLoss's elements)
    top: Tensor
    positive: Tensor  # 1 where the target is a valid class; 1: regression
    valid: Tensor  # bool: elements that contribute to the stock loss
    progress: float  # training progress t / T in [0, 1]
    kind: str  # 'softmax', 'sigmoid' or 'regression'
    pred: Tensor  # the raw prediction (logits for classification kinds)
    target: Tensor

    def labels(self) -> Tensor:
        """What each element's label is, in the shape of its values: the
        target, or for class-index targets of a per-class sigmoid loss,
        whether the element's class column is the target's."""
        if self.target.shape == self.values.shape:
            return self.target.detach()
        return self.positive

    def target_groups(self) -> Tensor:
        """Which elements share a target, as a long tensor of the values'
        shape: the class for softmax losses, target > 0 (positive or
        negative) for sigmoid ones (soft IoU targets of QFL/VFL/YOLOX would
        otherwise put every positive in a group of its own), one group for
        regression. Elements within a group differ only in how the
        prediction meets the same label, which is where a corrupted label
        can show."""
        if self.kind == 'softmax':
            return self.labels().long()
        if self.kind == 'sigmoid':
            return (self.labels() > 0).long()
        return torch.zeros_like(self.values, dtype=torch.long)


def freeze_dln(module: nn.Module) -> None:
    """Keep DLN parameters out of the student's optimisation.

    The runner's optimizer still lists them, but a parameter that never gets a
    ``.grad`` is never stepped (nor decayed) by torch optimizers.
    """
    for param in module.parameters():
        param.requires_grad_(False)


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    count = mask.sum()
    return (values * mask).sum() / count.clamp(min=1)


class ScoreMLP(nn.Module):
    """MLP that scores elements; its scores become log-weights.

    Mirrored initialisation: the hidden units come in two identical halves
    whose outputs are subtracted, so the score is exactly 0 for every input
    (an L2T model starts exactly as its baseline) while both layers get a
    meta-gradient from the first teach step (a zero output layer would leave
    the first layer without one). Scores are bounded to ±``max_score``, so
    one element's weight is at most e^(2·max_score) times another's.

    Given ``slope``, adds the mean slope 1 - tanh² of its hidden units over
    the elements it scores to it: near 0 the units are saturated and the
    meta-gradient vanishes.
    """
    max_score = 3.0

    def __init__(self, in_features: int, hidden_channels: int) -> None:
        super().__init__()
        if hidden_channels < 1:
            raise ValueError(f'hidden_channels must be >= 1, got '
                             f'{hidden_channels!r}')
        self.fc1 = nn.Linear(in_features, 2 * hidden_channels)
        self.fc2 = nn.Linear(2 * hidden_channels, 1, bias=False)
        self.init_weights()

    def init_weights(self) -> None:
        # Called again by mmengine after a parent's init_cfg (which may
        # re-initialise every nn.Linear): keeps "L2T at step 0 == baseline".
        half = self.fc1.out_features // 2
        with torch.no_grad():
            nn.init.xavier_uniform_(self.fc1.weight[:half])
            self.fc1.weight[half:].copy_(self.fc1.weight[:half])
            nn.init.zeros_(self.fc1.bias)
            nn.init.constant_(self.fc2.weight, 1.0 / half)

    def forward(self, features: Tensor, valid: Optional[Tensor] = None,
                slope: Optional[WeightStats] = None) -> Tensor:
        half = self.fc1.out_features // 2
        # The two halves are computed by separate, identical calls so that
        # they cancel exactly at initialisation.
        first = torch.tanh(F.linear(features, self.fc1.weight[:half],
                                    self.fc1.bias[:half]))
        second = torch.tanh(F.linear(features, self.fc1.weight[half:],
                                     self.fc1.bias[half:]))
        if slope is not None:
            # Σ tanh² over the units as a dot product: no (elements × units)
            # temporaries, which cost as much as the DLN itself on a
            # segmentation batch (every training iteration is recorded).
            squares = sum(torch.einsum('...i,...i->...', units, units)
                          for units in (first.detach(), second.detach()))
            slope.update(1 - squares / (2 * half), valid)
        score = (F.linear(first, self.fc2.weight[:, :half])
                 - F.linear(second, self.fc2.weight[:, half:])).squeeze(-1)
        return self.max_score * torch.tanh(score / self.max_score)


def normalise_log_weights(scores: Tensor, valid: Tensor,
                          groups: Optional[Tensor] = None) -> Tensor:
    """Weights ``exp(score)`` scaled to mean 1 over valid elements, computed
    in log space (and in at least float32): the DLN redistributes the loss
    between elements instead of changing its overall scale, and the weights
    can neither all vanish (the largest is at least 1) nor overflow.

    Given ``groups`` (integer ids of the scores' shape), the mean is 1
    within each group of valid elements instead: every group keeps its
    total weight, and the weights rank the elements within a group, never
    one group against another. Invalid elements then get weight 1.
    """
    scores = at_least_float32(scores)
    mask = valid.to(torch.bool)
    if not mask.any():
        return torch.ones_like(scores)
    if groups is None:
        count = mask.sum().to(scores.dtype)
        masked = scores.masked_fill(~mask, float('-inf'))
        log_mean = torch.logsumexp(masked.reshape(-1), 0) - count.log()
        return torch.exp(scores - log_mean)
    # Group ids as indices 0..n-1 of the groups present among valid
    # elements (ids may be negative or large); invalid elements join group
    # 0 and are masked out below.
    present, selected = torch.unique(groups[mask], return_inverse=True)
    index = torch.zeros_like(groups, dtype=torch.long).masked_scatter(
        mask, selected)
    valid_scores = scores[mask]
    # Shift each group by its largest score (a constant per group cancels
    # in the ratio) so that no group's sum underflows or overflows.
    group_max = scores.new_full((present.numel(), ), float('-inf'))
    group_max = group_max.scatter_reduce(0, selected, valid_scores.detach(),
                                         'amax')
    # Invalid elements are set to 0 before exp so that nothing large
    # enters the backward pass through the masked branch.
    shifted = torch.exp(torch.where(mask, scores - group_max[index], 0))
    sums = torch.zeros_like(group_max).index_add(0, selected, shifted[mask])
    means = sums / torch.bincount(selected, minlength=present.numel())
    return torch.where(mask, shifted / means[index], 1)


def standardise(values: Tensor, valid: Tensor, limit: float = 5.0) -> Tensor:
    """``values`` standardised over the valid elements of this call (clamped
    to ±``limit``): the DLN sees how large an element's loss is relative to
    the others, whatever the loss's scale at this point of training. In
    at least float32 (:func:`at_least_float32`)."""
    values = at_least_float32(values)
    mask = valid.to(values.dtype)
    mean = masked_mean(values, mask)
    std = masked_mean((values - mean).square(), mask).sqrt()
    return ((values - mean) / (std + 1e-6)).clamp(-limit, limit)


class DLN(nn.Module):
    """Base of the element DLNs.

    ``forward(loss, record=None)`` returns the per-element loss; with a
    :class:`~l2t_mm.models.weight_record.DLNRecord` it also summarises its
    weights there (the caller decides when: the hook records the student's
    own passes, nothing else).
    """
    teachable = True  # L2TTeacherHook adjusts the parameters
    shape_options: tuple = ()  # see WeightingDLN.shape_options

    @property
    def input_options(self) -> dict:
        """Options that decide what φ reads or what its output means,
        beyond its shapes; a saved teacher records them so a reuse that
        differs can name the key."""
        return {}


@MODELS.register_module()
class WeightingDLN(DLN):
    """Per-element weighting DLN, the default; works for every loss type.

    weight_i = exp(MLP([z_i, confidence_i, positive_i, t/T(, top_i)])),
    normalised to mean 1 over valid elements (in log space); the loss is
    ``weight * l``.
    z_i is log1p(l_i) standardised over the call's valid elements, so the
    DLN reads "how hard is this element compared with the others" the same
    way early and late in training. Identity at initialisation, so an L2T
    model starts exactly as its baseline.

    Args:
        hidden_channels: width of the MLP's hidden layer.
        use_top_probability: also feed the probability of the prediction's
            own top answer (``ElementwiseLoss.top``). For a softmax loss
            z_i and confidence_i are both functions of the label's
            probability, so without it a label the student confidently
            contradicts and a label it is unsure about (a hard one) look
            alike to the DLN whenever their losses are equal; with it the
            two can be weighted apart. For sigmoid and regression losses it
            adds nothing the other inputs lack.
        normalise_over: ``'all'`` (default): the weights have mean 1 over
            the call's valid elements, so the DLN may move loss from one
            class to another (from the background to the shapes, from the
            negatives of a sigmoid head to its positives). ``'target'``:
            mean 1 within the elements of each target
            (:meth:`ElementwiseLoss.target_groups`), so every class (or
            side of a sigmoid target) keeps its total weight: the DLN
            cannot raise or lower a class as a whole, only rank elements
            with the same label, which is where a corrupted label differs
            from a clean one. (A class's weighted loss still changes by
            Σ(w_i - 1)·l_i when the ranking follows the loss.)
    """
    base_features = 4  # z, confidence, positive, t/T
    normalisations = ('all', 'target')
    # Input options the shapes of φ also tell (saved teachers from before
    # options were recorded are checked on shapes for these).
    shape_options = ('use_top_probability', )

    def __init__(self, hidden_channels: int = 16,
                 use_top_probability: bool = False,
                 normalise_over: str = 'all') -> None:
        super().__init__()
        require_bool(use_top_probability, 'WeightingDLN.use_top_probability')
        if normalise_over not in self.normalisations:
            raise ValueError(
                f'WeightingDLN.normalise_over must be one of '
                f'{self.normalisations}, got {normalise_over!r}')
        self.use_top_probability = use_top_probability
        self.normalise_over = normalise_over
        self.mlp = ScoreMLP(self.base_features + int(use_top_probability),
                            hidden_channels)

    @property
    def input_options(self) -> dict:
        return dict(use_top_probability=self.use_top_probability,
                    normalise_over=self.normalise_over)

    def init_weights(self) -> None:
        self.mlp.init_weights()

    def forward(self, loss: ElementwiseLoss,
                record: Optional[DLNRecord] = None) -> Tensor:
        values = loss.values
        progress = torch.full_like(values, loss.progress)
        hardness = standardise(torch.log1p(values.detach().clamp(min=0)),
                               loss.valid)
        columns = [hardness, loss.confidence, loss.positive, progress]
        if self.use_top_probability:
            columns.append(loss.top)
        scores = self.mlp(torch.stack(columns, dim=-1), loss.valid,
                          record.slope if record is not None else None)
        groups = (loss.target_groups() if self.normalise_over == 'target'
                  else None)
        weights = normalise_log_weights(scores, loss.valid, groups)
        if record is not None:
            record.add_element_weights(weights, loss)
        return weights * values


@MODELS.register_module()
class LogitDLN(DLN):
    """The reference code's DLN form, for classification losses only.

    For each element and each non-target class it feeds
    ``[p_target, p_other, 1, 0]`` through a bias-free MLP
    (4 -> 40 -> 40 -> 40 -> 40 -> 1, LeakyReLU) and averages. For sigmoid
    heads each element is a ``[p, y, 1, 0]`` row (ours). The output replaces
    the stock loss on the elements where the stock loss counts; the caller's
    ``weight`` acts only through that support, and ``loss_weight`` scales it.
    Not the identity at initialisation (unlike :class:`WeightingDLN`).

    Args:
        hidden_channels: width of the four hidden layers.
    """

    def __init__(self, hidden_channels: int = 40) -> None:
        super().__init__()
        widths = [4] + [hidden_channels] * 4
        layers = []
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.Linear(width_in, width_out, bias=False),
                nn.LeakyReLU()
            ]
        layers.append(nn.Linear(hidden_channels, 1, bias=False))
        self.mlp = nn.Sequential(*layers)

    def forward(self, loss: ElementwiseLoss,
                record: Optional[DLNRecord] = None) -> Tensor:
        if loss.kind == 'softmax':
            per_element = self._softmax_rows(loss.pred, loss.target)
        elif loss.kind == 'sigmoid':
            prob = loss.pred.sigmoid()
            target = loss.positive
            ones = torch.ones_like(prob)
            rows = torch.stack(
                [prob, target, ones, torch.zeros_like(prob)], -1)
            per_element = self.mlp(rows).squeeze(-1)
        else:
            raise TypeError(
                'LogitDLN only wraps classification losses (softmax or '
                'sigmoid logits); use dln=dict(type="WeightingDLN") for '
                'regression losses such as L1, MSE or IoU.')
        per_element = per_element * loss.valid.to(per_element.dtype)
        if record is not None:  # no weights: the summary is of its loss
            record.weights.update(per_element, loss.valid)
        return per_element

    def _softmax_rows(self, logits: Tensor, labels: Tensor) -> Tensor:
        num_classes = logits.size(1)
        prob = logits.softmax(dim=1).movedim(1, -1)  # (..., C)
        in_range = (labels >= 0) & (labels < num_classes)
        safe_labels = labels.clamp(0, num_classes - 1).long()
        p_target = prob.gather(-1, safe_labels.unsqueeze(-1))
        is_other = ~F.one_hot(safe_labels, num_classes).bool()
        rows = torch.stack([
            p_target.expand_as(prob), prob,
            torch.ones_like(prob), torch.zeros_like(prob)
        ], dim=-1)
        per_class = self.mlp(rows).squeeze(-1)
        per_element = masked_mean_last(per_class, is_other)
        return per_element * in_range.to(per_element.dtype)


def masked_mean_last(values: Tensor, mask: Tensor) -> Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum(-1) / mask.sum(-1).clamp(min=1)
