"""Charts: pure functions from contract-shaped frames to Figures, drawn without pyplot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from calib import charts, charts_severity
from calib.report.display import figure_png
from calib.tables import scores_frame


def make_scores(n_cal: int = 4, names=("Ann", "Bo", "Cy", "Dee")) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for c in range(n_cal):
        truth = 60 + 4 * c
        rows.append(dict(calibration_id=f"cal{c}", conversation_id=f"conv{c}",
                         evaluator_id="exp", evaluator_name="Expert", role="expert",
                         status="FINISHED", total_score=truth, month="2026-10"))
        for i, name in enumerate(names):
            rows.append(dict(calibration_id=f"cal{c}", conversation_id=f"conv{c}",
                             evaluator_id=f"e{i}", evaluator_name=name, role="evaluator",
                             status="FINISHED", total_score=min(100.0, truth + rng.normal(0, 4) + i),
                             month="2026-10"))
    rows.append(dict(calibration_id="cal0", conversation_id="conv0", evaluator_id="late",
                     evaluator_name="Late", role="evaluator", status="INPROGRESS",
                     total_score=np.nan, month="2026-10"))
    return scores_frame(rows)


def scatter_points(fig: Figure, marker_count: bool = False) -> int:
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections
               if isinstance(c, PathCollection))


def renders(fig: Figure) -> bool:
    png = figure_png(fig)
    return png.startswith(b"\x89PNG") and len(png) > 2000


def test_score_strip_draws_every_scored_evaluation_once():
    scores = make_scores()
    tiers = pd.DataFrame({"calibration_id": ["cal0", "cal1", "cal2", "cal3"],
                          "tier": ["aligned", "discuss", "full_session", "discuss"]})
    fig = charts.score_strip(scores, tiers)
    assert isinstance(fig, Figure) and renders(fig)
    assert scatter_points(fig) == int(scores["total_score"].notna().sum()), \
        "one dot per finished evaluation (the unscored one is left out)"
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[1] == "conv1 (n=5)", "a call's label and its n; the tier is the band's colour"


def test_score_strip_rows_take_the_given_names():
    """The report names each row after the agent; ids are only the fallback."""
    scores = make_scores(2)
    fig = charts.score_strip(scores, names={"cal0": "Omar Fischer · conv0"})
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Omar Fischer · conv0 (n=5)", "conv1 (n=5)"]


def test_score_strip_band_uses_the_tier_colour():
    scores = make_scores(1)
    fig = charts.score_strip(scores, pd.DataFrame({"calibration_id": ["cal0"],
                                                   "tier": ["full_session"]}))
    bands = [c for c in fig.axes[0].collections if not isinstance(c, PathCollection)]
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in bands if len(c.get_paths())}
    vermillion = tuple(np.round(np.array([0xD5, 0x5E, 0x00]) / 255, 3))
    assert vermillion in colours


def test_user_text_is_shown_literally_not_as_mathtext():
    scores = make_scores(2, names=("$x^2$", "<script>alert(1)</script>", "Cy", "Dee"))
    bias = pd.DataFrame({"evaluator_id": ["e0", "e1"], "evaluator_name": ["$x^2$", "<b>"],
                         "reference": ["expert", "expert"], "n": [4, 4], "bias": [1.0, -2.0],
                         "ci_low": [0.0, -3.0], "ci_high": [2.0, -1.0], "flagged": [False, False]})
    fig = charts.bias_forest(bias)
    assert renders(fig), "a '$' in a name must not break the drawing"
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith(r"\$x^2\$"), labels
    assert renders(charts.score_strip(scores, label="evaluator_name"))


def test_bias_forest_names_flagged_evaluators_in_bold():
    bias = pd.DataFrame({
        "evaluator_id": ["a", "a", "b", "b"], "evaluator_name": ["Ann", "Ann", "Bo", "Bo"],
        "reference": ["expert", "consensus"] * 2, "n": [6, 6, 6, 6],
        "bias": [6.0, 5.0, 0.5, 0.2], "ci_low": [4.0, 3.5, -1.0, -1.2],
        "ci_high": [8.0, 6.5, 2.0, 1.6], "flagged": [True, True, False, False]})
    fig = charts.bias_forest(bias, threshold=3.0)
    ticks = {t.get_text(): t for t in fig.axes[0].get_yticklabels()}
    assert ticks["⚑ Ann (n=6)"].get_fontweight() == "bold"
    assert ticks["Bo (n=6)"].get_fontweight() != "bold"
    assert renders(fig)


def test_bias_forest_from_the_statistics_function():
    stats = pytest.importorskip("calib.stats.bias")
    bias = stats.evaluator_bias(make_scores(6), threshold=3.0)
    assert renders(charts.bias_forest(bias))


def test_heatmap_cells_are_the_agreement_values():
    rows = [dict(calibration_id=f"c{c}", question_id=f"q{q}", question_text=f"Question {q}",
                 agreement=(q + c) / 6) for c in range(3) for q in range(4)]
    data = pd.DataFrame(rows)
    dist = pd.DataFrame({"question_id": ["q0", "q0", "q1"], "category": ["a", "N/A", "b"],
                         "answer_text": ["Yes", None, "No"], "share": [0.6, 0.4, 1.0]})
    fig = charts.disagreement_heatmap(data, dist)
    image = fig.axes[0].get_images()[0].get_array()
    expected = data.pivot(index="question_id", columns="calibration_id", values="agreement")
    np.testing.assert_allclose(np.asarray(image), expected.to_numpy())
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend == ["Yes", "No", "N/A"], "each answer once: Yes, No, the scale, N/A last"
    assert renders(fig)


def test_reliability_trend_and_drift_draw_one_point_per_month():
    trend = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"] * 2,
                          "measure": ["ICC(A,1)"] * 3 + ["alpha"] * 3,
                          "value": [0.5, 0.6, 0.7, 0.52, 0.61, np.nan],
                          "ci_low": [0.2, 0.3, 0.4, 0.2, 0.3, np.nan],
                          "ci_high": [0.8, 0.8, 0.9, 0.8, 0.8, np.nan]})
    fig = charts.reliability_trend(trend)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2026-08", "2026-09",
                                                                    "2026-10"]
    assert renders(fig)
    # the legend sits below the plot: inside it covered the CI bars of months with few calls
    renderer = fig.canvas.get_renderer()
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    assert fig.legends[0].get_window_extent(renderer).y1 < \
        fig.axes[0].get_window_extent(renderer).y0
    drift = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"], "expert_name": "Quinn",
                          "n_calls": 5, "drift": [1.0, -11.0, 12.0], "ci_low": [-1.0, -20.0, 9.0],
                          "ci_high": [3.0, -2.0, 15.0]})
    fig = charts_severity.expert_drift_chart(drift, threshold=10, status="watch")
    marked = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in marked) == 2, \
        "every month whose estimate is outside the band is marked, on either side"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][0] == "2026-08\nn=5"
    assert fig.axes[0].get_title(loc="left").endswith("— watch")
    assert renders(fig)


def test_severity_forest_names_each_verdict_with_its_n():
    verdicts = pd.DataFrame({"name": ["Ann", "Bo", "Cy"],
                             "verdict": ["lenient", "within the band", "not enough shared calls"],
                             "severity": [5.0, 0.5, np.nan], "ci_low": [3.0, -1.0, np.nan],
                             "ci_high": [7.0, 2.0, np.nan], "n_calls": [30, 30, 1]})
    fig = charts_severity.severity_forest(verdicts, threshold=3.0)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Ann — lenient (n=30)", "Bo — within the band (n=30)",
                      "Cy — not enough shared calls (n=1)"]
    assert renders(fig)


def test_severity_lines_colour_the_flagged_by_direction_and_gray_the_rest():
    monthly = pd.DataFrame({"month": ["2026-09", "2026-10"] * 3,
                            "evaluator_id": ["a", "a", "b", "b", "c", "c"],
                            "evaluator_name": ["Ann", "Ann", "Bo", "Bo", "Cy", "Cy"],
                            "n_calls": 6, "severity": [5.0, 6.0, -5.0, -6.0, 0.1, 0.2]})
    fig = charts_severity.severity_by_month(monthly, highlight=["a", "b"],
                                            verdict_of={"a": "lenient", "b": "harsh"})
    colours = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()
               if not line.get_label().startswith("_")}
    assert colours["Ann (lenient)"] == charts.PALETTE["vermillion"]
    assert colours["Bo (harsh)"] == charts.PALETTE["blue"]
    assert colours["Cy (within the band)"] == charts.PALETTE["gray"]


def test_variance_shares_clip_negative_components_and_draw_the_d_study():
    components = pd.DataFrame({"facet": ["calls", "evaluators", "residual"],
                               "variance": [30.0, -1.0, 20.0], "share": [0.6, -0.02, 0.42]})
    d = pd.DataFrame({"n_evaluators": range(1, 6), "phi": np.linspace(0.5, 0.85, 5),
                      "erho2": np.linspace(0.55, 0.9, 5)})
    fig = charts.variance_shares(components, d)
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert widths == pytest.approx([0.6, 0.0, 0.42])
    assert len(fig.axes) == 2 and renders(fig)


@pytest.mark.parametrize("call", [
    lambda: charts.score_strip(make_scores().iloc[0:0]),
    lambda: charts.reliability_trend(pd.DataFrame(columns=["month", "measure", "value",
                                                           "ci_low", "ci_high"])),
    lambda: charts.variance_shares(pd.DataFrame(columns=["facet", "share"])),
])
def test_empty_input_gives_a_figure_that_says_so(call):
    fig = call()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith(("No ", "Not enough")) for t in texts)


def test_missing_columns_raise_a_sentence():
    with pytest.raises(ValueError, match="lacks the column"):
        charts.bias_forest(pd.DataFrame({"bias": [1.0]}))


def test_palette_is_okabe_ito():
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                 "#CC79A7"}
    assert set(charts.TIER_COLOURS.values()) <= okabe_ito


def _chart_builders():
    trend = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"] * 2,
                          "measure": ["ICC(A,1)"] * 3 + ["alpha"] * 3,
                          "value": [0.5, 0.6, 0.7, 0.52, 0.61, np.nan],
                          "ci_low": [0.2, 0.3, 0.4, 0.2, 0.3, np.nan],
                          "ci_high": [0.8, 0.8, 0.9, 0.8, 0.8, np.nan]})
    heat = pd.DataFrame([dict(calibration_id=f"c{c}", question_id=f"q{q}",
                              question_text=f"Question {q} with a long enough text to wrap",
                              agreement=(q + c) / 6) for c in range(3) for q in range(4)])
    dist = pd.DataFrame({"question_id": ["q0", "q0", "q1"], "category": ["a", "N/A", "b"],
                         "answer_text": ["Yes", None, "No"], "share": [0.6, 0.4, 1.0]})
    verdicts = pd.DataFrame({"name": ["Ann", "Bo", "Cy"],
                             "verdict": ["lenient", "within the band", "not enough shared calls"],
                             "severity": [5.0, 0.5, np.nan], "ci_low": [3.0, -1.0, np.nan],
                             "ci_high": [7.0, 2.0, np.nan], "n_calls": [30, 30, 1]})
    components = pd.DataFrame({"facet": ["calls", "evaluators", "residual"],
                               "variance": [30.0, -1.0, 20.0], "share": [0.6, -0.02, 0.42]})
    d = pd.DataFrame({"n_evaluators": range(1, 6), "phi": np.linspace(0.5, 0.85, 5),
                      "erho2": np.linspace(0.55, 0.9, 5)})
    return {"strip": lambda: charts.score_strip(make_scores()),
            "trend": lambda: charts.reliability_trend(trend),
            "heatmap": lambda: charts.disagreement_heatmap(heat, dist),
            "severity": lambda: charts_severity.severity_forest(verdicts, threshold=3.0),
            "variance": lambda: charts.variance_shares(components, d),
            "empty": lambda: charts.score_strip(make_scores().iloc[0:0])}


@pytest.mark.parametrize("name", sorted(_chart_builders()))
def test_figure_png_draws_the_pixels_savefig_tight_draws(name):
    """figure_png draws once where savefig(bbox_inches="tight") draws twice: same image."""
    import io

    from PIL import Image

    build = _chart_builders()[name]
    reference = io.BytesIO()
    build().savefig(reference, format="png", dpi=96, bbox_inches="tight", facecolor="white")
    fig = build()
    engine, dpi = fig.get_layout_engine(), fig.dpi
    png = figure_png(fig)
    expected = np.asarray(Image.open(io.BytesIO(reference.getvalue())))
    got = np.asarray(Image.open(io.BytesIO(png)))
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert fig.get_layout_engine() is engine and fig.dpi == dpi, "the figure is left as it was"
