"""Alembic migrations of the DailyBot delivery store (run by ``DailyBotDBManager``)."""
