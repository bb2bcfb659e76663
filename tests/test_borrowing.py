"""Priors borrowed from another model's fit (harmsim.calibrate.borrowing): the priors, their refusals, what they do
to a fit, and a backtest that fits the source to each origin."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import harmsim
from harmsim.analysis.backtest import backtest
from harmsim.calibrate import calibrate, load_fit
from harmsim.calibrate.borrowing import Borrowing, borrow_from_fit, check_target, leaks, priors_from_fit
from harmsim.calibrate.fit import Fit
from harmsim.cli import main
from harmsim.errors import ConfigError

NAME = "agreements.nonbinding"


def _fit(rows: dict, scenario: str = "source", observed_until=None) -> Fit:
    est = pd.DataFrame(
        [{"parameter": k, "estimate": v[0], "se": v[1], "status": v[2] if len(v) > 2 else "bounded"}
         for k, v in rows.items()]
    )  # fmt: skip
    return Fit(scenario, "d", "asean", "mle", est, -1.0, 10, observed_until=observed_until)


@pytest.fixture(scope="module")
def source_fit():
    """The ASEAN baseline fitted to 2011: the source of the priors the statistical tests borrow."""
    return calibrate(harmsim.load_scenario("baseline"), observed_until=2011)


@pytest.fixture(scope="module")
def flat_fit():
    """baseline_trend fitted to 2011 without borrowed priors."""
    return calibrate(harmsim.load_scenario("baseline_trend"), observed_until=2011)


def _estimate(fit: Fit, name: str) -> float:
    return float(fit.estimates.set_index("parameter").loc[name, "estimate"])


# --- the priors and their refusals ---------------------------------------------------------------------------


def test_a_borrowed_prior_is_a_normal_at_the_estimate_with_the_standard_error_inflated():
    fit = _fit({NAME: (0.4, 0.2), "external.monitoring": (-0.1, 0.5)})
    got = priors_from_fit(fit, [NAME, "external.monitoring"], inflation=3.0)
    assert got[NAME] == {"distribution": "normal", "location": 0.4, "scale": pytest.approx(0.6)}
    assert got["external.monitoring"]["scale"] == pytest.approx(1.5)
    sc = borrow_from_fit(harmsim.load_scenario("baseline_trend"), fit, [NAME])
    assert [(p.name, p.location, p.scale) for p in sc.priors] == [(NAME, 0.4, 0.2)]


def test_borrowed_priors_replace_the_targets_own_on_the_same_parameter_and_keep_the_rest():
    target = harmsim.load_scenario("baseline_trend").with_priors(
        {NAME: {"distribution": "student_t", "scale": 2.5, "df": 1}, "diffusion.strength": {"distribution": "normal"
                                                                                             , "scale": 1}}
    )  # fmt: skip
    sc = borrow_from_fit(target, _fit({NAME: (0.4, 0.2)}), [NAME])
    by = {p.name: p for p in sc.priors}
    assert by[NAME].describe() == "normal(0.4, 0.2)"
    assert by["diffusion.strength"].describe() == "normal(0, 1)"


@pytest.mark.parametrize(
    "rows, name, says",
    [
        ({NAME: (0.4, 0.2)}, "external.monitoring", "did not estimate it"),
        ({NAME: (0.4, float("nan"), "not identified")}, NAME, "no standard error (not identified)"),
        ({NAME: (0.4, 0.0, "at bound")}, NAME, "no standard error (at bound)"),
    ],
)
def test_a_parameter_the_source_does_not_bound_lends_no_prior(rows, name, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        priors_from_fit(_fit(rows), [name])


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none()))
def test_the_inflation_is_refused_unless_a_finite_positive_number(value):
    fit = _fit({NAME: (0.4, 0.2)})
    ok = isinstance(value, float) and math.isfinite(value) and value > 0
    if ok:
        assert priors_from_fit(fit, [NAME], value)[NAME]["scale"] == pytest.approx(0.2 * value)
    else:
        with pytest.raises(ConfigError, match="inflation must be a positive number"):
            priors_from_fit(fit, [NAME], value)


@pytest.mark.parametrize(
    "parameters, says",
    [
        ((), "at least one parameter"),
        ((NAME, NAME), "named more than once"),
        (("agreements.sideways",), "borrowing from 'baseline'"),
        (("agreements.lag",), "only real parameters take a borrowed prior"),
    ],
)
def test_a_borrowing_names_real_parameters_of_its_source_once_each(parameters, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        Borrowing(harmsim.load_scenario("baseline"), parameters)


def test_one_name_given_as_a_string_is_one_parameter():
    assert Borrowing(harmsim.load_scenario("baseline"), NAME).parameters == (NAME,)


def test_a_target_that_lacks_or_fixes_a_borrowed_parameter_is_refused():
    with pytest.raises(ConfigError, match=r"it holds external\.momentum fixed"):
        check_target(harmsim.load_scenario("baseline_trend"), ["external.momentum"])
    with pytest.raises(ConfigError, match="borrowing into 'baseline'"):
        check_target(harmsim.load_scenario("baseline"), ["hazard.offsets.cets197"])
    b = Borrowing(harmsim.load_scenario("baseline"), (NAME,))
    with pytest.raises(ConfigError, match="the fit given is of 'other'"):
        b.apply(harmsim.load_scenario("baseline_trend"), _fit({NAME: (0.4, 0.2)}, scenario="other"))


def test_a_fit_of_the_whole_record_or_of_later_years_leaks_into_an_earlier_one():
    assert leaks(_fit({}, observed_until=2011), 2008)
    assert leaks(_fit({}, observed_until=None), 2008)
    assert not leaks(_fit({}, observed_until=2008), 2008)
    assert not leaks(_fit({}, observed_until=None), None)


# --- what the priors do to a fit -----------------------------------------------------------------------------


def test_a_tight_borrowed_prior_pins_the_estimate_and_a_loose_one_leaves_the_flat_fit(source_fit, flat_fit):
    """Inflation 0.01 makes the prior 100 times narrower than the source's own uncertainty: the target's estimate
    is the source's. Inflation 1000 makes it flat over the range: the target's estimate is its own flat one."""
    target = harmsim.load_scenario("baseline_trend")
    src = _estimate(source_fit, NAME)
    assert abs(src - _estimate(flat_fit, NAME)) > 0.05  # the two records disagree, so the test can fail
    tight = calibrate(Borrowing(harmsim.load_scenario("baseline"), (NAME,), 0.01).apply(target, source_fit),
                      observed_until=2011)  # fmt: skip
    assert _estimate(tight, NAME) == pytest.approx(src, abs=0.01)
    loose = calibrate(Borrowing(harmsim.load_scenario("baseline"), (NAME,), 1000.0).apply(target, source_fit),
                      observed_until=2011)  # fmt: skip
    assert _estimate(loose, NAME) == pytest.approx(_estimate(flat_fit, NAME), abs=0.02)
    assert tight.loglik <= flat_fit.loglik + 1e-6  # the record's own likelihood, not the penalized one


# --- a backtest that borrows ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def borrowed_backtest():
    borrow = Borrowing(harmsim.load_scenario("baseline"), (NAME, "external.monitoring"), inflation=2.0)
    return backtest(harmsim.load_scenario("baseline_trend"), [2011], replicates=20, seed=0, borrow=borrow)


def test_a_backtest_fits_the_source_to_each_origin_and_lends_its_estimates(borrowed_backtest, source_fit):
    bt = borrowed_backtest
    lender = bt.fits[(2011, "priors from baseline")]
    assert lender.observed_until == 2011  # nothing after the origin enters the prior
    est = lender.estimates.set_index("parameter")
    np.testing.assert_allclose(est.loc[NAME, "estimate"], _estimate(source_fit, NAME), atol=1e-6)
    said = bt.provenance["backtest"]["borrow"]
    assert said["source"] == "baseline" and said["inflation"] == 2.0
    assert said["lent"]["2011"][NAME] == pytest.approx([est.loc[NAME, "estimate"], est.loc[NAME, "se"]])
    target_priors = bt.fits[(2011, "baseline_trend")].log["priors"]
    assert target_priors[NAME]["location"] == pytest.approx(est.loc[NAME, "estimate"])
    assert target_priors[NAME]["scale"] == pytest.approx(2.0 * est.loc[NAME, "se"])
    assert "Priors borrowed from 'baseline' (record asean), fitted to each origin" in bt.summary()
    assert set(bt.cells["model"]) >= {"baseline_trend", "event-history logit"}  # the source is not scored


def test_a_backtest_saves_the_sources_fits_beside_the_others(borrowed_backtest, tmp_path):
    borrowed_backtest.save(tmp_path / "bt", figures=False)
    assert load_fit(tmp_path / "bt" / "fits" / "2011-priors_from_baseline").observed_until == 2011
    prov = json.loads((tmp_path / "bt" / "provenance.json").read_text())
    assert prov["backtest"]["borrow"]["parameters"] == [NAME, "external.monitoring"]


def test_a_hold_out_borrows_from_a_source_that_never_saw_the_held_out_instrument():
    """The source is fitted as the scenario is under a hold-out: every other instrument to the end, the held-out
    one unseen where its record has it."""
    borrow = Borrowing(harmsim.load_scenario("baseline"), (NAME,))
    bt = backtest(harmsim.load_scenario("baseline_trend"), hold_out="asean_mlat", replicates=20, borrow=borrow)
    lender = bt.fits[(2003, "priors from baseline")]
    assert lender.observed_until == 2015  # the other instruments to the end, as the scenario's own fit
    assert lender.record == "asean~without-asean_mlat"  # no outcome of the treaty
    whole = calibrate(harmsim.load_scenario("baseline"))
    said = bt.provenance["backtest"]["borrow"]["lent"]["2003"][NAME]
    assert said == pytest.approx([_estimate(lender, NAME), lender.estimates.set_index("parameter").loc[NAME, "se"]])
    assert said[0] != pytest.approx(_estimate(whole, NAME), abs=1e-3)  # the treaty's outcomes moved it
    assert "fitted on its record to the end with 'asean_mlat' unobserved" in bt.summary()
    assert set(bt.cells["instrument"]) == {"asean_mlat"}


def test_a_source_whose_record_lacks_the_held_out_instrument_sees_its_whole_record(record):
    from harmsim.analysis.backtest import _borrow_words, _source_held, _without

    world = harmsim.load_record("world")
    assert _without(world, "asean_mlat") is world
    assert _source_held(Borrowing(harmsim.load_scenario("world_baseline"), (NAME,)), "asean_mlat") == {
        "source_holds_out": False
    }
    said = {"source": "world_baseline", "source_record": "world", "parameters": [NAME], "inflation": 1.0,
            "lent": {"2003": {NAME: [0.11, 0.10]}}, "source_holds_out": False}  # fmt: skip
    assert "fitted on its whole record, which has no 'asean_mlat'" in _borrow_words(said, "asean_mlat")
    assert not _without(record, "asean_mlat").adoptions.query("instrument == 'asean_mlat'")["observed"].any()


# --- the command line ----------------------------------------------------------------------------------------


def test_calibrate_borrows_from_a_saved_fit_and_refuses_one_that_saw_later_years(tmp_path, capsys):
    assert main(["calibrate", "baseline", "--observed-until", "2008", "--out", str(tmp_path / "src")]) == 0
    out = tmp_path / "target"
    args = ["calibrate", "baseline_trend", "--borrow-from", str(tmp_path / "src"), "--borrow", NAME]
    assert main([*args, "--observed-until", "2008", "--out", str(out)]) == 0
    lent = _estimate(load_fit(tmp_path / "src"), NAME)
    assert load_fit(out).log["priors"][NAME]["location"] == pytest.approx(lent)
    assert (
        "priors borrowed from the fit of 'baseline' on record asean (observed to 2008" in (out / "trace.md").read_text()
    )
    capsys.readouterr()
    assert main([*args, "--observed-until", "2005"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"harmsim: error: --borrow-from {tmp_path / 'src'}: that fit saw observations to 2008, after "
        "--observed-until 2005; fit the source to 2005 (harmsim calibrate SOURCE --observed-until 2005)"
    ]


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--borrow", NAME], "--borrow and --borrow-inflation need --borrow-from SOURCE"),
        (["--borrow-from", "baseline"], "name the parameters to borrow with --borrow"),
        (["--borrow-from", "baseline", "--borrow", NAME, "--borrow-inflation", "0"], "inflation must be a positive"),
    ],
)
def test_the_borrowing_options_go_together(extra, says, capsys):
    assert main(["backtest", "baseline_trend", "--out", "unused", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_calibrate_fits_a_scenario_source_to_the_same_year_first(tmp_path):
    out = tmp_path / "target"
    args = ["calibrate", "baseline_trend", "--borrow-from", "baseline", "--borrow", NAME, "--borrow-inflation", "2"]
    assert main([*args, "--observed-until", "2008", "--out", str(out)]) == 0
    said = load_fit(out).log["borrowed"]
    assert said["source_scenario"] == "baseline" and said["source_observed_until"] == 2008
    source = calibrate(harmsim.load_scenario("baseline"), observed_until=2008)
    estimate, se = said["lent"][NAME]
    assert estimate == pytest.approx(_estimate(source, NAME), abs=1e-6)
    assert load_fit(out).log["priors"][NAME]["scale"] == pytest.approx(2 * se)


def test_a_fit_made_under_borrowed_priors_carries_them_to_the_scenario_it_is_applied_to(tmp_path, source_fit):
    """A fit of baseline_trend under priors borrowed from the baseline is used with the plain scenario (as
    harmsim forecast --from-fit does): apply puts the borrowed priors back, so posterior draws sample under them;
    another prior the scenario declares is still refused."""
    out = tmp_path / "target"
    args = ["calibrate", "baseline_trend", "--borrow-from", "baseline", "--borrow", NAME, "--observed-until", "2011"]
    assert main([*args, "--out", str(out)]) == 0
    fit, plain = load_fit(out), harmsim.load_scenario("baseline_trend")
    applied = fit.apply(plain)
    lent = priors_from_fit(source_fit, [NAME])[NAME]
    assert [(p.name, p.location, p.scale) for p in applied.priors] == [(NAME, lent["location"], lent["scale"])]
    other = plain.with_priors({"diffusion.strength": {"distribution": "normal", "scale": 1.0}})
    with pytest.raises(harmsim.CalibrationError, match="declared priors"):
        fit.apply(other)
    assert main(["forecast", "baseline_trend", "--from-fit", str(out), "--until", "2016", "-r", "20",
                 "--no-figures", "--out", str(tmp_path / "fc")]) == 0  # fmt: skip


def test_a_backtests_fit_under_borrowed_priors_records_them(borrowed_backtest):
    fit = borrowed_backtest.fits[(2011, "baseline_trend")]
    said = fit.log["borrowed"]
    assert said["source_scenario"] == "baseline" and said["source_observed_until"] == 2011
    assert said["priors"][NAME] == fit.log["priors"][NAME]
    assert [p.name for p in fit.apply(harmsim.load_scenario("baseline_trend")).priors] == [NAME, "external.monitoring"]
