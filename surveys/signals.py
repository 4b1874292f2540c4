"""What surveys tells higher layers, without importing them."""

from django.dispatch import Signal

# Sent after commit when a response was recorded or updated. kwargs: organization_id: int, response_id: int
response_recorded = Signal()
