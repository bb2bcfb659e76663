"""The mechanisms of the model, one module each; see :mod:`.base` for the protocol.

``REGISTRY`` maps a mechanism's name (as used in scenario files) to its class,
in the order terms are added.
"""

from __future__ import annotations

from .agreements import Agreements
from .base import Mechanism, PastView, State
from .capacity import Capacity
from .diffusion import Diffusion
from .external import External
from .frailty import Frailty
from .period import Period
from .prerequisites import Prerequisites
from .push_pull import PushPull
from .trend import Trend

__all__ = ["REGISTRY", "Mechanism", "PastView", "State"]

REGISTRY: dict[str, type[Mechanism]] = {
    cls.name: cls
    for cls in (PushPull, Diffusion, Agreements, External, Capacity, Prerequisites, Period, Trend, Frailty)
}
