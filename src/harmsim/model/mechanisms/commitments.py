"""Treaty commitments: a party to a treaty that obliges a law adopts it sooner.

The study's contrast is between binding and non-binding agreements of an
organization, which cover its members whether or not they ratified anything
(the ``agreements`` mechanism). A binding treaty also binds in a second way,
through each state's own ratification: the UN Trafficking Protocol obliges
its parties to criminalize trafficking (art. 5), and so do the Council of
Europe's convention (CETS 197, art. 18), SAARC's 2002 convention (art. III,
for trafficking in women and children for prostitution) and ACTIP (art. 5).
The record's ``obliges`` column declares these links. The term is

    term[i, j, t] = effect * [state i is party, before year t, to a treaty k that obliges j]

read from the history: a state that ratified in ``t - 1`` or earlier (in
the engines, its simulated ratifications; in the likelihood, its observed
ones). It is not a causal estimate: a state that means to criminalize may
ratify first, and the term cannot tell commitment from intention; its
forecasts are what the backtests judge (docs/regions.md, "Treaty
commitments").

Direction: ``effect > 0`` says parties adopt what their treaties oblige sooner
than non-parties do.
"""

from __future__ import annotations

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


def committed(obliges: np.ndarray, adopted: np.ndarray) -> np.ndarray:
    """(R, N, K) 1.0 where the state is party to a treaty that obliges the instrument, else 0.0, from the
    treaties' rows of ``obliges`` (M, K) (``[m, j]``: a party to treaty m undertakes j) and (R, N, M) 0/1
    ``adopted`` (party to each treaty before the year). Party to two treaties that oblige j counts once.

    >>> import numpy as np
    >>> obliges = np.array([[False, False], [True, False]])  # instrument 1 (a treaty) obliges instrument 0
    >>> committed(obliges, np.array([[[0, 1], [0, 0]]])).tolist()  # state 0 ratified the treaty, state 1 did not
    [[[1.0, 0.0], [0.0, 0.0]]]
    """
    return np.minimum(np.asarray(adopted, dtype=float) @ obliges.astype(float), 1.0)


class Commitments(Mechanism):
    name = "commitments"
    summary = "a party to a treaty adopts what the treaty obliges sooner"
    linear = ("effect",)
    params = {
        "effect": Real(0.5, -10.0, 10.0, "log-odds once a state is party to a treaty that obliges the instrument",
                       expected=1),
    }  # fmt: skip

    def __init__(self, world, p, transforms=None):
        super().__init__(world, p, transforms)
        self.obliges = world.obliges
        self.effect = float(p.effect)
        self._treaties = np.flatnonzero(self.obliges.any(axis=1))
        self._obliged = self.obliges[self._treaties]  # (k, K): the treaties' rows only

    def reads_adoptions(self):
        return self.obliges.T.copy()  # instrument j's term reads the adoptions of the treaties that oblige j

    def dynamic(self, ti, view):
        if not len(self._treaties):
            return None
        adopted = view.adopted_before()[..., self._treaties]
        return self.effect * committed(self._obliged, adopted)
