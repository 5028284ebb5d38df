"""DailyBot operators. Import them from their modules, e.g. ``operators.webhook_subscription``."""
