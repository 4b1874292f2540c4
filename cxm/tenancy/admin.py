from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from .models import ApiKey, MemberInvitation, Membership, Organization


class UnscopedAdminMixin:
    """The admin is for staff, who see every organization: its querysets (lists, edits, deletes,
    related choices) go through the named hatch, `unscoped()`, instead of the strict default manager."""

    model: Any

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = self.model._default_manager.unscoped()
        ordering = self.get_ordering(request)  # type: ignore[attr-defined]
        return queryset.order_by(*ordering) if ordering else queryset  # type: ignore[no-any-return]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        manager = db_field.remote_field.model._default_manager  # type: ignore[union-attr]
        if "queryset" not in kwargs and hasattr(manager, "unscoped"):
            kwargs["queryset"] = manager.unscoped()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc,no-any-return]


class MembershipInline(UnscopedAdminMixin, admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "default_language", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "prefix", "read_only", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "hashed_key"]


@admin.register(MemberInvitation)
class MemberInvitationAdmin(UnscopedAdminMixin, admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "accepted_at"]
    readonly_fields = ["token_hash"]
