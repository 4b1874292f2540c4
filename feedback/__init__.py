"""Unsolicited feedback (reviews, tickets, chats, social posts) and the text analytics of every comment:
open-text answers of surveys and feedback records. Sits above `surveys` (it reads responses) and below
`metrics`."""
