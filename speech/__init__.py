"""ChronoRAG speech package."""
