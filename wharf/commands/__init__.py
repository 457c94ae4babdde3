"""The write side: commands in, events out.

messages.py holds the commands (frozen dataclasses), handlers/ one function each
(registry.py maps them), context.py what a handler may do (load, create, check roles and
the scheduler's term), answers.py the typed answers a handler gives back, application.py
the `Wharf` application: validation, retries on version conflicts, idempotent client
request ids, group commit (group_commit.py) and sealed secrets (sealing.py). ports.py
names what it needs from outside (a clock, data keys); infra/ provides them.
"""
