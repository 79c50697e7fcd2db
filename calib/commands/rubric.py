"""``calib agenda``, ``calib rubric`` and ``calib consensus``: the meeting and what it agreed.

Thin verbs over :mod:`calib.agenda`, :mod:`calib.rubric` and :mod:`calib.consensus`:

* ``calib agenda --team T --month M`` writes ``agenda.md`` and ``agenda.html`` for the meeting;
* ``calib rubric record …`` logs an agreed interpretation and re-exports ``parameters/rubric/``;
* ``calib rubric export`` rewrites the readable decision log from the store;
* ``calib consensus record …`` stores the answer the meeting agreed for one question of a call
  (the pre-discussion answers are kept);
* ``calib consensus show --team T`` prints initial scores against the agreed ones per month;
* ``calib consensus push`` writes the agreed answers back to Genesys (:mod:`calib.commands.consensus`).

The store is ``--store URL``, else ``$CALIB_STORE_URL``, else ``outputs/calib.sqlite``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``agenda``, ``rubric`` and ``consensus`` verbs."""
    agenda = subparsers.add_parser(
        "agenda", help="write the discussion agenda of a finished session (Markdown and HTML)",
        description="Calls in tier order (range > 15 first), the disputed questions with every "
                    "evaluator's answer and comment beside the expert's, the rubric notes in "
                    "force, and talking points. Writes agenda.md and agenda.html.")
    agenda.add_argument("--team", required=True, help="team name")
    agenda.add_argument("--anonymize", action="store_true",
                        help="show agents by stable pseudonym (Agent XXXX), not by name, for "
                             "a panel that must not know whose call it scores")
    agenda.add_argument("--month", required=True, help="the session month, YYYY-MM")
    agenda.add_argument("--out", type=Path, default=None,
                        help="output folder (default: outputs/<team>/<month>/)")
    agenda.add_argument("--aligned-max", type=float, default=5.0,
                        help="a range up to this many points is aligned (default 5)")
    agenda.add_argument("--discuss-max", type=float, default=15.0,
                        help="a range above this many points needs a full session (default 15)")
    _store_arg(agenda)
    agenda.set_defaults(func=_agenda)

    rubric = subparsers.add_parser(
        "rubric", help="record and export the rubric decision log",
        description="The agreed interpretation of a question, per form version, kept in the "
                    "store and exported as readable Markdown and YAML under parameters/rubric/.")
    verbs = rubric.add_subparsers(dest="rubric_verb", metavar="VERB")
    record = verbs.add_parser(
        "record", help="log an agreed interpretation and re-export the readable log",
        description="Record one decision: the question, the decision in words, the meeting "
                    "date, the form (all versions or one version), behavioural anchors and who "
                    "agreed.")
    record.add_argument("--question", required=True,
                        help="the question's text as the agenda shows it (its beginning is "
                             "enough), or its id")
    record.add_argument("--decision", required=True, help="the agreed interpretation, in words")
    record.add_argument("--date", required=True, help="meeting date, YYYY-MM-DD")
    form = record.add_mutually_exclusive_group(required=False)
    form.add_argument("--form-context", default=None,
                      help="form context id, every version (default: the question's own form)")
    form.add_argument("--form-version", default=None, help="one form version id")
    record.add_argument("--session", default=None, help="session where it was agreed")
    record.add_argument("--anchor", action="append", default=[], metavar="TEXT",
                        help="a behavioural anchor (repeat for several)")
    record.add_argument("--agreed-by", action="append", required=True, metavar="NAME",
                        help="who agreed (repeat for several)")
    record.add_argument("--dir", type=Path, default=Path("parameters/rubric"),
                        help="where the readable log is exported (default parameters/rubric)")
    record.add_argument("--no-export", action="store_true", help="only record in the store")
    _store_arg(record)
    record.set_defaults(func=_rubric_record)
    export = verbs.add_parser("export", help="rewrite the readable decision log from the store",
                              description="Write <form>.md and <form>.yaml per form.")
    export.add_argument("--dir", type=Path, default=Path("parameters/rubric"),
                        help="output folder (default parameters/rubric)")
    _store_arg(export)
    export.set_defaults(func=_rubric_export)
    rubric.set_defaults(func=_needs_verb(rubric))

    consensus = subparsers.add_parser(
        "consensus", help="record the answers a calibration meeting agreed on",
        description="Pre-discussion scores stay as they were; the agreed answers are stored "
                    "beside them so the report can compare each evaluator with the agreed score.")
    cverbs = consensus.add_subparsers(dest="consensus_verb", metavar="VERB")
    crecord = cverbs.add_parser(
        "record", help="store the agreed answer to one question of a calibration",
        description="The agreed option id, or N/A. Refused while the calibration is sealed.")
    crecord.add_argument("--calibration", "--call", dest="calibration", required=True,
                         help="the call: its conversation id as the agenda shows it (the first "
                              "characters are enough), or its calibration id")
    crecord.add_argument("--question", required=True,
                         help="the question's text as the agenda shows it (its beginning is "
                              "enough), or its id")
    crecord.add_argument("--answer", required=True,
                         help="the agreed answer as the form words it (Yes, No, 3 …), or N/A")
    crecord.add_argument("--by", action="append", required=True, metavar="NAME",
                         help="who agreed (repeat for several)")
    crecord.add_argument("--at", default=None,
                         help="when it was agreed (ISO-8601, UTC; default: now)")
    _store_arg(crecord)
    crecord.set_defaults(func=_consensus_record)
    show = cverbs.add_parser(
        "show", help="initial scores against the agreed score, per month and evaluator",
        description="Mean gap between each evaluator's pre-discussion score and the score "
                    "re-derived from the agreed answers.")
    show.add_argument("--team", required=True, help="team name")
    show.add_argument("--month", action="append", default=None, metavar="YYYY-MM",
                      help="limit to a month (repeat for several; default all)")
    show.add_argument("--fill", choices=("expert", "mode"), default="expert",
                      help="answer of undiscussed questions (default: the expert's)")
    _store_arg(show)
    show.set_defaults(func=_consensus_show)
    from calib.commands.consensus import register_push

    register_push(cverbs)
    consensus.set_defaults(func=_needs_verb(consensus))


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, metavar="URL",
                        help="store URL (default: $CALIB_STORE_URL, else outputs/calib.sqlite)")


def _needs_verb(parser: argparse.ArgumentParser):
    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2
    return show_help


def _open_store(url: str | None) -> Any:
    from calib.store import Store

    return Store(url)


def _agenda(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from calib.agenda import build_agenda
    from calib.anonymity import KPI_NOTE, anonymized_names
    from calib.cli import CommandError
    from calib.rubric import notes_in_force
    from calib.values import inside
    from calib.context import project_path

    with _open_store(args.store) as store:
        scores = store.scores(args.team, args.month)
        answers = store.answers(args.team, args.month)
        notes = store.rubric_notes()
        users = store.users()
    if scores.empty:
        n_sealed = int((scores.attrs.get("sealed") or {}).get("n_calibrations", 0))
        if n_sealed:
            raise CommandError(
                f"All {n_sealed} calibration(s) of team {args.team!r} in {args.month} are still "
                f"sealed: their evaluations are not all finished. The agenda opens when every "
                f"evaluator has finished, or after the deadline with an explicit reveal.")
        raise CommandError(
            f"Team {args.team!r} has no calibration in {args.month} in the store; load the "
            f"month first (calib report, or calib import for files), or check the team and "
            f"month.")
    names = dict(zip(users["user_id"], users["name"]))
    notes_shown = [KPI_NOTE]
    if args.anonymize:
        names = anonymized_names(names, scores["agent_id"], team=args.team)
        notes_shown.append("Agents are shown by pseudonym (the same in every month of the "
                           "team); their names are hidden from the panel.")
    in_force = notes_in_force(notes, as_of=args.month) if len(notes) else None
    agenda = build_agenda(scores, answers, rubric_notes=in_force, agent_names=names,
                          aligned_max=args.aligned_max, discuss_max=args.discuss_max,
                          title=f"{args.team} {args.month}: discussion agenda")
    agenda = replace(agenda, notes=tuple(notes_shown))
    out = args.out or inside(project_path(Path("outputs")), args.team, args.month)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("agenda.md", agenda.to_markdown()), ("agenda.html", agenda.to_html())):
        path = out / name
        tmp = path.with_name(name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    n_questions = sum(len(i.disputed) for i in agenda.items)
    print(f"{len(agenda.items)} call(s), {n_questions} disputed question(s); wrote "
          f"{written[0]} and {written[1]}")
    if len(agenda.excluded):
        print(f"{len(agenda.excluded)} unfinished evaluation(s) were left out.")
    return 0


def _rubric_record(args: argparse.Namespace) -> int:
    from calib.cli import CommandError
    from calib.rubric import record_decision, resolve_question

    with _open_store(args.store) as store:
        question, text = args.question, args.question
        context, version = args.form_context, args.form_version
        if not (context or version):
            question, context, text = resolve_question(store, args.question)
            if context is None:
                raise CommandError(f"The question {text!r} is on several forms; name the form "
                                   f"with --form-context or --form-version.")
        note_id = record_decision(
            store, question_id=question, decision=args.decision, decided_on=args.date,
            form_context_id=context, form_version_id=version,
            session_id=args.session, anchors=args.anchor, agreed_by=args.agreed_by,
            export_dir=None if args.no_export else _project_dir(args.dir))
    print(f"Recorded decision #{note_id} for {text!r}"
          + ("" if args.no_export else f"; the readable log is in {_project_dir(args.dir)}"))
    return 0


def _rubric_export(args: argparse.Namespace) -> int:
    from calib.rubric import export_decision_log

    with _open_store(args.store) as store:
        written = export_decision_log(store, _project_dir(args.dir))
    if not written:
        print("the decision log is empty; nothing written")
    for path in written:
        print(f"wrote {path}")
    return 0


def _project_dir(path: Path) -> Path:
    from calib.context import project_path

    return project_path(path)


def _consensus_record(args: argparse.Namespace) -> int:
    from calib.consensus import resolve_agreed_answer

    with _open_store(args.store) as store:
        agreed = resolve_agreed_answer(store, call=args.calibration, question=args.question,
                                       answer=args.answer)
        store.record_consensus(agreed.calibration_id, agreed.question_id, agreed.answer_id,
                               by=args.by, at=args.at or store.now())
    print(f"Recorded the agreed answer {agreed.answer!r} to {agreed.question!r} for the call "
          f"{agreed.call}.")
    return 0


def _consensus_show(args: argparse.Namespace) -> int:
    from calib.consensus import agreement_over_time, initial_vs_agreed

    with _open_store(args.store) as store:
        agreed = initial_vs_agreed(store, args.team, args.month, fill=args.fill)
    over = agreement_over_time(agreed)
    if over.empty:
        print(f"No consensus answers recorded for team {args.team!r}; record them with "
              f"calib consensus record.")
        return 0
    shown = over.drop(columns=[c for c in ("evaluator_id",) if c in over.columns])
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    skipped = len(agreed.attrs.get("excluded", []))
    if skipped:
        print(f"\n{skipped} calibration(s) without consensus answers were left out.")
    return 0
