"""Identity and access: users with one role bound to a scope, tokens, API keys."""
