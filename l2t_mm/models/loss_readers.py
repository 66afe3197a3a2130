"""How :class:`L2TLoss` reads each stock loss element by element.

Most mmdet/mmseg losses keep one contract (their ``weighted_loss``
helpers): with ``reduction_override='none'`` ``forward`` returns the
per-element loss with the caller's ``weight`` and ``loss_weight`` applied,
and ``'mean'`` is that sum over ``avg_factor`` (or the plain mean).
:class:`StockReader` reads any loss that keeps it, including losses added
by other packages. A reader per stock loss that deviates says how to read
that one; a loss with no per-element form is refused when ``L2TLoss`` is
built, with a one-line reason (:func:`reader_for`).

Readers are keyed by the qualified name of the stock class (found through
its MRO, so subclasses such as ``CrossEntropyCustomLoss`` inherit them):
l2t_mm imports neither mmdet nor mmseg here.
"""
import inspect
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.precision import at_least_float32
from .dln import ElementwiseLoss
from .elementwise import describe_elements, reduce_loss


class StockCall:
    """One call of the stock loss, bound to its ``forward`` signature, so
    that the wrapper takes exactly the arguments the stock loss takes
    (GHM's ``label_weight``, GaussianFocalLoss's ``pos_inds`` ...)."""

    def __init__(self, loss: nn.Module,
                 bound: inspect.BoundArguments) -> None:
        self.loss = loss
        self.bound = bound
        self._names = list(bound.signature.parameters)

    @property
    def pred(self) -> Tensor:
        return self.bound.arguments[self._names[0]]

    @property
    def target(self):
        return self.bound.arguments[self._names[1]]

    @property
    def reduction(self) -> str:
        return self.get('reduction_override') or getattr(
            self.loss, 'reduction', 'mean')

    def get(self, name: str, default=None):
        """The argument ``name`` as the stock forward sees it: passed,
        inside ``**kwargs``, or the parameter's default."""
        arguments = self.bound.arguments
        if name in arguments:
            return arguments[name]
        for param in self.bound.signature.parameters.values():
            if (param.kind is param.VAR_KEYWORD
                    and name in arguments.get(param.name, {})):
                return arguments[param.name][name]
        param = self.bound.signature.parameters.get(name)
        if param is not None and param.default is not param.empty:
            return param.default
        return default

    def replace(self, **changes) -> 'StockCall':
        """The same call with some named parameters changed."""
        arguments = OrderedDict(self.bound.arguments)
        arguments.update(changes)
        return StockCall(
            self.loss, inspect.BoundArguments(self.bound.signature,
                                              arguments))

    def with_target(self, target) -> 'StockCall':
        return self.replace(**{self._names[1]: target})

    def elementwise(self) -> Tensor:
        """The stock per-element values: ``reduction_override='none'`` and
        no ``avg_factor``."""
        changes = dict(reduction_override='none')
        if 'avg_factor' in self.bound.signature.parameters:
            changes['avg_factor'] = None
        return self.replace(**changes)()

    def __call__(self) -> Tensor:
        return self.loss(*self.bound.args, **self.bound.kwargs)


class StockReader:
    """Reads a loss that keeps the stock contract (module docstring)."""

    def __init__(self, loss: nn.Module) -> None:
        self.loss = loss
        self.signature = inspect.signature(loss.forward)

    def bind(self, args: tuple, kwargs: dict) -> StockCall:
        return StockCall(self.loss, self.signature.bind(*args, **kwargs))

    def lookahead(self, call: StockCall) -> StockCall:
        """The call to make when the loss will be differentiated twice."""
        return call

    def elements(self, call: StockCall, progress: float) -> ElementwiseLoss:
        values = call.elementwise()
        return describe_elements(
            call.pred, call.target, values,
            bool(getattr(self.loss, 'use_sigmoid', False)), progress,
            activated=bool(getattr(self.loss, 'activated', False)))

    def denominator(self, call: StockCall) -> Optional[float]:
        """What the stock 'mean' divides the sum by (None: the count)."""
        return call.get('avg_factor')

    def reduce(self, call: StockCall, shaped: Tensor) -> Tensor:
        return reduce_loss(shaped, call.reduction, self.denominator(call))

    def ignore_index(self, call: StockCall) -> Optional[int]:
        """The label the stock loss skips (``None``: none)."""
        ignore_index = call.get('ignore_index')
        if ignore_index is None:
            ignore_index = getattr(self.loss, 'ignore_index', None)
        return ignore_index

    def class_mean(self, call: StockCall, elements: ElementwiseLoss,
                   name: str) -> Tensor:
        """ℓ_val of ``val_loss='class_mean'``: the mean over the classes
        among the counted labels of each class's mean stock value (element
        weight, ``class_weight`` and ``loss_weight`` applied as in the
        stock values). Counted: labels of a class (not the ignore index),
        with a non-zero element weight where the call passes one per
        element; an element whose loss is 0 still counts. It replaces the
        stock mean, so ``avg_factor`` does not enter; ``name`` (the loss
        module) is quoted in the errors.
        """
        key = "L2TTeacherHook.val_loss='class_mean'"
        if elements.kind != 'softmax':
            raise ValueError(
                f'{key} needs class-index targets (a softmax loss such as '
                f'CrossEntropyLoss), but {name} '
                f'({type(self.loss).__name__}) gives {elements.kind} '
                "elements; use val_loss='stock' for this model")
        if call.reduction != 'mean':
            raise ValueError(
                f"{key} replaces the stock mean, but {name} was called with "
                f"reduction={call.reduction!r}; use val_loss='stock' for "
                'this model')
        values, labels = elements.values, elements.target
        counted = elements.positive > 0
        ignore_index = self.ignore_index(call)
        if ignore_index is not None:
            counted &= labels != ignore_index
        weight = call.get('weight')
        if isinstance(weight, Tensor) and weight.shape == values.shape:
            counted &= weight != 0
        if not counted.any():
            return values.sum() * 0  # nothing to count: no gradient either
        classes, index = torch.unique(labels[counted].long(),
                                      return_inverse=True)
        sums = values.new_zeros(len(classes)).index_add(
            0, index, values[counted])
        counts = torch.bincount(index, minlength=len(classes))
        return (sums / counts).mean()


class MMDetSoftmaxCrossEntropyReader(StockReader):
    """With ``avg_non_ignore`` mmdet's cross-entropy derives its own
    avg_factor (non-ignored labels) when the caller passes none."""

    def ignore_index(self, call: StockCall) -> int:
        """mmdet's cross-entropy falls back to -100 when neither the call
        nor the loss names one."""
        ignore_index = super().ignore_index(call)
        return -100 if ignore_index is None else ignore_index

    def denominator(self, call: StockCall) -> Optional[float]:
        avg_factor = call.get('avg_factor')
        if (avg_factor is not None or call.reduction != 'mean'
                or not self.loss.avg_non_ignore):
            return avg_factor
        label = call.target
        return label.numel() - (label == self.ignore_index(call)).sum().item()


class MMDetSigmoidCrossEntropyReader(MMDetSoftmaxCrossEntropyReader):
    """Its own avg_factor counts valid labels over every class column."""

    def denominator(self, call: StockCall) -> Optional[float]:
        avg_factor = call.get('avg_factor')
        if (avg_factor is not None or call.reduction != 'mean'
                or not self.loss.avg_non_ignore):
            return avg_factor
        label, pred = call.target, call.pred
        valid = (label >= 0) & (label != self.ignore_index(call))
        columns = pred.size(-1) if pred.dim() != label.dim() else 1
        return valid.sum().item() * columns


def class_weight_denominator(label: Tensor, class_weight: Sequence[float],
                             ignore_index: Optional[int],
                             avg_non_ignore: bool,
                             dtype: torch.dtype) -> Tensor:
    """The sum of the labels' class weights, mmseg's denominator of a
    class-weighted mean: ignored labels count 0 under ``avg_non_ignore``,
    and labels with no class weight (the ignore index 255), where stock
    raises IndexError, always. Negative labels index from the end, as in
    stock; the weights are rounded to the prediction's ``dtype``, as in the
    numerator, and summed in at least float32."""
    weights = at_least_float32(
        torch.as_tensor(class_weight, device=label.device).to(dtype))
    classes = weights.numel()
    has_weight = (label >= -classes) & (label < classes)
    label_weights = torch.where(has_weight,
                                weights[label.where(has_weight, 0)],
                                weights.new_zeros(()))
    if avg_non_ignore and ignore_index is not None:
        label_weights = label_weights.masked_fill(label == ignore_index, 0)
    return label_weights.sum()


class MMSegSoftmaxCrossEntropyReader(StockReader):
    """mmseg's cross-entropy always derives its mean's denominator when the
    caller passes no avg_factor: the label count (non-ignored with
    ``avg_non_ignore``) or, with ``class_weight``, the labels' weights
    (where stock raises IndexError on the ignore index 255, as
    ``ClassWeightedCrossEntropyLoss`` does not: 255 weighs 0)."""

    def denominator(self, call: StockCall) -> Optional[float]:
        avg_factor = call.get('avg_factor')
        if avg_factor is not None or call.reduction != 'mean':
            return avg_factor
        label, ignore_index = call.target, call.get('ignore_index')
        if self.loss.class_weight is None:
            ignored = (label == ignore_index).sum().item() \
                if self.loss.avg_non_ignore else 0
            return label.numel() - ignored
        return class_weight_denominator(label, self.loss.class_weight,
                                        ignore_index,
                                        self.loss.avg_non_ignore,
                                        call.pred.dtype)


class MMSegSigmoidCrossEntropyReader(StockReader):
    """A one-channel prediction is squeezed against binary labels (1 =
    foreground, unlike mmdet's one-hot of label 0)."""

    def _pred(self, call: StockCall) -> Tensor:
        pred = call.pred
        return pred.squeeze(1) if pred.size(1) == 1 else pred

    def elements(self, call: StockCall, progress: float) -> ElementwiseLoss:
        return describe_elements(self._pred(call), call.target,
                                 call.elementwise(), True, progress)

    def denominator(self, call: StockCall) -> Optional[float]:
        avg_factor = call.get('avg_factor')
        if (avg_factor is not None or call.reduction != 'mean'
                or not self.loss.avg_non_ignore):
            return avg_factor
        label, pred = call.target, self._pred(call)
        valid = (label >= 0) & (label != call.get('ignore_index'))
        columns = pred.size(1) if pred.dim() != label.dim() else 1
        return valid.sum().item() * columns


class MaskCrossEntropyReader(StockReader):
    """``CrossEntropyLoss(use_mask=True)`` (Mask R-CNN's mask head): each
    RoI's mask logits of its class (the third argument is the RoI labels)
    against the binary mask. The stock ``mask_cross_entropy`` only returns
    the mean, so the per-pixel binary cross-entropy it averages is computed
    here, and the result keeps its shape ``(1,)``."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__(loss)
        if loss.reduction != 'mean':
            raise refusal(
                loss, f"use_mask=True supports only reduction='mean' (mmdet/"
                f"mmseg's mask_cross_entropy asserts it), got "
                f'{loss.reduction!r}')

    def elements(self, call: StockCall, progress: float) -> ElementwiseLoss:
        self._check(call)
        pred, target, labels = call.pred, call.target, call.get('weight')
        rois = torch.arange(pred.size(0), device=pred.device)
        pred_slice = pred[rois, labels].squeeze(1)
        class_weight = None if self.loss.class_weight is None else \
            pred.new_tensor(self.loss.class_weight)
        values = self.loss.loss_weight * F.binary_cross_entropy_with_logits(
            pred_slice, target, weight=class_weight, reduction='none')
        return describe_elements(pred_slice, target, values, True, progress)

    def reduce(self, call: StockCall, shaped: Tensor) -> Tensor:
        return shaped.mean()[None]

    def _check(self, call: StockCall) -> None:
        ignore_index = self.ignore_index(call)
        if ignore_index is not None:
            raise ValueError(
                'L2TLoss: CrossEntropyLoss(use_mask=True) takes no '
                f'ignore_index (got {ignore_index!r}), as mask_cross_entropy')
        if call.reduction != 'mean' or call.get('avg_factor') is not None:
            raise ValueError(
                "L2TLoss: CrossEntropyLoss(use_mask=True) supports only "
                "reduction='mean' without avg_factor, as mask_cross_entropy")


class FocalReader(StockReader):
    """On CUDA mmdet's ``FocalLoss`` sends class-index targets to mmcv's
    compiled sigmoid focal loss, which has no double backward; in the
    look-ahead it gets the one-hot target instead and takes its pure-torch
    path (the conversion mmdet itself does on CPU: same value)."""

    def lookahead(self, call: StockCall) -> StockCall:
        pred, target = call.pred, call.target
        if pred.dim() != target.dim() + 1 or target.is_floating_point():
            return call
        num_classes = pred.size(1)
        one_hot = F.one_hot(target.long(), num_classes + 1)[:, :num_classes]
        return call.with_target(one_hot.type_as(pred))


class QualityFocalReader(StockReader):
    """QFL's elements are predictions (its loss is summed over classes);
    the target is ``(labels, quality scores)`` or a soft ``(N, C)``
    target. Confidence: 1 - mean |soft target - probability| over classes;
    positive: the prediction has a class target."""

    def bind(self, args: tuple, kwargs: dict) -> StockCall:
        call = super().bind(args, kwargs)
        target = call.target
        if isinstance(target, Tensor) and target.shape != call.pred.shape:
            raise ValueError(
                'L2TLoss: QualityFocalLoss needs a (labels, scores) target or '
                f'a soft target of the prediction\'s shape, got a tensor of '
                f'shape {tuple(target.shape)}. DETR-family heads choose the '
                'QFL target by isinstance(loss_cls, QualityFocalLoss), which '
                'the wrapper is not: keep their loss_cls unwrapped.')
        return call

    def elements(self, call: StockCall, progress: float) -> ElementwiseLoss:
        values = call.elementwise()
        pred = call.pred
        prob = pred.detach() if self.loss.activated else \
            pred.detach().sigmoid()
        if isinstance(call.target, Tensor):
            soft = call.target.detach().type_as(prob)
            positive = (soft != 0).any(dim=1)
        else:
            labels, scores = call.target
            positive = (labels >= 0) & (labels < pred.size(1))
            soft = torch.zeros_like(prob)
            soft[positive, labels[positive].long()] = \
                scores[positive].detach().type_as(prob)
        confidence = 1 - (soft - prob).abs().mean(dim=1)
        return ElementwiseLoss(
            values=values, confidence=confidence,
            top=torch.zeros_like(values), positive=positive.to(values.dtype),
            valid=values.detach() != 0, progress=progress, kind='regression',
            pred=pred, target=soft)


class GHMCReader(StockReader):
    """GHM-C takes ``label_weight`` as its third argument and averages over
    its own count of valid elements, ignoring any avg_factor."""

    def denominator(self, call: StockCall) -> Optional[float]:
        label_weight, pred = call.get('label_weight'), call.pred
        if pred.dim() != call.target.dim():
            label_weight = label_weight.view(-1, 1).expand_as(pred)
        return max((label_weight > 0).float().sum().item(), 1.0)


class GHMRReader(StockReader):
    """GHM-R averages over the sum of ``label_weight``, ignoring
    avg_factor."""

    def denominator(self, call: StockCall) -> Optional[float]:
        return max(call.get('label_weight').float().sum().item(), 1.0)


class GaussianFocalReader(StockReader):
    """With ``pos_inds`` (CenterNet-update) the stock loss is a positive term
    over the positive pixels' class scores plus a negative term over every
    pixel, reduced separately; both are element sets of one DLN call,
    computed with mmdet's own ``gaussian_focal_loss``."""

    def elements(self, call: StockCall, progress: float) -> ElementwiseLoss:
        if call.get('pos_inds') is None:
            return super().elements(call, progress)
        from mmdet.models.losses.gaussian_focal_loss import \
            gaussian_focal_loss
        loss, pred, target = self.loss, call.pred, call.target
        pos_pred = self._positive_scores(call)
        common = dict(alpha=loss.alpha, gamma=loss.gamma, reduction='none')
        pos = loss.loss_weight * gaussian_focal_loss(
            pos_pred, torch.ones_like(pos_pred), pos_weight=loss.pos_weight,
            neg_weight=0.0, **common)
        neg = loss.loss_weight * gaussian_focal_loss(
            pred, target, pos_weight=0.0, neg_weight=loss.neg_weight, **common)
        values = torch.cat([pos.reshape(-1), neg.reshape(-1)])
        positive = torch.cat([torch.ones_like(pos.reshape(-1)),
                              torch.zeros_like(neg.reshape(-1))])
        return ElementwiseLoss(
            values=values, confidence=torch.zeros_like(values),
            top=torch.zeros_like(values), positive=positive,
            valid=values.detach() != 0, progress=progress,
            kind='regression',
            pred=torch.cat([pos_pred.reshape(-1), pred.reshape(-1)]),
            target=torch.cat([torch.ones_like(pos.reshape(-1)),
                              target.reshape(-1)]))

    def reduce(self, call: StockCall, shaped: Tensor) -> Tensor:
        if call.get('pos_inds') is None:
            return super().reduce(call, shaped)
        pos_shape = self._positive_scores(call).shape
        pos, neg = shaped.split([pos_shape.numel(), call.pred.numel()])
        reduction, avg_factor = call.reduction, call.get('avg_factor')
        return (reduce_loss(pos.view(pos_shape), reduction, avg_factor) +
                reduce_loss(neg.view_as(call.pred), reduction, avg_factor))

    @staticmethod
    def _positive_scores(call: StockCall) -> Tensor:
        return call.pred[call.get('pos_inds')].gather(
            1, call.get('pos_labels').unsqueeze(1))


class LossRefused(ValueError):
    """A stock loss L2TLoss cannot wrap; the message is one line."""


def refusal(loss: nn.Module, reason: str) -> LossRefused:
    """The one-line error naming the loss and why it cannot be wrapped."""
    cls = type(loss)
    package = cls.__module__.split('.')[0]
    return LossRefused(f'L2TLoss.loss: {package} {cls.__name__} cannot be '
                       f'wrapped: {reason}.')


def _refuse(reason: str) -> Callable[[nn.Module], StockReader]:
    def refuse(loss: nn.Module) -> StockReader:
        raise refusal(loss, reason)

    return refuse


def _mmdet_cross_entropy(loss: nn.Module) -> StockReader:
    if loss.use_mask:
        return MaskCrossEntropyReader(loss)
    if loss.use_sigmoid:
        return MMDetSigmoidCrossEntropyReader(loss)
    return MMDetSoftmaxCrossEntropyReader(loss)


def _mmseg_cross_entropy(loss: nn.Module) -> StockReader:
    if loss.use_mask:
        return MaskCrossEntropyReader(loss)
    if loss.use_sigmoid:
        return MMSegSigmoidCrossEntropyReader(loss)
    return MMSegSoftmaxCrossEntropyReader(loss)


def _lovasz(loss: nn.Module) -> StockReader:
    if not loss.per_image:
        raise refusal(
            loss, 'per_image=False computes one Lovasz extension over the '
            'whole batch, a single value no per-element weighting can '
            'change; set per_image=True (the DLN then weights each image) '
            'or keep it unwrapped')
    return StockReader(loss)


_KEEP_UNWRAPPED = 'keep it unwrapped'
_SAMPLES_ITSELF = (
    'its forward samples negatives itself and replaces avg_factor with the '
    'size of that sample, so its mean cannot be rebuilt from per-element '
    'values; ' + _KEEP_UNWRAPPED)
READERS: Dict[str, Callable[[nn.Module], StockReader]] = {
    'mmdet.models.losses.cross_entropy_loss.CrossEntropyLoss':
    _mmdet_cross_entropy,
    'mmseg.models.losses.cross_entropy_loss.CrossEntropyLoss':
    _mmseg_cross_entropy,
    'mmdet.models.losses.focal_loss.FocalLoss': FocalReader,
    'mmdet.models.losses.gfocal_loss.QualityFocalLoss': QualityFocalReader,
    'mmdet.models.losses.ghm_loss.GHMC': GHMCReader,
    'mmdet.models.losses.ghm_loss.GHMR': GHMRReader,
    'mmdet.models.losses.gaussian_focal_loss.GaussianFocalLoss':
    GaussianFocalReader,
    'mmseg.models.losses.lovasz_loss.LovaszLoss': _lovasz,
    'mmdet.models.losses.eqlv2_loss.EQLV2Loss': _refuse(
        'its forward ignores reduction_override, weight and avg_factor and '
        'returns one scalar, so there are no per-element values to weight; '
        + _KEEP_UNWRAPPED),
    'mmdet.models.losses.seesaw_loss.SeesawLoss': _refuse(
        'it returns two loss terms over different element sets (classes '
        'of the positives, objectness of every sample) as a dict or their '
        'sum, while L2TLoss weights the elements of one term; '
        + _KEEP_UNWRAPPED),
    'mmdet.models.losses.l2_loss.L2Loss': _refuse(_SAMPLES_ITSELF),
    'mmdet.models.losses.margin_loss.MarginL2Loss': _refuse(_SAMPLES_ITSELF),
    'mmseg.models.losses.huasdorff_distance_loss.HuasdorffDisstanceLoss':
    _refuse(
        'it returns one scalar for the whole batch whatever the reduction '
        '(its per-class means are summed before weighted_loss), so there '
        'are no per-element values to weight; ' + _KEEP_UNWRAPPED),
}


def _qualified_name(cls: type) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def reader_for(loss: nn.Module) -> StockReader:
    """The reader of ``loss``; raises the one-line ValueError of
    :func:`refusal` for a loss that has no per-element form."""
    for cls in type(loss).__mro__:
        factory = READERS.get(_qualified_name(cls))
        if factory is not None:
            return factory(loss)
    if 'reduction_override' not in inspect.signature(loss.forward).parameters:
        raise refusal(
            loss, 'its forward takes no reduction_override, so it has no '
            'per-element values to weight; ' + _KEEP_UNWRAPPED)
    return StockReader(loss)
