"""The console: one person at the terminal (or a script on a pipe) talks to the bot."""
