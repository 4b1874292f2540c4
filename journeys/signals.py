"""What journeys tells higher layers, without importing them."""

from django.dispatch import Signal

# Sent after commit when customers, interactions or transactions of an organization changed
# (bulk ingest, CSV import, erase). kwargs: organization_id: int, kind: "customers" | "interactions" | "transactions"
# (or another event kind registered in journeys.ingest.spec), and customer_ids: list[int] | None: the
# customers the change touched (every customer an ingest batch named, created or updated; the erased or
# deleted one), or None when it is not known per customer (a CSV import tells once at its end, an
# exchange rate changes every order's value): a listener then treats every customer as touched.
# One send per ingest batch (per committed transaction).
customer_data_changed = Signal()

# Sent after commit when a customer's personal data was erased, so higher layers can scrub what they
# hold about them (hidden fields, free text). kwargs: organization_id: int, customer_id: int
customer_erased = Signal()
