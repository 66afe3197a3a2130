"""What every module that carries a DLN shares, and how the hook finds them."""
import contextlib
import difflib
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from .dln import ScoreMLP


class DynamicLossModule(nn.Module):
    """Base of :class:`L2TLoss` and :class:`DynamicLossHead`.

    Subclasses own a ``dln`` (parameters φ) and wrap one stock module, whose
    attributes stay reachable through the wrapper (heads read
    ``loss_cls.use_sigmoid``, decode heads read ``loss_decode.loss_name`` ...).

    Switches set from outside by the teacher hook: ``progress`` (t / T, a
    DLN input), ``use_stock_loss`` (the teach step measures the validation
    loss with the stock loss, not the DLN's) and ``in_lookahead`` (the loss
    will be differentiated twice).
    """
    wrapped_attribute = ''  # name of the wrapped stock module

    def __init__(self) -> None:
        super().__init__()
        self.progress = 0.0
        self.use_stock_loss = False
        self.in_lookahead = False

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            wrapped = self.__dict__.get('_modules', {}).get(
                self.wrapped_attribute)
            if wrapped is None or name.startswith('__'):
                raise
            return getattr(wrapped, name)

    def weight_summary(self) -> Dict[str, Tensor]:
        """What the DLN output since the last reset (tensors), for logs."""
        return self.dln.summary()

    def hidden_slope(self) -> Optional[Tensor]:
        """Mean slope of the DLN's hidden units since the last reset (1:
        linear, 0: saturated); ``None`` for DLNs without tanh units."""
        summaries = [mlp.slope.summary() for mlp in self._mlps()]
        means = [summary['mean'] for summary in summaries if summary]
        return torch.stack(means).mean() if means else None

    def reset_weight_summary(self) -> None:
        self.dln.reset_stats()
        for mlp in self._mlps():
            mlp.slope.reset()

    def _mlps(self) -> List[ScoreMLP]:
        return [module for module in self.dln.modules()
                if isinstance(module, ScoreMLP)]

    def track_classes(self, dataset_classes: Optional[int]) -> None:
        """Start per-class weight statistics for a dataset with this many
        classes (element DLNs only; term weightings have no classes)."""
        stats = self._class_stats()
        if stats is not None:
            stats.dataset_classes = dataset_classes

    def class_weight_summary(self) -> Dict[str, Tensor]:
        """Per-class ``sum`` and ``count`` of element weights since the last
        reset; empty for term weightings and regression losses."""
        stats = self._class_stats()
        return stats.summary() if stats is not None else {}

    def reset_class_weight_summary(self) -> None:
        stats = self._class_stats()
        if stats is not None:
            stats.reset()

    def _class_stats(self):
        return getattr(self.dln, 'class_stats', None)


def dynamic_loss_modules(model: nn.Module) -> Dict[str, DynamicLossModule]:
    """All DLN-carrying modules of ``model`` by their qualified names."""
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, DynamicLossModule)
    }


@contextlib.contextmanager
def _switched_on(model: nn.Module, switch: str) -> Iterator[None]:
    modules = list(dynamic_loss_modules(model).values())
    previous = [getattr(module, switch) for module in modules]
    for module in modules:
        setattr(module, switch, True)
    try:
        yield
    finally:
        for module, flag in zip(modules, previous):
            setattr(module, switch, flag)


def stock_loss(model: nn.Module):
    """Within the block every L2T module computes its stock loss: the
    validation loss of the teach step is the baseline's own objective."""
    return _switched_on(model, 'use_stock_loss')


def lookahead_mode(model: nn.Module):
    """Within the block losses must support double backward (see
    :meth:`l2t_mm.models.loss_readers.StockReader.lookahead`)."""
    return _switched_on(model, 'in_lookahead')


def build_wrapped(cfg: dict, key: str, kind: str) -> nn.Module:
    """Build the wrapped stock module, naming ``key`` and near-miss type
    names when the type is unknown in the current scope."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{key} must be a config dict with a "type", '
                        f'got {cfg!r}')
    try:
        return MODELS.build(cfg)
    except KeyError as error:
        if 'is not in the' not in str(error):
            raise
        type_name = str(cfg['type'])
        with MODELS.switch_scope_and_registry(None) as registry:
            scope = registry.scope
            names = set()
            while registry is not None:
                names.update(registry.module_dict)
                registry = registry.parent
        close = difflib.get_close_matches(type_name.split('.')[-1], names, n=3)
        suggestions = ' or '.join(repr(name) for name in close)
        hint = f' Did you mean {suggestions}?' if close else ''
        scope_hint = '' if scope != 'mmengine' else (
            ' No default scope is set: set default_scope="mmdet" or "mmseg" '
            f'in the config, or prefix the type ("mmdet.{type_name}").')
        raise ValueError(
            f'{key}: {type_name!r} is not a registered {kind} in scope '
            f'{scope!r}.{hint}{scope_hint}') from None
