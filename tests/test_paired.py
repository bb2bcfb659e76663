"""Two backtests paired on the cells both score (harmsim.analysis.paired, harmsim compare-backtests): the cells
compared, the gain and its parts, the labels, the refusals, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import harmsim
from harmsim.analysis.backtest import backtest
from harmsim.analysis.paired import PairedBacktests, common_cells, compare_backtests
from harmsim.cli import main
from harmsim.errors import ConfigError


def test_common_cells_compares_only_cells_both_backtests_score_alike():
    """Two backtests (say of the ASEAN record and of the world panel) are compared on the cells both score, from
    the same origin, with the same outcome: a cell the two records code differently is left out, and so is a
    state outside ``states``; the gain is b minus a, clustered by state."""
    a = pd.DataFrame(
        {
            "origin": [2008] * 4,
            "model": ["asean"] * 4,
            "state": ["THA", "THA", "VNM", "FRA"],
            "instrument": ["untoc", "tip_law", "untoc", "untoc"],
            "outcome": ["2010", "2009", "later", "2012"],
            "log_score": [-2.0, -1.0, -0.5, -3.0],
        }
    )
    b = a.assign(model="world", outcome=["2010", "2012", "later", "2012"], log_score=[-1.0, -9.0, -0.4, 0.0])
    t = common_cells(a, b, states=["THA", "VNM"])
    assert len(t) == 1
    row = t.iloc[0]
    assert (row["a"], row["b"], row["cells"], row["states"], row["instruments"]) == ("asean", "world", 2, 2, "untoc")
    assert row["log_score_gain"] == pytest.approx((1.0 + 0.1) / 2)


def _table(model: str, scores, outcomes=None, whether=None, adopted=None, origin: int = 2008) -> pd.DataFrame:
    n = len(scores)
    instruments = ["k", "m"] * (n // 2) + ["k"] * (n % 2)  # two cells a state
    t = pd.DataFrame(
        {"origin": origin, "model": model, "state": [f"S{i // 2}" for i in range(n)], "instrument": instruments,
         "outcome": outcomes or ["later"] * n, "log_score": scores}
    )  # fmt: skip
    if whether is not None:
        t["log_score_whether"], t["log_score_adopted"] = whether, adopted
    return t


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-8, 0), st.floats(-8, 0)), min_size=4, max_size=12)
)  # two states or more: a clustered s.e.
def test_the_gain_is_antisymmetric_and_the_pool_adds_to_at_least_one(pairs):
    """b against a is minus a against b, with the same standard error; the equal pool of two forecasts is never
    below both (the log score is concave), so at most one of the two 'adds' can be negative beyond rounding."""
    a = _table("x", [p[0] for p in pairs])
    b = _table("y", [p[1] for p in pairs])
    ab, ba = common_cells(a, b).iloc[0], common_cells(b, a).iloc[0]
    assert ab["log_score_gain"] == pytest.approx(-ba["log_score_gain"], abs=1e-12)
    assert ab["log_score_se"] == pytest.approx(ba["log_score_se"], abs=1e-12)
    assert ab["log_score_gain"] == pytest.approx(np.mean([y - x for x, y in pairs]), abs=1e-12)
    assert max(ab["b_adds"], ab["a_adds"]) >= -1e-12


def test_the_gain_is_whether_they_adopt_plus_the_timing_of_the_adoptions():
    """``log_score_gain = whether_gain + timing_gain * adoptions / cells``: a cell's log score is its
    score given adoption plus the rest, and only the adoptions have the first."""
    outcomes = ["2010", "later", "2012", "later"]
    a = _table(
        "x", [-3.0, -0.5, -2.0, -1.0], outcomes, whether=[-1.0, -0.5, -0.5, -1.0], adopted=[-2.0, None, -1.5, None]
    )
    b = _table(
        "y", [-2.0, -0.7, -2.6, -0.4], outcomes, whether=[-0.8, -0.7, -0.6, -0.4], adopted=[-1.2, None, -2.0, None]
    )
    r = common_cells(a, b).iloc[0]
    assert (r["cells"], r["adoptions"]) == (4, 2)
    assert r["log_score_gain"] == pytest.approx(r["whether_gain"] + r["timing_gain"] * 2 / 4)
    assert r["timing_gain"] == pytest.approx(((-1.2 + 2.0) + (-2.0 + 1.5)) / 2)


def test_verdicts_say_better_worse_or_not_told_apart():
    states = 8
    a = _table("x", [-2.0] * 2 * states)
    better = compare_backtests(a, a.assign(model="y", log_score=-1.5)).verdicts()[0]
    assert "y against x on 16 common cells is better: +0.500 per cell (s.e. 0.000, 8 states)" in better
    noisy = a.assign(model="y", log_score=[-2.0 + (0.5 if i % 4 < 2 else -0.5) for i in range(2 * states)])
    pair = compare_backtests(a, noisy)
    assert "is not told apart (within 2 s.e.)" in pair.verdicts()[0]
    # a state's two cells move together (+0.5 or -0.5 both): the standard error is clustered by state,
    # sqrt(G / (G - 1) * sum of the states' summed gains squared) / cells, not that of 16 independent cells
    assert pair.table.iloc[0]["log_score_se"] == pytest.approx(np.sqrt(8 / 7 * 8 * 1.0**2) / 16)
    # what a gain not told apart leaves open: the smallest true gain read as one four times in five
    se = pair.table.iloc[0]["log_score_se"]
    assert pair.table.iloc[0]["detectable_gain"] == pytest.approx((2 + 0.8416212) * se)
    assert f"(a true gain below {(2 + 0.8416212) * se:.3f} per cell would go unseen" in pair.verdicts()[0]
    assert "would go unseen" not in better
    assert "is worse: -0.500" in compare_backtests(a.assign(model="y", log_score=-1.5), a).verdicts()[0]


@given(
    gain=st.floats(-10, 10, allow_nan=False),
    se=st.one_of(st.floats(0, 5, allow_nan=False), st.just(float("nan"))),
    k=st.floats(0.01, 100),
)
@example(gain=0.15, se=0.1, k=1.0)  # between one and two standard errors
@example(gain=-0.3, se=0.0, k=1.0)  # every state's gain the same
@example(gain=0.3, se=float("nan"), k=1.0)  # fewer than two states
def test_one_reading_of_a_gain_for_a_backtest_and_for_two_compared(gain, se, k):
    """A backtest's summary and ``compare-backtests`` read a paired gain by one rule: better or worse beyond twice
    its standard error, the two mirror each other, the reading does not depend on the unit, and an unmeasured
    standard error is read as not told apart."""
    from harmsim.analysis.backtest import _reading
    from harmsim.scoring.scores import reading

    said = reading(gain, se)
    assert said == _reading({"log_score_gain": gain, "log_score_se": se})
    assert reading(-gain, se) == {"better": "worse", "worse": "better"}.get(said, said)
    if abs(abs(gain) - 2 * se) > 1e-6 * (1 + abs(gain)):  # away from the edge, where rounding may tip it
        assert reading(k * gain, k * se) == said
    if np.isnan(se):
        assert said == "not told apart"
    elif abs(gain) <= 2 * se:
        assert said == "not told apart"
    else:
        assert said == ("better" if gain > 0 else "worse")


@pytest.fixture(scope="module")
def two_backtests():
    """The same scenario backtested with 20 and with 200 replicates: the same cells, two forecasts of them."""
    sc = harmsim.load_scenario("diffusion_only")
    return (
        backtest(sc, [2008], replicates=20, seed=0, baselines=("uniform",)),
        backtest(sc, [2008], replicates=200, seed=0, baselines=("uniform",)),
    )


def test_two_backtests_are_paired_model_with_model_and_baseline_with_baseline(two_backtests, tmp_path):
    few, more = two_backtests
    pair = compare_backtests(few, more, names=("20 runs", "200 runs"))
    assert list(pair.table["b"]) == ["diffusion_only (200 runs)", "uniform (200 runs)"]
    uniform = pair.table.iloc[1]
    assert uniform["log_score_gain"] == 0.0 and uniform["cells"] == len(few.cells.query("model == 'uniform'"))
    mine = few.cells.query("model == 'diffusion_only'")["log_score"].mean()
    assert pair.table.iloc[0]["log_score_a"] == pytest.approx(mine)
    saved = pair.save(tmp_path / "paired.csv")
    assert [p.name for p in saved] == ["paired.csv", "paired.json", "paired.png", "paired.pdf"]
    assert pd.read_csv(saved[0])["cells"].tolist() == pair.table["cells"].tolist()
    ax = pair.figure().axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"from 2008 ({pair.table['cells'].iloc[0]} cells)"]
    said = json.loads((tmp_path / "paired.json").read_text())
    assert said["a"]["label"] == "20 runs" and said["b"]["provenance"]["backtest"]["replicates"] == 200


def test_saved_backtests_are_named_by_their_folders_and_compared_from_the_command_line(two_backtests, tmp_path, capsys):
    few, more = two_backtests
    few.save(tmp_path / "drawn" / "seed0", figures=False)
    more.save(tmp_path / "more" / "seed0", figures=False)
    pair = compare_backtests(tmp_path / "drawn" / "seed0", tmp_path / "more" / "seed0")
    assert (pair.a, pair.b) == ("drawn/seed0", "more/seed0")  # the shortest parts that tell them apart
    assert pair.provenance["a"]["provenance"]["backtest"]["replicates"] == 20
    args = ["compare-backtests", str(tmp_path / "drawn" / "seed0"), str(tmp_path / "more" / "seed0")]
    assert main([*args, "--states", "asean", "--out", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    assert "from 2008: diffusion_only (more/seed0) against diffusion_only (drawn/seed0) on" in out
    assert (tmp_path / "p.csv").is_file() and (tmp_path / "p.json").is_file() and (tmp_path / "p.png").is_file()
    assert main([*args, "--out", str(tmp_path / "q.csv"), "--no-figures"]) == 0
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--without", "cets197"], "without cets197: neither backtest scores it; they score"),
        (["--states", "nope"], "nope: no such record"),
    ],
)
def test_the_command_refuses_in_one_line(two_backtests, tmp_path, capsys, extra, says):
    few, more = two_backtests
    few.save(tmp_path / "a", figures=False)
    more.save(tmp_path / "b", figures=False)
    assert main(["compare-backtests", str(tmp_path / "a"), str(tmp_path / "b"), *extra]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_backtests_without_a_common_cell_or_not_backtests_are_refused(tmp_path):
    a = _table("x", [-1.0, -2.0])
    with pytest.raises(ConfigError, match="score no common cell"):
        compare_backtests(a, _table("y", [-1.0, -2.0], origin=2011))
    with pytest.raises(ConfigError, match=r"score no common cell: .* \(with the states and instruments kept\)"):
        compare_backtests(a, a.assign(model="y"), without=["k", "m"])
    with pytest.raises(ConfigError, match=r"no cells\.csv"):
        compare_backtests(tmp_path, a)
    assert PairedBacktests(pd.DataFrame(), "a", "b").verdicts() == []
    for name in ("p.json", "p.png"):
        with pytest.raises(ConfigError, match="the table is CSV"):
            compare_backtests(a, a.assign(model="y")).save(tmp_path / name)


def test_further_runs_with_other_seeds_give_each_gain_its_monte_carlo_spread(tmp_path, capsys):
    """The same two backtests run with two seeds: the gain's mean, range and standard deviation over the runs,
    and the readings; a further pair that scores other cells, or repeats a seed, is refused."""
    sc = harmsim.load_scenario("diffusion_only")
    runs = {}
    for seed in (0, 1):
        for name, reps in (("few", 20), ("more", 200)):
            folder = tmp_path / f"{name}-seed{seed}"
            backtest(sc, [2008], replicates=reps, seed=seed, baselines=("uniform",)).save(folder, figures=False)
            runs[(name, seed)] = folder
    pair = compare_backtests(runs[("few", 0)], runs[("more", 0)], again=[(runs[("few", 1)], runs[("more", 1)])])
    again = compare_backtests(runs[("few", 1)], runs[("more", 1)])
    gains = [pair.table.iloc[0]["log_score_gain"], again.table.iloc[0]["log_score_gain"]]
    r = pair.monte_carlo.iloc[0]
    assert r["runs"] == 2 and r["gain_mean"] == pytest.approx(np.mean(gains))
    assert r["monte_carlo_sd"] == pytest.approx(np.std(gains, ddof=1)) and r["monte_carlo_sd"] > 0
    assert (r["gain_min"], r["gain_max"]) == pytest.approx((min(gains), max(gains)))
    words = pair.monte_carlo_words()[0]
    assert words.startswith("from 2008, 'diffusion_only (more-seed0)' against 'diffusion_only (few-seed0)'")
    assert "over 2 seeds" in words and words in pair.summary()
    saved = pair.save(tmp_path / "p.csv", figures=False)
    assert saved[-1].name == "p_monte_carlo.csv" and len(pd.read_csv(saved[-1])) == 1
    args = ["compare-backtests", str(runs[("few", 0)]), str(runs[("more", 0)])]
    assert main([*args, "--again", str(runs[("few", 1)]), str(runs[("more", 1)])]) == 0
    assert "over 2 seeds" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="repeat a pair: a further run with the same seeds"):
        compare_backtests(runs[("few", 0)], runs[("more", 0)], again=[(runs[("few", 0)], runs[("more", 0)])])
    other = tmp_path / "other"
    backtest(sc, [2011], replicates=20, seed=1, baselines=("uniform",)).save(other, figures=False)
    with pytest.raises(ConfigError, match=r"further run 1 .* does not score the cells the first pair does"):
        compare_backtests(runs[("few", 0)], runs[("more", 0)], again=[(other, runs[("more", 1)])])
