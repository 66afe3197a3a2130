"""l2t_mm: Learning to Teach with Dynamic Loss Networks for OpenMMLab.

Importing the package registers its components (``L2TLoss``,
``DynamicLossHead``, ``LSTMTeacher``, ``L2TTeacherHook``, DLNs, datasets) in
mmengine's root registries, which mmdet and mmseg registries search too; a
config enables them with ``custom_imports=dict(imports=['l2t_mm'])``.
"""
from . import datasets, engine, models  # noqa: F401  (registration)
from .version import __version__

__all__ = ['__version__']
