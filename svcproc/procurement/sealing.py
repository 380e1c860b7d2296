"""Sealing bids: what the bidder's receipt digest covers, and how the opening checks it."""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from ..core import crypto

PURPOSE = "sealed-bid"


@dataclass
class SealedContent:
    price_fen: int
    declaration: str
    salt: str
    document_sha256: list[str]

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> SealedContent:
        return cls(**json.loads(raw.decode("utf-8")))


def new_content(price_fen: int, declaration: str, document_sha256: list[str]) -> SealedContent:
    # The random salt keeps the digest from betraying the price: without it, anyone seeing a
    # receipt could try every price up to the ceiling.
    return SealedContent(int(price_fen), declaration, secrets.token_hex(16), sorted(document_sha256))


def digest(tender_id: int, organization_id: int, submitted_at_iso: str, content: SealedContent) -> str:
    canonical = json.dumps({
        "tender": tender_id, "organization": organization_id, "submitted_at": submitted_at_iso,
        "price_fen": content.price_fen, "declaration": content.declaration, "salt": content.salt,
        "documents": sorted(content.document_sha256),
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(content: SealedContent) -> bytes:
    return crypto.encrypt(PURPOSE, content.to_json())


def unseal(sealed: bytes) -> SealedContent:
    return SealedContent.from_json(crypto.decrypt(PURPOSE, sealed))


# Before the opening nobody but the bidder learns that a bid exists: the trail's listings leave out
# who submitted, withdrew or resubmitted a bid (and its receipt) until the tender is opened.
SEALED_EVENTS = ("bid.submitted", "bid.withdrawn", "bid.resubmitted")


def _unopened_bid_events():
    import sqlalchemy as sa

    from ..audit.models import AuditEvent
    from .models import Bid, Tender

    unopened = (sa.select(sa.cast(Bid.id, sa.String)).join(Tender, Tender.id == Bid.tender_id)
                .where(Tender.opened_at.is_(None)))
    return sa.and_(AuditEvent.object_type == "bid", AuditEvent.action.in_(SEALED_EVENTS),
                   AuditEvent.object_id.in_(unopened))


def _register() -> None:
    from ..audit.services import conceal

    conceal(_unopened_bid_events)


_register()
