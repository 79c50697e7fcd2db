"""The sandbox's people: agents, evaluators and calibrators, with deterministic names and ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ids import make_id

FIRST = ("Alex", "Blair", "Casey", "Dana", "Eli", "Farah", "Gus", "Hana", "Ines", "Jon", "Kai",
         "Lena", "Milo", "Nia", "Omar", "Priya", "Rui", "Sana", "Theo", "Uma", "Vik", "Wren",
         "Yara", "Zoe", "Ada", "Bo", "Cleo", "Dev", "Emi", "Finn")
LAST = ("Abbott", "Brooks", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
        "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "O'Neil", "Petrov", "Quist", "Rossi",
        "Silva", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Young", "Zimmer")
SCRIPT_NAME = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    title: str
    department: str
    state: str = "active"

    def to_user(self) -> dict:
        """The Genesys ``User`` JSON dict."""
        return {
            "id": self.id,
            "name": self.name,
            "division": {"id": "division-home", "name": "Home",
                         "selfUri": "/api/v2/authorization/divisions/division-home"},
            "email": self.email,
            "username": self.email,
            "state": self.state,
            "title": self.title,
            "department": self.department,
            "version": 1,
            "selfUri": f"/api/v2/users/{self.id}",
        }

    def ref(self) -> dict:
        """The short ``User`` reference embedded in calibrations and evaluations."""
        return {"id": self.id, "name": self.name, "selfUri": f"/api/v2/users/{self.id}"}


def _email(name: str, used: set[str]) -> str:
    base = "".join(c for c in name.lower().replace(" ", ".") if c.isalnum() or c == ".")
    email, k = f"{base}@demo.example", 2
    while email in used:
        email, k = f"{base}{k}@demo.example", k + 1
    used.add(email)
    return email


def make_people(seed: int, rng: np.random.Generator, n: int, role: str, title: str,
                department: str, used_names: set[str], used_emails: set[str]) -> list[Person]:
    """``n`` people with unique names drawn from the name lists."""
    out = []
    while len(out) < n:
        name = f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}"
        if name in used_names:
            if len(used_names) >= len(FIRST) * len(LAST):
                name = f"{name} {len(used_names)}"
            else:
                continue
        used_names.add(name)
        out.append(Person(make_id(seed, "user", role, len(out)), name,
                          _email(name, used_emails), title, department))
    return out
