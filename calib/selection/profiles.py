"""Focus profiles: what a session looks for (filters) and what it prefers (priorities).

The built-in profiles live in ``focus_profiles.yaml`` beside this module; a team adds its own in
a YAML file of the same shape (``profiles:`` in the selection parameters). A profile becomes the
:class:`~calib.selection.reducer.Rules` the reducer applies to every conversation.
"""

from __future__ import annotations

import copy
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from calib.selection.reducer import DEFAULT_BANDS, MEDIA_TYPES, Rules

__all__ = ["load_profiles", "profile_rules"]

_FILTER_KEYS = {"media_type", "min_talk_seconds", "max_talk_seconds", "min_hold_seconds",
                "transferred", "queues", "wrap_up_codes", "handle_bands"}
_PRIORITY_KEYS = {"gray_area", "transferred", "hold", "queues", "wrap_up_codes", "handle_bands",
                  "randomness"}
_PROFILE_KEYS = {"description", "filters", "priorities", "extends", "gray_band", "dispute_range",
                 "hold_cap_seconds", "bands"}


def load_profiles(extra: str | Path | Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The built-in focus profiles, with ``extra`` (a YAML path or a mapping) merged over them.

    A profile with ``extends: <name>`` starts as a deep copy of that profile; its ``filters`` and
    ``priorities`` keys then replace the parent's key by key.

    Parameters
    ----------
    extra : str, Path or Mapping, optional
        Team profiles, shaped like ``calib/selection/focus_profiles.yaml``.

    Returns
    -------
    dict
        Profile name → profile mapping.
    """
    text = importlib.resources.files("calib.selection").joinpath("focus_profiles.yaml").read_text()
    profiles: dict[str, Any] = yaml.safe_load(text)
    if extra is not None:
        if isinstance(extra, (str, Path)):
            path = Path(extra)
            if not path.is_file():
                raise ValueError(f"The focus-profile file {str(path)!r} does not exist; "
                                 f"pass an existing YAML file or a mapping.")
            extra = yaml.safe_load(path.read_text()) or {}
        if not isinstance(extra, Mapping):
            raise ValueError("Focus profiles must be a mapping of profile name to profile; "
                             "check the top level of the YAML file.")
        for name, prof in extra.items():
            if not isinstance(prof, Mapping):
                raise ValueError(f"Focus profile {name!r} must be a mapping with filters and "
                                 f"priorities, not {type(prof).__name__}.")
            profiles[str(name)] = dict(prof)
    resolved: dict[str, dict[str, Any]] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        if name in trail:
            raise ValueError(f"Focus profiles extend each other in a loop ({' → '.join(trail + (name,))}); "
                             f"remove one of the 'extends' keys.")
        if name not in profiles:
            raise ValueError(f"Focus profile {trail[-1]!r} extends {name!r}, which does not exist; "
                             f"choose one of {sorted(profiles)}.")
        prof = dict(profiles[name])
        parent_name = prof.pop("extends", None)
        if parent_name:
            base = copy.deepcopy(resolve(str(parent_name), trail + (name,)))
            for section in ("filters", "priorities"):
                base.setdefault(section, {}).update(prof.pop(section, None) or {})
            base.update(prof)
            prof = base
        resolved[name] = prof
        return prof

    for name in profiles:
        resolve(name, ())
    return resolved


def profile_rules(profile: Mapping[str, Any], *, name: str = "profile") -> Rules:
    """Turn a focus profile (seconds, YAML shape) into :class:`~calib.selection.reducer.Rules`.

    Raises
    ------
    ValueError
        Naming any unknown key, so a typo in a team profile never silently selects everything.
    """
    unknown = set(profile) - _PROFILE_KEYS
    filters = dict(profile.get("filters") or {})
    prios = dict(profile.get("priorities") or {})
    unknown |= {f"filters.{k}" for k in set(filters) - _FILTER_KEYS}
    unknown |= {f"priorities.{k}" for k in set(prios) - _PRIORITY_KEYS}
    if unknown:
        raise ValueError(f"Focus profile {name!r} has unknown key(s) {sorted(unknown)}; "
                         f"see calib/selection/focus_profiles.yaml for the allowed keys.")

    def ms(value: Any) -> int | None:
        return None if value is None else int(round(float(value) * 1000))

    def weights(value: Any, what: str) -> tuple[tuple[str, float], ...]:
        if not value:
            return ()
        if not isinstance(value, Mapping):
            raise ValueError(f"Focus profile {name!r}: priorities.{what} must map a name to a "
                             f"weight, for example {{complaint: 1.0}}.")
        return tuple((str(k), float(v)) for k, v in value.items())

    bands = DEFAULT_BANDS
    if profile.get("bands"):
        bands = tuple((str(k), ms(v[0]) or 0, ms(v[1])) for k, v in profile["bands"].items())
    band_names = {b[0] for b in bands}
    wanted = tuple(str(b) for b in filters.get("handle_bands") or ())
    bad = [b for b in wanted + tuple(k for k, _ in weights(prios.get("handle_bands"), "handle_bands"))
           if b not in band_names]
    if bad:
        raise ValueError(f"Focus profile {name!r} names handle band(s) {bad} that are not defined; "
                         f"use {sorted(band_names)}.")
    transferred = filters.get("transferred")
    if transferred is not None and not isinstance(transferred, bool):
        raise ValueError(f"Focus profile {name!r}: filters.transferred must be true, false or null.")
    media = filters.get("media_type", "voice")
    listed = [media] if isinstance(media, str) else list(media) if isinstance(media, list) else None
    if media is not None and (not listed or any(m not in MEDIA_TYPES for m in listed)):
        raise ValueError(f"Focus profile {name!r}: filters.media_type must be one of "
                         f"{list(MEDIA_TYPES)} or a list of them, not {media!r}.")
    gray_band = tuple(float(x) for x in profile.get("gray_band", (60, 85)))
    return Rules(
        media_type=None if media is None else listed[0] if len(listed) == 1 else tuple(listed),
        min_talk_ms=ms(filters.get("min_talk_seconds", 180)) or 0,
        max_talk_ms=ms(filters.get("max_talk_seconds")),
        min_hold_ms=ms(filters.get("min_hold_seconds")),
        transferred=transferred,
        queues=tuple(str(q) for q in filters.get("queues") or ()),
        wrap_up_codes=tuple(str(w) for w in filters.get("wrap_up_codes") or ()),
        handle_bands=wanted,
        bands=bands,
        w_gray=float(prios.get("gray_area", 1.0)),
        w_transferred=float(prios.get("transferred", 0.0)),
        w_hold=float(prios.get("hold", 0.0)),
        hold_cap_ms=ms(profile.get("hold_cap_seconds", 120)) or 1,
        w_queues=weights(prios.get("queues"), "queues"),
        w_wrap_up_codes=weights(prios.get("wrap_up_codes"), "wrap_up_codes"),
        w_bands=weights(prios.get("handle_bands"), "handle_bands"),
        w_random=float(prios.get("randomness", 0.5)),
        gray_band=(gray_band[0], gray_band[1]),
        dispute_range=float(profile.get("dispute_range", 15.0)),
    )
