"""ChronoRAG graphs package."""
