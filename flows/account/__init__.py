"""Accounts: one person across networks (linking with a one-time code).

The package stays light to import: FEATURE, its declaration, is in flows/account/feature.py.
"""
