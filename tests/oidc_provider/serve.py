"""Runs the test OpenID Connect provider: `python -m tests.oidc_provider.serve PORT CLIENT_ID
CLIENT_SECRET REDIRECT_URI`. Prints "ready" once it listens."""

from __future__ import annotations

import os
import sys
import tempfile


def main() -> None:
    port, client_id, client_secret, redirect_uri = sys.argv[1:5]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    os.environ["OIDC_PROVIDER_RSA_KEY"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    os.environ["OIDC_PROVIDER_ISSUER"] = f"http://127.0.0.1:{port}/o"
    os.environ["OIDC_PROVIDER_DB"] = os.path.join(tempfile.mkdtemp(prefix="oidc-provider-"), "db.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    User = get_user_model()
    for email in (
        "alice@acme.test",
        "bob@acme.test",
        "expired@acme.test",
        "otherapp@acme.test",
        "forged@acme.test",
        "eve@elsewhere.test",
    ):
        User.objects.create_user(username=email, email=email, password="provider-pw")
    Application.objects.create(
        name="cxm",
        client_id=client_id,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    print("ready", flush=True)
    run("127.0.0.1", int(port), get_wsgi_application(), threading=True, server_cls=WSGIServer)


if __name__ == "__main__":
    main()
