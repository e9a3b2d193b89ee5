"""Read models and use cases that the command line calls now and the web dashboard will call next.

A service opens the store itself (`maintenance_store`, or a started store where it writes) and
never reaches into a running engine or its caches: it may run in another process than the bot.
Services may import bot, flows and storage, never adapters; only the CLI (and later the web)
imports services.
"""
