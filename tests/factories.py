"""factory_boy factories with the organization as the root. Apps add theirs beside these
(tests/journeys/factories.py, tests/surveys/factories.py).

How a test builds its data: a few rows, through the factories (a child names its parent, the
organization follows); `tests/journeys/helpers.make_responses` and the shorthands of
`tests/metrics/data.py` are thin layers over them. A realistic dataset in bulk is
`tests/metrics/data.seed_dataset` (bulk_create, the shape the dashboards read), seeded once per module
with `tests/seeding.seeded_once` when several tests read it."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from cxm.tenancy.models import Membership, Organization
from cxm.tenancy.roles import Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    time_zone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or "pw-123456!")
        if create:
            self.save(update_fields=["password"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER
