"""AI scoring in the sandbox org (in-process): settings per form version, the AI's reading of
each call against its ground truth, failures at their rates, and evaluators anchoring on it.

The AI-off org (``generate_org(seed, ai_scoring=False)``) is the org as it was before the sandbox
had AI scoring; every random draw of the simulation is shared, so comparing the two orgs of a
seed isolates exactly what AI scoring changed.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.sandbox.mutations import apply_entry
from calib.sandbox.render import calibration_json, evaluation_json

SEEDS = range(8)
DEFAULT_AI = {"Uses the approved greeting", "Verifies the customer's identity",
              "Confirms the resolution with the customer",
              "Shows empathy & acknowledges the customer's feelings", "Uses hold appropriately",
              "Offers further help"}
# the SDK's enums (PureCloudPlatformClientV2 269.0.0 models/ai_scoring.py, ai_answer.py)
EVALUATION_FAILURES = {"QuotaReached", "ParsingError", "ServiceError", "InvalidRequest",
                       "DuplicateFormSameAgent", "Unauthorized",
                       "DuplicateAutomatedFormWithCopiedScore"}
QUESTION_FAILURES = {"LowConfidenceError", "ParsingError", "ServiceError",
                     "LowHistoricalAccuracyError"}


@pytest.fixture(scope="module")
def pairs():
    """(org with AI scoring, the same org without) for eight seeds, 12 calls a month."""
    return [(generate_org(s, calls_per_month=12, conversations_per_day=1),
             generate_org(s, calls_per_month=12, conversations_per_day=1, ai_scoring=False))
            for s in SEEDS]


def texts(org) -> dict[str, str]:
    return {q["id"]: q["text"] for f in org.forms for g in f["questionGroups"]
            for q in g["questions"]}


def yes_ids(org) -> dict[str, str]:
    return {qid: opts[0]["id"] for qid, opts in org.options.items()}


def dump(org, cals) -> str:
    return json.dumps([calibration_json(org, c) for c in cals])


def walk_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*map(walk_keys, value.values()))
    if isinstance(value, list):
        return set().union(set(), *map(walk_keys, value))
    return set()


def with_ai(pairs) -> pd.DataFrame:
    """Per (seed, evaluation, AI-enabled question): the AI's answer, the evaluator's own answer
    (anchoring truth) and the submitted one, with the question's truth and the acceptance."""
    frames = []
    for on, _ in pairs:
        truth = on.anchoring_truth().merge(
            on.tidy_ai_answers()[["evaluation_id", "question_id", "ai_answer_id", "ai_marked_na",
                                  "ai_failure_type", "ai_evaluation_failure_type"]],
            on=["evaluation_id", "question_id"])
        readings = {q: t.reading for q, t in on.truth.ai_questions.items()}
        frames.append(truth.assign(
            seed=on.seed, reading=truth["question_id"].map(readings),
            text=truth["question_id"].map(texts(on)),
            yes_id=truth["question_id"].map(yes_ids(on)),
            acceptance=truth["evaluator_id"].map(on.truth.ai_acceptance)))
    return pd.concat(frames, ignore_index=True)


def same(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.fillna("<none>") == b.fillna("<none>")


# ------------------------------------------------------------------------ settings and shapes
def test_form_v2_ai_scores_six_questions_from_2026_08_and_v1_none():
    org = generate_org(7)
    v1, v2, draft = org.forms
    assert "aiScoring" not in v1 and not org.ai_enabled(v1["id"])
    for form in (v2, draft):
        on = org.ai_enabled(form["id"])
        assert {texts(org)[q] for q in on} == DEFAULT_AI
        flags = {s["questionContextId"]: s["settings"]["enabled"]
                 for g in form["aiScoring"]["questionGroupSettings"] for s in g["questionSettings"]}
        assert flags == {q["contextId"]: q["id"] in on
                         for g in form["questionGroups"] for q in g["questions"]}
    for cal in org.calibrations.values():
        for eid in cal.evaluation_ids:
            ev = org.evaluations[eid]
            body = evaluation_json(org, ev)
            keys = walk_keys(body)
            if cal.form_id == v1["id"]:
                assert not ev.ai_enabled and not keys & {"aiScoring", "evaluationSource",
                                                         "aiAnswer"}
                assert cal.created.strftime("%Y-%m") < "2026-08"
            else:
                assert ev.ai_enabled == org.ai_enabled(v2["id"])
                assert body["evaluationSource"] == {"type": "User"}
                assert body["aiScoring"]["pending"] is False
                assert body["aiScoring"]["dateLastChanged"] > body["createdDate"]
                if body["status"] == "FINISHED" and "failureType" not in body["aiScoring"]:
                    scored = {q["questionId"] for g in body["answers"]["questionGroupScores"]
                              for q in g["questionScores"] if "aiAnswer" in q}
                    assert scored == set(ev.ai_enabled)


def test_without_ai_scoring_the_org_has_none_and_forms_without_ai_read_the_same():
    on, off = generate_org(3), generate_org(3, ai_scoring=False)
    assert not any("aiScoring" in f or off.ai_enabled(f["id"]) for f in off.forms)
    assert not walk_keys(json.loads(dump(off, off.calibrations.values()))) & {
        "aiScoring", "evaluationSource", "aiAnswer"}
    v1 = on.forms[0]["id"]
    assert on.forms[0] == off.forms[0]
    assert dump(on, [c for c in on.calibrations.values() if c.form_id == v1]) == \
        dump(off, [c for c in off.calibrations.values() if c.form_id == v1])
    for frame in ("tidy_scores", "tidy_answers"):
        a, b = getattr(on, frame)(), getattr(off, frame)()
        pd.testing.assert_frame_equal(a[a.form_id == v1], b[b.form_id == v1])
    # with AI scoring, v2's evaluations differ only by anchoring (same ids, same statuses)
    a, b = on.tidy_scores(), off.tidy_scores()
    pd.testing.assert_frame_equal(a.drop(columns=["total_score", "critical_score"]),
                                  b.drop(columns=["total_score", "critical_score"]))


def test_same_seed_same_ai_bytes_whatever_the_order_of_requests():
    a, b = generate_org(5), generate_org(5)
    cals_a = list(a.calibrations.values())
    cals_b = list(b.calibrations.values())
    for cal in reversed(cals_b):  # b renders newest first: simulation and AI caches differ
        calibration_json(b, cal)
    assert dump(a, cals_a) == dump(b, cals_b)
    pd.testing.assert_frame_equal(a.tidy_ai_answers(), b.tidy_ai_answers())
    pd.testing.assert_frame_equal(a.anchoring_truth(), b.anchoring_truth())


# ------------------------------------------------------------------------------ the truth
def test_the_truth_names_how_the_ai_reads_each_question_and_who_anchors():
    org = generate_org(7)
    truth = org.truth
    kinds = Counter(truth.ai_questions[q].reading for q in org.ai_enabled(org.forms[1]["id"]))
    assert kinds == {"reads well": 4, "lenient": 1, "confuses N/A": 1}
    by_text = {texts(org)[q]: t for q, t in truth.ai_questions.items()}
    assert by_text["Shows empathy & acknowledges the customer's feelings"].reading == "lenient"
    assert by_text["Uses hold appropriately"].reading == "confuses N/A"
    assert "Explains next steps clearly" not in by_text  # five answer options: not AI-scorable
    for team in ("demo", "north", "pilot", "leadership"):
        info = truth.teams[team]
        assert truth.ai_acceptance[info["expert_id"]] == 0.0
        assert truth.ai_acceptance[info["calibrator_id"]] == 0.0
        if team != "leadership":
            values = sorted(truth.ai_acceptance[p] for p in info["panel_ids"])
            assert 0.8 <= values[-1] <= 0.9, (team, values)
            assert all(0.1 <= v <= 0.5 for v in values[:-1]), (team, values)
    assert set(truth.ai_failure_rates) <= EVALUATION_FAILURES
    (start, end), = truth.ai_quota_exhausted
    assert "2026-08" <= start.strftime("%Y-%m") <= "2026-10" and start.day >= 23 and end.day == 1


def test_the_ai_reads_each_question_as_its_truth_says(pairs):
    """Against the panel's own answers (what they would submit without the AI)."""
    rows = with_ai(pairs)
    rows = rows[rows.prefilled & (rows.role == "evaluator")]
    stats = rows.groupby("text").apply(lambda d: pd.Series({
        "reading": d.reading.iloc[0],
        "agree": (same(d.ai_answer_id, d.independent_answer_id)
                  & (d.ai_marked_na == d.independent_marked_na)).mean(),
        "yes_gap": ((d.ai_answer_id == d.yes_id).mean()
                    - (d.independent_answer_id == d.yes_id).mean()),
        "na_disagree": (d.ai_marked_na != d.independent_marked_na).mean()}), include_groups=False)
    well = stats[stats.reading == "reads well"]
    lenient = stats[stats.reading == "lenient"].iloc[0]
    confused = stats[stats.reading == "confuses N/A"].iloc[0]
    assert len(well) == 4 and (well.agree >= 0.93).all(), stats
    assert (well.yes_gap.abs() <= 0.03).all() and (well.na_disagree <= 0.03).all(), stats
    assert 0.08 <= lenient.yes_gap <= 0.2 and lenient.agree < well.agree.min(), stats
    assert lenient.na_disagree <= 0.01, stats
    assert confused.na_disagree >= 0.25 and confused.agree < 0.8, stats


def test_evaluators_keep_the_ais_answer_at_their_acceptance(pairs):
    rows = with_ai(pairs)
    differ = rows[rows.prefilled & ~(same(rows.ai_answer_id, rows.independent_answer_id)
                                     & (rows.ai_marked_na == rows.independent_marked_na))]
    per = differ.groupby(["seed", "evaluator_id"]).agg(
        moved=("moved_to_ai", "mean"), n=("moved_to_ai", "size"), a=("acceptance", "first"))
    assert (per.loc[per.a == 0, "moved"] == 0).all()  # experts never take the AI's answer
    big = per[per.n >= 20]
    se = np.sqrt(big.a * (1 - big.a) / big.n)
    off = (big.moved - big.a).abs() > 3.5 * se + 0.02
    assert not off.any(), big[off]
    assert np.corrcoef(big.a, big.moved)[0, 1] > 0.9
    # a moved answer is the AI's answer, and only prefilled answers move
    moved = rows[rows.moved_to_ai]
    assert moved.prefilled.all()
    assert (same(moved.answer_id, moved.ai_answer_id)
            & (moved.marked_na == moved.ai_marked_na)).all()


def test_anchoring_only_ever_moves_an_answer_to_the_ais(pairs):
    for on, off in pairs:
        a = on.tidy_answers().merge(off.tidy_answers(), on=["evaluation_id", "question_id"],
                                    suffixes=("", "_off"))
        changed = a[~same(a.answer_id, a.answer_id_off) | (a.marked_na != a.marked_na_off)]
        assert len(changed) > 0 and (changed.month >= "2026-08").all()
        truth = on.anchoring_truth()
        moved = truth[truth.moved_to_ai]
        assert set(zip(changed.evaluation_id, changed.question_id)) == \
            set(zip(moved.evaluation_id, moved.question_id))
        # the anchoring truth's "own answer" is exactly the answer of the org without AI
        both = truth.merge(off.tidy_answers(), on=["evaluation_id", "question_id"])
        assert same(both.independent_answer_id, both.answer_id_y).all()
        assert (both.independent_marked_na == both.marked_na_y).all()
        totals = off.tidy_scores().set_index("evaluation_id")["total_score"]
        first = truth.groupby("evaluation_id").first()
        assert np.allclose(first.independent_total_score, totals.loc[first.index])


def test_failures_come_at_the_truths_rates(pairs):
    rows = with_ai(pairs)
    runs = rows.drop_duplicates(["seed", "calibration_id"])
    quota = []
    for on, _ in pairs:
        (start, end), = on.truth.ai_quota_exhausted
        created = {c.id: c.created for c in on.calibrations.values()}
        quota += [start <= created[c] < end
                  for c in runs.loc[runs.seed == on.seed, "calibration_id"]]
    quota = np.array(quota)
    assert quota.sum() > 0
    assert (runs.ai_evaluation_failure_type[quota] == "QuotaReached").all()
    rest = runs[~quota].ai_evaluation_failure_type
    assert set(rest.dropna()) <= set(pairs[0][0].truth.ai_failure_rates)
    for name, rate in pairs[0][0].truth.ai_failure_rates.items():
        share, n = (rest == name).mean(), len(rest)
        assert abs(share - rate) <= 4 * np.sqrt(rate * (1 - rate) / n), (name, share, rate, n)
    ran = rows[rows.ai_evaluation_failure_type.isna()].drop_duplicates(
        ["seed", "calibration_id", "question_id"])
    assert set(ran.ai_failure_type.dropna()) <= QUESTION_FAILURES
    low_history = ran.groupby("reading").ai_failure_type.apply(
        lambda s: (s == "LowHistoricalAccuracyError").mean())
    assert 0.05 <= low_history["lenient"] <= 0.11 and 0.05 <= low_history["confuses N/A"] <= 0.11
    assert low_history["reads well"] <= 0.015
    low_confidence = ran.groupby("text").ai_failure_type.apply(
        lambda s: (s == "LowConfidenceError").mean())
    assert low_confidence.max() == low_confidence["Shows empathy & acknowledges the customer's "
                                                  "feelings"]  # the most ambiguous one
    assert 0.002 <= low_confidence.min() and low_confidence.max() <= 0.08
    failed = rows[rows.ai_failure_type.notna() | rows.ai_evaluation_failure_type.notna()]
    assert failed.ai_answer_id.isna().all() and not failed.ai_marked_na.any()
    assert not failed.prefilled.any() and not failed.moved_to_ai.any()


# ---------------------------------------------------------------------- settings changes
def _conversation(org) -> tuple[str, str]:
    conv = org.conversations.day(date(2026, 11, 3))[0]
    return conv.id, conv.agent_ids[-1]


def test_a_settings_change_applies_to_evaluations_created_after_it():
    org = generate_org(7)
    v2 = org.forms[1]
    old_cals = [c for c in org.calibrations.values() if c.form_id == v2["id"]]
    before = dump(org, old_cals)
    by_text = {t: q for q, t in texts(org).items()}
    wanted = {by_text["Uses the customer's name"], by_text["Avoids jargon"]}
    assert org.set_ai_scoring(v2["id"], wanted) == wanted
    assert org.ai_enabled(v2["id"]) == wanted
    flags = {s["questionContextId"]: s["settings"]["enabled"]
             for g in v2["aiScoring"]["questionGroupSettings"] for s in g["questionSettings"]}
    assert sum(flags.values()) == 2
    assert dump(org, old_cals) == before  # history keeps the settings it was scored with
    team = org.truth.teams["demo"]
    conv_id, agent = _conversation(org)
    cal = org.create_calibration(name="after the change", calibrator_id=team["calibrator_id"],
                                 agent_id=agent, conversation_id=conv_id, form_id=v2["id"],
                                 expert_id=team["expert_id"], evaluator_ids=team["panel_ids"])
    assert all(org.evaluations[e].ai_enabled == wanted for e in cal.evaluation_ids)
    pending = calibration_json(org, cal)["evaluations"][0]["aiScoring"]
    assert pending == {"pending": True}  # the AI needs a few minutes; the clock stands still
    org.advance_clock(days=30)
    body = calibration_json(org, cal)
    for ev in body["evaluations"]:
        assert ev["aiScoring"]["pending"] is False
        if ev["status"] == "FINISHED" and "failureType" not in ev["aiScoring"]:
            assert {q["questionId"] for g in ev["answers"]["questionGroupScores"]
                    for q in g["questionScores"] if "aiAnswer" in q} == wanted
    assert org.journal[0] == {"op": "ai_scoring", "form_id": v2["id"], "enabled": sorted(wanted)}
    replayed = generate_org(7)
    for entry in org.journal:
        apply_entry(replayed, entry)
    assert dump(replayed, [replayed.calibrations[cal.id]]) == dump(org, [cal])
    assert replayed.forms[1] == v2


@pytest.mark.parametrize("question, says", [
    ("Explains next steps clearly", "at most 3 answer options, and it has 5"),
    ("no-such-question", "is not on evaluation form"),
])
def test_set_ai_scoring_refuses_what_genesys_would_and_changes_nothing(question, says):
    org = generate_org(7)
    v2 = org.forms[1]
    by_text = {t: q for q, t in texts(org).items()}
    before = (org.ai_enabled(v2["id"]), json.dumps(v2), list(org.journal))
    with pytest.raises(ValueError, match=says):
        org.set_ai_scoring(v2["id"], {by_text.get(question, question)})
    assert (org.ai_enabled(v2["id"]), json.dumps(v2), list(org.journal)) == before
    with pytest.raises(LookupError):
        org.set_ai_scoring("no-such-form", set())


def test_at_most_fifteen_questions_can_be_ai_scored():
    org = generate_org(7, n_questions=20)
    form = org.forms[1]
    yes_no = [q["id"] for g in form["questionGroups"] for q in g["questions"]
              if len(q["answerOptions"]) == 2]
    assert len(yes_no) >= 16
    org.set_ai_scoring(form["id"], yes_no[:15])
    with pytest.raises(ValueError, match="at most 15 AI-scored questions"):
        org.set_ai_scoring(form["id"], yes_no[:16])
