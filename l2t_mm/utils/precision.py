"""Float precision the method's bookkeeping needs under AMP."""
import torch
from torch import Tensor


def at_least_float32(tensor: Tensor) -> Tensor:
    """``tensor`` in float32 if it is in a narrower float type. Under AMP
    the DLN's layers run in float16, whose largest value (65504) is below
    the element count of one segmentation batch: counts, sums and the
    normalisation must not be taken in it."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))
