"""The GraphQL API (strawberry): arrives with the API issue."""
