"""A real OpenID Connect provider on loopback (tests/oidc_provider), one per test session."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "cxm-acme"
CLIENT_SECRET = "s3cret-for-the-loopback-provider"
REDIRECT_URI = "http://testserver/sso/callback/"


@dataclass
class Provider:
    issuer: str
    base: str

    def sign_in(self, authorize_url: str, email: str) -> str:
        """What a person's browser does at the provider: sign in, then follow the authorization
        request; returns where the provider sends them back (our callback, with code and state)."""
        browser = requests.Session()
        signed_in = browser.post(
            f"{self.base}/login/",
            data={"username": email, "password": "provider-pw", "next": "/"},
            allow_redirects=False,
            timeout=20,
        )
        assert signed_in.status_code == 302, signed_in.text
        answer = browser.get(authorize_url, allow_redirects=False, timeout=20)
        assert answer.status_code == 302, answer.text[:500]
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI), location
        parsed = urlparse(location)
        return f"{parsed.path}?{parsed.query}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.oidc_provider.serve",
            str(port),
            CLIENT_ID,
            CLIENT_SECRET,
            REDIRECT_URI,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the provider stopped: {process.stdout.read() if process.stdout else ''}")
            try:
                if requests.get(f"{base}/o/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise RuntimeError("the provider did not start")
        yield Provider(issuer=f"{base}/o", base=base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
