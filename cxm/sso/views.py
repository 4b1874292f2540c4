"""Single sign-on: the login entry of an organization (/sso/<slug>/), the provider's callback, and
Settings → Single sign-on. The code flow itself is mozilla-django-oidc's views and backend."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from cxm.tenancy.middleware import SESSION_ORG_KEY
from cxm.tenancy.models import Organization
from cxm.tenancy.scoping import organization_required
from cxm.tenancy.tenant import organization_of

from . import services
from .backend import provider_context
from .forms import SsoSettingsForm, SsoStartForm
from .models import SsoProvider

SESSION_STATES = "sso_states"


def _enabled_provider(organization_id: int) -> SsoProvider:
    provider = SsoProvider.objects.for_organization(organization_id).filter(enabled=True).first()
    if provider is None:
        raise Http404
    return provider


class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the person to their organization's provider."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # no global provider

    def get(self, request: HttpRequest, slug: str = "") -> HttpResponse:  # type: ignore[override]
        if not slug:
            form = SsoStartForm(request.GET)
            if not form.is_valid():
                return render(request, "sso/start.html", {"form": form}, status=400)
            return redirect("sso-start", slug=form.cleaned_data["organization"])
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise Http404
        provider = _enabled_provider(organization.pk)
        self.OIDC_OP_AUTH_ENDPOINT = provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = provider.client_id
        response = super().get(request)
        # Which organization each pending login is for: the callback trusts only this.
        states = request.session.get(SESSION_STATES, {})
        for state in request.session.get("oidc_states", {}):
            states.setdefault(state, organization.pk)
        request.session[SESSION_STATES] = states
        return response


class SsoCallbackView(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        state = request.GET.get("state", "")
        organization_id = request.session.get(SESSION_STATES, {}).pop(state, None)
        request.session.modified = True
        if organization_id is None:
            return self._refused(_("This sign-in link has expired or was already used. Start again."))
        self.organization_id = organization_id
        provider = _enabled_provider(organization_id)
        with provider_context(provider):
            return super().get(request)  # type: ignore[no-any-return]

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        self.request.session[SESSION_ORG_KEY] = self.organization_id
        return response  # type: ignore[no-any-return]

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "sso_refusal", "") or self.request.GET.get("error", "")
        return self._refused(reason)

    def _refused(self, reason: str) -> HttpResponse:
        return render(self.request, "sso/refused.html", {"reason": reason}, status=403)


@organization_required("manage_organization")
def settings_sso(request: HttpRequest) -> HttpResponseBase:
    organization = organization_of(request)
    provider = services.sso_provider_of(organization=organization)
    initial = {}
    if provider is not None:
        initial = {
            "enabled": provider.enabled,
            "issuer": provider.issuer,
            "client_id": provider.client_id,
            "default_role": provider.default_role,
            "allowed_domains": ", ".join(provider.allowed_domains),
            "password_login_disabled": provider.password_login_disabled,
        }
    form = SsoSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.sso_provider_save(organization=organization, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Single sign-on settings saved."))
            return redirect("settings-sso")
    login_url = request.build_absolute_uri(f"/sso/{organization.slug}/")
    callback_url = request.build_absolute_uri("/sso/callback/")
    return render(
        request,
        "sso/settings_sso.html",
        {
            "form": form,
            "provider": provider,
            "section": "sso",
            "login_url": login_url,
            "callback_url": callback_url,
        },
    )
