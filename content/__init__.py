"""The bundled demo content (the Lumen community), shipped as package data.

Not code: a package only so that an installed wheel carries these TOML files and
`bot.config.bundled_content` finds them with importlib.resources.
"""
