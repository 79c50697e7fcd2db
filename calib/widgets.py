"""The session-setup form: an ipywidgets front end over :mod:`calib.selection` and :mod:`calib.sessions`.

A QM analyst picks the evaluation form (published versions, by name), the calibrator, the
expert evaluator, the panel (a searchable multi-select of active users), the focus profile, the
number of interactions, the conversation date range, the deadline and the seed. **Preview** runs
:func:`calib.selection.select_candidates` and shows the candidates with the reason each was
picked; **Create** validates the plan (:meth:`calib.sessions.SessionPlan.validate`) and runs
:func:`calib.sessions.create_session` with a progress bar. While the "Dry run" toggle is on (the
default) it only shows what would be created and writes nothing; with it off it writes the plan
to ``parameters/sessions/<name>.yaml`` (a file holding a different plan is replaced only when
"Replace the plan file" is ticked) and creates the calibrations.

The form holds no logic of its own: every check and every message is the library's, shown as it
is, so that ``calib create --plan parameters/sessions/<name>.yaml`` repeats the same creation
headless. Tested without a browser by setting the widgets' values and calling ``.click()``.

>>> backend = calib.context.open_backend("sandbox")          # doctest: +SKIP
>>> form = SessionSetupForm.for_backend(backend, team="demo")  # doctest: +SKIP
>>> form                                                     # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from calib.context import project_path
from calib.genesys.errors import GenesysError
from calib.selection import load_profiles
from calib.sessions import create_session
from calib.sessions.plan import plan_file_name
from calib.sessions.steps import select_plan, store_history

__all__ = ["SessionSetupForm", "plan_file_name"]


def _as_date(value: date | str | None) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _iso_day(value: date | str | None, what: str) -> str:
    if value is None or value == "":
        raise ValueError(f"The {what} date is empty; pick a date.")
    return value.isoformat() if isinstance(value, date) else str(value)


class SessionSetupForm:
    """An ipywidgets form that previews a selection and creates a calibration session.

    Parameters
    ----------
    client : calib.genesys.GenesysClient
        The org (or the sandbox) to read forms and users from and create calibrations in.
    team : str
        Team name written into the plan.
    month : str
        ``YYYY-MM`` the session belongs to.
    defaults : mapping, optional
        Initial ``calibrator_id``, ``expert_id``, ``panel_ids``, ``start``, ``end``, ``deadline``,
        ``n``, ``seed``, ``focus``, ``include`` (conversation ids or
        ``CONVERSATION_ID/EVALUATION_ID`` pairs to calibrate, as ``calib select --include``).
    history : pandas.DataFrame, optional
        A ``scores`` table for the gray-area preference and exclusions of the selection; the
        ``store``'s scores (:func:`calib.sessions.steps.store_history`) win when it holds some.
    now : datetime or callable, optional
        The present for the deadline check (the sandbox clock in demos), or a function giving it.
    plans_dir : str or Path
        Where plans are written (default ``parameters/sessions`` of the project).
    store : calib.store.Store, optional
        When given, created sessions are recorded there too.
    profiles : str, Path or mapping, optional
        Extra focus profiles (as in :func:`calib.selection.load_profiles`).

    Attributes
    ----------
    candidates : pandas.DataFrame or None
        The last preview's candidates.
    plan : calib.sessions.SessionPlan or None
        The plan built by the last preview.
    plan_path : Path or None
        Where the last Create wrote the plan.
    result : calib.sessions.CreationResult or None
        The last Create's outcome.
    error : str or None
        The last error message shown (the library's own text).
    """

    def __init__(self, client: Any, *, team: str, month: str,
                 defaults: Mapping[str, Any] | None = None, history: pd.DataFrame | None = None,
                 now: datetime | Any = None, plans_dir: str | Path = "parameters/sessions",
                 store: Any = None, profiles: Any = None, backend_name: str = "genesys",
                 sandbox_seed: int = 7) -> None:
        import ipywidgets as w


        self.client, self.history, self.store, self.profiles = client, history, store, profiles
        self.backend_name, self.sandbox_seed = backend_name, int(sandbox_seed)
        self._now = now
        self.plans_dir = project_path(plans_dir)
        self.candidates: pd.DataFrame | None = None
        self.plan = None
        self.plan_path: Path | None = None
        self.result = None
        self.error: str | None = None
        d = dict(defaults or {})

        forms = sorted(client.iter_published_evaluation_forms(),
                       key=lambda f: (str(f.get("name")), str(f.get("modifiedDate"))))
        latest = {str(f.get("contextId") or f["id"]): f["id"] for f in forms}
        form_options = [(f"{f.get('name')} — published {str(f.get('modifiedDate', ''))[:10]}"
                         + (" (latest)" if latest.get(str(f.get("contextId") or f["id"])) == f["id"]
                            else ""), f["id"]) for f in forms]
        users = sorted(client.iter_users(state="active"), key=lambda u: str(u.get("name")))
        self._people = [(f"{u.get('name')} <{u.get('email')}>", str(u["id"])) for u in users]
        style, wide = {"description_width": "130px"}, w.Layout(width="520px")

        def field(widget_type: Any, description: str, **kwargs: Any) -> Any:
            return widget_type(description=description, style=style, layout=wide, **kwargs)

        self.team = field(w.Text, "Team", value=team)
        self.month = field(w.Text, "Month", value=month, placeholder="YYYY-MM")
        self.session_name = field(w.Text, "Session name", value=d.get("name", ""),
                                  placeholder="empty: '<team> <month> <focus>'")
        self.form = field(w.Dropdown, "Evaluation form", options=form_options,
                          value=d.get("form_id") or (form_options[-1][1] if form_options else None))
        self.calibrator = field(w.Dropdown, "Calibrator", options=self._people,
                                value=d.get("calibrator_id"))
        self.expert = field(w.Dropdown, "Expert evaluator", options=self._people,
                            value=d.get("expert_id"))
        self.panel_search = field(w.Text, "Find evaluators", placeholder="type part of a name "
                                                                        "or email")
        self.panel = field(w.SelectMultiple, "Panel", options=self._people, rows=8,
                           value=tuple(d.get("panel_ids", ())))
        self.focus = field(w.Dropdown, "Focus profile",
                           options=sorted(load_profiles(profiles)), value=d.get("focus", "general"))
        self.n = field(w.IntText, "Interactions", value=int(d.get("n", 6)))
        self.start = field(w.DatePicker, "Conversations from", value=_as_date(d.get("start")))
        self.end = field(w.DatePicker, "until (exclusive)", value=_as_date(d.get("end")))
        self.deadline = field(w.Text, "Deadline", value=d.get("deadline", ""),
                              placeholder="2026-11-20T17:00:00Z")
        self.seed = field(w.IntText, "Seed", value=int(d.get("seed", 0)))
        self.include = field(w.Text, "Include", value=" ".join(d.get("include", ())),
                             placeholder="conversation ids, or CONVERSATION/EVALUATION to "
                                         "calibrate an evaluation")
        self.dry_run = w.Checkbox(description="Dry run (create nothing, write nothing)",
                                  value=True, indent=False)
        self.replace_plan = w.Checkbox(description="Replace the plan file if it holds another "
                                                   "plan", value=False, indent=False)
        self.preview_button = w.Button(description="Preview", button_style="info", icon="search")
        self.create_button = w.Button(description="Create", button_style="primary", icon="check")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      style=style, layout=wide)
        self.messages = w.HTML()
        self.output = w.HTML()
        self.panel_search.observe(self._filter_panel, names="value")
        self.preview_button.on_click(lambda _b: self.preview())
        self.create_button.on_click(lambda _b: self.create())
        self.widget = w.VBox([
            self.team, self.month, self.session_name, self.form, self.calibrator, self.expert,
            self.panel_search, self.panel, self.focus, self.n, self.start, self.end,
            self.deadline, self.seed, self.include, self.dry_run, self.replace_plan,
            w.HBox([self.preview_button, self.create_button]), self.progress, self.messages,
            self.output])

    @classmethod
    def for_backend(cls, backend: Any, *, team: str, month: str = "2026-11",
                    **kwargs: Any) -> "SessionSetupForm":
        """A form for a :class:`calib.context.Backend`; on the sandbox the team's calibrator,
        expert and panel are preset from the org, its history steers the selection and its
        clock is the present."""
        defaults = dict(kwargs.pop("defaults", None) or {})
        sandbox = getattr(backend, "sandbox", None)
        if sandbox is not None:
            teams = sandbox.teams()
            if team in teams:
                info = teams[team]
                defaults = {"calibrator_id": info["calibrator_id"],
                            "expert_id": info["expert_id"],
                            "panel_ids": tuple(info["panel_ids"]), **defaults}
            org = getattr(sandbox, "org", None)
            if org is not None:
                kwargs.setdefault("history", org.tidy_scores())
        kwargs.setdefault("now", backend.now)
        if sandbox is not None:
            kwargs.setdefault("backend_name", "sandbox")
            kwargs.setdefault("sandbox_seed", int(getattr(sandbox, "seed", 7)))
        return cls(backend.client, team=team, month=month, defaults=defaults, **kwargs)

    # -- display ------------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _filter_panel(self, change: Mapping[str, Any]) -> None:
        needle = str(change.get("new") or "").lower()
        chosen = tuple(self.panel.value)
        keep = [(label, uid) for label, uid in self._people
                if not needle or needle in label.lower() or uid in chosen]
        self.panel.options = keep
        self.panel.value = tuple(uid for uid in chosen if uid in {u for _, u in keep})

    def _show_error(self, exc: Exception) -> None:
        self.error = str(exc)
        problems = getattr(exc, "problems", None)
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems) if problems else ""
        self.messages.value = (f"<div class='calib-error' style='color:#b00020'>"
                               f"<strong>{html.escape(str(exc) if not problems else 'The session plan has problems:')}"
                               f"</strong>{f'<ul>{items}</ul>' if items else ''}</div>")

    def _show_note(self, text: str) -> None:
        self.error = None
        self.messages.value = f"<div class='calib-note'>{html.escape(text)}</div>"

    def _present(self) -> Any:
        return self._now() if callable(self._now) else self._now

    # -- actions --------------------------------------------------------------------------------
    def selection_arguments(self) -> dict[str, Any]:
        """The keyword arguments the form passes to :func:`calib.sessions.steps.select_plan`."""
        end = _iso_day(self.end.value, "end")
        # the store's scores steer the gray-area preference on every backend; the demo org's
        # own history (for_backend) stands in while the store holds none, as on the command line
        stored = store_history(self.store, end=end) if self.store is not None else None
        history = stored if stored is not None else self.history
        return dict(team=self.team.value, month=self.month.value, focus=self.focus.value,
                    start=_iso_day(self.start.value, "start"), end=end,
                    n=int(self.n.value), seed=int(self.seed.value),
                    calibrator_id=self.calibrator.value or "", expert_id=self.expert.value or "",
                    panel_ids=list(self.panel.value), form_id=self.form.value or "",
                    deadline=self.deadline.value.strip(),
                    name=self.session_name.value.strip()
                    or f"{self.team.value} {self.month.value} {self.focus.value}",
                    history=history, profiles=self.profiles, backend=self.backend_name,
                    sandbox_seed=self.sandbox_seed,
                    include=tuple(i for i in self.include.value.replace(",", " ").split() if i))

    def preview(self) -> pd.DataFrame | None:
        """Run selection and show the candidates with their reasons; returns the candidates."""

        self.output.value, self.candidates, self.plan = "", None, None
        try:
            selection, self.plan = select_plan(self.client, **self.selection_arguments())
        except ValueError as exc:
            self._show_error(exc)
            return None
        self.candidates = selection.candidates
        names = dict((uid, label.split(" <")[0]) for label, uid in self._people)
        table = selection.candidates.assign(agent=selection.candidates["agent_id"].map(names)
                                            .fillna(selection.candidates["agent_id"]))
        self.output.value = table[["conversation_id", "agent", "handle_band", "reason"]].to_html(
            index=False, escape=True) + selection.funnel[["step", "remaining", "removed"]].to_html(
            index=False, escape=True)
        self._show_note(f"{len(table)} candidate(s) for '{self.plan.name}'. Check them, then "
                        f"press Create{' (dry run)' if self.dry_run.value else ''}.")
        return self.candidates

    def create(self) -> Any:
        """Validate the previewed plan, write its YAML and create the session (or dry-run it).

        Returns the :class:`calib.sessions.CreationResult`, or None when something failed (the
        message is shown in the form and kept in :attr:`error`).
        """

        if self.plan is None:
            self._show_error(ValueError("There is no plan yet; press Preview first."))
            return None
        self.result = None
        dry_run = bool(self.dry_run.value)
        try:
            self.plan.validate(self.client, now=self._present())
            path = self.plans_dir / plan_file_name(self.plan.name)
            if not dry_run:  # a dry run writes nothing, not even the plan
                self.plan_path = self.plan.to_yaml(path, overwrite=bool(self.replace_plan.value))
            self.progress.max, self.progress.value = max(len(self.plan.conversations), 1), 0
            result = create_session(
                self.client, self.plan, dry_run=dry_run, store=self.store,
                progress=False, validate=False, now=self._present(),
                on_item=lambda i, _c, _a: setattr(self.progress, "value", i))
        except Exception as exc:  # the library's errors are shown as they are

            if not isinstance(exc, (ValueError, GenesysError)):
                raise
            self._show_error(exc)
            return None
        self.result = result
        self.output.value = result.planned.to_html(index=False, escape=True, na_rep="")
        if dry_run:
            todo = int((result.planned["action"] == "would create").sum())
            self._show_note(f"Dry run: would create {todo}, already there {result.existing}. "
                            f"Nothing was created or written; untick 'Dry run' and press "
                            f"Create to write the plan to {path} and create them.")
        else:
            self._show_note(f"Created {result.created}, already there {result.existing}. Plan "
                            f"written to {self.plan_path}; repeat headless with: calib create "
                            f"--plan {self.plan_path} --yes")
        return result
