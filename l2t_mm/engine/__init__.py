from .l2t_teacher_hook import L2TTeacherHook
from .teach_step import (MetaObjective, ParameterPartition, TeachResult,
                         partition_parameters, teach_step)

__all__ = [
    'L2TTeacherHook', 'MetaObjective', 'ParameterPartition', 'TeachResult',
    'partition_parameters', 'teach_step'
]
