"""Reusable DailyBot task groups. Import them from their modules, e.g. ``task_groups.webhook_rotation``."""
