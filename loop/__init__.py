"""Closing the loop: what happens after a customer answered. Webhooks (signed, retried, logged) to the
integrator's systems; alert rules, cases and notifications build on them. Sits above `metrics`."""
