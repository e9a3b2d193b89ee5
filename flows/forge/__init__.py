"""Forge checks: `!done LINK` asks the forge (Gerrit, GitHub, GitLab) whether the change is
merged, a durable due check follows an open one, and workshop checkpoints may ask for facts the
forge can confirm. FEATURE, its declaration, is in flows/forge/feature.py.
"""
