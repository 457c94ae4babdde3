"""Timer jobs and (later) the reconciler. Jobs are plain functions that take a Clock."""
