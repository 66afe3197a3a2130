from .dln import LogitDLN, TermWeightingDLN, WeightingDLN
from .dynamic_loss_head import DynamicLossHead
from .dynamic_loss_module import (DynamicLossModule, dynamic_loss_modules,
                                  stock_loss)
from .l2t_loss import L2TLoss
from .teacher import LSTMTeacher

__all__ = [
    'WeightingDLN', 'LogitDLN', 'TermWeightingDLN', 'L2TLoss',
    'DynamicLossHead', 'DynamicLossModule', 'LSTMTeacher',
    'dynamic_loss_modules', 'stock_loss'
]
