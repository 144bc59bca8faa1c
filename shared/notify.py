"""Optional OCI Notifications publish for failures (best effort, never dataset contents)."""

from __future__ import annotations

from shared import logs
from shared.settings import Settings

log = logs.get_logger("ocift.notify")


def publish(settings: Settings, title: str, body: str) -> bool:
    """Publish to ``OCIFT_NOTIFICATION_TOPIC_ID``; False when unset or on any error."""
    topic = settings.notification_topic_id
    if not topic:
        return False
    try:
        from oci.ons import NotificationDataPlaneClient
        from oci.ons.models import MessageDetails

        from shared.auth import credentials

        creds = credentials(settings)
        client = NotificationDataPlaneClient(creds.config, **creds.client_kwargs())
        client.publish_message(topic, MessageDetails(title=title[:255], body=body[:4000]))
    except Exception as exc:  # best effort: a notification never fails the stage
        log.warning("notification publish failed", extra={"error": type(exc).__name__})
        return False
    return True
