"""Form versions compared (issue 16): every question before and after a new form version, the
n on each side, a test that tells a real change from noise, the sentence first; the rubric
notes' before/after is calib.rubric's, reused.

Cross-checks: the per-side agreement and AC1 against irrCAC (Gwet's own port), the permutation
p-value against an exact enumeration written here, the bootstrap CI against a plain percentile
bootstrap written here, Holm's adjustment against statsmodels.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from calib.review import VERSION_COLUMNS, program_review, version_changes, version_table
from calib.review.versions import compare_sides, holm
from calib.rubric import before_after

MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]
RATERS = ["lead", "ann", "bob", "cy", "dee"]
QUESTIONS = {"q1": "Shows strong product knowledge", "q2": "Uses the approved greeting",
             "q3": "Explains next steps"}


def answers_and_scores(seed: int, *, calls_per_month: int = 8, split_before: float = 0.35,
                       split_after: float = 0.05, new_ids: bool = False):
    """Two teams, six months; calls of January–March on version v1, April–June on v2. On q1
    each evaluator leaves the call's answer with ``split_before`` (v1) or ``split_after`` (v2)
    probability; q2 and q3 split with 0.02 and 0.15 on both. With ``new_ids`` v2 gives every
    question a new id (as Genesys does for a new version), in the same group and place."""
    rng = np.random.default_rng(seed)
    answers, scores = [], []
    for team in ("east", "west"):
        for month in MONTHS:
            form = "v1" if month < "2026-04" else "v2"
            for c in range(calls_per_month):
                call = f"{team}-{month}-{c}"
                truth = {q: rng.random() < 0.6 for q in QUESTIONS}
                for rater in RATERS:
                    total = 0.0
                    for q, text in QUESTIONS.items():
                        flip = {"q1": split_before if form == "v1" else split_after,
                                "q2": 0.02, "q3": 0.15}[q]
                        yes = truth[q] != (rng.random() < flip)
                        qid = f"{q}-new" if new_ids and form == "v2" else q
                        answers.append({
                            "team": team, "month": month, "calibration_id": call,
                            "evaluation_id": f"{call}/{rater}", "evaluator_id": rater,
                            "role": "expert" if rater == "lead" else "evaluator",
                            "form_id": form, "question_group_name": "All",
                            "question_id": qid, "question_text": text,
                            "answer_id": f"{qid}-{'yes' if yes else 'no'}",
                            "answer_text": "Yes" if yes else "No", "points": float(yes),
                            "max_points": 1.0, "marked_na": False})
                        total += 100 * yes / 3
                    scores.append({"team": team, "month": month, "calibration_id": call,
                                   "evaluation_id": f"{call}/{rater}", "evaluator_id": rater,
                                   "evaluator_name": rater.title(),
                                   "role": "expert" if rater == "lead" else "evaluator",
                                   "status": "FINISHED", "total_score": total,
                                   "form_id": form, "form_context_id": "ctx"})
    forms = pd.DataFrame({"form_id": ["v1", "v2"], "form_context_id": ["ctx", "ctx"],
                          "name": ["Phone QA", "Phone QA"],
                          "modified_date": pd.to_datetime(["2025-12-20", "2026-03-28"],
                                                          utc=True)})
    return pd.DataFrame(answers), pd.DataFrame(scores), forms


@pytest.fixture(scope="module")
def compared():
    answers, scores, forms = answers_and_scores(0)
    return answers, scores, version_changes(answers, scores, forms, n_resamples=1999)


def test_the_fixed_question_splits_less_and_the_others_do_not_move(compared):
    _, _, changes = compared
    words = {c.question_id: c.verdict for c in changes}
    assert words == {"q1": "split less", "q2": "no clear change", "q3": "no clear change"}
    first = changes[0]
    assert first.question_id == "q1" and first.n_before == first.n_after == 48
    assert first.sentence().startswith(
        "Question “Shows strong product knowledge” split the panel less after version 2 of "
        "Phone QA (in use from April 2026): ")
    assert "n = 48 calls before, 48 after, p = " in first.sentence()
    assert first.variance_after < first.variance_before
    assert first.ac1_after > first.ac1_before
    table = version_table(changes)
    assert tuple(table.columns) == VERSION_COLUMNS and len(table) == 3


def test_no_real_change_over_seeds_when_nothing_changed():
    """The same split on both versions: over 20 seeds and three questions, a real change is
    called at most once (Holm keeps the family's error near 5 %)."""
    called = 0
    for seed in range(20):
        answers, scores, forms = answers_and_scores(seed, split_before=0.2, split_after=0.2,
                                                    calls_per_month=5)
        called += sum(c.real for c in version_changes(answers, scores, forms,
                                                       n_resamples=499, seed=seed))
    assert called <= 1, called


def test_each_side_agrees_with_irrcac(compared):
    from irrCAC.raw import CAC

    answers, _, changes = compared
    q1 = next(c for c in changes if c.question_id == "q1")
    for form, disagreement, ac1 in (("v1", q1.disagreement_before, q1.ac1_before),
                                    ("v2", q1.disagreement_after, q1.ac1_after)):
        part = answers[(answers["form_id"] == form) & (answers["question_id"] == "q1")]
        table = part.pivot(index="calibration_id", columns="evaluator_id", values="answer_text")
        est = CAC(table).gwet()["est"]
        assert disagreement == pytest.approx(1 - est["pa"], abs=1e-5)
        assert ac1 == pytest.approx(est["coefficient_value"], abs=1e-5)


def test_the_permutation_p_value_is_the_exact_one_on_small_samples():
    rng = np.random.default_rng(3)
    before, after = rng.random(6), rng.random(7) * 0.6
    change, _, _, p = compare_sides(before, after, n_resamples=9999)
    pooled = np.r_[before, after]
    observed = after.mean() - before.mean()
    diffs = []
    for idx in itertools.combinations(range(13), 7):
        mask = np.zeros(13, bool)
        mask[list(idx)] = True
        diffs.append(pooled[mask].mean() - pooled[~mask].mean())
    diffs = np.array(diffs)
    eps = 1e-12
    exact = min(1.0, 2 * min(np.mean(diffs <= observed + eps), np.mean(diffs >= observed - eps)))
    assert change == pytest.approx(observed)
    assert p == pytest.approx(exact)


def test_the_bootstrap_ci_matches_a_plain_percentile_bootstrap():
    rng = np.random.default_rng(4)
    before, after = rng.random(40) * 0.3, rng.random(50) * 0.15
    _, low, high, _ = compare_sides(before, after, n_resamples=20000, seed=1)
    draws = np.random.default_rng(9)
    boot = np.array([draws.choice(after, len(after)).mean() - draws.choice(before,
                                                                           len(before)).mean()
                     for _ in range(20000)])
    assert low == pytest.approx(np.quantile(boot, 0.025), abs=0.004)
    assert high == pytest.approx(np.quantile(boot, 0.975), abs=0.004)


def test_holm_agrees_with_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    for _ in range(20):
        p = rng.random(rng.integers(1, 15)) ** 3
        p[rng.random(len(p)) < 0.2] = np.nan
        mine = holm(p)
        ok = np.isfinite(p)
        assert np.isnan(mine[~ok]).all()
        if ok.any():
            expected = multipletests(p[ok], method="holm")[1]
            np.testing.assert_allclose(mine[ok], expected)


def test_too_few_calls_on_a_side_is_said_not_tested():
    answers, scores, forms = answers_and_scores(1, calls_per_month=1)
    early = scores["month"].isin(["2026-01", "2026-04"]) & (scores["team"] == "east")
    keep = set(scores.loc[early, "calibration_id"])
    changes = version_changes(answers[answers["calibration_id"].isin(keep)],
                              scores[scores["calibration_id"].isin(keep)], forms,
                              n_resamples=99)
    assert {c.verdict for c in changes} == {"too few calls"}
    assert changes[0].sentence().endswith("too few calls on one side of version 2 of Phone QA "
                                          "(in use from April 2026) to tell (n = 1 calls "
                                          "before, 1 after).")


def test_a_question_whose_id_changed_is_paired_by_its_place_in_the_form():
    answers, scores, forms = answers_and_scores(0, new_ids=True)
    plain = version_changes(answers, scores, forms, n_resamples=199)
    assert plain == ()  # no question id on both versions, no place known: nothing compared
    questions = pd.DataFrame([{"form_id": f, "question_id": f"{q}-new" if f == "v2" else q,
                               "position": i, "question_group_name": "All"}
                              for f in ("v1", "v2") for i, q in enumerate(QUESTIONS)])
    paired = version_changes(answers, scores, forms, questions, n_resamples=1999)
    assert {c.question_id: c.verdict for c in paired}["q1-new"] == "split less"
    assert len(paired) == 3


def test_the_review_says_a_real_change_and_only_then(compared):
    answers, scores, forms = compared[0], compared[1], answers_and_scores(0)[2]
    review = program_review(scores, answers=answers, forms=forms, n_permutations=999)
    text = review.paragraph()
    assert "Question “Shows strong product knowledge” split the panel less after version 2" in text
    assert "Uses the approved greeting" not in text
    assert review.to_dict()["versions"][0]["verdict"] == "split less"
    same, s_scores, s_forms = answers_and_scores(2, split_before=0.1, split_after=0.1)
    quiet = program_review(s_scores, answers=same, forms=s_forms, n_permutations=999)
    assert not any(c.real for c in quiet.versions)
    assert "split the panel" not in quiet.paragraph()
    html = review.versions_html()
    assert html.index("split the panel less") < html.index("<table>")


def test_a_rubric_note_is_compared_with_calib_rubric_before_after():
    answers, scores, forms = answers_and_scores(0)
    # one version throughout, a note on q1 decided in March: the split falls after it
    answers = answers.assign(form_id="v1")
    scores = scores.assign(form_id="v1")
    notes = pd.DataFrame([{"note_id": 1, "question_id": "q1", "decided_on": "2026-03-20",
                           "decision": "Yes needs model-specific steps"}])
    review = program_review(scores, answers=answers, forms=forms, notes=notes,
                            n_permutations=999)
    assert review.versions == ()
    expected = before_after(answers, notes)
    pd.testing.assert_frame_equal(review.rubric, expected)
    row = expected.iloc[0]
    assert row["change_ci_high"] < 0
    assert (f"After the rubric note on “Shows strong product knowledge” (2026-03-20), "
            f"disagreement fell from {row['disagreement_before']:.2f} to "
            f"{row['disagreement_after']:.2f} per call (n = 48 calls before, 48 after; Welch CI"
            ) in review.paragraph()
    assert "No rubric note" not in review.versions_html()


def test_review_json_carries_the_versions_and_the_notes(tmp_path):
    import json

    from calib.review import write_review

    answers, scores, forms = answers_and_scores(0)
    notes = pd.DataFrame([{"note_id": 1, "question_id": "q3", "decided_on": "2026-02-10",
                           "decision": "Steps the customer can follow alone"}])
    review = program_review(scores, answers=answers, forms=forms, notes=notes,
                            n_permutations=499)
    written = json.loads(open(write_review(review, str(tmp_path)), encoding="utf-8").read())
    assert [v["question_id"] for v in written["versions"]][0] == "q1"
    assert written["versions"][0]["sentence"] == review.versions[0].sentence()
    assert written["rubric"][0]["question_id"] == "q3" and written["rubric"][0]["n_before"] == 32
    with pytest.raises(ValueError, match="answers"):
        program_review(scores, answers=answers.drop(columns="month"))
