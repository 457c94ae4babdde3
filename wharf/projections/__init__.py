"""Read models: one module per read model, the views that hold them, and the runner."""
