"""Team chat robots, each in its vendor's own message format and signing scheme:

- Slack incoming webhook: `{"text", "blocks"}` (a header, a mrkdwn section, a link button); no signing
  (the URL is the secret). Answers 200 `ok`.
- Microsoft Teams incoming webhook (or a Workflows "post to a channel when a webhook request is
  received"): `{"type": "message", "attachments": [an Adaptive Card 1.4]}`. Answers 200 or 202.
- WeCom (企业微信) group robot: `{"msgtype": "markdown", "markdown": {"content"}}` (at most 4096 bytes);
  answers `{"errcode": 0}`.
- DingTalk (钉钉) custom robot with 加签: `timestamp` (ms) and `sign` =
  urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))) in the URL's query;
  body `{"msgtype": "markdown", "markdown": {"title", "text"}}`; answers `{"errcode": 0}`.
- Feishu/Lark (飞书) custom bot with 签名校验: `timestamp` (s, a string) and `sign` =
  base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) in the body beside
  `{"msg_type": "interactive", "card"}`; answers `{"code": 0}`.

The vendors answer HTTP 200 with an error code in the body for a refused message, so the body is read
too (`answer_verdict`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from ..models import ChannelKind
from .messages import Message

WECOM_MARKDOWN_LIMIT = 4096  # bytes
# Vendor error codes for "too many messages": worth a later retry, unlike a refused message.
RATE_LIMITED_CODES = {45009, 130101, 9499, 11232}


@dataclass(frozen=True)
class RobotRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    lines = [_slack_escape(message.summary)] if message.summary else []
    lines += [f"*{_slack_escape(label)}:* {_slack_escape(value)}" for label, value in message.details]
    if message.comment:
        lines.append("> " + _slack_escape(message.comment).replace("\n", "\n> "))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": True}},
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    if message.url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.link_text[:75]},
                        "url": message.url,
                        "action_id": "open",
                    }
                ],
            }
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "cxm"}]})
    return {"text": message.title, "blocks": blocks}


def teams_payload(message: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True}
    ]
    if message.summary:
        body.append({"type": "TextBlock", "text": message.summary, "wrap": True})
    if message.details:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": value} for label, value in message.details],
            }
        )
    if message.comment:
        body.append({"type": "TextBlock", "text": f"“{message.comment}”", "wrap": True, "isSubtle": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "lang": "zh-CN" if message.language.startswith("zh") else "en",
        "body": body,
    }
    if message.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": message.link_text, "url": message.url}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def _markdown_lines(message: Message) -> list[str]:
    lines = [f"### {message.title}"]
    if message.summary:
        lines.append(message.summary)
    lines += [f"**{label}**: {value}" for label, value in message.details]
    if message.comment:
        lines.append("> " + message.comment.replace("\n", " "))
    if message.url:
        lines.append(f"[{message.link_text}]({message.url})")
    return lines


def _truncate_bytes(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", "ignore") + "…"


def wecom_payload(message: Message) -> dict[str, Any]:
    content = _truncate_bytes("\n".join(_markdown_lines(message)), WECOM_MARKDOWN_LIMIT)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(message: Message) -> dict[str, Any]:
    # DingTalk's markdown needs a blank line to break a line.
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.title, "text": "\n\n".join(_markdown_lines(message))},
    }


def feishu_payload(message: Message) -> dict[str, Any]:
    lines = [message.summary] if message.summary else []
    lines += [f"**{label}**: {value}" for label, value in message.details]
    if message.comment:
        lines.append(f"“{message.comment}”")
    elements: list[dict[str, Any]] = []
    if lines:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": "\n".join(lines)}})
    if message.url:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": message.link_text},
                        "type": "primary",
                        "url": message.url,
                    }
                ],
            }
        )
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": message.title}, "template": "blue"},
            "elements": elements,
        },
    }


def dingtalk_sign(*, secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(*, secret: str, timestamp: int) -> str:
    """Feishu 签名校验: the key is "{timestamp}\\n{secret}" and the message is empty, base64."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


PAYLOADS = {
    ChannelKind.SLACK: slack_payload,
    ChannelKind.TEAMS: teams_payload,
    ChannelKind.WECOM: wecom_payload,
    ChannelKind.DINGTALK: dingtalk_payload,
    ChannelKind.FEISHU: feishu_payload,
}


def robot_request(
    *, kind: str, webhook_url: str, secret: str, message: Message, now: float | None = None
) -> RobotRequest:
    """The HTTP request that posts `message` to a robot of `kind`, signed when it has a secret."""
    now = time.time() if now is None else now
    payload = PAYLOADS[ChannelKind(kind)](message)
    url = webhook_url
    if kind == ChannelKind.DINGTALK and secret:
        timestamp_ms = int(now * 1000)
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}timestamp={timestamp_ms}&sign={dingtalk_sign(secret=secret, timestamp_ms=timestamp_ms)}"
    if kind == ChannelKind.FEISHU and secret:
        timestamp = int(now)
        payload = {
            "timestamp": str(timestamp),
            "sign": feishu_sign(secret=secret, timestamp=timestamp),
            **payload,
        }
    headers = {"content-type": "application/json; charset=utf-8", "user-agent": "cxm-notifications/1"}
    return RobotRequest(url=url, body=_json(payload), headers=headers)


def answer_verdict(*, kind: str, status_code: int | None, excerpt: str) -> str:
    """ "ok", "retry" (no answer, 408, 429, 5xx, or the vendor's rate limit) or "failed" (refused)."""
    if status_code is None or status_code in (408, 429) or status_code >= 500:
        return "retry"
    if not 200 <= status_code < 300:
        return "failed"
    if kind in (ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU):
        try:
            answer = json.loads(excerpt)
        except ValueError:
            return "ok"  # a proxy in front of the robot that answers plain text: HTTP said yes
        if not isinstance(answer, dict):
            return "ok"
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if code in (0, None):
            return "ok"
        return "retry" if code in RATE_LIMITED_CODES else "failed"
    return "ok"
