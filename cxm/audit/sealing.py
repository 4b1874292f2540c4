"""Sealed survey responses: a per-organization running hash over each response's content, in
storage order, so an export can prove that no answer was altered or dropped since it was stored.

Sealing runs after commit, in batches (`surveys.tasks.seal_responses`), never on the submit path.
This module keeps the chain; what a response's content is belongs to surveys, which registers the
function that computes digests (`register_digest_source`), as a higher layer does with a signal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import chain
from .models import ResponseSeal, ResponseSealHead

# (organization_id, response ids) -> {response id: digest of its current content}; ids of rows
# that no longer exist are absent.
DigestSource = Callable[[int, list[int]], dict[int, str]]
_digest_source: list[DigestSource] = []


def register_digest_source(source: DigestSource) -> None:
    _digest_source[:] = [source]


def seal_payload(seal: ResponseSeal) -> bytes:
    return chain.canonical(
        {"seq": seal.seq, "response_id": seal.response_id, "digest": seal.digest, "reason": seal.reason}
    )


@transaction.atomic
def response_seals_append(
    *, organization_id: int, digests: Iterable[tuple[int, str]], reason: str = "stored"
) -> int:
    """Appends one seal per (response id, digest), in the order given, under the chain's lock."""
    items = list(digests)
    if not items:
        return 0
    ResponseSealHead.objects.get_or_create(organization_id=organization_id)
    head = ResponseSealHead.objects.select_for_update().get(organization_id=organization_id)
    seals, prev, seq, now = [], head.hash, head.seq, timezone.now()
    for response_id, digest in items:
        seq += 1
        seal = ResponseSeal(
            organization_id=organization_id,
            seq=seq,
            response_id=response_id,
            digest=digest,
            reason=reason,
            prev_hash=prev,
            sealed_at=now,
        )
        seal.hash = prev = chain.link(prev, seal_payload(seal))
        seals.append(seal)
    ResponseSeal.objects.bulk_create(seals, batch_size=1000)
    head.seq, head.hash = seq, prev
    head.save(update_fields=["seq", "hash"])
    return len(seals)


def sealed_response_ids(*, organization_id: int, response_ids: list[int]) -> set[int]:
    return set(
        ResponseSeal.objects.for_organization(organization_id)
        .filter(response_id__in=response_ids)
        .values_list("response_id", flat=True)
    )


@dataclass
class SealReport:
    organization_id: int
    checked: int = 0
    head_hash: str = chain.GENESIS
    head_seq: int = 0
    altered: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.problems or self.altered or self.dropped)

    def as_metadata(self) -> dict[str, object]:
        return {
            "sealed_responses": self.checked,
            "chain_length": self.head_seq,
            "chain_head": self.head_hash,
            "intact": self.ok,
            "altered_response_ids": self.altered[:100],
            "dropped_response_ids": self.dropped[:100],
            "problems": self.problems[:20],
        }


def response_seals_verify(*, organization_id: int, batch: int = 2000) -> SealReport:
    """Walks the seal chain (every hash and number in sequence, the head last) and compares each
    sealed response's latest digest with its content now: changed is altered, gone is dropped."""
    report = SealReport(organization_id=organization_id)
    latest: dict[int, str] = {}
    expected_prev, expected_seq = chain.GENESIS, 1
    seals = ResponseSeal.objects.for_organization(organization_id).order_by("seq")
    for seal in seals.iterator(chunk_size=batch):
        if seal.seq != expected_seq:
            report.problems.append(f"seals #{expected_seq}..#{seal.seq - 1} are missing")
        if seal.prev_hash != expected_prev or chain.link(seal.prev_hash, seal_payload(seal)) != seal.hash:
            report.problems.append(f"seal #{seal.seq} was altered")
        latest[seal.response_id] = seal.digest
        expected_prev, expected_seq = seal.hash, seal.seq + 1
    head = ResponseSealHead.objects.filter(organization_id=organization_id).first()
    report.head_seq = head.seq if head is not None else 0
    report.head_hash = head.hash if head is not None else chain.GENESIS
    if report.head_seq != expected_seq - 1 or report.head_hash != expected_prev:
        report.problems.append(
            f"the seals end at #{expected_seq - 1} but the head records #{report.head_seq}"
        )
    report.checked = len(latest)
    if _digest_source and latest:
        ids = sorted(latest)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            now = _digest_source[0](organization_id, chunk)
            for response_id in chunk:
                if response_id not in now:
                    report.dropped.append(response_id)
                elif now[response_id] != latest[response_id]:
                    report.altered.append(response_id)
    return report
