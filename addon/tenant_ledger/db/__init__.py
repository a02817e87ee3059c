"""Storage: the schema, the engine and the migrations that create it."""
