"""Peer programming: newcomers on the same project who opt in (`!pair on`) are introduced to
each other privately, at most one new partner a week.

The package stays light to import: FEATURE, its declaration, is in flows/pairing/feature.py.
"""
