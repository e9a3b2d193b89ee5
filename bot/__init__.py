"""Wayfinder core: message model, ports, router, flow engine, outbox, scheduler, config, CLI."""
