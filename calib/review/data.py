"""The program review's parameters and data: the teams' scores over the period, from the store
(synced from the sandbox first, with the same code as ``calib sync``, or as the store holds
them), with every parameter checked before a kernel starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from calib import context
from calib.consensus import AGREED_COLUMNS, initial_vs_agreed
from calib.sync import sync_months
from calib.values import ParameterError, check_month, check_team

BACKENDS = ("sandbox", "store")


def review_months(first_month: str, last_month: str) -> list[str]:
    """Every month from ``first_month`` to ``last_month``, both included."""
    first, last = pd.Period(first_month, "M"), pd.Period(last_month, "M")
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def check_parameters(params: dict, source: str = "the parameters") -> None:
    """The rules of ``06_program_review.ipynb``'s parameters (before any kernel starts)."""
    if params.get("backend") not in BACKENDS:
        raise ParameterError(f"{source}: 'backend' must be sandbox or store, not "
                             f"{params.get('backend')!r}.")
    first = check_month(params.get("first_month"), source=source)
    last = check_month(params.get("last_month"), source=source)
    if last < first:
        raise ParameterError(f"{source}: 'last_month' {last} is before 'first_month' {first}; "
                             f"swap them.")
    if len(review_months(first, last)) > 24:
        raise ParameterError(f"{source}: the review covers {first} to {last}, more than 24 "
                             f"months; review a quarter, a half or a year.")
    for team in params.get("teams") or ():
        check_team(team, source=source)
    if params.get("leadership_team"):
        check_team(params["leadership_team"], source=source)
    for name, low, high in (("bias_threshold", 0, 100), ("drift_threshold", 0, 100),
                            ("min_trend_change", 0, 100)):
        value = params.get(name)
        if value is not None and not low < float(value) <= high:
            raise ParameterError(f"{source}: '{name}' must be a positive number of points, at "
                                 f"most {high}.")
    if not 0.5 <= float(params.get("confidence", 0.95)) < 1:
        raise ParameterError(f"{source}: 'confidence' must be between 0.5 and 1 (e.g. 0.95).")


def prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Check that the store (after a sandbox sync) holds every team asked, before a kernel
    starts; the kernel then reads the store."""
    scores = load_scores(params["backend"], teams=params.get("teams") or (),
                         months=review_months(params["first_month"], params["last_month"]),
                         sandbox_seed=int(params.get("sandbox_seed", 7)),
                         store_url=str(params.get("store_url") or "") or None)
    if scores.empty:
        raise ParameterError(f"The store holds no evaluation from {params['first_month']} to "
                             f"{params['last_month']}; check the months, or sync or import "
                             f"the teams first.")
    return {**params, "backend": "store"}


def load_scores(backend: str, *, teams: Sequence[str], months: Sequence[str],
                sandbox_seed: int = 7, store_url: str | None = None) -> pd.DataFrame:
    """The teams' open scores of ``months`` from the store.

    Parameters
    ----------
    backend : {"sandbox", "store"}
        ``sandbox`` syncs each team of the demo org (the ``teams`` asked, default all) into the
        store first; ``store`` reads what the store holds.
    teams : sequence of str
        The teams; empty for every team.
    months : sequence of str
        ``YYYY-MM``.

    Raises
    ------
    calib.values.ParameterError
        A team the backend (or the store) does not have, with the teams it does.
    """
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be sandbox or store for the program review, not "
                             f"{backend!r}.")
    with context.open_backend(backend, sandbox_seed=sandbox_seed) as org, \
            org.open_store(store_url) as store:
        if org.sandbox is not None:
            for team in teams:
                org.check_team(team)
            sync_teams(org.client, store, org.sandbox.teams(), teams=teams, months=months)
        else:
            for team in teams:
                org.check_team(team, store=store)
        return read_scores(store, teams=teams, months=months)


def sync_teams(client: Any, store: Any, known: Mapping[str, Mapping[str, Any]], *,
               teams: Sequence[str], months: Sequence[str]) -> None:
    """Sync ``months`` of each team asked (every team ``known`` when empty) into ``store``,
    with the same code as ``calib sync``: the sandbox path of :func:`load_scores`.

    ``known`` is the sandbox's ``{team: {"calibrator_email", …}}``
    (:meth:`calib.sandbox.Sandbox.teams`).
    """
    for team in teams or sorted(known):
        sync_months(client, store, team=team, months=list(months),
                    calibrators=[known[team]["calibrator_email"]])


def read_scores(store: Any, *, teams: Sequence[str], months: Sequence[str]) -> pd.DataFrame:
    """The teams' (every team's when empty) open scores of ``months`` in ``store``."""
    scores = store.scores(None, list(months))
    return scores[scores["team"].isin(teams)].reset_index(drop=True) if teams else scores


@dataclass(frozen=True)
class FormData:
    """What the form versions and rubric notes are compared on (:func:`load_forms`)."""

    answers: pd.DataFrame    # the teams' open answers of the months
    forms: pd.DataFrame      # Store.forms(): every stored form version
    questions: pd.DataFrame  # Store.form_questions()
    notes: pd.DataFrame      # Store.rubric_notes()


def read_forms(store: Any, *, teams: Sequence[str], months: Sequence[str]) -> FormData:
    """:class:`FormData` of the teams (every team's when empty) and ``months`` from ``store``."""
    answers = store.answers(None, list(months))
    if teams:
        answers = answers[answers["team"].isin(teams)].reset_index(drop=True)
    return FormData(answers, store.forms(), store.form_questions(), store.rubric_notes())


def load_forms(*, teams: Sequence[str], months: Sequence[str],
               store_url: str | None = None) -> FormData:
    """The teams' answers, form versions and rubric notes from the store (after
    :func:`load_scores`), for :func:`calib.review.program_review`'s form versions compared."""
    with context.open_backend("store") as org, org.open_store(store_url) as store:
        return read_forms(store, teams=teams, months=months)


def load_agreed(*, teams: Sequence[str], months: Sequence[str],
                store_url: str | None = None) -> pd.DataFrame:
    """Initial against agreed scores (:func:`calib.consensus.initial_vs_agreed`) of the teams'
    ``months``, from the store (after :func:`load_scores`); empty when no consensus answers
    were recorded. Teams without any are not read further (their answers are not needed)."""
    frames = []
    with context.open_backend("store") as org, org.open_store(store_url) as store:
        for team in teams or store.teams():
            if store.consensus(team).empty:
                continue
            frames.append(initial_vs_agreed(store, team, list(months)))
    frames = [f for f in frames if not f.empty]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=list(AGREED_COLUMNS)))
