"""Commands of the bot itself, whatever features it runs: !help, and !back off the path.

The package stays light to import: FEATURE, its declaration, is in flows/core/feature.py.
"""
