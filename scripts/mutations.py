"""Mutation check: each listed test must fail when the code it guards is broken on purpose.

A test that passes whatever the code does protects nothing. Each mutation
below changes one line of the package in a copy of the source tree (the
working tree is never touched), runs the tests that should catch it with
that copy first on the import path, and reports whether every one of them
failed (each test first passes on the unchanged copy, so a failure is the
mutation's). Run from the repository's root (about ten minutes):

    python scripts/mutations.py [NAME ...]

Exit status 0 when every mutation is caught by every test listed for it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> (file under src/harmsim, the line as it is, the line broken, tests that must fail, why)
MUTATIONS = {
    "gradient-moves": (
        "calibrate/likelihood/_paths.py",
        'total += ma @ d_rows + np.einsum("am,amp->p", m @ plan["bitsT"].T, entry[4])',
        "total += ma @ d_rows",
        [
            "tests/test_gradient.py::test_exact_sum_over_hidden_years_of_one_instrument_with_cells_riding_along",
            "tests/test_gradient.py::test_world_panel",
        ],
        "the analytic gradient's backward pass leaves out the tangents of the hidden cells that adopt",
    ),
    "gradient-interval": (
        "calibrate/likelihood/_terms.py",
        "factor = _interval_factor(int_surv[0].reshape(L, -1)[:, own]) * row_w.reshape(L, -1)[:, own]",
        "factor = row_w.reshape(L, -1)[:, own]",
        ["tests/test_gradient.py::test_dated_and_unread_interval_cells"],
        "an interval-censored cell's term differentiated without the weight of its interval (1 / expm1(-I))",
    ),
    "gradient-shared-spread": (
        "calibrate/likelihood/_shared.py",
        "        total[tan.shared] += spread",
        "        total[tan.shared] += 0.0",
        [
            "tests/test_gradient.py::test_organization_intercepts_dated_and_unread_intervals",
            "tests/test_gradient.py::test_world_organizations",
        ],
        "the organization intercepts' spread differentiated without its tangent (each row's weights @ v)",
    ),
    "held-rows-unmoved": (
        "calibrate/likelihood/_shared.py",
        "                eta = rows.eta + shift",
        "                eta = rows.eta + 0 * shift",
        [
            "tests/test_gradient.py::test_held_rows_moved_along_their_tangents_equal_rows_made_afresh",
            "tests/test_gradient.py::test_world_organizations_held_rows",
        ],
        "the held proposal's rows left at the centre's log-odds when the parameters move",
    ),
    "backtest-drops-censored-after-origin": (
        "analysis/backtest.py",
        "    mask = _scorable(full, cut_obs, origin, end, world) & (dated | later | interval | after)",
        "    mask = _scorable(full, cut_obs, origin, end, world) & (dated | later | interval)",
        [
            "tests/test_counterfactual.py::"
            "test_backtest_scores_a_cell_not_adopted_by_a_year_after_the_origin_and_counts_unknown_ones",
        ],
        "a cell not adopted by a year after the origin, then unknown, left out of the scored cells",
    ),
    "gradient-riding-rows": (
        "calibrate/likelihood/_paths.py",
        "                own_acc[ivl] += (h[0, ivl] * risk[0, 0, ivl])[:, None] * tan.at(jac, ivl, R)[0]",
        "                own_acc[ivl] += (h[0, ivl] * risk[0, 0, ivl])[:, None] * tan.at(jac, ivl, 1)[0]",
        ["tests/test_gradient.py::test_a_prerequisite_reads_the_hidden_years_and_unread_intervals_ride_along"],
        "the tangents of interval cells riding along with a hidden group taken as one row when a gate has a row "
        "per set of hidden adoptions",
    ),
    "gradient-shared-weights": (
        "calibrate/likelihood/_shared.py",
        "    w = np.exp(s.log_w[0] - logsumexp(s.log_w[0]))  # (J,)",
        "    w = np.full(s.log_w.shape[1], 1.0 / s.log_w.shape[1])  # (J,)",
        [
            "tests/test_gradient.py::test_organization_intercepts_dated_and_unread_intervals",
            "tests/test_gradient.py::test_organization_intercepts_with_paths_drawn_with_the_draws",
        ],
        "the draws of the organization intercepts averaged without their importance weights (Fisher's identity "
        "needs the posterior's)",
    ),
    "gradient-shared-interval": (
        "calibrate/likelihood/_shared.py",
        "            g[w] = g[w] + np.where(ok[w], h[w] * ratio[key[w]], 0.0)",
        "            g[w] = g[w] + np.where(ok[w], h[w], 0.0)",
        ["tests/test_gradient.py::test_organization_intercepts_dated_and_unread_intervals"],
        "an interval's rows under organization intercepts differentiated without the weight S / (1 - S)",
    ),
    "organization intercepts left out of the likelihood": (
        "calibrate/likelihood/_shared.py",
        "e = col(lv.eta) + sd[b] * _draw_shift(A[idx], V, lv, paired)",
        "e = col(lv.eta) + 0.0 * sd[b] * _draw_shift(A[idx], V, lv, paired)",
        [
            "tests/test_world_model.py::test_simulated_frequency_matches_likelihood_with_organization_intercepts",
            "tests/test_world_model.py::test_the_spread_of_organization_intercepts_is_recovered",
        ],
        "the organizations' intercepts dropped from the rows' log-odds that move with them",
    ),
    "organizations' weights not the mean": (
        "model/mechanisms/organizations.py",
        "w = np.divide(w, count, out=np.zeros_like(w), where=count > 0)",
        "w = w",
        [
            "tests/test_world_model.py::test_membership_weights_are_the_mean_or_the_sum_of_a_states_organizations",
            "tests/test_world_model.py::test_organization_intercepts_move_every_member_together_in_the_engines",
        ],
        "a state in several organizations takes the sum of their intercepts under membership = 'mean'",
    ),
    "bass without imitation": (
        "analysis/comparison.py",
        "return np.clip(self.p[idx] + self.q[idx] * share, 1e-9, 1 - 1e-9)",
        "return np.clip(self.p[idx] + 0.0 * self.q[idx] * share, 1e-9, 1 - 1e-9)",
        [
            "tests/test_calibrate.py::test_bass_likelihood_by_hand_counts_the_imitation_term",
            "tests/test_calibrate.py::test_bass_fit",
            "tests/test_horizons.py::test_bass_simulation_matches_bass_likelihood",
            "tests/test_calibrate.py::test_compare_mechanisms_table_and_verdict",
        ],
        "the Bass model's imitation term q x share removed from its hazard",
    ),
    "midpoint with propensities": (
        "calibrate/likelihood/__init__.py",
        "if block.needs_latent and groups and not midpoint:",
        "if block.needs_latent and groups and midpoint:",
        ["tests/test_likelihood_frequency.py::test_likelihood_matches_simulation_frequency"],
        "with state propensities, interval-censored years others read taken at their midpoints",
    ),
    "peer share counts the state itself": (
        "model/mechanisms/diffusion.py",
        "wm = W * member[None, :]",
        "wm = (W + np.eye(len(W))) * member[None, :]",
        ["tests/test_reference.py::test_the_engines_equal_an_independent_reference"],
        "a state counted among its own peers in diffusion",
    ),
    "survival not carried across years": (
        "model/dynamics.py",
        "surv[pos] = q",
        "surv[pos] = f",
        ["tests/test_reference.py::test_the_engines_equal_an_independent_reference"],
        "the engines' step compares each year's survival alone with the cell's threshold (both engines share the"
        " step, so their identity tests cannot see it)",
    ),
    "censored cell's last year dropped": (
        "calibrate/likelihood/_terms.py",
        "cens = cens_k & (seen >= t)",
        "cens = cens_k & (seen > t)",
        ["tests/test_reference.py::test_the_likelihood_equals_an_independent_reference"],
        "a right-censored cell's survival in its last observed year left out of the likelihood",
    ),
    "survival counted when not at risk": (
        "calibrate/likelihood/_terms.py",
        "ll += np.where(risk & survives, log_s, 0.0)",
        "ll += np.where(survives, log_s, 0.0)",
        [
            "tests/test_reference.py::test_the_likelihood_equals_an_independent_reference",
            "tests/test_frailty.py::test_held_out_predictive_is_the_difference_of_likelihoods",
        ],
        "log(1 - h) added in years a cell is not at risk (not a member, instrument not open)",
    ),
    "gradient-node-posterior": (
        "calibrate/likelihood/_latent.py",
        "        post = np.exp(lp[0] - out[0][None])[..., block.latent_columns]  # (Q, N, K)",
        "        post = np.exp(np.log(quadrature(nodes)[1]))[:, None, None] + 0 * lp[0][..., block.latent_columns]",
        ["tests/test_gradient.py::test_state_propensities_without_hidden_years"],
        "each quadrature node's terms weighted by its prior weight instead of its posterior for the state",
    ),
    "gradient-path-shares": (
        "calibrate/likelihood/_latent.py",
        "            share = np.bincount(which.ravel(), np.exp(lw[0] - logsumexp(lw[0])), minlength=len(years))",
        "            share = np.bincount(which.ravel(), minlength=len(years)) / len(which.ravel())",
        ["tests/test_gradient.py::test_state_propensities_with_sampled_paths"],
        "the sampled paths' gradients averaged as drawn instead of weighted by their importance weights",
    ),
    "gradient-spread-nodes": (
        "calibrate/likelihood/_terms.py",
        "        out += tangents.rows(jacs[1], by_node).sum(axis=0) - tangents.rows(jacs[2], by_node).sum(axis=0)",
        "        out += 0.0",
        ["tests/test_gradient.py::test_state_propensities_with_sampled_paths"],
        "the spread's tangent (the node's propensity) left out of the rows evaluated per path",
    ),
    "proposal-own-hazards": (
        "calibrate/likelihood/_paths.py",
        "        log_q = _defended(_conditionals(block, hist, mask, groups, years), log_q)",
        "        log_q = log_q",
        ["tests/test_frailty.py::test_sampled_years_are_drawn_from_their_conditionals"],
        "a latent model's sampled years drawn from their own hazards alone, blind to the cells that read them",
    ),
    "region-penalty-dropped": (
        "model/mechanisms/region.py",
        "        return -(level + slope)",
        "        return 0.0 * (level + slope)",
        [
            "tests/test_region.py::test_the_penalty_is_the_normal_priors_and_its_scales_are_not_fitted",
            "tests/test_region.py::test_a_known_deviation_is_recovered_with_a_loose_prior_and_pooled_with_a_tight_one",
        ],
        "the region's partial pooling without its penalty: its own level and slope are not drawn towards the pool",
    ),
    "standardized-on-later-years": (
        "analysis/backtest.py",
        "    return scenario.with_reference(min(lo, origin), min(hi, origin))",
        "    return scenario",
        [
            "tests/test_counterfactual.py::"
            "test_a_backtest_from_the_inputs_known_at_an_origin_standardizes_on_the_years_up_to_it",
        ],
        "a backtest from what was known standardizes GDP and migration with a mean and spread over later years",
    ),
    "hold-out-trend-held-at-origin": (
        "analysis/forecast.py",
        "        sc = sc.with_time_known_until(known)",
        "        sc = sc",
        [
            "tests/test_counterfactual.py::"
            "test_a_held_out_instruments_forecast_reads_the_trend_its_fit_estimated_to_the_records_end",
        ],
        "a held-out instrument's forecast holds the trend at its origin, though its fit estimated it to the end",
    ),
    "hold-out-propensities-given-the-origin": (
        "analysis/backtest.py",
        "                history=seen,",
        "                history=None,",
        [
            "tests/test_counterfactual.py::"
            "test_a_held_out_instruments_forecast_draws_the_states_propensities_given_what_its_fit_saw",
        ],
        "a held-out instrument's forecast draws the states' propensities given only the years up to its origin",
    ),
    "hold-out-ignores-origins": (
        "analysis/backtest.py",
        "        if origins is not None and origins != [opens - 1]:",
        "        if False:",
        ["tests/test_counterfactual.py::test_backtest_holds_out_an_instrument_and_scores_it_from_its_opening"],
        "origins given with a hold-out are ignored without a word",
    ),
    "exposure-before-opening": (
        "analysis/bindingness.py",
        "    is_open = years[:, None] >= np.asarray(w.opens)[None, :]  # (T', K)",
        "    is_open = np.ones((len(years), len(w.opens)), dtype=bool)  # (T', K)",
        ["tests/test_bindingness.py::test_units_are_organizations_by_kind_with_exposure"],
        "an agreement unit's exposure counts the years before an instrument it calls for opened",
    ),
    "verdict-assumes-the-region": (
        "analysis/bindingness.py",
        '            f"{len(units)} units, the binding ones {binding}.")  # fmt: skip',
        '            "few organizations, most binding ones European.")  # fmt: skip',
        [
            "tests/test_bindingness.py::test_the_verdict_on_voluntarism_follows_the_contrast_and_names_the_panel_s_limits"
        ],
        "the verdict's limits are those of one panel, said of any",
    ),
    "binding-note-silent": (
        "analysis/counterfactual.py",
        '            out.append(_binding_note(fit.contrast("agreements.binding", "agreements.nonbinding"), scenario))',
        "            pass",
        [
            "tests/test_counterfactual.py::"
            "test_binding_counterfactual_says_what_it_rests_on_where_the_fit_estimates_both_effects"
        ],
        "a binding counterfactual says nothing of the estimated difference it rests on",
    ),
    "backtest-silent-on-bounds": (
        "analysis/backtest.py",
        "                caveat = fit.caveat(f\"the fit of '{label}' leaves\")",
        "                caveat = None",
        ["tests/test_counterfactual.py::test_backtest_command_on_the_record"],
        "a backtest's summary says nothing of the parameters its fits leave at a bound or not identified",
    ),
    "table-skips-a-state-without-data": (
        "data/world.py",
        '        if rule.kind == "table":  # a table fills every year the data lack, a state without any data included',
        '        if rule.kind == "table" and len(col):',
        ["tests/test_horizons.py::test_a_gap_or_a_late_start_points_to_a_table_and_a_table_fills_it"],
        "a table rule skips a state without any data of the input",
    ),
    "world-panels-on-every-state": (
        "output/figures.py",
        "            sc.world.open_until(end),",
        "            len(members),",
        [
            "tests/test_figures.py::"
            "test_world_panels_scale_to_the_states_an_instrument_is_open_to_and_mark_its_agreements"
        ],
        "a world panel of a regional treaty scaled to every state of the record, not the treaty's members",
    ),
    "compare-prints-every-state": (
        "cli/_common.py",
        "STATE_ROWS = 20",
        "STATE_ROWS = 10**6",
        ["tests/test_cli.py::test_compare_on_the_world_prints_the_extreme_states_and_writes_them_all"],
        "harmsim compare prints the world panel's 188 per-state rows",
    ),
    "dashboard-every-treaty-for-every-state": (
        "dashboard.py",
        '    a = a[[s in ids_set and s in open_to[k] for s, k in zip(a["state"], a["instrument"])]]',
        '    a = a[[s in ids_set for s in a["state"]]]',
        ["tests/test_dashboard.py::test_a_record_of_many_states_is_drawn_on_a_world_map_counting_what_is_open_to_each"],
        "the dashboard counts every regional treaty as open to every state (1128 possible adoptions, not 629)",
    ),
    "dashboard-world-as-rings": (
        "dashboard.py",
        "    return any(s not in POSITIONS for s in w.members_until(w.end))",
        "    return False",
        ["tests/test_dashboard.py::test_a_record_of_many_states_is_drawn_on_a_world_map_counting_what_is_open_to_each"],
        "the dashboard draws the world's 188 states as rings on one circle",
    ),
    "comparison-world-arrival-note": (
        "analysis/comparison.py",
        "    if len(w.organizations):  # endogenous arrival is one region's rule: no thresholds to speak of",
        "    if False:",
        [
            "tests/test_calibrate.py::"
            "test_the_notes_of_a_comparison_on_the_world_panel_leave_out_one_regions_arrival_rule"
        ],
        "compare-mechanisms on the world builds one region's endogenous arrival and fails after its fits",
    ),
    "scores-cells-not-open": (
        "scoring/compare.py",
        "    mask = np.isfinite(tg.lo) & (tg.lo >= tg.start) & tg.cells",
        "    mask = np.isfinite(tg.lo) & (tg.lo >= tg.start)",
        ["tests/test_compare.py::test_cells_not_open_to_their_state_are_neither_scored_nor_averaged"],
        "a regional treaty's cells outside its organization are scored as forecasts (certain, and no evidence)",
    ),
    "year-mae-over-cells-not-open": (
        "scoring/compare.py",
        "        err = np.where(tg.open, err, np.nan)",
        "        err = np.where(tg.open, err, 0.0)",
        ["tests/test_compare.py::test_cells_not_open_to_their_state_are_neither_scored_nor_averaged"],
        "year errors averaged over every state, a regional treaty's non-members counted as certain zeros",
    ),
    "calibration-never-early": (
        "scoring/compare.py",
        "            elif z > 2:",
        "            elif z > 99:",
        [
            "tests/test_compare.py::"
            "test_mean_mid_pit_is_a_half_under_the_true_model_and_says_which_way_a_wrong_one_misses"
        ],
        "a group whose record falls later than the runs is not read as the model early",
    ),
    "counterfactual-cells-not-open": (
        "analysis/counterfactual.py",
        "    open_ = w.open_to.any(axis=0)  # (N, K): a regional treaty to its members only",
        "    open_ = np.ones(w.open_to.shape[1:], dtype=bool)",
        ["tests/test_counterfactual.py::test_a_counterfactual_gives_the_change_per_state_and_maps_it_on_the_world"],
        "a counterfactual reports a regional treaty's change for states outside its organization",
    ),
    "pool-not-mixed": (
        "analysis/backtest.py",
        "    dist = weight * dists[model] + (1.0 - weight) * dists[LOGIT]",
        "    dist = dists[model]",
        [
            "tests/test_counterfactual.py::"
            "test_the_linear_pool_scores_the_mean_of_the_scenarios_and_the_logits_forecasts"
        ],
        "the linear pool scores the scenario's forecast alone, not its mean with the logit's",
    ),
    "timing-not-given-adoption": (
        "scoring/scores.py",
        '        adopted = float(np.log(obs_p) - np.log(1.0 - p[B - 1])) if b < B - 1 else float("nan")',
        '        adopted = float(np.log(obs_p)) if b < B - 1 else float("nan")',
        [
            "tests/test_counterfactual.py::"
            "test_two_forecasts_that_time_adoptions_alike_tie_given_adoption_whatever_they_expect_of_adopting"
        ],
        "an adoption's score given adoption is its plain log score, favouring the forecast expecting more adoptions",
    ),
    "whether-is-the-log-score": (
        "scoring/scores.py",
        '                "log_score_whether": float(np.log(1.0 - p[B - 1]) if b < B - 1 else np.log(obs_p)),',
        '                "log_score_whether": float(np.log(obs_p)),',
        ["tests/test_counterfactual.py::test_whether_and_when_add_up_to_the_log_score_and_whether_ignores_the_timing"],
        "whether a cell adopts is scored by its whole log score, the timing counted twice",
    ),
    "monte-carlo-same-seed": (
        "analysis/backtest.py",
        "                seed=at_seed,",
        "                seed=seed,",
        ["tests/test_counterfactual.py::test_monte_carlo_seeds_forecast_again_from_the_same_fits"],
        "a backtest's further Monte Carlo seeds forecast with its own seed, so the gains never spread",
    ),
    "plug-in-draws-the-parameters": (
        "analysis/predictive.py",
        '    if parameters == "estimate":',
        '    if parameters == "estimate" and fit.covariance is None:',
        [
            "tests/test_forecast.py::test_a_plug_in_forecast_is_the_forecast_of_the_fit_without_its_uncertainty",
            "tests/test_forecast.py::test_a_plug_in_run_from_a_fit_is_the_run_of_the_fit_without_its_uncertainty",
            "tests/test_counterfactual.py::"
            "test_plug_in_backtests_forecast_the_scenario_and_the_logit_at_their_estimates",
        ],
        "a plug-in forecast or run draws its parameters from the fit's uncertainty all the same",
    ),
    "posterior-ignores-its-weights": (
        "calibrate/posterior.py",
        "log_w.append(np.where(np.isfinite(log_p), log_p - log_q, -np.inf))",
        "log_w.append(np.where(np.isfinite(log_p), 0.0 * log_q, -np.inf))",
        ["tests/test_posterior.py::test_posterior_draws_have_the_likelihoods_mean_and_spread_where_the_normals_differ"],
        "posterior draws resample the Student t proposals evenly, as if every one were as likely",
    ),
    "posterior-forgets-the-proposal": (
        "calibrate/posterior.py",
        "log_w.append(np.where(np.isfinite(log_p), log_p - log_q, -np.inf))",
        "log_w.append(np.where(np.isfinite(log_p), log_p, -np.inf))",
        ["tests/test_posterior.py::test_posterior_draws_have_the_likelihoods_mean_and_spread_where_the_normals_differ"],
        "posterior draws weight each proposal by its likelihood alone, not over its proposal density",
    ),
    "mcmc-never-rejects": (
        "calibrate/posterior.py",
        "take = np.log(g.random(len(x))) < log_py - log_p",
        "take = np.isfinite(log_py)",
        ["tests/test_posterior.py::test_mcmc_draws_have_the_likelihoods_mean_and_spread"],
        "the chains take every move inside the ranges: a random walk, not draws from the posterior",
    ),
    "prior-sign": (
        "model/priors.py",
        "return -0.5 * z**2",
        "return 0.5 * z**2",
        ["tests/test_priors.py::test_the_log_densities_are_the_normals_and_the_ts_up_to_a_constant"],
        "a declared normal prior pushes a parameter away from its location instead of towards it",
    ),
    "prior-left-out-of-the-fit": (
        "calibrate/mle.py",
        "        + declared_log_density(scenario.priors, scenario)\n",
        "",
        ["tests/test_priors.py::test_the_fit_is_the_posterior_mode_and_reports_the_records_likelihood"],
        "fits and posterior draws ignore the priors a scenario declares",
    ),
    "borrowed-source-sees-after-origin": (
        "analysis/backtest.py",
        "            fits[(origin, lender)] = calibrate(source, record=known, observed_until=origin)",
        "            fits[(origin, lender)] = calibrate(source, record=known, observed_until=None)",
        ["tests/test_borrowing.py::test_a_backtest_fits_the_source_to_each_origin_and_lends_its_estimates"],
        "a backtest's borrowed priors come from the source fitted to the whole record, years after the origin",
    ),
    "borrowed-source-sees-held-out": (
        "analysis/backtest.py",
        "                fits[(origin, lender)] = calibrate(source, record=_without(known, hold_out))",
        "                fits[(origin, lender)] = calibrate(source, record=known)",
        ["tests/test_borrowing.py::test_a_hold_out_borrows_from_a_source_that_never_saw_the_held_out_instrument"],
        "a hold-out's borrowed priors come from a source fitted on the held-out instrument's own outcomes",
    ),
    "paired-cells-of-other-outcomes": (
        "analysis/paired.py",
        '            m = m[m["outcome_a"].astype(str) == m["outcome_b"].astype(str)]',
        "            m = m",
        ["tests/test_paired.py::test_common_cells_compares_only_cells_both_backtests_score_alike"],
        "two backtests are compared on cells whose records give different outcomes (another coding of the years)",
    ),
    "paired-gain-unclustered": (
        "analysis/paired.py",
        '            d = paired_difference(m["log_score_a"], m["log_score_b"], m["state"])',
        '            d = paired_difference(m["log_score_a"], m["log_score_b"], m.index)',
        ["tests/test_paired.py::test_verdicts_say_better_worse_or_not_told_apart"],
        "two backtests' gain gets a standard error as if every cell of a state were independent evidence",
    ),
    "paired-again-ignored": (
        "analysis/paired.py",
        "        runs.append(mine)",
        "        pass",
        ["tests/test_paired.py::test_further_runs_with_other_seeds_give_each_gain_its_monte_carlo_spread"],
        "two backtests' further runs with other seeds are read and left out of the gain's Monte Carlo spread",
    ),
    "reading-within-one-se": (
        "scoring/scores.py",
        "    return words[0] if gain > 2 * se else words[1] if gain < -2 * se else words[2]",
        "    return words[0] if gain > se else words[1] if gain < -se else words[2]",
        ["tests/test_paired.py::test_one_reading_of_a_gain_for_a_backtest_and_for_two_compared"],
        "a paired gain is read as better or worse beyond one standard error, not two",
    ),
    "mle-keeps-effectless": (
        "calibrate/mle.py",
        "    return np.flatnonzero(np.abs(nll_many(moved) - base) >= 1e-9).tolist()",
        "    return list(range(len(x0)))",
        ["tests/test_calibrate.py::test_binding_effect_outside_the_window_is_held_fixed"],
        "a parameter that moves neither the likelihood nor the penalty is left free (its estimate drifts to a bound)",
    ),
    "mle-one-start": (
        "calibrate/mle.py",
        "    if starts > 1:",
        "    if False:",
        ["tests/test_calibrate.py::test_several_starts_are_logged_and_agree_on_a_simple_fit"],
        "the optimizer's further starts are never drawn: the log counts starts it did not climb from",
    ),
    "design-power-unbalanced": (
        "analysis/bindingness.py",
        "    ncp = difference / math.sqrt(unit_variance * (1.0 / binding + 1.0 / (units - binding)))",
        "    ncp = difference / math.sqrt(unit_variance * 4.0 / units)",
        [
            "tests/test_bindingness.py::test_the_power_approximation_agrees_with_simulating_the_meta_regression",
            "tests/test_bindingness.py::test_units_for_power_is_the_first_design_that_reaches_it",
        ],
        "the contrast's power approximated as if every design were balanced between binding and non-binding units",
    ),
    "detectable-at-the-rule": (
        "scoring/scores.py",
        "    return float((2.0 + stats.norm.ppf(power)) * se)",
        "    return float(2.0 * se)",
        ["tests/test_paired.py::test_verdicts_say_better_worse_or_not_told_apart"],
        "the detectable gain given at the reading's threshold, which a true gain of that size reaches half the time",
    ),
    "borrowed-scale-not-inflated": (
        "calibrate/borrowing.py",
        '"scale": inflation * se}',
        '"scale": se}',
        [
            "tests/test_borrowing.py::test_a_borrowed_prior_is_a_normal_at_the_estimate_with_the_standard_error_"
            "inflated",
            "tests/test_borrowing.py::test_a_tight_borrowed_prior_pins_the_estimate_and_a_loose_one_leaves_the_flat_fit",
        ],
        "a borrowed prior's scale is the source's standard error whatever the inflation",
    ),
    "borrowed-priors-left-behind": (
        "calibrate/fit.py",
        "            scenario = scenario.with_priors(borrowed)",
        "            pass",
        [
            "tests/test_borrowing.py::test_a_fit_made_under_borrowed_priors_carries_them_to_the_scenario_it_is_"
            "applied_to",
            "tests/test_borrowing.py::test_a_backtests_fit_under_borrowed_priors_records_them",
        ],
        "a fit made under borrowed priors is refused by the scenario it was made of, or drawn from without them",
    ),
    "abc-ignores-declared-priors": (
        "calibrate/abc.py",
        "w = _normalized(declared(theta))",
        "w = _normalized(np.zeros(len(theta)))",
        ["tests/test_priors.py::test_abc_weighs_its_uniform_particles_by_the_declared_prior"],
        "ABC's first generation weighs its particles equally, whatever priors the scenario declares",
    ),
    "rhat-unsplit": (
        "calibrate/posterior.py",
        "parts = np.concatenate([chain[:half], chain[half : 2 * half]], axis=1)",
        "parts = chain",
        ["tests/test_posterior.py::test_split_rhat_tells_chains_that_agree_from_chains_that_do_not"],
        "R-hat compares whole chains only, blind to a chain that drifts",
    ),
    "autocorrelation-unwindowed": (
        "calibrate/posterior.py",
        "window = int(np.argmin(inside)) if not inside.all() else steps - 1",
        "window = steps - 1",
        ["tests/test_posterior.py::test_the_autocorrelation_time_of_an_autoregressive_series"],
        "the autocorrelation time sums every lag's noisy autocorrelation, not up to Sokal's window",
    ),
    "pool-weight-from-scored-years": (
        "analysis/backtest.py",
        "            weights[origin] = _inner_weight(run_at(origin - INNER_YEARS), scenario.name, cut_obs, origin, w)",
        "            weights[origin] = _inner_weight(run, scenario.name, full, origin + INNER_YEARS, w)",
        ["tests/test_counterfactual.py::test_nothing_after_the_origin_enters_the_pools_weight"],
        "the weighted pool's weight is estimated on the first years it is scored on, not on those before the origin",
    ),
    "design-booleans-as-numbers": (
        "model/space.py",
        "        numbers = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)",
        "        numbers = pd.api.types.is_numeric_dtype(col)",
        ["tests/test_sweep.py::test_a_design_column_says_where_and_refuses_true_and_false"],
        "a design column of True and False passes the check as the numbers 1 and 0",
    ),
    "example-dropped": (
        "output/plots/_dashboard.py",
        "    See :func:`plot_run_frame` for an example.",
        "    See :func:`plot_run_frame`.",
        ["tests/test_docstrings.py::test_every_public_function_and_class_has_a_runnable_example"],
        "a public function loses its runnable example",
    ),
    "pool-not-probed": (
        "_workers.py",
        "        pool.submit(os.getpid).result()",
        "        pass",
        ["tests/test_sweep.py::test_a_script_without_a_main_guard_is_told_in_one_line"],
        "a pool whose workers cannot start is not found out before the job's tasks are sent",
    ),
    "worker-death-as-traceback": (
        "cli/__init__.py",
        "    except BrokenExecutor:  # a worker process died mid-job (one that cannot start is a ConfigError)",
        "    except ZeroDivisionError:",
        ["tests/test_sweep.py::test_a_worker_killed_mid_sweep_is_told_in_one_line_and_the_sweep_resumes"],
        "a worker killed mid-job ends the command in a traceback",
    ),
    "adoptable-a-year-late": (
        "data/world.py",
        "        out = self.open_to & (self.opens[None, None, :] <= self.years[:, None, None])",
        "        out = self.open_to & (self.opens[None, None, :] < self.years[:, None, None])",
        [
            "tests/test_reference.py::test_the_engines_equal_an_independent_reference",
            "tests/test_world_model.py::test_unseen_years_are_read_as_the_scenario_says",
        ],
        "an instrument becomes adoptable the year after it opens, in the engines and the unseen reading alike",
    ),
    "unseen-reading-ignored": (
        "calibrate/likelihood/_terms.py",
        '    state.adopt_year[0] = obs.imputed(w if scenario.unseen == "adopted" else None)',
        "    state.adopt_year[0] = obs.imputed()",
        ["tests/test_world_model.py::test_unseen_years_are_read_as_the_scenario_says"],
        '[inputs] unseen = "adopted" is accepted and changes nothing',
    ),
    "unseen-read-from-the-last-known-year": (
        "data/observations.py",
        "        could &= years > after",
        "        could &= years >= after",
        ["tests/test_world_model.py::test_unseen_years_are_read_as_the_scenario_says"],
        "a cell is read as adopted in the year it was last seen not to have adopted",
    ),
    "commitments-counted-per-treaty": (
        "model/mechanisms/commitments.py",
        "    return np.minimum(np.asarray(adopted, dtype=float) @ obliges.astype(float), 1.0)",
        "    return np.asarray(adopted, dtype=float) @ obliges.astype(float)",
        ["tests/test_mechanisms.py::test_committed_by_hand"],
        "a party to two treaties that oblige the same law counts the commitment twice",
    ),
    "commitments-read-the-wrong-way": (
        "model/mechanisms/commitments.py",
        "        return self.obliges.T.copy()  # instrument j's term reads the adoptions of the treaties that oblige j",
        "        return self.obliges.copy()",
        [
            "tests/test_mechanisms.py::test_reads_adoptions_is_truthful",
            "tests/test_likelihood_frequency.py::test_commitments_likelihood_matches_simulation_frequency",
        ],
        "the likelihood is told the treaty's term reads the law, where the law's term reads the treaty",
    ),
    "screening-any-obligation-met": (
        "model/mechanisms/screening.py",
        "    return ((met >= need) & (need > 0)).astype(float)",
        "    return ((met > 0) & (need > 0)).astype(float)",
        ["tests/test_mechanisms.py::test_complies_by_hand"],
        "a state meeting one of a treaty's obligations counts as meeting them all",
    ),
    "screening-read-the-wrong-way": (
        "model/mechanisms/screening.py",
        "        return self.obliges.copy()  # treaty k's term reads the adoptions of what k obliges",
        "        return self.obliges.T.copy()",
        [
            "tests/test_mechanisms.py::test_reads_adoptions_is_truthful",
            "tests/test_likelihood_frequency.py::test_screening_likelihood_matches_simulation_frequency",
        ],
        "the likelihood is told the law's term reads the treaty, where the treaty's term reads the law",
    ),
    "held-parameters-unsaid-in-backtests": (
        "analysis/backtest.py",
        '                    lines.append(f"from {o}: {held}.")',
        "                    pass",
        ["tests/test_forecast.py::test_a_parameter_held_at_its_scenario_value_is_said_wherever_a_fit_is_drawn_from"],
        "a backtest's forecast drawn from a value set by hand is not said under its origin",
    ),
    "held-parameters-unsaid-from-a-fit": (
        "cli/_common.py",
        "    for said in (fit.caveat(), fit.held_note()):",
        "    for said in (fit.caveat(),):",
        ["tests/test_forecast.py::test_a_parameter_held_at_its_scenario_value_is_said_wherever_a_fit_is_drawn_from"],
        "a forecast from a fit that held a parameter at the scenario's value does not say so",
    ),
    "broken-pool-pipe-closed-at-once": (
        "_workers.py",
        "            if reader is not None and (cleanup is None or cleanup.is_alive()):",
        "            if reader is not None:",
        ["tests/test_sweep.py::test_a_broken_pool_that_cleaned_up_is_left_to_close_its_own_pipe"],
        "a broken pool's pipe is closed while its own thread may be closing it (Bad file descriptor, now and then)",
    ),
    "broken-pool-pipe-left-open": (
        "_workers.py",
        "                reader.close()  # blocked: the writing thread waits on the pipe and closes nothing meanwhile",
        "                pass",
        ["tests/test_sweep.py::test_a_broken_pool_whose_clean_up_is_blocked_has_its_pipe_closed"],
        "a broken pool whose clean-up is blocked keeps its pipe open: it hangs before Python 3.11.5",
    ),
    "held-parameters-unsaid-by-the-dashboard": (
        "dashboard.py",
        "        for said in (loaded.caveat(), loaded.held_note()):",
        "        for said in (loaded.caveat(),):",
        ["tests/test_dashboard.py::test_a_fit_that_held_a_parameter_is_said_before_the_page_serves_it"],
        "the dashboard serves a fitted band drawn from a value set by hand without a word",
    ),
    "panel-years-hidden-above-an-empty-cell": (
        "output/plots/_base.py",
        "        ax.xaxis.set_tick_params(labelbottom=True)",
        "        pass",
        ["tests/test_figures.py::test_the_lowest_panel_of_every_column_shows_its_years"],
        "a panel lowest in its column, above an empty cell of the last row, has no years below it",
    ),
    "fit-on-every-blas-thread": (
        "calibrate/mle.py",
        "@one_blas_thread\ndef fit_mle(",
        "def fit_mle(",
        ["tests/test_calibrate.py::test_a_fit_holds_blas_to_one_thread_and_gives_the_callers_threads_back"],
        "a fit's last bits, and the world fit's third decimal, depend on how many cores the machine has",
    ),
    "bass-fit-on-every-blas-thread": (
        "analysis/comparison.py",
        "@one_blas_thread\ndef fit_bass(",
        "def fit_bass(",
        ["tests/test_calibrate.py::test_a_fit_holds_blas_to_one_thread_and_gives_the_callers_threads_back"],
        "the Bass model's fit runs on as many BLAS threads as the caller allows",
    ),
    "blas-limit-per-fit-in-threads": (
        "_threads.py",
        "        if _RUNNING == 0:\n            _LIMITER = _controller()",
        "        if True:\n            _LIMITER = _controller()",
        ["tests/test_calibrate.py::test_fits_in_two_threads_at_once_hold_blas_from_the_first_start_to_the_last_end"],
        "fits in two threads of one process each set the process's BLAS limit, and the first to end lifts it",
    ),
}


def run(name: str, spec) -> bool:
    path, before, after, tests, why = spec
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        shutil.copytree(ROOT / "scenarios", Path(tmp) / "scenarios")  # a source tree finds its scenarios beside src
        target = copy / "harmsim" / path
        text = target.read_text()
        if text.count(before) != 1:
            print(f"{name}: the line to mutate is not found once in {path}: update this script")
            return False
        env = {"PYTHONPATH": str(copy), "PATH": str(Path(sys.executable).parent), "HOME": tmp}

        def pytest(test: str) -> int:
            cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", test]
            return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True).returncode

        # control: the copy unchanged passes (so a failure below is the mutation's, not the harness's)
        control = [pytest(test) for test in tests]
        if any(control):
            print(f"{name}: the listed tests fail on the unchanged copy (exit codes {control}): fix them first")
            return False
        target.write_text(text.replace(before, after))
        caught = []
        for test in tests:
            code = pytest(test)
            caught.append(code == 1)  # 1: tests ran and failed (2-5: collection or usage errors)
            print(f"  {'caught' if caught[-1] else 'MISSED'} by {test} (exit {code})")
    ok = all(caught)
    print(f"{name}: {why}: {'caught by every listed test' if ok else 'NOT caught by every listed test'}")
    return ok


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(MUTATIONS)
    unknown = [n for n in names if n not in MUTATIONS]
    if unknown:
        print(f"unknown mutation {unknown[0]!r}; known: {', '.join(MUTATIONS)}")
        return 2
    results = [run(n, MUTATIONS[n]) for n in names]
    print(f"{sum(results)} of {len(results)} mutations caught by every listed test")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
