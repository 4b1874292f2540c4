"""Notifications: what cases and alerts tell people (loop.signals.notification_requested), delivered to
the in-app inbox, by email, and to the organization's team chat robots, plus the daily and weekly digest."""
