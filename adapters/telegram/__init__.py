"""Telegram. `config` is light; `client` and `translate` import python-telegram-bot."""
