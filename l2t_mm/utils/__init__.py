from .checkpoint import trusted_local_checkpoints

__all__ = ['trusted_local_checkpoints']
