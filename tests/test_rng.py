"""The engines' counter-based draws (harmsim.rng.uniforms) and the threshold rule of Dynamics.step.

Unit: a row depends on its seed alone, whatever the seed's type; refusals. Statistical: uniformity,
no correlation between numbers of one seed or of neighbouring seeds; adoption by threshold gives the
hazard exactly, also where a known history stops (a fresh threshold for the unknown years); the rule
evaluated on the cells at risk only equals it on whole arrays, to the bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import harmsim
from harmsim.data.observations import observations
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.model.dynamics import LOGIT, Clamp, _positions, _take
from harmsim.model.scenario import scenario_from_dict
from harmsim.rng import normals, stream_keys, uniforms


def test_a_row_depends_on_its_seed_alone():
    seeds = harmsim.spawn_seeds(3, 40)
    u = uniforms(seeds, "adoption", 12)
    for j in (0, 17, 39):
        np.testing.assert_array_equal(u[j], uniforms([seeds[j]], "adoption", 12)[0])
    np.testing.assert_array_equal(u[:, :5], uniforms(seeds, "adoption", 5))  # more numbers keep the first ones
    assert not np.array_equal(u, uniforms(seeds, "frailty", 12))  # streams differ by name


def test_seed_types_give_one_key():
    """An int, a numpy int and a SeedSequence holding only that int are one seed; a spawned child is another."""
    a = uniforms([7], "adoption", 4)
    np.testing.assert_array_equal(a, uniforms(np.array([7], dtype=np.uint64), "adoption", 4))
    np.testing.assert_array_equal(a, uniforms([np.random.SeedSequence(7)], "adoption", 4))
    mixed = [np.int64(7), np.random.SeedSequence(1, spawn_key=(2,))]  # one seed per path
    np.testing.assert_array_equal(a, uniforms(mixed, "adoption", 4)[:1])
    child = np.random.SeedSequence(7, spawn_key=(1,))
    b = uniforms([child], "adoption", 4)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, uniforms([{"entropy": 7, "spawn_key": [1]}], "adoption", 4))
    big = uniforms([2**70], "adoption", 4)  # beyond 64 bits: through its SeedSequence
    assert big.shape == (1, 4) and not np.array_equal(big, a)


@pytest.mark.parametrize("bad", [-1, True, None, 1.5, "3"])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ConfigError, match="seed"):
        stream_keys([bad], "adoption")


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=20), st.integers(1, 50))
def test_uniforms_lie_in_the_open_interval(seeds, n):
    u = uniforms(seeds, "adoption", n)
    assert u.shape == (len(seeds), n) and ((u > 0) & (u < 1)).all()


def test_uniform_and_independent():
    """200,000 x 66 numbers of consecutive integer seeds (the worst case for a weak key hash)."""
    u = uniforms(np.arange(200_000), "adoption", 66)
    assert stats.kstest(u.ravel()[::7], "uniform").pvalue > 1e-4
    # neighbouring seeds and neighbouring numbers: correlations within 5 standard errors of 0
    se = 1 / np.sqrt(u[:-1].size)
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < 5 * se
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < 5 * se
    # pairs of neighbouring numbers fill a 10 x 10 grid evenly
    counts = np.histogram2d(u[:, 0], u[:, 1], bins=10, range=[[0, 1], [0, 1]])[0]
    assert stats.chisquare(counts.ravel()).pvalue > 1e-4
    z = normals(np.arange(50_000), "frailty", 10)
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-4


def _constant_hazard():
    return scenario_from_dict({"hazard": {"intercept": -1.5}, "mechanisms": {}}, where="test")


def test_thresholds_give_the_hazard_every_year():
    """With a constant yearly hazard h, adoption years are geometric: P(first year) = h, then (1 - h) h, ..."""
    sc = _constant_hazard()
    dyn = sc.dynamics
    R = 40_000
    seeds = harmsim.spawn_seeds(11, R)
    state = dyn.initial_state(R, threshold=dyn.thresholds(seeds))
    at_risk = dyn.eligible(0, state)[0] & (state.adopt_year[0] == NEVER)
    i, k = np.argwhere(at_risk)[0]
    h = 1 / (1 + np.exp(-dyn.intercept[k]))
    for ti in range(4):
        dyn.step(ti, state)
    years = state.adopt_year[:, i, k]
    t0 = sc.world.start
    observed = [(years == t0 + j).sum() for j in range(4)] + [(years > t0 + 3).sum()]
    expected = [R * (1 - h) ** j * h for j in range(4)] + [R * (1 - h) ** 4]
    assert stats.chisquare(observed, expected).pvalue > 1e-4, (observed, expected)


def test_a_known_history_leaves_a_fresh_threshold():
    """Clamped to 'not adopted' through a year, a cell adopts in the next one with probability h, not more."""
    sc = _constant_hazard()
    dyn = sc.dynamics
    w = sc.world
    R = 40_000
    N, K = w.initial.shape
    known = w.start + 5
    clamp = Clamp(
        known_until=np.full((N, K), known),
        year=np.full((N, K), NEVER),
        force_by=np.full((N, K), NEVER),
        schedule_until=known,
    )
    state = dyn.initial_state(R, clamp, threshold=dyn.thresholds(harmsim.spawn_seeds(12, R)))
    for ti in range(7):
        dyn.step(ti, state, clamp=clamp)
    free = (w.initial == NEVER) & w.member[6][:, None] & (w.opens[None, :] <= known + 1)
    i, k = np.argwhere(free)[0]
    h = 1 / (1 + np.exp(-dyn.intercept[k]))
    n = int((state.adopt_year[:, i, k] == known + 1).sum())
    assert stats.binomtest(n, R, h).pvalue > 1e-4, (n / R, h)
    ay = state.adopt_year
    assert not ((ay >= w.start) & (ay <= known)).any()  # nothing adopted while the history is known


class _WholeArrays:
    """The logistic link evaluated on whole arrays (``elementwise = False``), the way a link that reads more
    than a cell's log-odds is."""

    elementwise = False

    def survival(self, ti, view, eta, idx):
        return LOGIT.survival(ti, view, np.broadcast_to(eta, eta.shape).copy(), idx)


class _Counting:
    """The logistic link, recording how many cells each evaluation gets."""

    elementwise = True

    def __init__(self):
        self.sizes = []

    def survival(self, ti, view, eta, idx):
        self.sizes.append(eta.size)
        return LOGIT.survival(ti, view, eta, idx)


def _history(sc, seeds, link, clamp=None):
    dyn = sc.dynamics
    state = dyn.initial_state(len(seeds), clamp, dyn.latent_draws(seeds), dyn.thresholds(seeds))
    for ti in range(len(sc.world.years)):
        dyn.step(ti, state, link=link, clamp=clamp)
    return state


@pytest.mark.parametrize("clamped", [False, True])
def test_the_rule_on_the_cells_at_risk_equals_the_rule_on_whole_arrays(clamped):
    """The engines evaluate an elementwise link on the cells at risk only; the history and every survival
    product equal those of the link evaluated on whole arrays, to the bit (baseline: a gated layer,
    diffusion; clamped to the record as forecasts are)."""
    sc = harmsim.load_scenario("baseline")
    clamp = observations(sc.world, sc.record).clamp() if clamped else None
    seeds = harmsim.spawn_seeds(21, 300)
    a = _history(sc, seeds, LOGIT, clamp)
    b = _history(sc, seeds, _WholeArrays(), clamp)
    np.testing.assert_array_equal(a.adopt_year, b.adopt_year)
    np.testing.assert_array_equal(a.survival, b.survival)
    assert (a.adopt_year != NEVER).sum() > 1000  # many adoptions were decided


def test_the_link_gets_only_the_cells_at_risk():
    sc = harmsim.load_scenario("baseline")
    dyn = sc.dynamics
    seeds = harmsim.spawn_seeds(22, 64)
    state = dyn.initial_state(len(seeds), None, None, dyn.thresholds(seeds))
    link = _Counting()
    first, later = dyn.layers[0], np.concatenate(dyn.layers[1:])
    evaluated = 0
    for ti in range(len(sc.world.years)):
        risk = dyn.eligible(ti, state) & (state.adopt_year == NEVER)
        link.sizes.clear()
        dyn.step(ti, state, link=link)
        if not risk.any():
            assert link.sizes in ([], [0])
            continue
        assert link.sizes[0] == risk[..., first].sum()  # the first layer: exactly its cells at risk
        assert sum(link.sizes[1:]) <= risk[..., later].sum()  # later layers: those at risk the gates let through
        evaluated += sum(link.sizes)
    assert 0 < evaluated < 0.5 * state.adopt_year.size * len(sc.world.years)


@given(
    st.integers(1, 4),
    st.integers(1, 5),
    st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
    st.data(),
)
def test_cell_positions_and_gathers(R, N, cols, data):
    """A layer's cells map to the state's (R, N, K) positions, and a broadcast array is gathered at them."""
    K = 7
    idx = np.array(sorted(cols))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=R * N * len(idx), max_size=R * N * len(idx))))
    cells = np.flatnonzero(mask)
    full = np.arange(R * N * K).reshape(R, N, K)
    np.testing.assert_array_equal(_positions(cells, idx, K), full[..., idx].reshape(-1)[cells])
    shape = (R, N, len(idx))
    for a in (np.arange(R * N * len(idx), dtype=float).reshape(shape), np.arange(N * len(idx)).reshape(1, N, -1)):
        np.testing.assert_array_equal(_take(a, shape, cells), np.broadcast_to(a, shape).reshape(-1)[cells])
    column = np.arange(len(idx), dtype=float)  # broadcast along two axes: the general case
    np.testing.assert_array_equal(_take(column, shape, cells), np.broadcast_to(column, shape).reshape(-1)[cells])
