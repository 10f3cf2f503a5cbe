from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notes", "0002_slug")]
    operations = [
        migrations.AddIndex(
            model_name="note",
            index=models.Index(fields=["status", "created"], name="ix_notes_status_created"),
        ),
    ]
