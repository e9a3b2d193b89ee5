"""Features: one package each (path, account, mentoring, events) and the bot's own (core).

Each package exports one FEATURE (bot.feature.Feature); the composition root lists them.
"""
