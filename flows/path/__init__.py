"""The growth path: find a project (discovery), get started (workshop), first task.

The package stays light to import: FEATURE, its declaration, is in flows/path/feature.py.
"""
