"""The dashboard: its controls, its model, its tables and figures, and the page in a real browser.

The browser tests start ``harmsim dashboard`` as a user would and drive Debian's Chromium through
Playwright's Python API (``scripts/install_browser.sh`` installs the browser; nothing is downloaded at
test time). Without a Chromium they skip, unless ``HARMSIM_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

import harmsim
from harmsim import HarmonizationModel
from harmsim.calibrate import calibrate
from harmsim.cli import main
from harmsim.errors import CalibrationError, ConfigError
from harmsim.model.batch import simulate

solara = pytest.importorskip("solara", reason="the dashboard needs pip install 'harmsim[viz]'")
from harmsim import dashboard  # noqa: E402


@pytest.fixture(scope="module")
def sc():
    return harmsim.load_scenario("baseline")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A maximum-likelihood fit of diffusion_only, and the folder it is saved in."""
    fit = calibrate(harmsim.load_scenario("diffusion_only"))
    folder = tmp_path_factory.mktemp("fit") / "diffusion_only"
    fit.save(folder)
    return fit, folder


# Controls --------------------------------------------------------------------------------------------------------
def test_every_declared_range_is_a_slider_with_that_range_and_the_scenarios_value(sc):
    c = dashboard.controls(sc)
    values = sc.parameters()
    for name, lo, hi in sc.ranges:
        s = c[name.replace(".", "_")]
        assert s["type"] == "SliderFloat" and (s["min"], s["max"]) == (lo, hi)
        assert s["value"] == values[name] and 0 < s["step"] <= (hi - lo) / 50
    assert c["agreements_lag"]["type"] == "SliderInt" and c["agreements_arrival"]["type"] == "Select"
    assert c["agreements_arrival"]["values"] == ["observed", "endogenous"]
    assert "hazard_pooling" not in c and "hazard_pool_sd" not in c  # calibration settings, no part of a run
    assert [k for k in c if k.endswith("_enabled")] == [f"{m}_enabled" for m in sc.enabled]
    assert c["rng"] == {"type": "InputText", "value": "", "label": "seed (empty: a new one at each Reset)"}
    # names, not ids: an offset's slider says which instrument; whole (the page wraps them above the slider)
    assert c["hazard_offsets_untoc"]["label"] == "offset: UN Convention against Transnational Organized Crime"


def test_every_control_is_a_keyword_the_model_takes(sc):
    c = dashboard.controls(sc)
    m = HarmonizationModel(sc, rng=1, **{k: v["value"] for k, v in c.items() if k != "rng"})
    assert m.config.parameters() == sc.parameters()  # the sliders start where the scenario is


def test_controls_start_at_a_fits_estimates_and_hold_them_in_range(fitted):
    fit, _ = fitted
    c = dashboard.controls(harmsim.load_scenario("diffusion_only"), fit)
    for name, est in fit.parameters().items():
        s = c[name.replace(".", "_")]
        assert s["value"] == pytest.approx(est) and s["min"] <= est <= s["max"]


def test_a_slider_without_a_declared_range_spans_the_value_plus_minus_two_inside_what_is_allowed(sc):
    c = dashboard.controls(sc)
    w = c["diffusion_weight_all"]  # value 1, allowed 0-100, no declared range
    assert (w["min"], w["max"], w["value"]) == (0.0, 3.0, 1.0)


# The dashboard's model ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, seed", [("7", 7), (" 12 ", 12), (3, 3)])
def test_the_seed_box_gives_the_seed(sc, text, seed):
    assert dashboard.model_class(sc)(rng=text).seed == seed


@pytest.mark.parametrize("text", ["x", "1.5", "-3", True])
def test_a_bad_seed_is_refused_naming_what_is_allowed(sc, text):
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        dashboard.model_class(sc)(rng=text)


def test_an_empty_seed_box_gives_a_fresh_recorded_seed_that_repeats_the_run(sc):
    M = dashboard.model_class(sc)
    a, b = M(rng=""), M(rng="")
    assert a.seed != b.seed
    a.run_model()
    again = M(rng=str(a.seed))
    again.run_model()
    pd.testing.assert_frame_equal(a.adoptions(), again.adoptions())


def _reset_kwargs(model, params):
    """What SolaraViz's Reset passes to the model class, on the installed Mesa."""
    from mesa.visualization import solara_viz

    if hasattr(solara_viz, "_build_model_init_kwargs"):  # Mesa 3.5: a Mesa Scenario object joins the keywords
        return solara_viz._build_model_init_kwargs(
            model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
        )
    return dict(params)  # Mesa 3.3: the keywords as they are


def test_reset_with_moved_sliders_equals_the_batch_engine_with_those_parameters(sc):
    """Reset as SolaraViz does it: a switch off and a slider moved reach the model, identical to the batch engine."""
    M = dashboard.model_class(sc)
    params = {k: v["value"] for k, v in dashboard.controls(sc).items()}
    params.update(rng="5", diffusion_strength=2.5, capacity_enabled=False)
    m = M(**_reset_kwargs(M(rng="1"), params))
    assert m.config.parameters()["diffusion.strength"] == 2.5 and "capacity" not in m.config.enabled
    assert dashboard.changes(m, sc) == ["capacity off", "diffusion: strength 2.5 (was 0.9)"]
    m.run_model()
    adopt, _ = simulate(m.config, [5])
    np.testing.assert_array_equal(m.state.adopt_year, adopt)


def test_the_model_takes_a_mesa_scenario_as_mesa_35s_reset_gives_it(sc):
    scenarios = pytest.importorskip("mesa.experimental.scenarios", reason="Mesa 3.5 and later")
    m = HarmonizationModel(scenario=scenarios.Scenario(rng=4, diffusion_strength=0.2))
    assert m.seed == 4 and m.config.name == "baseline" and m.config.parameters()["diffusion.strength"] == 0.2
    with pytest.raises(ConfigError, match="not both"):
        HarmonizationModel(scenario=scenarios.Scenario(rng=4), rng=5)


# Tables and figures ---------------------------------------------------------------------------------------------
def test_state_tables_follow_membership_and_the_years_adoptions(sc):
    m = HarmonizationModel(sc, rng=2, collect=False)
    m.step()  # 1997: Cambodia joins in 1999
    states, cells, borders = dashboard.state_tables(m)
    khm = states.set_index("state").loc["KHM"]
    assert not khm["member"] and khm["note"] == "joins 1999"
    assert "TLS" not in set(states["state"])  # joins after the window
    assert set(borders.columns) == {"state_a", "state_b"} and len(cells) == len(states) * len(m.world.instruments)
    while m.year < 2006:
        m.step()
    states, cells, _ = dashboard.state_tables(m)
    assert states["member"].all() and (states["note"] == "").all()
    a = m.adoptions().dropna(subset=["year"])
    got = cells[cells["new"]].set_index(["state", "instrument"]).index
    want = a[a["year"] == 2006].set_index(["state", "instrument"]).index
    assert sorted(got) == sorted(want.map(lambda t: (str(t[0]), str(t[1]))))
    assert cells["adopted"].sum() == (a["year"] <= 2006).sum()


def test_run_tables_count_this_runs_adopters_so_far(sc):
    m = HarmonizationModel(sc, rng=9)
    observed, run = dashboard.run_tables(m)
    assert run.empty and observed["year"].min() == 1997 and observed["year"].max() == 2015
    m.run_model()
    _, run = dashboard.run_tables(m)
    by = run.set_index(["instrument", "year"])["adopters"]
    reported = m.datacollector.get_model_vars_dataframe().set_index("year")
    for inst in m.world.instruments:  # every state is a member from 1999
        assert by[(inst, 2015)] == reported.loc[2015, f"adopters_{inst}"]


def test_the_band_counts_the_states_the_lines_count(sc):
    """The band, the record's line and this run's line all count the window's members: not Timor-Leste, a
    member from 2025 whose 2009 ratifications are inputs of the world (the band once reached 11 of 10)."""
    band = dashboard._band_of(sc)
    members = sc.world.members_until(sc.observed_until)
    assert "TLS" not in members and len(members) == 10
    assert band["q95"].max() <= len(members)
    observed, _ = dashboard.run_tables(HarmonizationModel(sc, rng=1))
    assert observed["possible"].max() <= len(members)


def test_the_chart_names_instruments_marks_agreements_and_says_what_the_band_is(sc):
    m = dashboard.model_class(sc)(rng="1")
    for _ in range(5):
        m.step()
    fig = dashboard._chart_figure(m, dashboard._band_of(m.config), "these parameters (200 runs)")
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes]
    assert titles[0] == "Specific national law on trafficking in persons" and "tip_law" not in titles
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0] == "observed" and "this run" in legend and "these parameters (200 runs): 90% band" in legend
    assert "observed, year known only as interval" in legend  # the Heads of Specialist Units' membership years
    assert "agreement, non-binding (declaration, plan)" in legend and "agreement, binding (convention, law)" in legend
    assert "this run to 2001" in fig.get_suptitle()
    years = {round(line.get_xdata()[0]) for line in fig.axes[0].lines if line.get_linestyle() == "--"}
    assert {1997, 2004} <= years
    net = dashboard._network_figure(m)
    texts = [t.get_text() for t in net.axes[0].texts]
    assert "Cambodia" in texts and net.axes[0].get_title().startswith("2001: ")


def test_a_fits_band_is_its_predictive_band(fitted):
    sc, (fit, _) = harmsim.load_scenario("diffusion_only"), fitted
    band = dashboard.fit_band(sc, fit, runs=50)
    assert {"instrument", "year", "q05", "q25", "q75", "q95"} <= set(band.columns)
    assert (band["q05"] <= band["q95"]).all()
    with pytest.raises(CalibrationError, match="this fit is of scenario 'diffusion_only'"):
        dashboard.fit_band(harmsim.load_scenario("baseline"), fit, runs=2)


# The command ----------------------------------------------------------------------------------------------------
def test_the_command_refuses_a_bad_scenario_and_a_busy_port_in_one_line(capsys):
    assert main(["dashboard", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harmsim: error: no_such_scenario") and err.count("\n") == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}" in err and "Traceback" not in err


@pytest.mark.parametrize(("port", "said"), [("70000", "got 70000"), ("0", "got 0"), ("http", "got 'http'")])
def test_the_command_refuses_a_port_that_is_not_one(port, said, capsys):
    with pytest.raises(SystemExit) as info:
        main(["dashboard", "--port", port])
    assert info.value.code == 2
    assert f"expected a port number 1-65535, {said}" in capsys.readouterr().err


def test_the_command_refuses_a_fit_of_another_scenario(fitted, capsys):
    assert main(["dashboard", "baseline", "--from-fit", str(fitted[1])]) == 2
    assert "this fit is of scenario 'diffusion_only'" in capsys.readouterr().err


# In the browser -------------------------------------------------------------------------------------------------
#: seconds a test waits for the server or a page before it fails (HARMSIM_TEST_WAIT; generous for a busy machine)
WAIT = float(os.environ.get("HARMSIM_TEST_WAIT", "300"))


def _chromium() -> str | None:
    path = os.environ.get("HARMSIM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and os.environ.get("HARMSIM_REQUIRE_BROWSER") == "1":
        pytest.fail("no Chromium found, and HARMSIM_REQUIRE_BROWSER=1: run scripts/install_browser.sh")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_closed(port: int, seconds: float, failure: str) -> None:
    """Wait until nothing listens on ``port`` any more; fail with ``failure`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.2)


class Served:
    """``harmsim dashboard`` running in a process of its own, as a user starts it."""

    def __init__(self, *args: str, log):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        cmd = [sys.executable, "-c", "import sys; from harmsim.cli import main; sys.exit(main())"]
        with open(log, "w") as out:  # a file, not a pipe: a full pipe would stop the server
            self.proc = subprocess.Popen(
                [*cmd, "dashboard", *args, "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )
        # A loaded 2-core machine took about 60 s to serve the first page (the server imports Mesa, Solara and
        # matplotlib): wait as long as the server lives, up to WAIT, not a fixed edge that load moves past
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the dashboard stopped: {self.text()}")
            try:
                urllib.request.urlopen(self.url, timeout=30)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise AssertionError(f"the dashboard did not answer within {WAIT:.0f} s")

    def text(self) -> str:
        return open(self.log).read()

    def stop(self) -> str:
        """Terminate ``harmsim dashboard``; its server must go with it (the port free again)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _wait_closed(self.port, 10, "the dashboard's server outlived the command")
        return self.text()


def test_a_killed_dashboard_takes_its_server_with_it(tmp_path):
    """Before: SIGKILL of `harmsim dashboard` left the Solara server listening, re-parented to init."""
    served = Served("baseline", log=tmp_path / "log")
    served.proc.kill()  # no signal handler runs
    served.proc.wait()
    _wait_closed(served.port, 30, "the server outlived the killed command")


def test_serving_beyond_this_machine_is_said(monkeypatch):
    """Before: --host 0.0.0.0 served every interface without a word."""
    import harmsim.dashboard as d

    monkeypatch.setattr(d.subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("not started")))
    with pytest.warns(harmsim.HarmsimWarning, match="reachable from other machines"):
        with pytest.raises(RuntimeError, match="not started"):
            d.serve("baseline", host="0.0.0.0", port=_free_port())
    assert d._loopback("127.0.0.1") and d._loopback("::1") and d._loopback("localhost")
    assert not d._loopback("0.0.0.0") and not d._loopback("example.org")


def test_a_fit_that_held_a_parameter_is_said_before_the_page_serves_it(tmp_path, monkeypatch):
    """binding_only's fit holds the binding effect at the scenario's value (it acts from 2016): the page's fitted
    band uses a value set by hand, said as forecasts say it."""
    import harmsim.dashboard as d

    assert main(["calibrate", "binding_only", "--out", str(tmp_path / "fit")]) == 0
    monkeypatch.setattr(d.subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("not started")))
    with pytest.warns(harmsim.HarmsimWarning) as said:
        with pytest.raises(RuntimeError, match="not started"):
            d.serve("binding_only", fit=str(tmp_path / "fit"), port=_free_port())
    held = [str(w.message) for w in said if "holds agreements.binding = 0.3" in str(w.message)]
    assert len(held) == 1 and held[0].endswith("wherever it acts (the page's fitted band too)")


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium: run scripts/install_browser.sh (or set HARMSIM_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(WAIT * 1000)
    problems: list[str] = []

    # A chart's image is a blob URL that the page revokes when the next year's replaces it: a read of the old
    # one (by the browser or by _chart) may fail, and is no error of the page.
    def console(m):
        blob = (m.location or {}).get("url", "").startswith("blob:") or "blob:" in m.text
        if m.type == "error" and not (blob or "ERR_FILE_NOT_FOUND" in m.text):  # the page loads no files
            problems.append(f"console: {m.text}")

    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", console)

    def failed(r):
        if not r.url.startswith("blob:"):
            problems.append(f"request failed: {r.url}")

    page.on("requestfailed", failed)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url)
    page.get_by_role("button", name="Step").wait_for(timeout=WAIT * 1000)
    return page, problems


def _image(page, names: str, wait_for: str | None = None, timeout: float = WAIT) -> tuple[str, str]:
    """(text, src) of the first image whose text for readers holds ``names`` (and ``wait_for``), waited for.

    Each figure of the page is redrawn on its own after a step, so a test that has seen one of them change
    waits for the next one too rather than reading it once (read once, the map was now and then still the
    previous year's).
    """
    deadline = time.monotonic() + timeout
    while True:
        for img in page.locator("img").all():
            alt, src = img.get_attribute("alt") or "", img.get_attribute("src") or ""
            if names in alt and (wait_for is None or wait_for in alt):
                return alt, src
        if time.monotonic() > deadline:
            raise AssertionError(f"no image of {names!r}{f' showing {wait_for!r}' if wait_for else ''} on the page")
        time.sleep(0.2)


def _chart(page, wait_for: str | None = None, timeout: float = WAIT) -> tuple[str, str]:
    """(text, src) of the adoption chart: the image whose text for readers names the record."""
    return _image(page, "Member states that have adopted each instrument", wait_for, timeout)


def _no_errors(page, problems, server_log: str = "") -> None:
    assert problems == [], "\n".join(problems)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "error in step" not in body
    assert "Traceback" not in server_log


@pytest.mark.browser
def test_the_page_loads_a_slider_moves_the_model_steps_and_the_chart_changes(browser, tmp_path):
    served = Served("baseline", log=tmp_path / "server.log")
    try:
        page, problems = _open(browser, served.url)
        before = _chart(page, "this run to 1996")
        assert "band: these parameters (200 runs)" in before[0] and before[1].startswith("data:image/png;base64,")
        slider = page.locator(".v-input", has_text="diffusion: strength").get_by_role("slider")
        slider.focus()
        slider.press("End")  # to the top of the declared range, 3.0
        page.get_by_role("button", name="Reset").click()  # Mesa's pages apply sliders at Reset
        page.get_by_text("diffusion: strength 3 (was 0.9)").wait_for(timeout=WAIT * 1000)
        page.get_by_role("button", name="Step").click()
        after = _chart(page, "this run to 1997")
        assert after[1] != before[1]
        page.get_by_role("button", name="▶").click()  # play ...
        _chart(page, "this run to 1999")
        page.get_by_role("button", name="❚❚").click()  # ... and pause
        page.get_by_role("button", name="▶").wait_for(timeout=WAIT * 1000)
        _no_errors(page, problems)
    finally:
        log = served.stop()
    assert "Traceback" not in log, log


@pytest.mark.browser
def test_a_fit_loaded_shows_its_predictive_band(browser, fitted, tmp_path):
    served = Served("diffusion_only", "--from-fit", str(fitted[1]), log=tmp_path / "server.log")
    try:
        page, problems = _open(browser, served.url)
        alt, _ = _chart(page)
        assert "band: fit (MLE, 500 draws)" in alt
        page.get_by_text(f"the fit in {fitted[1]}").wait_for(timeout=WAIT * 1000)
        _no_errors(page, problems)
    finally:
        log = served.stop()
    assert "Traceback" not in log, log


@pytest.mark.browser
def test_the_world_page_steps_with_its_map(browser, tmp_path):
    """world_baseline's page: 188 states on the world map, a step redraws it and the chart, no error."""
    served = Served("world_baseline", log=tmp_path / "server.log")
    try:
        page, problems = _open(browser, served.url)
        _chart(page, "this run to 1989")
        page.get_by_role("button", name="Step").click()
        _chart(page, "this run to 1990")
        alt, _ = _image(page, "Member states and their instruments", "1990: ")
        assert alt.startswith("Member states and their instruments, 1990: ") and "of 629 adoptions" in alt, alt
        page.get_by_text("188 members").wait_for(timeout=WAIT * 1000)
        _no_errors(page, problems)
    finally:
        log = served.stop()
    assert "Traceback" not in log, log


@pytest.mark.browser
def test_the_page_reads_at_a_desktop_size(browser, tmp_path):
    """#23 item 13. Before: sliders showed no value, long labels were cut ("offset: Treaty on Mutual..."), the
    tab bar read "PAGE 0", the browser tab "Dashboard App", and the charts were drawn at twice their shown
    size (10.8 inches wide in a 575-pixel column), their text shrunk to half its point size."""
    served = Served("baseline", log=tmp_path / "server.log")
    try:
        page, problems = _open(browser, served.url)
        _chart(page, "this run to 1996")
        assert page.title() == "harmsim: baseline"
        assert not page.get_by_role("tab").first.is_visible()
        strength = page.locator(".v-input", has_text="diffusion: strength")
        assert strength.locator(".v-slider__thumb-label").inner_text().strip() == "0.9"
        assert strength.locator(".v-slider__thumb-label").is_visible()
        name = "offset: Treaty on Mutual Legal Assistance in Criminal Matters among Like-Minded ASEAN Countries"
        label = page.locator(".v-label", has_text=name)
        assert label.inner_text().strip() == name
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight")
        # chart and network: each loaded (drawn on its own, the network may come after the chart), then shown
        # at 85% of its size or more
        page.wait_for_function(
            "() => [...document.querySelectorAll('img[alt]')].every(e => e.complete && e.naturalWidth > 0)"
        )
        for img in page.locator("img[alt]").all():
            shown, natural = img.evaluate("e => [e.clientWidth, e.naturalWidth]")
            assert natural > 0 and shown / natural >= 0.85, (img.get_attribute("alt"), shown, natural)
        _no_errors(page, problems)
    finally:
        log = served.stop()
    assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def world_model():
    """world_baseline stepped to 2002."""
    m = HarmonizationModel("world_baseline", rng=3, collect=False)
    while m.year < 2002:
        m.step()
    return m


def test_a_record_of_many_states_is_drawn_on_a_world_map_counting_what_is_open_to_each(world_model):
    """Before: the world's 188 states were rings on one circle, their names a smudge, and the title counted
    1128 possible adoptions, every regional treaty for every state."""
    from harmsim.data.maps import country_shapes

    m, w = world_model, world_model.world
    assert dashboard.on_map(m) and not dashboard.on_map(HarmonizationModel("baseline", rng=1, collect=False))
    t = dashboard.map_table(m).set_index("state")
    open_to = w.states_open_until(w.end)
    assert t["open"].sum() == sum(map(len, open_to.values())) < len(t) * len(w.instruments)
    for s in ("FRA", "IND", "IDN", "USA"):  # CoE's, SAARC's, ASEAN's treaty; none
        assert t.loc[s, "open"] == sum(s in states for states in open_to.values()), s
    a = m.adoptions().dropna(subset=["year"])
    assert t["adopted"].sum() == (a["year"] <= m.year).sum()
    assert set(t.index[t["new"]]) == set(a.loc[a["year"] == m.year, "state"].astype(str))
    fig = dashboard._network_figure(m)
    ax = fig.axes[0]
    assert ax.get_title() == f"2002: {t['adopted'].sum()} of {t['open'].sum()} adoptions"
    shapes = country_shapes()
    fill, outline = ax.collections[-2:]
    assert len(fill.get_paths()) == sum(len(shapes[c]) for c in t.loc[t["member"], "code"] if c in shapes)
    assert len(outline.get_paths()) == sum(len(shapes[c]) for c in t.loc[t["new"], "code"] if c in shapes) > 0
    words = " ".join(x.get_text() for a in fig.axes for x in a.texts)
    assert "26 states without an outline at this scale (Andorra, " in words  # counted, not dropped silently
    legend = [x.get_text() for x in fig.axes[1].get_legend().get_texts()]
    assert legend[:5] == ["0 instruments", "1 instrument", "2 instruments", "3 instruments", "4 instruments"]


@pytest.mark.parametrize("name", ["baseline", "world_baseline"])
def test_a_step_paints_only_what_the_year_changes(name):
    """The dashboard's figures keep their still layer: a year's picture equals the figure drawn whole."""
    import io

    from PIL import Image

    sc = harmsim.load_scenario(name)
    m = dashboard.model_class(sc)(rng="4")
    band = dashboard._band_of(m.config)
    for _ in range(4):
        dashboard.chart_png(m, band, "b")
        dashboard.network_png(m)
        m.step()
    for png, fig in (
        (dashboard.chart_png(m, band, "b"), dashboard._chart_figure(m, band, "b")),
        (dashboard.network_png(m), dashboard._network_figure(m)),
    ):
        fig.set_dpi(dashboard.DPI)
        whole = io.BytesIO()
        fig.savefig(whole, format="png", dpi=dashboard.DPI)
        a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
        b = np.asarray(Image.open(whole).convert("RGB"), dtype=int)
        assert a.shape == b.shape
        assert np.mean(np.abs(a - b) > 8) < 0.002  # the same picture, up to anti-aliasing at the edges


def test_counts_are_said_in_the_singular_and_the_plural():
    """#23 item 13 (part). Before: the status line read "1 adoptions"."""
    from harmsim.dashboard import _counted

    assert (_counted(1, "adoption"), _counted(0, "adoption"), _counted(7, "member")) == (
        "1 adoption",
        "0 adoptions",
        "7 members",
    )
