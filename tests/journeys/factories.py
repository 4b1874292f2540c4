"""Factories of journeys data, with the organization as the root."""

from __future__ import annotations

from datetime import UTC, datetime

import factory

from journeys.models import Channel, Customer, Interaction, Journey, Stage, Touchpoint, Transaction
from tests.factories import OrganizationFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    # Never the shape of a test's own ids ("C00001", "C2"): a factory customer beside them never collides.
    external_id = factory.Sequence(lambda n: f"customer-{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class JourneyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Journey {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    journey = factory.SubFactory(JourneyFactory)
    organization = factory.SelfAttribute("journey.organization")
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    stage = factory.SubFactory(StageFactory)
    organization = factory.SelfAttribute("stage.organization")
    name = factory.Sequence(lambda n: f"Touchpoint {n}")
    key = factory.Sequence(lambda n: f"tp-{n}")
    channel = Channel.WEBSITE
    position = factory.Sequence(lambda n: n)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    occurred_at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    kind = "visit"


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    order_id = factory.Sequence(lambda n: f"O{n:06d}")
    occurred_at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    amount = "42.50"
    currency = "USD"
