"""A customer-service chat server built on kefu: visitor widget, agent desk, hand-off.

Run it from the repository root with ``python examples/chat_server`` (README.md beside
this file). ``create_app`` builds the ASGI application for tests or another server.
"""
