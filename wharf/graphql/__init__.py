"""The GraphQL API (strawberry), over a protocol it owns (ports.py: Backend, ReadSide,
Logs, Metrics), which infra/backend.py implements: nothing here imports infra/.

schema.py builds the schema with its limits (limits.py: document size, depth, aliases,
memoised before any rule runs); queries.py and mutations/ are thin resolvers over the
typed reads and the commands; subscriptions.py serves events and logs over WebSocket;
types.py the object types, pagination.py the connections and cursors, errors.py the
typed errors clients act on, context.py what a resolver knows of its caller.
"""
