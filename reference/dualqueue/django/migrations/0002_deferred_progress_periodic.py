"""Deferred results (``run_after``), progress of running tasks, and the periodic tasks' shared claims."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dualqueue", "0001_initial")]  # noqa: RUF012

    operations = [  # noqa: RUF012
        migrations.AddField("taskresultrecord", "run_after", models.DateTimeField(null=True)),
        migrations.AddField("taskresultrecord", "progress_current", models.FloatField(null=True)),
        migrations.AddField("taskresultrecord", "progress_total", models.FloatField(null=True)),
        migrations.AddField(
            "taskresultrecord", "progress_message", models.CharField(blank=True, default="", max_length=200)
        ),
        migrations.AddField("taskresultrecord", "progress_at", models.DateTimeField(null=True)),
        migrations.AddIndex(
            "taskresultrecord",
            models.Index(fields=["status", "run_after"], name="dualqueue_result_deferred"),
        ),
        migrations.CreateModel(
            name="PeriodicClaim",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200, unique=True)),
                ("last_tick", models.FloatField(null=True)),
                ("skipped", models.BigIntegerField(default=0)),
                ("runs", models.BigIntegerField(default=0)),
                ("host", models.CharField(blank=True, default="", max_length=255)),
                ("pid", models.IntegerField(null=True)),
                ("claimed_at", models.DateTimeField(null=True)),
            ],
        ),
    ]
