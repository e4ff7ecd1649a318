"""The ask path as typed stages over one pinned snapshot: understand (``Question``) -> rankers ->
fusion -> retrieve -> policy (``Decision``) -> compose (``Answer``) -> optional LLM rewrite."""
