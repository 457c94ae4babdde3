"""Mutations: each takes one input, runs one command and answers a result union."""
