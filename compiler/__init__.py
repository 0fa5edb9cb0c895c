"""nitro-build: compile a Nitro-style project into deployable bundles, one preset at a time."""
