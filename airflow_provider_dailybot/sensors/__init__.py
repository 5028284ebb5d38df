"""DailyBot sensors. Import them from their modules, e.g. ``sensors.webhook_delivery``."""
