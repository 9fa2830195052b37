# ruff: noqa: RUF012  (written like Django's makemigrations output)
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateLimitBucket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("hits", models.PositiveIntegerField(default=0)),
                ("expires", models.FloatField(db_index=True, help_text="the window's end, in seconds since the epoch")),
            ],
        ),
    ]
