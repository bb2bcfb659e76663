"""Declared priors (``[priors]``): parsed and refused like every key of a scenario, carried by every copy of it,
and added by each fitting method to what it maximizes or samples: checked against the analytic posterior mode,
the posterior summed on a grid, and a truncated normal."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import harmsim
from harmsim.calibrate import calibrate, history
from harmsim.calibrate.likelihood import loglik_many
from harmsim.calibrate.mle import penalty
from harmsim.calibrate.posterior import mcmc_draws, posterior_draws
from harmsim.cli import main
from harmsim.data.observations import observed_until
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.params import RealRange
from harmsim.model.priors import Prior, log_density_rows, parse_priors
from harmsim.model.scenario import scenario_from_dict

PAIR = ["hazard.intercept", "external.momentum"]
#: a prior on the baseline's weak momentum term (estimate 6.3, s.e. 3.3 to 2005): it moves the posterior
MOMENTUM = {"external.momentum": {"distribution": "normal", "location": 0.0, "scale": 2.0}}


def _with_priors(name: str, priors: dict):
    raw = harmsim.load_scenario(name).to_dict()
    return scenario_from_dict({**raw, "priors": priors}, where="priors.toml")


@pytest.fixture(scope="module")
def momentum_prior():
    """The baseline with a normal(0, 2) prior on external.momentum, two parameters fitted to 2005: the scenario
    and record the fit saw, and the fit."""
    sc = _with_priors("baseline", MOMENTUM)
    rec = observed_until(sc.record, 2005)
    return sc.with_record(rec), rec, calibrate(sc, free=PAIR, observed_until=2005)


# --- parsing and carrying -------------------------------------------------------------------------------------


def test_priors_are_read_written_back_and_carried_by_every_copy(tmp_path):
    f = tmp_path / "hp.toml"
    f.write_text(
        'extends = "heterogeneity"\n[priors]\n"frailty.sd" = { distribution = "normal", scale = 1.0 }\n'
        '"hazard.offsets.untoc" = { distribution = "student_t", location = 0.5, scale = 2.5, df = 3 }\n'
    )
    sc = harmsim.load_scenario(f)
    assert sc.priors == (
        Prior("frailty.sd", "normal", 0.0, 1.0),
        Prior("hazard.offsets.untoc", "student_t", 0.5, 2.5, 3.0),
    )
    assert scenario_from_dict(sc.to_dict(), where="t").priors == sc.priors
    assert sc.with_params({"frailty.sd": 2.0}).priors == sc.priors
    assert sc.with_horizon(2020).priors == sc.priors
    # a fit under other priors is another fit: both digests change, and only when priors are declared
    base = harmsim.load_scenario("heterogeneity")
    # in Python: added, replaced and removed by name, validated as a file's
    assert (
        base.with_priors({"frailty.sd": {"distribution": "normal", "scale": 1.0}}).priors
        == sc.with_priors({"hazard.offsets.untoc": None}).priors
    )
    with pytest.raises(ConfigError, match=r"^scenario 'heterogeneity': 'priors\.\"frailty.sd\"\.scale' must be"):
        base.with_priors({"frailty.sd": {"distribution": "normal", "scale": -1}})
    assert sc.digest != base.digest and sc.model_digest(["frailty.sd"]) != base.model_digest(["frailty.sd"])
    assert scenario_from_dict(base.to_dict(), where="t").digest == base.digest
    # a mechanism switched off takes its priors with it, in with_params and in a file that extends
    off = sc.with_params({"frailty.enabled": False})
    assert [p.name for p in off.priors] == ["hazard.offsets.untoc"]
    (tmp_path / "off.toml").write_text('extends = "hp.toml"\n[mechanisms.frailty]\nenabled = false\n')
    assert [p.name for p in harmsim.load_scenario(tmp_path / "off.toml").priors] == ["hazard.offsets.untoc"]
    # a prior an extending file declares replaces the base's whole: a normal takes no df from a t
    (tmp_path / "n.toml").write_text(
        'extends = "hp.toml"\n[priors]\n"hazard.offsets.untoc" = { distribution = "normal", scale = 1.0 }\n'
    )
    again = dict((p.name, p) for p in harmsim.load_scenario(tmp_path / "n.toml").priors)
    assert again["hazard.offsets.untoc"] == Prior("hazard.offsets.untoc", "normal", 0.0, 1.0)
    assert again["frailty.sd"] == Prior("frailty.sd", "normal", 0.0, 1.0)


@pytest.mark.parametrize(
    ("prior", "pattern"),
    [
        ({"frailty.sdd": {"distribution": "normal", "scale": 1}}, r"'priors': unknown parameter 'frailty.sdd'"),
        ({"agreements.lag": {"distribution": "normal", "scale": 1}}, r"only real parameters take a prior"),
        ({"frailty.sd": 1.0}, r"'priors.\"frailty.sd\"' must be a table"),
        ({"frailty.sd": {"distribution": "cauchy", "scale": 1}}, r"must be one of normal, student_t"),
        ({"frailty.sd": {"scale": 1}}, r"must be one of normal, student_t, got None"),
        ({"frailty.sd": {"distribution": "normal", "scale": 1, "df": 3}}, r"unknown key .*df' for a normal prior"),
        ({"frailty.sd": {"distribution": "normal", "scale": 0}}, r"\.scale' must be a positive number, got 0"),
        ({"frailty.sd": {"distribution": "normal"}}, r"\.scale' must be a positive number, got None"),
        ({"frailty.sd": {"distribution": "student_t", "scale": 1}}, r"\.df' must be a positive number"),
        ({"frailty.sd": {"distribution": "normal", "location": float("inf"), "scale": 1}}, r"must be a finite number"),
        ({"frailty.sd": {"distribution": "normal", "location": True, "scale": 1}}, r"location' must be a finite"),
    ],
)
def test_bad_priors_are_refused_naming_the_file_the_key_and_what_is_allowed(prior, pattern):
    with pytest.raises(ConfigError, match=r"^priors\.toml: ") as err:
        _with_priors("heterogeneity", prior)
    assert err.match(pattern)


_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["frailty.sd", "diffusion.strength", "hazard.offsets.untoc", "agreements.lag", "x.y", ""]),
    table=st.one_of(
        _value,
        st.dictionaries(
            st.sampled_from(["distribution", "location", "scale", "df", "mean"]),
            st.one_of(_value, st.sampled_from(["normal", "student_t", "gamma"])),
            max_size=5,
        ),
    ),
)
def test_any_prior_table_is_read_or_refused_with_a_config_error(name, table):
    """Whatever a file holds, the parser returns valid priors or refuses with a ConfigError, nothing else."""
    sc = harmsim.load_scenario("heterogeneity")
    try:
        (p,) = parse_priors(sc, {name: table}, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml: ")
        return
    assert p.scale > 0 and np.isfinite(p.location) and (p.df is None) == (p.distribution == "normal")
    assert np.isfinite(p.log_density(np.array([-1e6, 0.0, 1e6]))).all()


# --- the densities ----------------------------------------------------------------------------------------------


def test_the_log_densities_are_the_normals_and_the_ts_up_to_a_constant():
    x = np.linspace(-7.0, 9.0, 9)
    for prior, dist in [
        (Prior("a.b", "normal", 1.0, 2.0), stats.norm(1.0, 2.0)),
        (Prior("a.b", "student_t", -0.5, 1.5, 3.0), stats.t(3.0, -0.5, 1.5)),
        (Prior("a.b", "student_t", 0.0, 1.0, 1.0), stats.cauchy(0.0, 1.0)),
    ]:
        gap = prior.log_density(x) - dist.logpdf(x)
        np.testing.assert_allclose(gap, gap[0], atol=1e-12)
    rows = log_density_rows((Prior("a.b", "normal", 0.0, 1.0),), ["c.d", "a.b"], np.array([[9.0, 2.0]]))
    np.testing.assert_allclose(rows, [-2.0])


def test_the_penalty_adds_the_declared_priors_and_nothing_else():
    plain = harmsim.load_scenario("heterogeneity").with_params({"frailty.sd": 1.5})
    declared = _with_priors("heterogeneity", {"frailty.sd": {"distribution": "normal", "scale": 0.5}})
    declared = declared.with_params({"frailty.sd": 1.5})
    assert penalty(declared) - penalty(plain) == pytest.approx(-0.5 * (1.5 / 0.5) ** 2)


# --- the fits ---------------------------------------------------------------------------------------------------


def test_the_fit_is_the_posterior_mode_and_reports_the_records_likelihood(momentum_prior):
    """At the estimate the likelihood's slope balances the prior's: d loglik / d momentum = momentum / 2**2,
    by central differences of the likelihood alone; the flat fit sits where that slope is 0. The reported
    log-likelihood is the record's, without the prior, and the notes say the estimates are posterior modes."""
    sc, rec, fit = momentum_prior
    at = fit.apply(sc)
    hist = history(at, rec)
    m = fit.parameters()["external.momentum"]
    h = 1e-3
    ll = loglik_many(
        [at.with_checked_values({"external.momentum": m + d}) for d in (h, -h)],
        hist,
    )
    slope = (ll[0] - ll[1]) / (2 * h)
    assert slope == pytest.approx(m / 2.0**2, rel=0.02, abs=1e-3)
    flat = calibrate(harmsim.load_scenario("baseline"), free=PAIR, observed_until=2005)
    assert 0 < m < flat.parameters()["external.momentum"] - 1.0  # drawn towards 0, by more than a log-odd
    assert loglik_many([at], hist)[0] == pytest.approx(fit.loglik, abs=1e-6)
    assert fit.loglik < flat.loglik  # the mode of the posterior is not the likelihood's maximum
    assert fit.log["priors"] == {"external.momentum": {"distribution": "normal", "location": 0.0, "scale": 2.0}}
    assert "declared priors (external.momentum ~ normal(0, 2))" in fit.log["targets"]
    assert any("posterior modes under the scenario's declared priors" in v for v in fit.verdicts())
    # a fit under other priors is refused by a scenario without them
    with pytest.raises(CalibrationError, match=r"its declared priors \(none\) are not the fit's \(external.momentum\)"):
        fit.apply(harmsim.load_scenario("baseline"))


def test_both_samplers_draw_from_the_likelihood_times_the_prior(momentum_prior, grid_moments):
    """Against the posterior summed on a grid (the prior in it): means within 0.08 s.d., s.d. within 8%; and the
    prior moved it, by more than half an s.d. of momentum from the flat prior's posterior."""
    sc, rec, fit = momentum_prior
    mean, sd = grid_moments(sc, rec, fit, PAIR)
    for draws in (
        posterior_draws(fit, sc, rec, 4000, seed=0),
        mcmc_draws(fit, sc, rec, 4000, seed=0, chains=16, warmup=300),
    ):
        assert draws.attrs["priors"] == ["external.momentum ~ normal(0, 2)"]
        assert np.all(np.abs(draws[PAIR].mean().to_numpy() - mean) < 0.08 * sd)
        assert np.all(np.abs(draws[PAIR].std().to_numpy() / sd - 1) < 0.08)
    plain = harmsim.load_scenario("baseline")
    flat_fit = calibrate(plain, free=PAIR, observed_until=2005)
    flat_mean, _ = grid_moments(plain.with_record(rec), rec, flat_fit, PAIR)
    assert flat_mean[1] - mean[1] > 0.5 * sd[1]


def test_abc_weighs_its_uniform_particles_by_the_declared_prior():
    """Generation 0 draws uniformly and weighs by the prior: its weighted mean and s.d. are the truncated
    normal's (within Monte Carlo error of 2,000 particles); the log says which priors were declared."""
    sc = _with_priors("diffusion_only", {"diffusion.strength": {"distribution": "normal", "location": 1.0, "scale": 1}})
    lo, hi = -2.0, 5.0
    with pytest.warns(harmsim.HarmsimWarning, match="generation cap"):
        fit = calibrate(
            sc, "abc", priors=[RealRange("diffusion.strength", lo, hi)], population=2000, budget=2000,
            generations=0, seed=4,
        )  # fmt: skip
    truth = stats.truncnorm((lo - 1.0) / 1.0, (hi - 1.0) / 1.0, loc=1.0, scale=1.0)
    est = fit.estimates.set_index("parameter").loc["diffusion.strength"]
    assert est["estimate"] == pytest.approx(truth.mean(), abs=0.1)
    assert est["se"] == pytest.approx(truth.std(), rel=0.1)
    assert fit.log["settings"]["declared priors"] == {
        "diffusion.strength": {"distribution": "normal", "location": 1.0, "scale": 1.0}
    }


def test_the_command_line_fits_a_scenario_file_with_priors(tmp_path, capsys):
    f = tmp_path / "shrunk.toml"
    f.write_text(
        'extends = "baseline"\n[priors]\n"external.momentum" = { distribution = "normal", location = 0.0, '
        "scale = 2.0 }\n"
    )
    out = tmp_path / "fit"
    code = main(["calibrate", str(f), "--free", *PAIR, "--observed-until", "2005", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "posterior modes under the scenario's declared priors" in text
    assert json.loads((out / "fit.json").read_text())["log"]["priors"]["external.momentum"]["scale"] == 2.0
    assert main(["params", str(f)]) == 0
    listed = capsys.readouterr().out
    assert "[priors]" in listed and "external.momentum                  ~ normal(0, 2)" in listed
    assert "[ranges]" in listed and "diffusion.strength                 [-1, 3]" in listed
