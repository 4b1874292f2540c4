import secrets

from django.db import migrations, models

import cxm.tenancy.models


def fill_secrets(apps, schema_editor):
    Organization = apps.get_model("tenancy", "Organization")
    for organization in Organization.objects.filter(widget_secret="").only("id"):
        organization.widget_secret = secrets.token_hex(32)
        organization.save(update_fields=["widget_secret"])


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="widget_secret",
            field=models.CharField(default="", max_length=64, verbose_name="widget secret"),
            preserve_default=False,
        ),
        migrations.RunPython(fill_secrets, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="organization",
            name="widget_secret",
            field=models.CharField(
                default=cxm.tenancy.models.new_widget_secret, max_length=64, verbose_name="widget secret"
            ),
        ),
    ]
