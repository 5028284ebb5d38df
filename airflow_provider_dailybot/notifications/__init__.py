"""DailyBot notifiers. Import them from their modules, e.g. ``notifications.dailybot``."""
