"""ChronoRAG ingestion package."""
