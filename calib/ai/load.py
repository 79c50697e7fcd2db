"""Reading a team's AI scoring for the exploration notebook (``07_ai_scoring.ipynb``): on the
sandbox the team's months are synced into the store first (the same code as ``calib sync``),
then everything is read from the store, behind the blind gate."""

from __future__ import annotations

from typing import Iterable, Literal

from calib import context
from calib.ai.analysis import AiCalibration, ai_calibration_from_store
from calib.store.convert import check_month, check_team
from calib.sync import sync_months

__all__ = ["load_ai_calibration"]


def load_ai_calibration(backend: Literal["sandbox", "store"], *, team: str,
                        months: Iterable[str], sandbox_seed: int = 7,
                        store_url: str | None = None,
                        confidence: float = 0.95) -> AiCalibration:
    """The AI calibration of ``team`` over ``months``.

    Parameters
    ----------
    backend : {"sandbox", "store"}
        ``sandbox`` syncs the team's months from the sandbox org first; ``store`` reads what
        the store already holds (synced or imported earlier).
    team : str
    months : iterable of str
        ``YYYY-MM`` months.
    sandbox_seed : int
    store_url : str, optional
        Default ``$CALIB_STORE_URL``, else ``outputs/calib.sqlite``.
    confidence : float

    Raises
    ------
    ValueError
        For another backend, a bad team or month, a team the sandbox does not have, or months
        without any AI answer (the form had no AI-enabled question, or AI scoring never ran).
    """
    if backend not in ("sandbox", "store"):
        raise ValueError(f"backend must be 'sandbox' or 'store' for the AI scoring notebook, "
                         f"not {backend!r}.")
    team = check_team(team)
    months = sorted(check_month(m) for m in months)
    if not months:
        raise ValueError("months is empty; list the months to calibrate the AI over.")
    with context.open_backend(backend, sandbox_seed=sandbox_seed) as org, \
            org.open_store(store_url) as store:
        if org.sandbox is not None:
            teams = org.sandbox.teams()
            if team not in teams:
                raise ValueError(f"The sandbox has no team {team!r}; use one of "
                                 f"{', '.join(sorted(teams))}.")
            sync_months(org.client, store, team=team, months=months,
                        calibrators=[teams[team]["calibrator_email"]])
        result = ai_calibration_from_store(store, team, months, confidence=confidence)
    if result is None:
        raise ValueError(f"No evaluation of team {team!r} in {', '.join(months)} carries an AI "
                         f"answer: its form had no AI-enabled question then, or AI scoring "
                         f"never ran. Pick months from when AI scoring was on.")
    return result
