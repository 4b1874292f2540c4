"""The strict default manager: a tenant query that does not say whose rows it wants is an error."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count, Prefetch

from cxm.tenancy.models import ApiKey, Membership, UnscopedQuery
from cxm.tenancy.roles import Role
from cxm.tenancy.services import api_key_create
from cxm.tenancy.tenant import Tenant, organization_of, request_tenant, tenant_allows, tenant_of
from surveys import services as survey_services
from surveys.models import Question, Survey


@pytest.fixture
def two_surveys(organization: Any, other_organization: Any) -> tuple[Survey, Survey]:
    mine = survey_services.survey_create_from_template(organization=organization, template="nps")
    theirs = survey_services.survey_create_from_template(organization=other_organization, template="nps")
    return mine, theirs


EVALUATIONS = {
    "list": lambda qs: list(qs),
    "len": lambda qs: len(qs),
    "bool": lambda qs: bool(qs),
    "index": lambda qs: qs[0],
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "last": lambda qs: qs.last(),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "aggregate": lambda qs: qs.aggregate(n=Count("id")),
    "values": lambda qs: list(qs.values("id")),
    "values_list": lambda qs: list(qs.values_list("id", flat=True)),
    "in_bulk": lambda qs: qs.in_bulk([1, 2]),
    "iterator": lambda qs: list(qs.iterator()),
    "update": lambda qs: qs.update(name="x"),
    "delete": lambda qs: qs.delete(),
    "get_or_create": lambda qs: qs.get_or_create(name="x"),
    "update_or_create": lambda qs: qs.update_or_create(name="x"),
    "contains": lambda qs: qs.contains(Survey(pk=1)),
    "explain": lambda qs: qs.explain(),
    "subquery": lambda qs: list(Question.objects.unscoped().filter(survey__in=qs)),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EVALUATIONS))
def test_an_unscoped_query_is_refused(two_surveys: Any, name: str) -> None:
    evaluate = EVALUATIONS[name]
    with pytest.raises(UnscopedQuery, match=r"Survey\.objects: .*for_organization\(organization\)"):
        evaluate(Survey.objects.filter(status="draft").order_by("id"))
    # Nothing was touched by the refused write.
    assert Survey.objects.unscoped().count() == 2
    assert set(Survey.objects.unscoped().values_list("name", flat=True)) != {"x"}


@pytest.mark.django_db
def test_the_door_and_the_hatch(two_surveys: Any, organization: Any, other_organization: Any) -> None:
    mine, theirs = two_surveys
    assert list(Survey.objects.for_organization(organization)) == [mine]
    assert list(Survey.objects.for_organization(other_organization.pk).values_list("pk", flat=True)) == [
        theirs.pk
    ]
    # The scope survives chaining, slicing, values and subqueries.
    scoped = Survey.objects.for_organization(organization).filter(status=mine.status).order_by("-id")
    assert scoped.tenant_scope == "organization"
    assert scoped.values("id")[:1].get()["id"] == mine.pk
    assert (
        Question.objects.for_organization(organization).filter(survey__in=scoped).count()
        == mine.questions.count()
    )
    assert sorted(Survey.objects.unscoped().values_list("pk", flat=True)) == sorted([mine.pk, theirs.pk])
    assert Survey.objects.for_organization(organization).update(name="Renamed") == 1
    assert Survey.objects.unscoped().get(pk=theirs.pk).name != "Renamed"
    # An empty queryset cannot leak, so `none()` needs no scope.
    assert list(Survey.objects.none()) == [] and Survey.objects.none().count() == 0


@pytest.mark.django_db
def test_rows_reached_through_a_loaded_object_are_scoped_by_it(two_surveys: Any, organization: Any) -> None:
    mine, _theirs = two_surveys
    survey = Survey.objects.for_organization(organization).get(pk=mine.pk)
    expected = list(
        Question.objects.for_organization(organization).filter(survey=mine).order_by("position", "id")
    )
    assert list(survey.questions.order_by("position", "id")) == expected
    assert survey.questions.count() == len(expected) > 0
    assert list(organization.surveys_survey_set.all()) == [mine]
    # Prefetches, default and with a queryset of their own.
    prefetched = Survey.objects.for_organization(organization).prefetch_related("questions").get()
    assert list(prefetched.questions.all()) == list(survey.questions.all())
    ordered = (
        Survey.objects.for_organization(organization)
        .prefetch_related(Prefetch("questions", queryset=Question.objects.order_by("-position", "-id")))
        .get()
    )
    assert list(ordered.questions.all()) == list(reversed(expected))
    backwards = Question.objects.for_organization(organization).prefetch_related("survey").first()
    assert backwards is not None and backwards.survey == mine
    # Foreign keys, refresh_from_db and the deletion collector use the plain base manager.
    question = expected[0]
    question.refresh_from_db()
    assert Question._base_manager.get(pk=question.pk).survey == mine
    mine.delete()
    assert not Question.objects.for_organization(organization).exists()


@pytest.mark.django_db
def test_writes_by_object_and_lookups_by_organization_are_allowed(organization: Any, owner: Any) -> None:
    survey = Survey.objects.create(organization=organization, name="Made")
    Question.objects.bulk_create(
        [Question(organization=organization, survey=survey, kind="text", position=1)]
    )
    question = survey.questions.get()
    question.position = 5
    Question.objects.bulk_update([question], ["position"])
    assert Question.objects.for_organization(organization).get().position == 5
    same, created = Survey.objects.get_or_create(organization=organization, name="Made")
    assert (same, created) == (survey, False)
    membership, created = Membership.objects.update_or_create(
        organization=organization, user=owner, defaults={"role": Role.VIEWER}
    )
    assert not created and membership.role == Role.VIEWER
    # Django's unique checks see every organization's rows, like the database constraint.
    key, _plaintext = api_key_create(organization=organization, name="k")
    key.full_clean()
    clash = ApiKey(organization=organization, name="k2", prefix=key.prefix, hashed_key="f" * 64)
    with pytest.raises(Exception, match="prefix"):
        clash.full_clean()


@pytest.mark.django_db
def test_memberships_are_strict_too(owner: Any, organization: Any) -> None:
    with pytest.raises(UnscopedQuery):
        Membership.objects.filter(user=owner).first()
    assert Membership.objects.for_organization(organization).get().user == owner


@pytest.mark.django_db
def test_admin_lists_every_organization(
    client: Any, django_user_model: Any, organization: Any, other_organization: Any, owner: Any
) -> None:
    api_key_create(organization=organization, name="acme key")
    other, _plaintext = api_key_create(organization=other_organization, name="globex key")
    staff = django_user_model.objects.create_superuser("staff", "staff@x.test", "pw-123456!")
    client.force_login(staff)
    listing = client.get("/admin/tenancy/apikey/")
    assert listing.status_code == 200
    assert b"acme key" in listing.content and b"globex key" in listing.content
    change = client.get(f"/admin/tenancy/apikey/{other.pk}/change/")
    assert change.status_code == 200 and b"globex key" in change.content
    # The organization page shows its memberships inline.
    inline = client.get(f"/admin/tenancy/organization/{organization.pk}/change/")
    assert inline.status_code == 200 and owner.username.encode() in inline.content
    invitations = client.get("/admin/tenancy/memberinvitation/")
    assert invitations.status_code == 200


@pytest.mark.django_db
def test_one_permission_decision(organization: Any, owner: Any) -> None:
    membership = Membership.objects.for_organization(organization).get()
    read_only, _ = api_key_create(organization=organization, name="ro", read_only=True)
    read_write, _ = api_key_create(organization=organization, name="rw")
    for role in Role.values:
        membership.role = role
        tenant = Tenant(organization=organization, membership=membership)
        assert tenant.allows("view")
        assert tenant.allows("edit") == (role != Role.VIEWER)
        assert tenant.allows("manage_owners") == (role == Role.OWNER)
    assert Tenant(organization=organization, api_key=read_only).allows("export")
    assert not Tenant(organization=organization, api_key=read_only).allows("edit")
    assert Tenant(organization=organization, api_key=read_write).allows("edit")
    assert not Tenant(organization=organization, api_key=read_write).allows("manage_members")
    assert not tenant_allows(None, "view")
    with pytest.raises(KeyError):
        Tenant(organization=organization, api_key=read_write).allows("fly")


@pytest.mark.django_db
def test_the_request_carries_a_typed_tenant(owner_client: Any, organization: Any, rf: Any) -> None:
    seen: list[Tenant] = []
    from cxm.tenancy.middleware import CurrentOrganizationMiddleware

    def view(request: Any) -> Any:
        from django.http import HttpResponse

        seen.append(tenant_of(request))
        return HttpResponse(organization_of(request).name)

    request = rf.get("/dashboards/")
    request.user = owner_client.session and Membership.objects.for_organization(organization).get().user
    request.session = {}
    response = CurrentOrganizationMiddleware(view)(request)
    assert response.content == b"Acme"
    assert seen[0].organization == organization and seen[0].role == Role.OWNER and seen[0].api_key is None
    bare = rf.get("/dashboards/")
    assert request_tenant(bare) is None
    with pytest.raises(LookupError):
        tenant_of(bare)
