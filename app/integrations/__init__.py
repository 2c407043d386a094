"""ChronoRAG in other people's tools: LlamaIndex and LangChain retrievers, the MCP server."""
