"""The provider's validator, with test accounts whose identity tokens come out wrong the way a
misconfigured or hostile provider would send them: expired, for another audience, badly signed."""

from __future__ import annotations

import json
import time
from typing import Any

from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator

FORGER_KEY = jwk.JWK.generate(kty="RSA", size=2048)


class TamperingValidator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {"email": user.email, "email_verified": True, "name": user.first_name or user.username}

    def finalize_id_token(self, id_token: Any, token: Any, token_handler: Any, request: Any) -> str:
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        who = request.user.username
        key = request.client.jwk_key
        if who.startswith("expired@"):
            id_token["iat"], id_token["exp"] = int(time.time()) - 7200, int(time.time()) - 3600
        elif who.startswith("otherapp@"):
            id_token["aud"] = "another-application"
        elif who.startswith("forged@"):
            key = FORGER_KEY  # the header still names the provider's key
        header = {"typ": "JWT", "alg": "RS256", "kid": request.client.jwk_key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = request.id_token = saved
        return str(signed.serialize())
