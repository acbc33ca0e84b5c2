"""on-event-to-lifespan, split by idea: registrations (what counts as one, on FastAPI and
Starlette), scope (what a block binds and calls), targets (the apps and routers a block creates),
analysis (what can be proven), generation (the lifespan written), arguments and block_edits (the
edits), examples, and codemod (the traversal that ties them together)."""

from spaps_cli.codemods.on_event_to_lifespan.codemod import OnEventToLifespan

__all__ = ["OnEventToLifespan"]
