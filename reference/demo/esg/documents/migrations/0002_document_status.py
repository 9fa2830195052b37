# ruff: noqa: E501, RUF012  (written like Django's makemigrations output)
"""Documents get a state (processing, indexed, failed) and the reason a failed one failed.

Documents stored before this migration had their text extracted in the request and are in the
index already: they start ``indexed``.
"""

from django.db import migrations, models


def existing_documents_are_indexed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("esg_documents", "Document").objects.update(status="indexed")


class Migration(migrations.Migration):
    dependencies = [("esg_documents", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="document",
            name="status",
            field=models.CharField(choices=[("processing", "Processing"), ("indexed", "Indexed"), ("failed", "Failed")], default="processing", max_length=12),
        ),
        migrations.AddField(
            model_name="document",
            name="error",
            field=models.CharField(blank=True, help_text="why it failed, for the user", max_length=500),
        ),
        migrations.AlterField(
            model_name="document",
            name="text",
            field=models.TextField(blank=True, help_text="empty until extracted; never holds a NUL or a lone surrogate"),
        ),
        migrations.RunPython(existing_documents_are_indexed, migrations.RunPython.noop),
    ]
