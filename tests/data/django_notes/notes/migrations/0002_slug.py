from django.db import migrations, models


def fill_slugs(apps, schema_editor):
    Note = apps.get_model("notes", "Note")
    for note in Note.objects.all():
        note.slug = note.title.lower().replace(" ", "-")
        note.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="note", name="slug", field=models.CharField(max_length=200, null=True)
        ),
        migrations.RunPython(fill_slugs, reverse_code=migrations.RunPython.noop),
    ]
