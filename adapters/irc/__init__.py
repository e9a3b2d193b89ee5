"""IRC. `config` and `translate` are light; `client` imports the irc library."""
