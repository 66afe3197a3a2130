"""What a DLN-carrying module's forward depends on besides its arguments.

A loss's ``forward`` keeps the stock signature (heads call it), so what the
DLN needs besides the predictions cannot be an argument. It is one frozen
:class:`LossContext` in ``module.context``, read at the top of the forward,
and it is set in one way only: :func:`loss_context`, which puts the
previous one back when its block ends. Two places open such blocks:

- ``L2TTeacherHook`` around the student's own forward pass of each training
  iteration (``progress`` t/T and a :class:`~l2t_mm.models.weight_record
  .DLNRecord` per module for the logs);
- the teach step around each of its passes (``progress``, ``lookahead``,
  ``stock`` for ℓ_val; nothing recorded), see
  :func:`l2t_mm.engine.teach_step.model_loss`.

Outside any block a module computes its DLN loss at progress 0 and records
nothing.
"""
import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, Optional

from torch import nn

from .weight_record import DLNRecord


@dataclass(frozen=True)
class LossContext:
    """Args:
        progress: training progress t / T in [0, 1], an input of the DLNs.
        lookahead: the loss will be differentiated twice (see
            :meth:`l2t_mm.models.loss_readers.StockReader.lookahead`).
        stock: compute the stock loss instead of the DLN's: the teach
            step's validation loss is the baseline's own objective.
        class_mean: with ``stock``, every class among the call's
            class-index targets counts equally (the validation loss of
            ``L2TTeacherHook(val_loss='class_mean')``), as it does in a
            class-mean metric such as mIoU.
        record: where the module's DLN summarises what it outputs; ``None``:
            nowhere.
        name: the module's name in the model (for error messages).
    """
    progress: float = 0.0
    lookahead: bool = False
    stock: bool = False
    class_mean: bool = False
    record: Optional[DLNRecord] = None
    name: str = ''


@contextlib.contextmanager
def loss_context(modules: Dict[str, nn.Module],
                 progress: float = 0.0,
                 lookahead: bool = False,
                 stock: bool = False,
                 class_mean: bool = False,
                 records: Optional[Dict[str, DLNRecord]] = None
                 ) -> Iterator[None]:
    """Within the block every module of ``modules`` (the DLN-carrying
    modules by name, :func:`~l2t_mm.models.dynamic_loss_module
    .dynamic_loss_modules`) sees one :class:`LossContext` with these
    values, and the record ``records[name]`` if given."""
    if class_mean and not stock:
        raise ValueError('loss_context: class_mean is a form of the stock '
                         'loss (ℓ_val); set stock=True with it')
    records = records or {}
    previous = {name: module.context for name, module in modules.items()}
    for name, module in modules.items():
        module.context = LossContext(progress, lookahead, stock, class_mean,
                                     records.get(name), name)
    try:
        yield
    finally:
        for name, module in modules.items():
            module.context = previous[name]
