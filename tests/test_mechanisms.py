"""Every mechanism: the protocol contract, and the direction its docstring promises.

Direction tests switch one mechanism on against an intercept-only scenario
with the same seeds (common random numbers), so the difference is the
mechanism's effect alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim.data.world import NEVER
from harmsim.model.mechanisms import REGISTRY
from harmsim.model.mechanisms.base import PastView, State
from harmsim.model.params import ParamSet
from harmsim.model.scenario import scenario_from_dict
from harmsim.rng import stream

SEEDS = harmsim.spawn_seeds(2024, 400)
RECEIVERS = {"THA", "SGP", "MYS", "BRN"}  # net receivers in 2005 migrant stocks (RECORD-PATTERNS 4)


def scenario(mechs: dict, intercept=-3.0):
    return scenario_from_dict({"hazard": {"intercept": intercept}, "mechanisms": mechs}, where="test")


def years(sc) -> pd.DataFrame:
    ens = harmsim.run_ensemble(sc, seeds=SEEDS)
    a = ens.adoptions.copy()
    a["y"] = a["year"].astype("Float64").fillna(sc.end + 1).astype(float)
    return a


def _bound(name, baseline):
    """Mechanism ``name`` bound to the baseline's world, with the baseline's parameters or its defaults."""
    cls = REGISTRY[name]
    p = baseline.mechanism(name) or ParamSet.build(
        name, cls.params, {}, where="defaults", ctx={"instruments": baseline.world.instruments}
    )
    return cls(baseline.world, p, baseline.transforms)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_contract(name, baseline):
    cls = REGISTRY[name]
    assert cls.name == name and cls.summary and cls.params
    assert cls.__module__ == f"harmsim.model.mechanisms.{name}"  # one module per mechanism, named after it
    doc = __import__(cls.__module__, fromlist=["x"]).__doc__
    assert "Direction" in doc, f"{name} must document the direction of its effect"
    world = baseline.world
    m = _bound(name, baseline)
    T, N, K = world.shape
    s = m.static()
    if s is not None:
        assert np.broadcast_shapes(s.shape, (T, N, K)) == (T, N, K)
        assert np.isfinite(s).all()
    state = baseline.dynamics.initial_state(3)
    if cls.uses_latent:
        state.latent = stream(0, "contract").standard_normal((3, N, 1))
    if cls.uses_shared:
        state.shared = stream(0, "contract").standard_normal((3, m.shared_width()))
    order = m.order()
    if order is not None:  # a partition of the instruments
        assert sorted(np.concatenate(order).tolist()) == list(range(K))
    for ti in (0, T - 1):
        view = PastView(state, int(world.years[ti]))
        m.before_year(ti, view, state)
        d = m.dynamic(ti, view)
        if d is not None:
            assert np.broadcast_shapes(d.shape, (3, N, K)) == (3, N, K)
            assert np.isfinite(d).all()
        idx = np.arange(K)
        g = m.gate(ti, view, idx)
        if g is not None:
            allowed, term = g
            assert np.broadcast_shapes(allowed.shape, (3, N, K)) == (3, N, K) and allowed.dtype == bool
            assert np.isfinite(term).all()


@pytest.mark.parametrize("name", list(REGISTRY))
def test_reads_adoptions_is_truthful(name, baseline):
    """A mechanism's terms for instrument k move with instrument j's adoptions only where it says it reads them
    (the exact likelihood sums unknown years only over those terms)."""
    cls = REGISTRY[name]
    world = baseline.world
    m = _bound(name, baseline)
    T, N, K = world.shape
    reads = m.reads_adoptions()
    reads = np.zeros((K, K), dtype=bool) if reads is None else reads
    assert reads.shape == (K, K) and reads.dtype == bool
    rng = stream(1, "reads")
    ti = T - 1
    t = int(world.years[ti])
    state = baseline.dynamics.initial_state(2)
    state.adopt_year[:] = np.where(rng.random((2, N, K)) < 0.5, t - 1 - rng.integers(0, 5, (2, N, K)), NEVER)
    if cls.uses_latent:
        state.latent = stream(0, "contract").standard_normal((2, N, 1))
    if cls.uses_shared:
        state.shared = stream(0, "contract").standard_normal((2, m.shared_width()))

    def terms(st):
        view = PastView(st, t)
        d = m.dynamic(ti, view)
        g = m.gate(ti, view, np.arange(K))
        d = np.zeros((2, N, K)) if d is None else np.broadcast_to(d, (2, N, K))
        g = (np.ones((2, N, K), bool), np.zeros((2, N, K))) if g is None else g
        return d, np.broadcast_to(g[0], (2, N, K)), np.broadcast_to(g[1], (2, N, K))

    before = terms(state)
    for j in range(K):
        flipped = State(state.adopt_year.copy(), state.arrival, state.open_year, state.latent, shared=state.shared)
        col = flipped.adopt_year[..., j]
        flipped.adopt_year[..., j] = np.where(col == NEVER, t - 1, NEVER)
        after = terms(flipped)
        moved = np.zeros(K, dtype=bool)
        for a, b in zip(before, after):
            moved |= (a != b).any(axis=(0, 1))
        assert not (moved & ~reads[:, j]).any(), f"{name}: instrument {j}'s adoptions move undeclared terms"


@pytest.mark.parametrize(
    ("name", "zero"),
    [
        ("push_pull", {"migration": 0.0, "gdp_gap": 0.0}),
        ("diffusion", {"strength": 0.0}),
        ("agreements", {"nonbinding": 0.0, "binding": 0.0}),
        ("external", {"monitoring": 0.0, "momentum": 0.0}),
        ("capacity", {"strength": 0.0}),
        ("period", {"effect": 0.0}),
        ("frailty", {"sd": 0.0}),
        ("commitments", {"effect": 0.0}),
        ("screening", {"effect": 0.0}),
    ],
)
def test_zero_effect_equals_mechanism_off(name, zero):
    off = years(scenario({}))
    on = years(scenario({name: zero}))
    pd.testing.assert_series_equal(off["year"], on["year"])


def _mean_gap(a, group):
    m = a.groupby(a["state"].isin(group))["y"].mean()
    return m[True] - m[False]


def test_push_pull_receivers_later():
    a0 = years(scenario({}))
    a1 = years(scenario({"push_pull": {"migration": -1.0}}))
    assert _mean_gap(a1, RECEIVERS) > _mean_gap(a0, RECEIVERS) + 0.5


def test_push_pull_gdp_gap_richer_later():
    rich = {"SGP", "BRN", "MYS"}
    a0 = years(scenario({}))
    a1 = years(scenario({"push_pull": {"migration": 0.0, "gdp_gap": -1.0}}))
    assert _mean_gap(a1, rich) > _mean_gap(a0, rich) + 0.5


def test_capacity_richer_earlier():
    rich = {"SGP", "BRN", "MYS"}
    a0 = years(scenario({}))
    a1 = years(scenario({"capacity": {"strength": 1.0}}))
    assert _mean_gap(a1, rich) < _mean_gap(a0, rich) - 0.5


def test_diffusion_speeds_adoption():
    a0 = years(scenario({}, intercept=-3.5))
    a1 = years(scenario({"diffusion": {"strength": 3.0}}, intercept=-3.5))
    assert (a1["y"] <= a0["y"]).all()  # hazards only rise, draws are shared
    assert a1["y"].mean() < a0["y"].mean() - 1.0


def test_nonbinding_agreements_speed_covered_instruments():
    a0 = years(scenario({"agreements": {"nonbinding": 0.0, "binding": 0.0}}))
    a1 = years(scenario({"agreements": {"nonbinding": 0.5, "binding": 0.0}}))
    assert (a1["y"] <= a0["y"]).all()
    assert a1["y"].mean() < a0["y"].mean() - 1.0


def test_binding_agreement_acts_from_its_year():
    a0 = years(scenario({"agreements": {"nonbinding": 0.0, "binding": 0.0, "lag": 0}}))
    a1 = years(scenario({"agreements": {"nonbinding": 0.0, "binding": 3.0, "lag": 0}}))
    assert (a1["y"] <= a0["y"]).all()
    new = a1["y"] < a0["y"]
    assert new.any() and (a1.loc[new, "y"] == 2015).all()  # the 2015 Convention is the only binding one


def test_external_pressure_speeds_adoption():
    a0 = years(scenario({}))
    a1 = years(scenario({"external": {"monitoring": 1.0, "momentum": 0.0}}))
    a2 = years(scenario({"external": {"monitoring": 0.0, "momentum": 4.0}}))
    assert (a1["y"] <= a0["y"]).all() and a1["y"].mean() < a0["y"].mean()
    assert (a2["y"] <= a0["y"]).all() and a2["y"].mean() < a0["y"].mean() - 0.5


def test_prerequisites_bundle_ratification():
    def same_year(a):
        w = a.pivot_table(index=["replicate", "state"], columns="instrument", values="y", observed=True)
        both = w[(w["untoc"] <= 2015)]
        return (both["tip_protocol"] == both["untoc"]).mean()

    a0 = years(scenario({"prerequisites": {"bundle": 0.0}}))
    a1 = years(scenario({"prerequisites": {"bundle": 4.0}}))
    assert same_year(a1) > same_year(a0) + 0.3
    w0 = a0.pivot_table(index=["replicate", "state"], columns="instrument", values="y", observed=True)
    assert (w0["tip_protocol"] >= w0["untoc"]).all()


def _wide(mechanism: str, effect: float) -> pd.DataFrame:
    """Adoption years per (replicate, state), one column per instrument, with ``mechanism``'s effect on."""
    a = years(scenario({mechanism: {"effect": effect}}))
    return a.pivot_table(index=["replicate", "state"], columns="instrument", values="y", observed=True)


def test_commitments_speed_what_the_treaty_obliges():
    """Parties to the Protocol criminalize sooner; a state that never ratifies is untouched (same seeds)."""
    w0, w1 = _wide("commitments", 0.0), _wide("commitments", 4.0)
    party = w0["tip_protocol"] < w0["tip_law"]  # ratified first: the term can act
    assert (w1["tip_protocol"] == w0["tip_protocol"]).all()  # tip_law's term only: the Protocol is unmoved
    assert w1["tip_law"][party].mean() < w0["tip_law"][party].mean() - 1.0
    assert (w1["tip_law"][~party] == w0["tip_law"][~party]).all()


def test_committed_by_hand(baseline):
    from harmsim.model.mechanisms.commitments import committed

    w = baseline.world
    K = len(w.instruments)
    law, protocol, actip = (w.instruments.index(k) for k in ("tip_law", "tip_protocol", "actip"))
    assert set(np.flatnonzero(w.obliges[:, law])) == {protocol, actip} and w.obliges.sum() == 2
    adopted = np.zeros((1, 3, K))
    adopted[0, 0, protocol] = 1  # party to the Protocol
    adopted[0, 1, [protocol, actip]] = 1  # to both: still one commitment, not two
    got = committed(w.obliges, adopted)
    assert got[0, :, law].tolist() == [1.0, 1.0, 0.0]
    assert not np.delete(got, law, axis=-1).any()  # nothing obliges the treaties themselves


def test_screening_speeds_the_treaties_a_state_already_meets():
    """States with their law ratify the Protocol sooner; criminalization itself is untouched (same seeds)."""
    w0, w1 = _wide("screening", 0.0), _wide("screening", 4.0)
    lawful = w0["tip_law"] < w0["tip_protocol"]  # the law first: the term can act
    assert (w1["tip_law"] == w0["tip_law"]).all()  # the treaties' terms only: the law is unmoved
    assert w1["tip_protocol"][lawful].mean() < w0["tip_protocol"][lawful].mean() - 1.0
    assert (w1["tip_protocol"][~lawful] == w0["tip_protocol"][~lawful]).all()


def test_complies_by_hand(baseline):
    from harmsim.model.mechanisms.screening import complies

    w = baseline.world
    K = len(w.instruments)
    law, protocol, actip = (w.instruments.index(k) for k in ("tip_law", "tip_protocol", "actip"))
    adopted = np.zeros((1, 2, K))
    adopted[0, 0, law] = 1  # state 0 has its law, state 1 has only the Protocol
    adopted[0, 1, protocol] = 1
    got = complies(w.obliges, adopted)
    assert got[0, 0, [protocol, actip]].tolist() == [1.0, 1.0] and not got[0, 1].any()
    assert not np.delete(got, [protocol, actip], axis=-1).any()  # instruments that oblige nothing: never
    two = np.array([[False, False, False], [False, False, False], [True, True, False]])  # treaty 2 obliges 0 and 1
    assert complies(two, np.array([[[1, 0, 0], [1, 1, 0]]]))[0, :, 2].tolist() == [0.0, 1.0]  # all it obliges


def test_peer_share_by_hand():
    from harmsim.model.mechanisms.diffusion import peer_share

    W = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
    adopted = np.array([[[0.0], [1.0], [1.0]]])  # states 1 and 2 adopted
    member = np.array([True, True, False])  # state 2 is not a member this year
    s = peer_share(W, adopted, member)
    assert s[0, 0, 0] == pytest.approx(1.0)  # state 0's only member peer (1) adopted
    assert s[0, 1, 0] == pytest.approx(0.0)
    assert s[0, 2, 0] == pytest.approx(1 / 3)  # (2*0 + 1*1) / (2 + 1)


def test_salience_and_compliance_by_hand():
    from harmsim.model.mechanisms.agreements import compliance, salience

    covers = np.array([[True, False], [True, True]])
    beta = np.array([0.5, 2.0])
    arrival = np.array([[2000, 2004]], dtype=np.int32)
    assert salience(arrival, 2004, beta, covers, lag=1, persistence=1.0).tolist() == [[0.5, 0.0]]
    assert salience(arrival, 2006, beta, covers, lag=1, persistence=0.5).tolist() == [
        [0.5 * 0.5**5 + 2.0 * 0.5, 2.0 * 0.5]
    ]
    adopt = np.array([[[2001, NEVER], [NEVER, NEVER]]], dtype=np.int32)
    share = compliance(adopt < 2002, np.array([True, True]), np.array([[1990, 1990]]), covers[1], 2002)
    assert share.tolist() == [0.25]


def test_initial_state_has_the_documented_shapes(baseline):
    """Every field of State has the shape its docstring gives, for R replicates; latent only when used."""
    w = baseline.world
    _, N, K = w.shape
    st = baseline.dynamics.initial_state(4)
    assert st.adopt_year.shape == (4, N, K) and st.arrival.shape == (4, len(w.agreements))
    assert st.open_year.shape == (4, K) and st.latent is None and st.shared is None
    assert st.threshold is None and st.survival is None  # the likelihood has no draws
    fields = {"adopt_year", "arrival", "open_year", "latent", "threshold", "survival", "shared"}
    assert set(State.__dataclass_fields__) == fields
    fr = scenario_from_dict({"mechanisms": {"frailty": {"sd": 1.0}}}, where="t")
    z = fr.dynamics.latent_draws([1, 2, 3, 4])
    u = fr.dynamics.thresholds([1, 2, 3, 4])
    st = fr.dynamics.initial_state(4, latent=z, threshold=u)
    assert st.latent.shape == (4, N, 1) and st.threshold.shape == st.survival.shape == (4, N, K)
    assert (st.survival == 1).all()
    org = scenario_from_dict({"mechanisms": {"organizations": {"sd": 1.0}}}, where="t")  # one region: one
    v = org.dynamics.shared_draws([1, 2, 3, 4])
    assert org.dynamics.initial_state(4, shared=v).shared.shape == (4, 1)


def test_period_raises_hazards_from_its_year():
    a0 = years(scenario({}))
    a1 = years(scenario({"period": {"effect": 1.5, "year": 2005}}))
    assert (a1["y"] <= a0["y"]).all()
    changed = a1["y"] < a0["y"]
    assert changed.any() and (a1.loc[changed, "y"] >= 2005).all()


def test_trend_term_by_hand(baseline):
    """linear per decade from the center, quadratic, and log(1 + years since the instrument opened)."""
    from harmsim.model.mechanisms.trend import Trend

    w = baseline.world
    p = ParamSet.build("trend", Trend.params, {"linear": 1.0, "quadratic": 0.5, "duration": 2.0, "center": 2006},
                       where="t", ctx={"instruments": w.instruments})  # fmt: skip
    term = Trend(w, p, baseline.transforms).static()
    k_law, k_untoc = w.instruments.index("tip_law"), w.instruments.index("untoc")
    s = (2015 - 2006) / 10
    assert term[2015 - 1997, 0, k_untoc] == pytest.approx(s + 0.5 * s**2 + 2.0 * np.log1p(2015 - 2000))
    assert term[0, 0, k_law] == pytest.approx(-0.9 + 0.5 * 0.81 + 0.0)  # open from the reference start: 1997


def _variants(sc, rng, n=5):
    """``sc`` and ``n`` copies with every real parameter moved at random (some to exactly 0), within range."""
    from harmsim.model.space import bounds_of

    reals = [k for k, v in sc.parameters().items() if isinstance(v, float)]
    out = [sc]
    for _ in range(n):
        values = {}
        for name in rng.choice(reals, size=min(3, len(reals)), replace=False):
            lo, hi = bounds_of(sc, name)
            values[name] = 0.0 if rng.random() < 0.3 and lo <= 0 <= hi else float(rng.uniform(max(lo, -3), min(hi, 3)))
        out.append(sc.with_params(values))
    return out


@pytest.mark.parametrize("name", list(REGISTRY))
def test_block_rows_equal_each_parameter_set(name, baseline):
    """A parameter block's row b is what scenario b's own Dynamics gives, to the bit: log-odds and every gate."""
    from harmsim.model.dynamics import Block

    cls = REGISTRY[name]
    mechs = {m: {k: v for k, v in p.as_dict().items() if v is not None} for m, p in baseline.mechanisms}
    mechs.setdefault(name, {})
    sc = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": mechs}, where="test")
    scs = _variants(sc, stream(7, f"block {name}"))
    block = Block(scs)
    world = sc.world
    T, N, K = world.shape
    rng = stream(3, "block history")
    state = sc.dynamics.initial_state(3)
    state.adopt_year[:] = np.where(rng.random((3, N, K)) < 0.4, world.start + rng.integers(0, T, (3, N, K)), NEVER)
    if cls.uses_latent or block.needs_latent:
        state.latent = stream(0, "contract").standard_normal((3, N, 1))
    if cls.uses_shared or block.needs_shared:
        state.shared = stream(0, "contract").standard_normal((3, sc.dynamics.shared_width))
    risk = np.ones((3, N, K), dtype=bool)
    for ti in range(T):
        view = PastView(state, int(world.years[ti]))
        eta = np.broadcast_to(block.logit(ti, view), (len(scs), 3, N, K))
        for b, s in enumerate(scs):
            np.testing.assert_array_equal(eta[b], np.broadcast_to(s.dynamics.logit(ti, view), (3, N, K)))
        for li in range(len(block.layers)):
            idx, r, e = block.layer(li, ti, state, eta, risk)
            for b, s in enumerate(scs):
                idx1, r1, e1 = s.dynamics.layer(li, ti, state, eta[b], risk)
                assert np.array_equal(np.arange(K)[idx], np.arange(K)[idx1])
                np.testing.assert_array_equal(np.broadcast_to(r, (len(scs), *np.shape(r1)))[b], r1)
                np.testing.assert_array_equal(np.broadcast_to(e, (len(scs), *np.shape(e1)))[b], e1)


def test_block_refuses_scenarios_of_different_structure(baseline):
    from harmsim.errors import ConfigError
    from harmsim.model.dynamics import Block

    other = scenario({"diffusion": {}})
    with pytest.raises(ConfigError, match="cannot share a parameter block"):
        Block([baseline, other])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_linear_coefficients_are_linear_to_the_bit(name, baseline):
    """What a mechanism declares linear (Mechanism.linear) is: rows of the parameter axis, each varying only
    those coefficients (some at 0), give every row's own log-odds and gates exactly."""
    from harmsim.model.dynamics import Rows

    cls = REGISTRY[name]
    mechs = {m: {k: v for k, v in p.as_dict().items() if v is not None} for m, p in baseline.mechanisms}
    mechs.setdefault(name, {})
    sc = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": mechs}, where="test")
    rng = stream(5, f"linear {name}")
    rows = []
    for _ in range(4):
        values = {}
        for c in cls.linear:
            spec = cls.params[c]
            values[f"{name}.{c}"] = (
                0.0 if rng.random() < 0.25 else float(rng.uniform(max(spec.lo, -2), min(spec.hi, 2)))
            )
        values["hazard.intercept"] = float(rng.uniform(-4, -1))
        rows.append(sc.with_params(values))
    dyn = Rows(rows)
    world = sc.world
    T, N, K = world.shape
    state = sc.dynamics.initial_state(4)
    g = stream(3, "linear history")
    state.adopt_year[:] = np.where(g.random((4, N, K)) < 0.4, world.start + g.integers(0, T, (4, N, K)), NEVER)
    if dyn.needs_latent:
        state.latent = stream(0, "contract").standard_normal((4, N, dyn.latent_width))
    if dyn.needs_shared:
        state.shared = stream(0, "contract").standard_normal((4, dyn.shared_width))
    risk = np.ones((4, N, K), dtype=bool)
    for ti in range(T):
        view = PastView(state, int(world.years[ti]))
        eta = dyn.logit(ti, view)
        for r, row in enumerate(rows):
            sub = state.rows(slice(r, r + 1))
            own = row.dynamics.logit(ti, PastView(sub, int(world.years[ti])))
            np.testing.assert_array_equal(np.broadcast_to(eta, (4, N, K))[r], np.broadcast_to(own, (1, N, K))[0])
        for li in range(len(dyn.layers)):
            _, rr, e = dyn.layer(li, ti, state, np.broadcast_to(eta, (4, N, K)), risk)
            for r, row in enumerate(rows):
                sub = state.rows(slice(r, r + 1))
                e_row = np.broadcast_to(eta, (4, N, K))[r : r + 1]
                _, r1, e1 = row.dynamics.layer(li, ti, sub, e_row, risk[r : r + 1])
                np.testing.assert_array_equal(np.broadcast_to(rr, (4, *np.shape(r1)[1:]))[r], np.asarray(r1)[0])
                np.testing.assert_array_equal(np.broadcast_to(e, (4, *np.shape(e1)[1:]))[r], np.asarray(e1)[0])


@pytest.mark.parametrize("name", [n for n, cls in REGISTRY.items() if cls.row_params])
def test_row_params_take_one_value_per_replicate_to_the_bit(name, baseline):
    """What a mechanism declares in ``row_params`` its hooks take as (R,) arrays: rows that differ in those
    parameters, in each of the mechanism's modes (its choices), run in one engine call with one binding and
    give every row's own history exactly."""
    from harmsim.model import batch
    from harmsim.model.dynamics import Rows
    from harmsim.model.params import Choice, Integer

    cls = REGISTRY[name]
    modes = [{}] + [{k: c} for k, spec in cls.params.items() if isinstance(spec, Choice) for c in spec.choices]
    for mode in modes:
        mechs = {m: {k: v for k, v in p.as_dict().items() if v is not None} for m, p in baseline.mechanisms}
        mechs[name] = {**mechs.get(name, {}), **mode}
        sc = scenario_from_dict({"hazard": {"intercept": -3.0}, "mechanisms": mechs}, where="test")
        g = stream(9, f"row params {name} {mode}")
        table = {}
        for k in cls.row_params:
            spec = cls.params[k]
            if isinstance(spec, Integer):
                table[f"{name}.{k}"] = g.integers(spec.lo, min(spec.hi, spec.lo + 4) + 1, 6).astype(float)
            else:
                table[f"{name}.{k}"] = g.uniform(max(spec.lo, -2.0), min(spec.hi, 2.0), 6)
        table = pd.DataFrame(table)
        rows = Rows.from_values(sc, list(table), table.to_numpy())
        j = [n for n, _ in sc.mechanisms].index(name)
        linear = set(rows.parts[j][0].whole.linear_coefficients())
        assert len(rows.parts[j]) == 1, "rows differing only in row_params and linear coefficients: one binding"
        seeds = harmsim.spawn_seeds(4, 6)
        adopt, arrival = batch.simulate(sc, seeds, rows=table)
        for r in range(6):
            values = {c: (int(v) if isinstance(cls.params[c.split(".")[1]], Integer) else float(v))
                      for c, v in table.iloc[r].items()}  # fmt: skip
            a1, g1 = batch.simulate(sc.with_params(values), [seeds[r]])
            np.testing.assert_array_equal(a1[0], adopt[r], err_msg=f"{name} {mode} row {r} ({linear=})")
            np.testing.assert_array_equal(g1[0], arrival[r])


@pytest.mark.parametrize(("n_states", "replicates"), [(10, 7), (100, 1), (100, 7), (188, 300)])
def test_peer_product_is_the_weights_times_the_indicators(n_states, replicates):
    """The one-product layout of a large panel gives the stacked product's values (to rounding); a small
    region keeps the stacked product itself, bit for bit."""
    from harmsim.model.mechanisms.diffusion import ONE_PRODUCT_STATES, peer_product

    g = np.random.default_rng(np.random.SeedSequence(n_states * 1000 + replicates))
    W = g.random((n_states, n_states))
    np.fill_diagonal(W, 0.0)
    W /= W.sum(axis=1, keepdims=True)
    adopted = g.random((replicates, n_states, 3)) < 0.4
    out = peer_product(W, adopted)
    assert out.shape == adopted.shape
    np.testing.assert_allclose(out, W @ adopted, rtol=0, atol=1e-13)
    if n_states < ONE_PRODUCT_STATES:
        assert np.array_equal(out, W @ adopted)
    # by hand: state 0's share is its weighted sum over peers
    np.testing.assert_allclose(out[0, 0, 0], sum(W[0, j] * adopted[0, j, 0] for j in range(n_states)), atol=1e-13)


def test_trend_is_held_past_the_last_observed_year():
    """The period part stops at the record's end (a backtest's origin), duration runs on; 'continue' extrapolates
    the polynomial; inside the observed years the two are the same."""
    from harmsim.data.observations import observed_until

    sc = harmsim.load_scenario("baseline_trend").with_params(
        {"trend.linear": 1.0, "trend.quadratic": -2.0, "trend.duration": 0.0}
    )
    cut = observed_until(sc.record, 2008)
    held = sc.with_record(cut).with_horizon(2020).dynamics.mechanism("trend").static()[:, 0, 0]
    cont = (
        sc.with_params({"trend.beyond": "continue"}).with_record(cut).with_horizon(2020)
        .dynamics.mechanism("trend").static()[:, 0, 0]
    )  # fmt: skip
    years = np.arange(sc.start, 2021)
    s = (years - sc.mechanism("trend").center) / 10
    np.testing.assert_allclose(cont, 1.0 * s - 2.0 * s**2)
    inside = years <= 2008
    np.testing.assert_allclose(held[inside], cont[inside])
    np.testing.assert_allclose(held[~inside], cont[years == 2008][0])  # flat at its 2008 value


def test_trend_drift_is_held_inside_the_record_and_drawn_from_its_slope_past_it():
    """'drift' is 'hold' plus drift x decades past the last observed year; nothing in the record informs it (no
    fit frees it); a forecast draws it per replicate from N(0, slope^2), the slope the period trend has at the
    last observed year in that replicate's draw."""
    from harmsim.analysis.predictive import _drift
    from harmsim.calibrate.mle import default_free
    from harmsim.data.observations import observed_until

    sc = harmsim.load_scenario("baseline_trend").with_params(
        {"trend.linear": 1.0, "trend.quadratic": 0.5, "trend.duration": 0.0, "trend.beyond": "drift"}
    )
    cut = observed_until(sc.record, 2008)
    at = sc.with_record(cut).with_horizon(2020)
    held = at.with_params({"trend.beyond": "hold"}).dynamics.mechanism("trend").static()[:, 0, 0]
    drift = at.with_params({"trend.drift": 0.8}).dynamics.mechanism("trend").static()[:, 0, 0]
    years = np.arange(sc.start, 2021)
    np.testing.assert_allclose(drift, held + 0.8 * np.maximum(years - 2008, 0) / 10)
    assert "trend.drift" not in default_free(sc, sc.record)
    n = 20_000
    draws = pd.DataFrame(
        {"trend.linear": np.full(n, 1.0), "trend.quadratic": np.r_[np.full(n // 2, 0.5), np.zeros(n // 2)]}
    )
    out, notes = _drift(at, draws, seed=4)
    slope = np.r_[np.full(n // 2, 1.0 + 2 * 0.5 * (2008 - 2006) / 10), np.full(n // 2, 1.0)]  # 1.2, then 1.0
    z = out["trend.drift"].to_numpy() / slope
    assert abs(z.mean()) < 0.03 and z.std() == pytest.approx(1.0, abs=0.03)
    assert "past 2008" in notes[0] and _drift(sc.with_params({"trend.beyond": "hold"}), draws, 4)[1] == []


def test_trend_spline_is_linear_where_its_penalty_is_zero_and_held_past_the_data():
    """basis = 'spline': coefficients in arithmetic progression (the fixed middle one at 0) have no second
    differences, so no penalty, and make a straight line over the observed years (a property of B-splines): the
    penalty shrinks the period towards a line, not towards flat. Past the last observed year the spline is held
    (plus the drift); the drift's scale is its slope there."""
    from harmsim.calibrate.mle import default_free, penalty
    from harmsim.data.observations import observed_until
    from harmsim.model.mechanisms.trend import SPLINE_NAMES, Trend

    sc = harmsim.load_scenario("baseline_trend")
    line = {f"trend.{n}": 0.4 * (j - 3 + (j >= 3)) for j, n in enumerate(SPLINE_NAMES)}  # -1.2 .. 1.2, 0 skipped
    sp = sc.with_params({"trend.basis": "spline", "trend.duration": 0.0, **line})
    cut = observed_until(sp.record, 2008)
    at = sp.with_record(cut).with_horizon(2020)
    term = at.dynamics.mechanism("trend").static()[:, 0, 0]
    years = np.arange(sp.start, 2021)
    inside = years <= 2008
    slope = np.diff(term[inside])
    np.testing.assert_allclose(slope, slope[0], atol=1e-12)  # a straight line inside
    np.testing.assert_allclose(term[~inside], term[inside][-1])  # held past 2008
    assert Trend.log_prior(sp.mechanism("trend")) == pytest.approx(0.0, abs=1e-12)
    assert penalty(sp) == pytest.approx(Trend.log_prior(sp.mechanism("trend")) + penalty(sc), abs=1e-12)
    bent = sp.with_params({"trend.spline_1": 1.0})
    c = np.array([1.0, -0.8, -0.4, 0.0, 0.4, 0.8, 1.2])  # second differences: -0.2... by hand
    assert Trend.log_prior(bent.mechanism("trend")) == pytest.approx(-(np.diff(c, 2) ** 2).sum() / (2 * 0.5**2))
    # the drift's scale: the slope at the last observed year, per decade
    at_slope = at.dynamics.mechanism("trend").period_slope({k: np.array([v]) for k, v in line.items()})
    assert at_slope[0] == pytest.approx(slope[0] * 10, rel=1e-9)
    free = default_free(sp, sp.record)
    assert set(free) >= {f"trend.{n}" for n in SPLINE_NAMES}
    assert not {"trend.linear", "trend.quadratic", "trend.smoothness"} & set(free)
    assert not {f"trend.{n}" for n in SPLINE_NAMES} & set(default_free(sc, sc.record))
