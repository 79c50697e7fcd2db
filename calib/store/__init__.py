"""History store: calibrations, evaluations, answers, forms, users, sessions, rubric notes,
consensus answers and run records, with the blind gate in front of every score.

SQLAlchemy Core; SQLite by default (``outputs/calib.sqlite``, WAL, safe for two runs at once),
PostgreSQL by URL (``$CALIB_STORE_URL``). See :class:`Store`.
"""

from calib.store.core import Store
from calib.store.errors import StoreError
from calib.store.locks import LockBusy, LockHolder
from calib.store.schema import SCHEMA_VERSION
from calib.store.upsert import UpsertResult

__all__ = ["Store", "StoreError", "LockBusy", "LockHolder", "UpsertResult", "SCHEMA_VERSION"]
