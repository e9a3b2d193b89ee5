"""The web pages: the public newcomer hub and certificate verification (web/public.py), and
the organizers' and mentors' dashboard, server-rendered on the services layer (never the
engine, never an adapter). `web.server` serves them with uvicorn."""
