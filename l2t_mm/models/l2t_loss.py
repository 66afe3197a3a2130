"""``L2TLoss``: a drop-in wrapper that lets a DLN shape any stock loss."""
from typing import Optional

from mmengine.registry import MODELS
from torch import Tensor

from .dln import freeze_dln
from .dynamic_loss_module import DynamicLossModule, build_wrapped
from .loss_readers import reader_for
from .wrapper_config import stock_loss_config


@MODELS.register_module()
class L2TLoss(DynamicLossModule):
    """Wrap a registered loss so that a DLN decides what the student minimises.

    ``forward`` takes exactly the arguments of the wrapped loss's
    ``forward`` (the stock contract ``(pred, target, weight=None,
    avg_factor=None, reduction_override=None, **kwargs)``, GHM's
    ``label_weight``, GaussianFocalLoss's ``pos_inds`` ...), and every
    attribute heads read from their loss (``use_sigmoid``, ``loss_weight``,
    ``loss_name``, ``get_cls_channels`` ...) passes through, so it replaces a
    stock loss in any mmdet head or mmseg decode head by a config change.

    The stock loss is evaluated element by element (its ``weight`` and
    ``loss_weight`` applied), the DLN turns those values into the
    per-element loss, and the result is reduced with the stock semantics
    (``reduction``, ``avg_factor``, ``avg_non_ignore``, class weights). How
    each stock loss is read, and which are refused at build time with a
    one-line reason (no per-element form, e.g. ``EQLV2Loss``), is in
    :mod:`l2t_mm.models.loss_readers`.

    Keys that heads read from their loss *config* before building it
    (``use_sigmoid``, ``class_weight``, ``bg_cls_weight``, ``ignore_index``,
    ``loss_weight``) belong at the top level of the wrapper config, where
    the head sees them; they are merged into ``loss`` when it is built (a
    key set differently in both places is an error naming it). See
    :mod:`l2t_mm.models.wrapper_config`.

    Args:
        loss: config of the wrapped stock loss, e.g.
            ``dict(type='CrossEntropyLoss', use_sigmoid=True)``.
        dln: config of the DLN; ``WeightingDLN`` (default, identity at init)
            or ``LogitDLN`` (classification losses only).
        **head_keys: the stock-loss keys heads read from the config, as
            above.
    """
    wrapped_attribute = 'stock_loss'

    def __init__(self, loss: dict, dln: Optional[dict] = None,
                 **head_keys) -> None:
        super().__init__()
        self.stock_loss = build_wrapped(stock_loss_config(loss, head_keys),
                                        'L2TLoss.loss', 'loss')
        self.reader = reader_for(self.stock_loss)
        self.dln = MODELS.build(dln or dict(type='WeightingDLN'))
        freeze_dln(self.dln)

    def init_weights(self) -> None:
        if hasattr(self.dln, 'init_weights'):
            self.dln.init_weights()

    def forward(self, *args, **kwargs) -> Tensor:
        context = self.context  # progress and modes: see LossContext
        call = self.reader.bind(args, kwargs)
        if context.lookahead:
            call = self.reader.lookahead(call)
        if context.stock and not context.class_mean:
            return call()
        elements = self.reader.elements(call, context.progress)
        if context.stock:  # the class mean of the stock loss
            return self.reader.class_mean(call, elements,
                                          context.name or 'L2TLoss')
        return self.reader.reduce(
            call, self.dln(elements, record=context.record))
