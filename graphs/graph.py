"""The LangGraph wiring: understand → gather → (plan → act)* → answer.

``route`` (code) sends the run to the answer when the loop bound, the evidence
budget or two fruitless steps are reached, or when the evidence already suffices;
otherwise the planner picks the next tool.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs.nodes import AgentNodes
from graphs.state import AgentState


def build_graph(
    nodes: AgentNodes, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    graph = StateGraph(AgentState)
    graph.add_node("understand", nodes.understand)
    graph.add_node("gather", nodes.gather)
    graph.add_node("plan", nodes.plan)
    graph.add_node("act", nodes.act)
    graph.add_node("answer", nodes.answer)
    graph.add_edge(START, "understand")
    graph.add_edge("understand", "gather")
    graph.add_conditional_edges("gather", nodes.route, {"plan": "plan", "answer": "answer"})
    graph.add_conditional_edges("plan", nodes.after_plan, {"act": "act", "answer": "answer"})
    graph.add_conditional_edges("act", nodes.route, {"plan": "plan", "answer": "answer"})
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer)
