"""The database result store's table (``dualqueue.django.models.TaskResultRecord``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []  # noqa: RUF012

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="TaskResultRecord",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("result_id", models.CharField(max_length=64, unique=True)),
                ("backend", models.CharField(max_length=100)),
                ("task_path", models.CharField(max_length=255)),
                ("queue_name", models.CharField(max_length=100)),
                ("priority", models.IntegerField(default=0)),
                ("takes_context", models.BooleanField(default=False)),
                ("status", models.CharField(max_length=16)),
                ("args", models.JSONField(default=list)),
                ("kwargs", models.JSONField(default=dict)),
                ("return_value", models.JSONField(null=True)),
                ("errors", models.JSONField(default=list)),
                ("worker_ids", models.JSONField(default=list)),
                ("enqueued_at", models.DateTimeField(null=True)),
                ("started_at", models.DateTimeField(null=True)),
                ("last_attempted_at", models.DateTimeField(null=True)),
                ("finished_at", models.DateTimeField(null=True)),
                ("host", models.CharField(max_length=255)),
                ("pid", models.IntegerField()),
                ("process_start", models.CharField(max_length=64)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["backend", "id"], name="dualqueue_result_backend_id"),
                    models.Index(fields=["status"], name="dualqueue_result_status"),
                ],
            },
        ),
    ]
