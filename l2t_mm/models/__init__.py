from .class_weighted_cross_entropy import ClassWeightedCrossEntropyLoss
from .dln import LogitDLN, WeightingDLN
from .dynamic_loss_head import DynamicLossHead
from .dynamic_loss_module import DynamicLossModule, dynamic_loss_modules
from .l2t_loss import L2TLoss
from .loss_context import LossContext, loss_context
from .teacher import AdamTeacher, LSTMTeacher, MLPTeacher, Teacher
from .term_weighting import (DynamicWeightAverage, TermWeighting,
                             TermWeightingDLN, UncertaintyWeighting)

__all__ = [
    'WeightingDLN', 'LogitDLN', 'TermWeightingDLN', 'L2TLoss',
    'DynamicLossHead', 'DynamicLossModule', 'LSTMTeacher', 'MLPTeacher',
    'AdamTeacher', 'Teacher',
    'dynamic_loss_modules', 'LossContext', 'loss_context', 'TermWeighting',
    'UncertaintyWeighting', 'DynamicWeightAverage',
    'ClassWeightedCrossEntropyLoss'
]
