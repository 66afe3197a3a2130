"""Term weightings for :class:`DynamicLossHead`: one weight per loss term.

Three ways to weight the terms of a head's loss dict (``loss_cls``,
``loss_bbox``, ...), all with weights of mean 1 at initialisation:

- :class:`TermWeightingDLN`, a DLN the L2T teacher adjusts;
- :class:`UncertaintyWeighting` (Kendall et al., CVPR 2018), learned
  log-variances trained by the student's own optimizer;
- :class:`DynamicWeightAverage` (Liu et al., CVPR 2019), a rule driven by
  how fast each term has been falling.

The last two are the cheap adaptive-weighting peers the benchmark compares
L2T against. They are not ``teachable``: ``L2TTeacherHook`` refuses them.
"""
import math
from typing import List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.registry import MODELS
from torch import Tensor, nn

from .dln import ScoreMLP, normalise_log_weights
from .weight_record import DLNRecord


class TermWeighting(nn.Module):
    """Base: the term-count check.

    Subclasses implement ``forward(term_values, progress, term_names,
    record=None)`` -> one weight per term (each term's weight added to
    ``record`` when one is given), and may add a :meth:`regularizer` to the
    loss.

    Args:
        max_terms: the most loss terms a head may return; parameters and
            buffers are sized by it, since they must exist before the first
            loss is seen (the optimizer is built before training).
    """
    teachable = True  # whether L2TTeacherHook may adjust the parameters
    # Weightings of mean 1 over the terms give one term the weight 1 always.
    needs_two_terms = False

    def __init__(self, max_terms: int = 8) -> None:
        super().__init__()
        self.max_terms = max_terms

    @property
    def input_options(self) -> dict:
        """As ``WeightingDLN.input_options``: what φ reads beyond its
        shapes. A term weighting reads the terms only."""
        return {}

    def check_terms(self, term_names: List[str]) -> int:
        num_terms = len(term_names)
        if num_terms > self.max_terms:
            name = type(self).__name__
            raise ValueError(
                f'{name}.max_terms={self.max_terms} but the head returned '
                f'{num_terms} loss terms {term_names}; set '
                f'dln=dict(type="{name}", max_terms={num_terms}).')
        if num_terms == 1 and self.needs_two_terms:
            raise ValueError(
                f'{type(self).__name__} weights the loss terms to mean 1, but '
                f'the head returned the one loss term {term_names}, whose '
                'weight would be 1 at every iteration. Wrap the loss itself '
                'in L2TLoss for element-wise weights (mmseg: '
                'decode_head.loss_decode=dict(type="L2TLoss", loss=...)), give'
                ' the head several losses (mmseg: loss_decode=[dict(...), '
                'dict(...)]), or use UncertaintyWeighting, which learns a '
                'scale for a single term.')
        return num_terms

    def regularizer(self, num_terms: int) -> Optional[Tensor]:
        """A term added to the total loss (``None``: nothing to add)."""
        return None


@MODELS.register_module()
class TermWeightingDLN(TermWeighting):
    """Term-level DLN, adjusted by the L2T teacher.

    weight_k = exp(MLP([log1p(L_k), t/T, onehot(k)])), normalised to
    mean 1 over the terms. Identity at initialisation.

    Args:
        max_terms: size of the term one-hot.
        hidden_channels: width of the MLP's hidden layer.
    """
    needs_two_terms = True

    def __init__(self, max_terms: int = 8, hidden_channels: int = 16) -> None:
        super().__init__(max_terms)
        self.mlp = ScoreMLP(2 + max_terms, hidden_channels)

    def init_weights(self) -> None:
        self.mlp.init_weights()

    def forward(self, term_values: Tensor, progress: float,
                term_names: List[str],
                record: Optional[DLNRecord] = None) -> Tensor:
        num_terms = self.check_terms(term_names)
        one_hot = torch.eye(self.max_terms, dtype=term_values.dtype,
                            device=term_values.device)[:num_terms]
        features = torch.cat([
            torch.log1p(term_values.detach().clamp(min=0)).unsqueeze(-1),
            torch.full_like(term_values, progress).unsqueeze(-1), one_hot
        ], dim=-1)
        all_valid = torch.ones_like(term_values, dtype=torch.bool)
        scores = self.mlp(features,
                          slope=record.slope if record is not None else None)
        weights = normalise_log_weights(scores, all_valid)
        if record is not None:
            record.add_term_weights(weights, term_names)
        return weights


@MODELS.register_module()
class UncertaintyWeighting(TermWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, 2018).

    Each term k has a learned log-variance s_k; the student minimises
    ``sum_k exp(-s_k) / 2 * L_k + s_k / 2`` (the regression form of the
    paper, as most multi-task libraries use it for every term). s_k is an
    ordinary parameter trained by the student's optimizer with the rest of
    the model. s_k starts at log(1/2), so every weight starts at 1 and the
    model starts as its baseline (the s_k / 2 terms add a constant).

    The optimum weight of a term of size L is 1 / (2L): every weighted term
    settles near 1/2 and its gradient shrinks by the same factor. With
    losses summed over anchors (mmdet's YOLOv3: hundreds) that starves the
    student; docs/benchmark/default_schedule.md measures the collapse.

    Args:
        max_terms: the most loss terms the head returns.
    """
    teachable = False

    def __init__(self, max_terms: int = 8) -> None:
        super().__init__(max_terms)
        self.log_variance = nn.Parameter(
            torch.full((max_terms, ), math.log(0.5)))

    def init_weights(self) -> None:
        # mmengine may re-initialise after a parent's init_cfg: keep w = 1.
        nn.init.constant_(self.log_variance, math.log(0.5))

    def forward(self, term_values: Tensor, progress: float,
                term_names: List[str],
                record: Optional[DLNRecord] = None) -> Tensor:
        num_terms = self.check_terms(term_names)
        weights = 0.5 * torch.exp(-self.log_variance[:num_terms])
        if record is not None:
            record.add_term_weights(weights, term_names)
        return weights

    def regularizer(self, num_terms: int) -> Tensor:
        return 0.5 * self.log_variance[:num_terms].sum()


@MODELS.register_module()
class DynamicWeightAverage(TermWeighting):
    """Dynamic Weight Average (Liu, Johns & Davison, 2019).

    ``w_k = K * softmax_k(r_k / T)`` with ``r_k`` the ratio of term k's mean
    over the last completed window to its mean over the window before, so a
    term that stopped falling gets more weight. The paper's windows are
    epochs; mmdet/mmseg schedules here are iteration based, so a window is
    ``window`` training iterations (calls in training mode). Weights are 1
    until two windows are complete. No parameters; the window state lives in
    buffers, so it is saved in checkpoints and restored on resume. Under DDP
    the window means are averaged over ranks, so every rank uses the same
    weights.

    Args:
        max_terms: the most loss terms the head returns.
        window: training iterations per window (the paper's epoch).
        temperature: T; larger is closer to equal weights.
    """
    teachable = False
    needs_two_terms = True

    def __init__(self, max_terms: int = 8, window: int = 50,
                 temperature: float = 2.0) -> None:
        super().__init__(max_terms)
        if not isinstance(window, int) or window < 1:
            raise ValueError('DynamicWeightAverage.window must be an int >= 1'
                             f' (training iterations), got {window!r}')
        if temperature <= 0:
            raise ValueError('DynamicWeightAverage.temperature must be > 0, '
                             f'got {temperature!r}')
        self.window = window
        self.temperature = temperature
        self.register_buffer('window_sum', torch.zeros(max_terms))
        self.register_buffer('calls_in_window', torch.zeros((), dtype=int))
        # Means of the two last complete windows: [older, newer].
        self.register_buffer('window_means', torch.zeros(2, max_terms))
        self.register_buffer('complete_windows', torch.zeros((), dtype=int))

    def forward(self, term_values: Tensor, progress: float,
                term_names: List[str],
                record: Optional[DLNRecord] = None) -> Tensor:
        num_terms = self.check_terms(term_names)
        if self.complete_windows >= 2:
            older, newer = self.window_means[:, :num_terms]
            rates = newer / older.clamp(min=1e-12)
            weights = num_terms * torch.softmax(rates / self.temperature, 0)
        else:
            weights = torch.ones_like(term_values)
        if self.training:
            self._accumulate(term_values.detach(), num_terms)
        if record is not None:
            record.add_term_weights(weights, term_names)
        return weights

    @torch.no_grad()
    def _accumulate(self, term_values: Tensor, num_terms: int) -> None:
        self.window_sum[:num_terms] += term_values
        self.calls_in_window += 1
        if int(self.calls_in_window) < self.window:
            return
        means = self.window_sum / self.window
        all_reduce(means, op='mean')  # a no-op without a process group
        self.window_means.copy_(torch.stack([self.window_means[1], means]))
        self.complete_windows += 1
        self.window_sum.zero_()
        self.calls_in_window.zero_()
