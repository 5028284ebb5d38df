"""DailyBot hooks. Import them from their modules, e.g. ``hooks.dailybot.DailyBotHook``."""
