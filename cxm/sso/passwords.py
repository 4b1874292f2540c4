"""Password login, refused for members of an organization that turned it off (they sign in with
its provider). Raising PermissionDenied stops Django from trying the other backends."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .services import password_login_refused

# Set on the request so the login form can say why, instead of "wrong password".
REFUSED_ATTR = "password_login_refused"


class PasswordBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and password_login_refused(user=user):
            if request is not None:
                setattr(request, REFUSED_ATTR, True)
            raise PermissionDenied
        return user
