"""Event tables without foreign-key constraints; deletes of customers and touchpoints cascade in the database.

The ingest keeps every event tied to a real customer and touchpoint of its organization by
construction (journeys/ingest/__init__.py): it writes only ids it resolved in the organization and
locked FOR KEY SHARE, and these triggers make a delete that waited for such a batch reach the rows it
wrote (they run after the deleted row, so they see what a concurrent batch committed).
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = """
CREATE FUNCTION journeys_customer_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gone) THEN
        DELETE FROM journeys_interaction i USING gone
            WHERE i.organization_id = gone.organization_id AND i.customer_id = gone.id;
        DELETE FROM journeys_transaction t USING gone
            WHERE t.organization_id = gone.organization_id AND t.customer_id = gone.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER journeys_customer_deleted AFTER DELETE ON journeys_customer
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION journeys_customer_deleted();

CREATE FUNCTION journeys_touchpoint_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gone) THEN
        UPDATE journeys_interaction SET touchpoint_id = NULL WHERE touchpoint_id IN (SELECT id FROM gone);
        UPDATE journeys_transaction SET touchpoint_id = NULL WHERE touchpoint_id IN (SELECT id FROM gone);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER journeys_touchpoint_deleted AFTER DELETE ON journeys_touchpoint
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION journeys_touchpoint_deleted();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS journeys_customer_deleted ON journeys_customer;
DROP FUNCTION IF EXISTS journeys_customer_deleted();
DROP TRIGGER IF EXISTS journeys_touchpoint_deleted ON journeys_touchpoint;
DROP FUNCTION IF EXISTS journeys_touchpoint_deleted();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER journeys_customer_deleted AFTER DELETE ON journeys_customer FOR EACH ROW BEGIN
        DELETE FROM journeys_interaction WHERE organization_id = OLD.organization_id AND customer_id = OLD.id;
        DELETE FROM journeys_transaction WHERE organization_id = OLD.organization_id AND customer_id = OLD.id;
    END""",
    """CREATE TRIGGER journeys_touchpoint_deleted AFTER DELETE ON journeys_touchpoint FOR EACH ROW BEGIN
        UPDATE journeys_interaction SET touchpoint_id = NULL WHERE touchpoint_id = OLD.id;
        UPDATE journeys_transaction SET touchpoint_id = NULL WHERE touchpoint_id = OLD.id;
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS journeys_customer_deleted",
    "DROP TRIGGER IF EXISTS journeys_touchpoint_deleted",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0007_faults_import_resume"),
        ("tenancy", "0003_numbers_organization_currency"),
    ]

    operations = [
        migrations.AlterField(
            model_name="interaction",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="interactions",
                to="journeys.customer",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="%(app_label)s_%(class)s_set",
                to="tenancy.organization",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="touchpoint",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to="journeys.touchpoint",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="transactions",
                to="journeys.customer",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="%(app_label)s_%(class)s_set",
                to="tenancy.organization",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="touchpoint",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="transactions",
                to="journeys.touchpoint",
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
