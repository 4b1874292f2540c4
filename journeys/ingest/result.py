"""What a batch did, as the API and the import summaries report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    customers_created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "customers_created": self.customers_created,
            "rejected": len(self.errors),
            "errors": self.errors,
        }
