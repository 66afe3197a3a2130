from .checkpoint import trust_local_checkpoints

__all__ = ['trust_local_checkpoints']
