"""Checking the chain: the first record that was edited, deleted, moved or forged, and why.

Records are read in sequence order. Each must be the next number (else records are missing),
its fields must give its hash (else it was edited, or it holds another record's fields: moved),
and its previous hash must be the hash of the record before it (else a record before it was
rewritten with a recomputed hash, or one was inserted). A chain alone cannot show that its
last records were deleted, so the log keeps a *head* beside it (the last number and hash,
updated in the same transaction as each append); the chain must end exactly at the head.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from insights.audit.record import GENESIS, AuditRecord

#: What can be wrong: records ``missing`` (deleted), ``out_of_order``, a record ``edited``, ``moved``
#: (reordered) or ``unlinked`` (one before it rewritten or slipped in); the chain ``truncated``
#: (its last records deleted), ``appended`` to (past the head), its last record ``rewritten``, or
#: ``no_head``.
Problem = Literal[
    "missing", "out_of_order", "edited", "moved", "unlinked", "truncated", "appended", "rewritten", "no_head"
]


@dataclass(frozen=True)
class Head:
    """The last record's number and hash, kept beside the chain (0 and the genesis hash when empty)."""

    seq: int
    hash: str


EMPTY = Head(0, GENESIS)


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking a chain: ``ok``, how many records were read, the head, and for a
    broken chain the first broken record's number (``broken_at``; None when the head itself is
    gone), what is wrong with it (``problem``) and a sentence saying so (``detail``)."""

    ok: bool
    checked: int
    head: Head | None
    broken_at: int | None = None
    problem: Problem | None = None
    detail: str = ""


def check_chain(records: Iterable[AuditRecord], head: Head | None) -> ChainCheck:
    """Check ``records`` (in sequence order) against each other and against ``head``; stop at
    the first break."""
    checked = 0
    last = EMPTY
    for record in records:
        checked += 1
        fault = _fault(record, last, head)
        if fault is not None:
            return ChainCheck(False, checked, head, *fault)
        last = Head(record.seq, record.hash)
    if head is None:
        return ChainCheck(False, checked, None, None, "no_head", "the head (last number and hash) is missing")
    if last.seq < head.seq:
        detail = f"the log ends at record {last.seq} but the head says {head.seq}: the last records were deleted"
        return ChainCheck(False, checked, head, last.seq + 1, "truncated", detail)
    if last.seq > head.seq:
        detail = f"records after the head's record {head.seq} were added outside the log"
        return ChainCheck(False, checked, head, head.seq + 1, "appended", detail)
    if last.hash != head.hash:
        detail = f"record {last.seq} is not the record the head kept: it was rewritten with a recomputed hash"
        return ChainCheck(False, checked, head, last.seq, "rewritten", detail)
    return ChainCheck(True, checked, head)


def _fault(record: AuditRecord, last: Head, head: Head | None) -> tuple[int, Problem, str] | None:
    """What is wrong with ``record`` coming after ``last`` (its number, the problem, a sentence)."""
    expected = last.seq + 1
    if not isinstance(record.seq, int) or record.seq < expected:
        return expected, "out_of_order", f"record {record.seq} comes after record {last.seq}"
    if record.seq > expected:
        gone = f"record {expected} is" if record.seq == expected + 1 else f"records {expected}–{record.seq - 1} are"
        return expected, "missing", f"{gone} missing: deleted"
    if record.computed_hash() != record.hash:
        origin = _origin(record, head)
        if origin is not None:
            return record.seq, "moved", f"record {record.seq} holds the fields of record {origin}: records reordered"
        return record.seq, "edited", f"record {record.seq}'s fields no longer give its hash: edited since written"
    if record.prev_hash != last.hash:
        return (
            record.seq,
            "unlinked",
            f"record {record.seq} does not follow record {last.seq}'s hash: record {last.seq} was rewritten with a "
            "recomputed hash, or records were removed or put in between and the rest renumbered",
        )
    return None


def _origin(record: AuditRecord, head: Head | None) -> int | None:
    """The number under which ``record``'s fields were sealed, when it is another one (a record
    moved to another place); tried over the log's numbers, so only on a broken chain."""
    end = max(record.seq, head.seq if head else 0)
    others = (seq for seq in range(1, end + 1) if seq != record.seq)
    return next((seq for seq in others if record.computed_hash(seq) == record.hash), None)
