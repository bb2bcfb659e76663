"""Screening: a state ratifies sooner a treaty whose obligations it already meets.

Treaty commitments (``commitments``) read the record's ``obliges`` links one
way: a party to the UN Protocol criminalizes sooner. The compliance literature
reads them the other way too: states ratify treaties they already comply with,
so a treaty screens its parties more than it constrains them (von Stein 2005,
"Do treaties constrain or screen?", American Political Science Review 99(4);
Simmons 2009, *Mobilizing for Human Rights*, ch. 3). In that reading a law
passed voluntarily comes first and the treaty follows, the order the study's
account of voluntary laws would lead one to look for; ASEAN's record has
both orders (experiments/law_and_treaty_order.py). The term is

    term[i, k, t] = effect * [state i has adopted, before year t, every instrument that treaty k obliges]

on each treaty ``k`` that obliges something (the UN Protocol, CETS 197, SAARC's
2002 convention and ACTIP, all of which oblige criminalization), read from the
history as commitments are: the engines' simulated laws, the likelihood's
observed ones. Fitted beside ``commitments``, the two coefficients say in
which direction the association between a treaty and its law runs
(docs/regions.md, "Which comes first, the law or the treaty"). Neither is a
causal estimate: a state that means to do both may do either first.

Direction: ``effect > 0`` says a state that already meets a treaty's
obligations ratifies it sooner than one that does not.
"""

from __future__ import annotations

import numpy as np

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Real


def complies(obliges: np.ndarray, adopted: np.ndarray) -> np.ndarray:
    """(R, N, M) 1.0 where the state has adopted every instrument treaty m obliges, else 0.0, from ``obliges``
    (M, K) (``[m, j]``: a party to treaty m undertakes j) and (R, N, K) 0/1 ``adopted`` (before the year). A
    treaty that obliges nothing is never complied with in advance (its column is 0).

    >>> import numpy as np
    >>> obliges = np.array([[False, False], [True, False]])  # instrument 1 (a treaty) obliges instrument 0
    >>> complies(obliges, np.array([[[1, 0], [0, 0]]])).tolist()  # state 0 has the law, state 1 does not
    [[[0.0, 1.0], [0.0, 0.0]]]
    """
    need = obliges.sum(axis=1)
    met = np.asarray(adopted, dtype=float) @ obliges.T.astype(float)  # how many of its obligations each state met
    return ((met >= need) & (need > 0)).astype(float)


class Screening(Mechanism):
    name = "screening"
    summary = "a state ratifies sooner a treaty whose obligations it already meets"
    linear = ("effect",)
    params = {
        "effect": Real(0.5, -10.0, 10.0, "log-odds of ratifying a treaty once a state meets what it obliges",
                       expected=1),
    }  # fmt: skip

    def __init__(self, world, p, transforms=None):
        super().__init__(world, p, transforms)
        self.obliges = world.obliges
        self.effect = float(p.effect)
        self._treaties = np.flatnonzero(self.obliges.any(axis=1))
        self._rows = self.obliges[self._treaties]  # (k, K): the treaties' rows only

    def reads_adoptions(self):
        return self.obliges.copy()  # treaty k's term reads the adoptions of what k obliges

    def dynamic(self, ti, view):
        if not len(self._treaties):
            return None
        adopted = view.adopted_before()
        term = np.zeros(adopted.shape)
        term[..., self._treaties] = self.effect * complies(self._rows, adopted)
        return term
