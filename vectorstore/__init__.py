"""ChronoRAG vectorstore package."""
