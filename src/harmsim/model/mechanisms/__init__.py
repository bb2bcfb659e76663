"""The mechanisms of the model, one module each; see :mod:`.base` for the protocol.

``REGISTRY`` maps a mechanism's name (as used in scenario files) to its class,
in the order terms are added.
"""

from __future__ import annotations

from harmsim.model.mechanisms.agreements import Agreements
from harmsim.model.mechanisms.base import Mechanism, PastView, State
from harmsim.model.mechanisms.capacity import Capacity
from harmsim.model.mechanisms.commitments import Commitments
from harmsim.model.mechanisms.diffusion import Diffusion
from harmsim.model.mechanisms.external import External
from harmsim.model.mechanisms.frailty import Frailty
from harmsim.model.mechanisms.organizations import Organizations
from harmsim.model.mechanisms.period import Period
from harmsim.model.mechanisms.prerequisites import Prerequisites
from harmsim.model.mechanisms.push_pull import PushPull
from harmsim.model.mechanisms.region import Region
from harmsim.model.mechanisms.screening import Screening
from harmsim.model.mechanisms.trend import Trend

__all__ = ["REGISTRY", "Mechanism", "PastView", "State"]

REGISTRY: dict[str, type[Mechanism]] = {
    cls.name: cls
    for cls in (
        PushPull,
        Diffusion,
        Agreements,
        External,
        Capacity,
        Prerequisites,
        Period,
        Trend,
        Frailty,
        Organizations,
        Region,
        Commitments,
        Screening,
    )
}
