"""The write side: command dataclasses, one handler each, and the Wharf application."""
