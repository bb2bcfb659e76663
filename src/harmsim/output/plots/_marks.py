"""The words and marks on figures from a record and a scenario: instrument labels, agreement marks."""

from __future__ import annotations

from harmsim.output.plots._base import _wrap


def instrument_labels(record, width: int = 34) -> dict[str, str]:
    """Instrument id -> its name from the record without the parenthesis, wrapped at ``width`` characters, for
    panel titles.

    >>> import harmsim
    >>> instrument_labels(harmsim.observed_record())["untoc"].replace("\\n", " ")
    'UN Convention against Transnational Organized Crime'
    """
    out = {}
    for k, name in zip(record.instruments["instrument"], record.instruments["name"]):
        short = str(name).split(" (")[0] if isinstance(name, str) and name else str(k)
        out[str(k)] = _wrap(short, width)
    return out


def agreement_marks(scenario, changed=None) -> list[tuple]:
    """(year, name, binding) of the record's agreements that are not follow-ups (declarations, conventions).

    With ``changed`` (the record a counterfactual changed), each mark carries a fourth item saying what the
    change did: ``"removed"`` (gone, or moved away from this year), ``"added"``, ``"moved"`` (its new year) or
    ``"changed"`` (made binding or not, or covering other instruments); ``""`` where it left it alone.

    >>> import harmsim
    >>> sorted(m[0] for m in agreement_marks(harmsim.load_scenario("baseline")))
    [1997, 1997, 2004, 2015]
    """
    return [mark for mark, _ in _marks_and_covers(scenario, changed)]


def agreement_marks_by_instrument(scenario, changed=None) -> dict[str, list[tuple]]:
    """Instrument id -> the :func:`agreement_marks` its panels show.

    On a record with regional organizations, the agreements that call for the instrument (before or after
    ``changed``): the world panel's agreements belong to fifteen organizations, and a panel marking every one
    would mark the Council of Europe's convention on the SAARC convention's panel. On one region's record,
    every agreement on every panel: they are the region's one sequence (the study's), each building on the
    last.

    >>> import harmsim
    >>> marks = agreement_marks_by_instrument(harmsim.load_scenario("world_baseline"))
    >>> sorted({m[1] for m in marks["saarc2002"]})[0][:50]
    'SAARC Convention on Preventing and Combating Traff'
    >>> len(agreement_marks_by_instrument(harmsim.load_scenario("baseline"))["untoc"])
    4
    """
    marks = _marks_and_covers(scenario, changed)
    one_region = not len(scenario.world.organizations)
    return {k: [m for m, covers in marks if one_region or k in covers] for k in scenario.world.instruments}


def _marks_and_covers(scenario, changed=None) -> list[tuple[tuple, frozenset]]:
    """:func:`agreement_marks`, each with the instruments its agreement calls for (before or after the
    change)."""

    def marks(record):
        ag = record.agreements
        return {
            a: (int(y), str(n or a), bool(b), tuple(c))
            for a, n, y, t, b, c in zip(
                ag["agreement"], ag["name"], ag["year"], ag["trigger"], ag["binding"], ag["covers"]
            )
            if t != "follow_up"
        }

    base = marks(scenario.record)
    if changed is None:
        return [(m[:3], frozenset(m[3])) for m in base.values()]
    after = marks(changed)
    out = []
    for a, (y, n, b, c) in base.items():
        if a not in after:
            out.append(((y, n, b, "removed"), frozenset(c)))
        elif after[a][0] != y:
            out += [((y, n, b, "removed"), frozenset(c)), ((*after[a][:3], "moved"), frozenset(after[a][3]))]
        else:
            change = "changed" if after[a][2:] != (b, c) else ""
            out.append(((*after[a][:3], change), frozenset(c) | frozenset(after[a][3])))
    out += [((*m[:3], "added"), frozenset(m[3])) for a, m in after.items() if a not in base]
    return out
