"""The Microsoft Teams edge (docs/teams.md): `POST /api/messages` with the Bot Framework's token
check, durable intake through the inbox, Adaptive Cards for the core's messages, and a Bot Connector
client that delivers them through the outbox.

Loaded only when TEAMS_APP_ID is set (bot.runtime): the Teams SDK and its dependencies stay out of a
Slack-only bot's memory. Nothing here decides anything: who may do what and what happens next is the
core's (bot/core); this edge turns activities into the core's inputs and its messages into cards.
"""
