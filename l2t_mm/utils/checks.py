"""Checks of option values shared by components built from configs."""


def require_bool(value: object, key: str) -> bool:
    """``value`` if it is a bool; a ValueError naming ``key`` otherwise.

    Config values arrive as written: ``'False'`` from a mistyped
    ``--cfg-options`` or ``0`` from a hand-written dict would be truthy or
    silently meaningful, so options read as switches refuse anything else.
    """
    if not isinstance(value, bool):
        raise ValueError(f'{key} must be True or False, got {value!r}')
    return value
