from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cxm.core.clientip import client_ip_of

from . import services
from .forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    InviteMemberForm,
    LanguageForm,
    LoginForm,
    MemberRoleForm,
    OrganizationSettingsForm,
)
from .middleware import SESSION_ORG_KEY
from .models import ApiKey, MemberInvitation, Membership
from .scoping import organization_required, scoped, scoped_get_or_404
from .selectors import api_keys_for_organization, organization_settings
from .tenant import organization_of, tenant_of

logger = logging.getLogger("cxm.tenancy")


class AttemptLimit:
    """Failed attempts counted per (client IP, account) and per client IP, LOGIN_RATE_WINDOW seconds
    at a time. Nothing is counted per account alone: a stranger failing from elsewhere never locks
    the account's owner out; each address is slowed on its own."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def _keys(self, request: HttpRequest, account: str) -> tuple[str, str]:
        ip = client_ip_of(request.META)
        subject = account.strip().lower()[:254]
        return f"{self.scope}:{ip}:{subject}", f"{self.scope}:{ip}"

    def blocked(self, request: HttpRequest, account: str) -> bool:
        limit = settings.LOGIN_RATE_LIMIT
        per_account, per_ip = self._keys(request, account)
        try:
            counts = cache.get_many([per_account, per_ip])
        except Exception:  # noqa: BLE001  (a limiter that cannot count lets people in)
            return False
        return int(counts.get(per_account) or 0) >= limit or int(counts.get(per_ip) or 0) >= limit * 5

    def record(self, request: HttpRequest, account: str) -> None:
        for key in self._keys(request, account):
            try:
                _bump(key, settings.LOGIN_RATE_WINDOW)
            except Exception:  # noqa: BLE001
                logger.warning("attempt limit: the cache is unreachable; attempt not counted", exc_info=True)


def _bump(key: str, window: int) -> int:
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


TOO_MANY = gettext_lazy("Too many login attempts. Please wait a few minutes and try again.")
TOO_MANY_RESETS = gettext_lazy(
    "Too many requests from your address. Please wait a few minutes and try again."
)
login_attempts = AttemptLimit("login")
reset_attempts = AttemptLimit("password-reset")


class RateLimitedLoginView(LoginView):
    """Django's login, with failed attempts limited per (IP, username) and per IP (`AttemptLimit`)."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username") or ""
        if login_attempts.blocked(request, username):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, TOO_MANY)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:
            login_attempts.record(request, username)
        return response


class RateLimitedPasswordResetView(PasswordResetView):
    """Django's password reset; each request sends an email, so requests are limited per
    (IP, email) and per IP like failed logins."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = request.POST.get("email") or ""
        if reset_attempts.blocked(request, email):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, TOO_MANY_RESETS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        reset_attempts.record(request, email)
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin's login, with the same limits as the site's login (one counter)."""
    from django.contrib import admin

    username = request.POST.get("username") or "" if request.method == "POST" else ""
    if request.method == "POST" and login_attempts.blocked(request, username):
        return HttpResponse(str(TOO_MANY), status=429, content_type="text/plain; charset=utf-8")
    response = admin.site.login(request)
    if request.method == "POST" and not request.user.is_authenticated:
        login_attempts.record(request, username)
    return response


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect("dashboard-overview")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or fallback
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switches the interface language; remembered on the user when signed in, in a cookie otherwise."""
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(_safe_next(request, "/"))
    if not form.is_valid():
        return response
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_set_preferences(user=request.user, language=language)  # type: ignore[arg-type]
        request.session["user_language"] = language
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@require_POST
@organization_required("view")
def switch_organization(request: HttpRequest) -> HttpResponse:
    # The user's own memberships, across organizations: that is what switching chooses from.
    membership = get_object_or_404(
        Membership.objects.unscoped(), user=request.user, organization_id=request.POST.get("organization")
    )
    request.session[SESSION_ORG_KEY] = membership.organization_id
    services.user_set_preferences(user=request.user, organization=membership.organization)  # type: ignore[arg-type]
    return redirect("home")


@require_POST
@organization_required("manage_organization")
def widget_secret_rotate(request: HttpRequest) -> HttpResponse:
    services.organization_widget_secret_rotate(organization=organization_of(request))
    messages.success(request, _("Widget secret rotated. Update it on your servers."))
    return redirect("settings")


@organization_required("manage_organization")
def settings_general(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    initial = organization_settings(organization=organization)
    form = OrganizationSettingsForm(request.POST or None, instance=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.organization_settings_update(
            organization=organization,
            fields={name: form.cleaned_data[name] for name in form.Meta.fields},
            settings_values={name: form.cleaned_data[name] for name in form.setting_fields},
        )
        messages.success(request, _("Settings saved."))
        return redirect("settings")
    return render(request, "tenancy/settings_general.html", {"form": form, "section": "general"})


@organization_required("manage_members")
def settings_members(request: HttpRequest) -> HttpResponse:
    form = InviteMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_invite(
                organization=organization_of(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,  # type: ignore[arg-type]
                actor_role=tenant_of(request).role or "",
            )
        except PermissionDenied as exc:
            form.add_error("role", str(exc) or _("Not allowed."))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("settings-members")
    members = scoped(request, Membership).select_related("user").order_by("user__email")
    invitations = scoped(request, MemberInvitation).filter(accepted_at__isnull=True)
    return render(
        request,
        "tenancy/settings_members.html",
        {
            "form": form,
            "members": members,
            "invitations": invitations,
            "section": "members",
            "role_form": MemberRoleForm(),
        },
    )


@require_POST
@organization_required("manage_members")
def member_update(request: HttpRequest, pk: int) -> HttpResponse:
    target = scoped_get_or_404(request, Membership, pk=pk)
    actor_role = tenant_of(request).role or ""  # the guard let only members with a role in
    try:
        if request.POST.get("action") == "remove":
            services.membership_remove(membership=target, actor_role=actor_role)
            messages.success(request, _("Member removed."))
        else:
            form = MemberRoleForm(request.POST)
            if form.is_valid():
                services.membership_set(
                    organization=target.organization,
                    user=target.user,
                    role=form.cleaned_data["role"],
                    actor_role=actor_role,
                )
                messages.success(request, _("Role updated."))
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])) or _("Not allowed."))
    return redirect("settings-members")


@organization_required("manage_api_keys")
def settings_api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _key, new_key = services.api_key_create(
            organization=organization_of(request),
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            created_by=request.user,  # type: ignore[arg-type]
        )
        form = ApiKeyForm()
    keys = api_keys_for_organization(organization=organization_of(request))
    return render(
        request,
        "tenancy/settings_api_keys.html",
        {
            "form": form,
            "keys": keys,
            "new_key": new_key,
            "section": "api_keys",
            "site_url": settings.SITE_URL,
        },
    )


@require_POST
@organization_required("manage_api_keys")
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = scoped_get_or_404(request, ApiKey, pk=pk)
    services.api_key_revoke(api_key=key)
    messages.success(request, _("Key %(name)s revoked.") % {"name": key.name})
    return redirect("settings-api-keys")


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_find(token=token)
    if invitation is None:
        return render(request, "registration/invitation_invalid.html", status=404)
    User = get_user_model()
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated:
        if request.method == "POST":
            services.invitation_accept(invitation=invitation, user=request.user)
            request.session[SESSION_ORG_KEY] = invitation.organization_id
            messages.success(request, _("You joined %(org)s.") % {"org": invitation.organization.name})
            return redirect("home")
        return render(
            request, "registration/invitation_accept.html", {"invitation": invitation, "form": None}
        )
    if existing is not None:
        messages.info(request, _("Sign in to accept the invitation."))
        return redirect(f"{reverse('login')}?next={request.path}")
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            email=invitation.email, password=form.cleaned_data["password"], name=form.cleaned_data["name"]
        )
        services.invitation_accept(invitation=invitation, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_ORG_KEY] = invitation.organization_id
        return redirect("home")
    return render(request, "registration/invitation_accept.html", {"invitation": invitation, "form": form})
