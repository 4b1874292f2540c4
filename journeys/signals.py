"""What journeys tells higher layers, without importing them."""

from django.dispatch import Signal

# Sent after commit when customers, interactions or transactions of an organization changed
# (bulk ingest, CSV import, erase). kwargs: organization_id: int, kind: "customers" | "interactions" | "transactions"
customer_data_changed = Signal()
