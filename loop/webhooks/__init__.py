"""Outbound webhooks: Standard Webhooks signatures, the address guard, and the HTTP delivery."""
