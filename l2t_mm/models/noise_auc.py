"""How well low DLN weights pick out corrupted labels: the noise AUC."""
import torch
from torch import Tensor


def noise_auc(weights: Tensor, corrupted: Tensor) -> float:
    """Probability that a corrupted element has a lower weight than a clean
    one (ties count half): 1.0 when every corrupted element weighs least,
    0.5 for a DLN blind to the noise (uniform weights), NaN when either
    group is empty.

    The Mann-Whitney U statistic with mid-ranks for ties, computed on the
    CPU in float64 (pixel counts make the rank sums large).
    """
    weights = weights.detach().reshape(-1).double().cpu()
    corrupted = corrupted.detach().reshape(-1).bool().cpu()
    if weights.shape != corrupted.shape:
        raise ValueError(f'noise_auc: {weights.numel()} weights but '
                         f'{corrupted.numel()} corruption flags')
    num_corrupted = int(corrupted.sum())
    num_clean = corrupted.numel() - num_corrupted
    if num_corrupted == 0 or num_clean == 0:
        return float('nan')
    # Rank by -weight: the lowest weight gets the highest rank.
    values, order = torch.sort(-weights)
    ranks = torch.empty_like(values)
    ranks[order] = torch.arange(1, values.numel() + 1, dtype=values.dtype)
    unique, inverse, counts = torch.unique(values, return_inverse=True,
                                           return_counts=True)
    if unique.numel() < values.numel():  # mid-ranks for ties
        rank_sums = torch.zeros_like(unique).index_add_(0, inverse,
                                                        ranks[order])
        ranks[order] = (rank_sums / counts.to(values.dtype))[inverse]
    rank_sum = ranks[corrupted].sum().item()
    return (rank_sum - num_corrupted * (num_corrupted + 1) / 2) / (
        num_corrupted * num_clean)


def noise_auc_within(weights: Tensor, corrupted: Tensor,
                     strata: Tensor) -> float:
    """:func:`noise_auc` over pairs of elements with the same stratum only
    (e.g. the same noisy target), pooled over strata (each weighs by its
    number of corrupted-clean pairs); NaN when no stratum has both.

    Why: on a sigmoid classification loss the corrupted elements are
    over-represented among the target-1 columns, so a DLN that merely
    weights positives down against negatives scores high on the plain AUC.
    Compared within a target, only weights that single out the corrupted
    elements among their peers count.
    """
    weights = weights.detach().reshape(-1)
    corrupted = corrupted.detach().reshape(-1).bool()
    strata = strata.detach().reshape(-1)
    if not weights.shape == corrupted.shape == strata.shape:
        raise ValueError(f'noise_auc_within: {weights.numel()} weights, '
                         f'{corrupted.numel()} corruption flags and '
                         f'{strata.numel()} strata')
    total, pairs = 0.0, 0
    for stratum in torch.unique(strata):
        members = strata == stratum
        num_corrupted = int(corrupted[members].sum())
        num_pairs = num_corrupted * (int(members.sum()) - num_corrupted)
        if num_pairs:
            total += noise_auc(weights[members],
                               corrupted[members]) * num_pairs
            pairs += num_pairs
    return total / pairs if pairs else float('nan')
