"""Mentoring: help requests (cases) routed to available mentors, escalation, reports.

The package stays light to import: FEATURE, its declaration, is in flows/mentoring/feature.py.
"""
