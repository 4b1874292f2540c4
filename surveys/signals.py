"""What surveys tells higher layers, without importing them."""

from django.dispatch import Signal

# Sent after commit when responses were recorded or updated: one send per transaction and
# organization (a group commit records many at once). kwargs: organization_id: int,
# response_ids: list[int]
response_recorded = Signal()
