"""Layer 2, the model: parameters and their space, the mechanisms, the year's step, scenarios, the batch engine
and the Mesa model (:class:`HarmonizationModel`, imported when first asked for: Mesa takes a second to load)."""

from __future__ import annotations

__all__ = ["HarmonizationModel", "MemberState"]


def __getattr__(name):
    if name in __all__:
        from harmsim.model import mesa_model

        return getattr(mesa_model, name)
    raise AttributeError(f"module 'harmsim.model' has no attribute {name!r}")
