"""ChronoRAG app package."""
