"""Events: regions and consent to invites, organizers' events and broadcasts, RSVPs.

The package stays light to import: FEATURE, its declaration, is in flows/events/feature.py.
"""
