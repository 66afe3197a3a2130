"""What every module that carries a DLN shares, and how the hook finds them."""
import difflib
from typing import Dict

from mmengine.registry import MODELS
from torch import nn

from .loss_context import LossContext


class DynamicLossModule(nn.Module):
    """Base of :class:`L2TLoss` and :class:`DynamicLossHead`.

    Subclasses own a ``dln`` (parameters φ) and wrap one stock module, whose
    attributes stay reachable through the wrapper (heads read
    ``loss_cls.use_sigmoid``, decode heads read ``loss_decode.loss_name`` ...).

    ``context`` (:class:`~l2t_mm.models.loss_context.LossContext`) holds what
    the forward depends on besides its arguments: training progress, the
    look-ahead and stock-loss modes, where to record the DLN's weights. It
    is set only by :func:`~l2t_mm.models.loss_context.loss_context`.
    """
    wrapped_attribute = ''  # name of the wrapped stock module

    def __init__(self) -> None:
        super().__init__()
        self.context = LossContext()

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            wrapped = self.__dict__.get('_modules', {}).get(
                self.wrapped_attribute)
            if wrapped is None or name.startswith('__'):
                raise
            return getattr(wrapped, name)


def dynamic_loss_modules(model: nn.Module) -> Dict[str, DynamicLossModule]:
    """All DLN-carrying modules of ``model`` by their qualified names."""
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, DynamicLossModule)
    }


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
