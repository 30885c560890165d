"""Orchestration (the workflow layer): what happens when an action is taken or an event is
written, above the domains that own the data and those that react to changes. See the
README's architecture section for the layers."""
