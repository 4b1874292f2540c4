"""What journeys tells higher layers, without importing them."""

from django.dispatch import Signal

# Sent after commit when customers, interactions or transactions of an organization changed
# (bulk ingest, CSV import, erase). kwargs: organization_id: int, kind: "customers" | "interactions" | "transactions"
customer_data_changed = Signal()

# Sent after commit when a customer's personal data was erased, so higher layers can scrub what they
# hold about them (hidden fields, free text). kwargs: organization_id: int, customer_id: int
customer_erased = Signal()
