"""DailyBot triggers. Import them from their modules, e.g. ``triggers.checkin_responses``."""
