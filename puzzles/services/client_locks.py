"""One client's submits, one at a time: the lock under which its unfinished jobs are counted and a new
one inserted, so that 40 submits at once cannot all read "3 unfinished" and all get past the limit.

Taken inside the transaction that inserts the job, and held until it commits:
- PostgreSQL: a transaction-level advisory lock on the client's identity (no table, nothing to clean up;
  two identities that hash alike merely wait for each other).
- SQLite: nothing more to do: its transactions begin IMMEDIATE (trmweb/settings.py), so the transaction
  already holds the database's single write lock, and the count inside it sees every committed insert.
"""

from django.db import connection

# Namespaces this project's advisory locks apart from anyone else's on a shared PostgreSQL.
ADVISORY_NAMESPACE = 0x7472_6D31  # "trm1"


def client_lock_take(*, identity: str) -> None:
    """Hold the client's submit lock until the current transaction ends (call inside `atomic`)."""
    if not connection.in_atomic_block:
        raise RuntimeError("client_lock_take must run inside a transaction, which holds the lock")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ADVISORY_NAMESPACE, identity])
