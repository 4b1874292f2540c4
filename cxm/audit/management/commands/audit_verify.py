"""Verifies the audit chain (and the response seals) of every organization, or of one (--org slug).
Exits with status 1 when anything was changed or removed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cxm.audit.sealing import response_seals_verify
from cxm.audit.services import audit_chain_verify, audit_organizations
from cxm.tenancy.models import Organization


class Command(BaseCommand):
    help = "Verify the hash chains of the audit trail and of the sealed survey responses."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", help="only this organization (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("org"):
            organization = Organization.objects.filter(slug=options["org"]).first()
            if organization is None:
                raise CommandError(f"No organization with the slug {options['org']!r}.")
            ids = [organization.pk]
        else:
            ids = audit_organizations()
        broken = 0
        for organization_id in ids:
            report = audit_chain_verify(organization_id=organization_id)
            seals = response_seals_verify(organization_id=organization_id)
            for problem in report.problems:
                self.stdout.write(f"organization {organization_id}: audit: {problem}")
            for problem in seals.problems:
                self.stdout.write(f"organization {organization_id}: responses: {problem}")
            for response_id in seals.altered:
                self.stdout.write(
                    f"organization {organization_id}: response {response_id} altered since sealed"
                )
            for response_id in seals.dropped:
                self.stdout.write(
                    f"organization {organization_id}: response {response_id} dropped since sealed"
                )
            if report.ok and seals.ok:
                self.stdout.write(
                    f"organization {organization_id}: {report.checked} audit events and "
                    f"{seals.checked} sealed responses intact"
                )
            else:
                broken += 1
        if broken:
            raise CommandError(f"{broken} organization(s) with a broken chain.", returncode=1)
