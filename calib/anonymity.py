"""Agent anonymity for the panel, and the KPI separation of calibration scores (issue 18).

Many QM programmes hide the agent from the panel, so that who handled a call does not colour how
it is scored. :func:`pseudonyms` gives every agent a stable pseudonym ("Agent 7KQ2"): the same
agent has the same pseudonym in every month's agenda and report of a team, so the panel can see
that two calls were handled by one agent without knowing who. The pseudonym is a keyed hash of
the agent id (BLAKE2b keyed with the team name and, when set, ``$CALIB_PSEUDONYM_KEY``): without
the key nobody holding the list of agent ids can recompute it. A conversation id, which the
agenda shows so the call can be played, still leads to the agent inside Genesys Cloud: anonymity
covers calib's documents, not the org.

Calibration evaluations are not the agent's quality score: :data:`KPI_NOTE` says so in the
agenda and report, and :func:`check_kpi_separation` is the check behind it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from hashlib import blake2b
from typing import Any

__all__ = ["pseudonyms", "anonymized_names", "KPI_NOTE", "PSEUDONYM_KEY_ENV",
           "check_kpi_separation"]

PSEUDONYM_KEY_ENV = "CALIB_PSEUDONYM_KEY"

KPI_NOTE = ("Calibration scores measure the panel, not the agent, and are excluded from agent "
            "quality KPIs: calibration evaluations are never released to the agent in Genesys "
            "Cloud, and no summary calib writes holds a score per agent.")


def _code(agent_id: str, key: bytes, length: int) -> str:
    digest = blake2b(str(agent_id).encode(), digest_size=10, key=key).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def pseudonyms(agent_ids: Iterable[Any], *, team: str, key: str | None = None) -> dict[str, str]:
    """A stable pseudonym per agent id: ``"Agent XXXX"``.

    Parameters
    ----------
    agent_ids : iterable
        Agent user ids (None and NaN are skipped; repeats are fine).
    team : str
        The team: pseudonyms are stable within a team, different between teams.
    key : str, optional
        A secret mixed into the hash; defaults to ``$CALIB_PSEUDONYM_KEY`` (empty when unset).

    Returns
    -------
    dict
        Agent id → pseudonym. Codes are 4 characters, longer for every agent when two would
        share one, so two agents never get the same pseudonym.
    """
    secret = os.environ.get(PSEUDONYM_KEY_ENV, "") if key is None else key
    material = blake2b(f"{team}\x00{secret}".encode(), digest_size=32).digest()
    ids = sorted({str(a) for a in agent_ids if a is not None and a == a and str(a)})
    for length in range(4, 17):
        codes = {a: _code(a, material, length) for a in ids}
        if len(set(codes.values())) == len(codes):
            return {a: f"Agent {c}" for a, c in codes.items()}
    raise ValueError("Two agent ids share a 16-character pseudonym; they are probably the same "
                     "id written twice with different spelling.")


def anonymized_names(names: Mapping[str, str], agent_ids: Iterable[Any], *,
                     team: str) -> dict[str, str]:
    """``names`` with every agent's name replaced by its pseudonym (other users keep theirs)."""
    out = dict(names)
    out.update(pseudonyms(agent_ids, team=team))
    return out


def check_kpi_separation(evaluations: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems with calibration evaluations that could reach an agent's quality KPIs.

    Reads Quality API ``Evaluation`` JSON (the evaluations of calibrations, as
    ``GET /api/v2/quality/calibrations/{id}`` or the evaluations query return them). An
    evaluation that belongs to a calibration must be marked ``neverRelease`` and must not have
    been released to the agent (``releaseDate``): a released evaluation is visible to the agent
    and counts in the agent's evaluation views.

    Returns
    -------
    list of str
        One sentence per problem; empty when every calibration evaluation is kept apart.
    """
    problems = []
    for ev in evaluations:
        if not (ev.get("calibration") or {}).get("id"):
            continue
        if not ev.get("neverRelease"):
            problems.append(f"Calibration evaluation {ev.get('id')} is not marked neverRelease; "
                            f"it could be released to the agent.")
        if ev.get("releaseDate"):
            problems.append(f"Calibration evaluation {ev.get('id')} was released to the agent "
                            f"on {ev['releaseDate']}.")
    return problems
