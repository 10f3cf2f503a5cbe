import uuid

from django.db import models


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=[("draft", "draft"), ("published", "published")], default="draft"
    )
    created = models.DateTimeField(auto_now_add=True)
    slug = models.CharField(max_length=200, null=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created"], name="ix_notes_status_created")]
