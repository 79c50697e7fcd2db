"""The sandbox's evaluation form "Voice Quality": two published versions and a draft.

Question ids are kept across versions for questions that did not change (their ``contextId`` is
the same too) **[emulator choice]**, so question-level history reads across a version change; a
question added in a version gets a new id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .ids import make_id

FORM_NAME = "Voice Quality"


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    group: str
    text: str
    kind: str            # "yesno" or "scale"
    points: int          # points of "Yes" (yes/no questions)
    ambiguity: float     # 0 clear … 1 very ambiguous
    difficulty: float    # shift of the true pass probability (points share)
    na_rate: float       # share of conversations where the question clearly does not apply
    critical: bool = False
    kill: bool = False
    since_version: int = 1
    na_unclear: float = 0.0  # share of conversations where applicability is debatable
    leniency: float = 0.05   # how much an evaluator's severity bears on it (judgement calls 1)


# group key → (name, weight v1, weight v2)
GROUPS: dict[str, tuple[str, float, float]] = {
    "opening": ("Opening", 20.0, 15.0),
    "resolution": ("Resolution", 35.0, 35.0),
    "soft": ("Soft skills", 25.0, 35.0),
    "compliance": ("Compliance", 20.0, 15.0),
}

# difficulty: clear criteria are passed on most calls (+), judgement calls sit mid-range (−)
QUESTIONS: tuple[QuestionSpec, ...] = (
    QuestionSpec("greeting", "opening", "Uses the approved greeting", "yesno", 1, 0.05, 0.22, 0.0),
    QuestionSpec("name", "opening", "Uses the customer's name", "yesno", 1, 0.10, 0.12, 0.0),
    QuestionSpec("verify", "opening", "Verifies the customer's identity", "yesno", 1, 0.10, 0.18,
                 0.06, critical=True, na_unclear=0.05),
    QuestionSpec("product", "resolution", "Demonstrates strong product knowledge", "yesno", 1,
                 0.95, -0.15, 0.02, leniency=1.0),
    QuestionSpec("resolve", "resolution", "Resolves the issue on first contact", "yesno", 1, 0.25,
                 -0.08, 0.03, critical=True, na_unclear=0.04, leniency=0.25),
    QuestionSpec("confirm", "resolution", "Confirms the resolution with the customer", "yesno", 1,
                 0.10, 0.15, 0.0),
    QuestionSpec("next_steps", "resolution", "Explains next steps clearly", "scale", 4, 0.30,
                 -0.05, 0.0, leniency=0.1),
    QuestionSpec("empathy", "soft", "Shows empathy & acknowledges the customer's feelings",
                 "yesno", 1, 0.50, -0.12, 0.0, leniency=0.25),
    QuestionSpec("jargon", "soft", "Avoids jargon", "yesno", 1, 0.10, 0.15, 0.0),
    QuestionSpec("hold", "soft", "Uses hold appropriately", "yesno", 1, 0.10, 0.18, 0.45,
                 na_unclear=0.10),
    QuestionSpec("further_help", "soft", "Offers further help", "yesno", 1, 0.10, 0.12, 0.0,
                 since_version=2, na_unclear=0.05),
    QuestionSpec("disclosure", "compliance", "Reads the recording disclosure", "yesno", 1, 0.0,
                 0.0, 0.0, critical=True, kill=True),
    QuestionSpec("privacy", "compliance", "Follows the data-protection policy", "yesno", 1, 0.05,
                 0.20, 0.0, critical=True),
)

def question_specs(n_questions: int | None = None) -> tuple[QuestionSpec, ...]:
    """The default questions, or ``n_questions`` of them (extra generic ones when more)."""
    specs = list(QUESTIONS)
    if n_questions is None or n_questions == len(specs):
        return tuple(specs)
    if n_questions < 3:
        raise ValueError(f"n_questions={n_questions} is too small; the sandbox form needs at "
                         f"least 3 questions.")
    if n_questions < len(specs):
        keep = [s for s in specs if s.kill]
        keep += [s for s in specs if not s.kill][: n_questions - len(keep)]
        return tuple(keep)
    group_keys = list(GROUPS)
    for i in range(n_questions - len(specs)):
        specs.append(QuestionSpec(f"extra{i + 1}", group_keys[i % len(group_keys)],
                                  f"Criterion {i + 1}", "yesno", 1 + i % 3,
                                  round(0.1 + 0.8 * ((i * 37) % 10) / 10, 2),
                                  ((i * 53) % 9 - 4) / 50, 0.0,
                                  leniency=round(0.1 + 0.8 * ((i * 37) % 10) / 10, 2)))
    return tuple(specs)


def _yes_no(seed: int, qid: str, points: int) -> list[dict[str, Any]]:
    return [{"id": make_id(seed, "opt", qid, "yes"), "text": "Yes", "value": points},
            {"id": make_id(seed, "opt", qid, "no"), "text": "No", "value": 0}]


def _scale(seed: int, qid: str) -> list[dict[str, Any]]:
    # a 1–5 scale whose lowest answer is worth 0 points (text "1" = 0 points … "5" = 4 points)
    return [{"id": make_id(seed, "opt", qid, str(k)), "text": str(k), "value": k - 1}
            for k in range(1, 6)]


def build_form(seed: int, version: int, specs: tuple[QuestionSpec, ...], *,
               published: bool, modified: str, form: str = "", name: str = FORM_NAME,
               texts: Mapping[str, str] | None = None, all_questions: bool = False,
               weight_version: int | None = None) -> dict[str, Any]:
    """The full ``EvaluationFormResponse`` dict of one form version.

    ``form`` names another form of the org (its ids are derived from it; empty for "Voice
    Quality", whose ids stay as they always were), ``texts`` rewrites questions by spec key
    (a reworded question keeps its id and contextId), ``all_questions`` puts every spec on the
    version whatever its ``since_version``, and ``weight_version`` picks the group weights
    (default: the version's own).
    """
    def kind(word: str) -> str:
        return f"{form}-{word}" if form else word

    context_id = make_id(seed, kind("form-context"))
    form_id = make_id(seed, kind("form"), version)
    weights_of = version if weight_version is None else weight_version
    groups = []
    for gkey, (gname, w1, w2) in GROUPS.items():
        questions = []
        for s in specs:
            if s.group != gkey or (s.since_version > version and not all_questions):
                continue
            qid = make_id(seed, kind("question"), s.key)
            questions.append({
                "id": qid,
                "contextId": make_id(seed, kind("question-context"), s.key),
                "text": (texts or {}).get(s.key, s.text),
                "helpText": "",
                "type": "multipleChoiceQuestion",
                "naEnabled": not s.kill,
                "commentsRequired": False,
                "isKill": s.kill,
                "isCritical": s.critical,
                "answerOptions": _scale(seed, qid) if s.kind == "scale" else
                _yes_no(seed, qid, s.points),
            })
        if not questions:
            continue
        groups.append({
            "id": make_id(seed, kind("group"), gkey),
            "contextId": make_id(seed, kind("group-context"), gkey),
            "name": gname,
            "type": "questionGroup",
            "defaultAnswersToHighest": False,
            "defaultAnswersToNA": False,
            "naEnabled": True,
            "weight": w1 if weights_of == 1 else w2,
            "manualWeight": True,
            "questions": questions,
        })
    return {
        "id": form_id,
        "name": name,
        "modifiedDate": modified,
        "published": published,
        "contextId": context_id,
        "questionGroups": groups,
        "weightMode": "SCALED",
        "selfUri": f"/api/v2/quality/forms/evaluations/{form_id}",
    }


def build_forms(seed: int, specs: tuple[QuestionSpec, ...]) -> list[dict[str, Any]]:
    """v1 (published 2026-04-20), v2 (published 2026-07-28) and an unpublished draft v3."""
    return [
        build_form(seed, 1, specs, published=True, modified="2026-04-20T10:00:00.000Z"),
        build_form(seed, 2, specs, published=True, modified="2026-07-28T10:00:00.000Z"),
        build_form(seed, 3, specs, published=False, modified="2026-10-30T15:30:00.000Z"),
    ]


def form_ref(form: dict[str, Any]) -> dict[str, Any]:
    """The short ``EvaluationForm`` reference embedded in calibrations and evaluations."""
    return {"id": form["id"], "name": form["name"], "contextId": form["contextId"],
            "published": form["published"], "selfUri": form["selfUri"]}
