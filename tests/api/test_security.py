"""What the API and its pages trust: no inline script under the CSP, no bad input as a 500."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_api_docs_page_has_no_inline_script_and_loads_its_script_from_this_origin(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)  # nothing inline
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _body in scripts]
    assert all(src.startswith("/") for src in sources)  # 'self' under the CSP
    own = [src for src in sources if "script" in src and "static" not in src]
    assert len(own) == 1
    script = client.get(own[0].replace("&amp;", "&"))
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "/api/v1/schema/" in script.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
