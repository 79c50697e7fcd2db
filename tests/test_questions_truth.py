"""Which questions the report says to rewrite, and how, against the sandbox's truth (issue 13).

The sandbox's form (calib.sandbox.forms.QUESTIONS) makes "Demonstrates strong product knowledge"
very ambiguous (0.95, a yes/no judgement call), "Uses hold appropriately" debatable in whether it
applies (na_unclear 0.10), "Explains next steps clearly" a 0–4 scale, and several questions clear
(ambiguity ≤ 0.10, nothing debatable about applicability). Over 30 seeds and the two teams with a
history (demo, north; report month 2026-10, history from 2026-05), the report must:

* put the very ambiguous question on its list every time, as a recurring criterion in at least
  75% of the team-seeds (measured: 51 of 60), with the yes/no rewrite;
* never call a clear question recurring;
* suggest anchoring the scale for the scale question, and defining applicability for the hold
  question in at least 90% of the months it is listed (measured: 52 of 53).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from calib.sandbox import generate_org
from calib.sandbox.forms import QUESTIONS
from calib.stats import recurring_criteria
from calib.stats.variance import question_disagreement
from calib.verdicts.questions import question_verdicts

pytestmark = pytest.mark.slow
SEEDS = range(30)
AMBIGUOUS = "Demonstrates strong product knowledge"
APPLICABILITY = "Uses hold appropriately"
SCALE = "Explains next steps clearly"
CLEAR = {q.text for q in QUESTIONS
         if q.ambiguity <= 0.10 and q.na_unclear == 0 and q.na_rate == 0}


@pytest.fixture(scope="module")
def listed() -> pd.DataFrame:
    rows = []
    for seed in SEEDS:
        answers = generate_org(seed).tidy_answers()
        for team in ("demo", "north"):
            window = answers[(answers["team"] == team) & answers["month"].between("2026-05",
                                                                                  "2026-10")]
            month = window[window["month"] == "2026-10"]
            for v in question_verdicts(month, question_disagreement(month),
                                       recurring_criteria(window)):
                rows.append(dict(seed=seed, team=team, question=v.question_text, shape=v.shape,
                                 recurring=v.recurring, suggestion=v.suggestion()))
    return pd.DataFrame(rows)


def test_the_ambiguous_question_is_always_listed_and_mostly_recurring(listed):
    mine = listed[listed["question"] == AMBIGUOUS]
    team_seeds = 2 * len(SEEDS)
    print(f"\n{AMBIGUOUS}: listed {len(mine)} of {team_seeds}, recurring "
          f"{int(mine['recurring'].sum())}")
    assert len(mine) == team_seeds
    assert mine["recurring"].sum() >= 0.75 * team_seeds
    assert set(mine["shape"]) == {"yes/no"}
    assert all("makes “Demonstrates strong product knowledge” a Yes" in s
               for s in mine["suggestion"])


def test_no_clear_question_is_ever_called_recurring(listed):
    assert CLEAR >= {"Uses the approved greeting", "Avoids jargon"}, "the truth changed"
    clear = listed[listed["question"].isin(CLEAR)]
    assert not clear["recurring"].any(), clear[clear["recurring"]]


def test_each_rewrite_fits_the_shape_of_the_split(listed):
    scale = listed[listed["question"] == SCALE]
    assert len(scale) and set(scale["shape"]) == {"scale"}
    assert all("Anchor each point" in s for s in scale["suggestion"])
    hold = Counter(listed.loc[listed["question"] == APPLICABILITY, "shape"])
    print(f"\n{APPLICABILITY}: {dict(hold)}")
    assert hold["applicability"] >= 0.9 * sum(hold.values())
