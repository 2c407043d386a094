"""The ``chronorag models`` command group: what is configured, the profiles, and the check.

* ``chronorag models [--json]`` — backend, model and resolved local path (or URL) per role.
* ``chronorag models profiles [--json] [--role ROLE]`` — every serving profile.
* ``chronorag models check [--json] [--role ROLE]…`` — one real request per capability;
  exits 1 when a required capability fails.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.config import Settings
from app.container import Container
from app.models_check import ROLES, ProbeResult, check_models, failed_required
from app.profiles import PROFILES, ProfileError, apply_profiles, parse_profiles

models_app = typer.Typer(help="Configured models, serving profiles and a live check.")
out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
ROLE_ORDER = ("asr", "embedder", "index", "ocr", "llm", "vlm", "tts", "avatar")


class ProfileRole(StrEnum):
    agent = "agent"
    vision = "vision"
    video = "video"
    stt = "stt"
    tts = "tts"
    embed = "embed"


CheckRole = StrEnum("CheckRole", {r: r for r in ROLES})  # type: ignore[misc]


def _emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def load_settings() -> Settings:
    """Settings from the environment with the chosen profiles applied (explicit wins)."""
    settings = Settings()
    try:
        return apply_profiles(settings, parse_profiles(settings.profiles))
    except ProfileError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@models_app.callback(invoke_without_command=True)
def models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Backend, model and local path (or URL) for each role."""
    if ctx.invoked_subcommand is not None:
        return
    container = Container(load_settings())
    try:
        described = container.describe_models()
    finally:
        container.close()
    if as_json:
        _emit_json(described)
        return
    table = Table(title="Configured models")
    for column in ("role", "backend", "model", "local path / URL"):
        table.add_column(column, overflow="fold")
    order = [r for r in ROLE_ORDER if r in described] + sorted(set(described) - set(ROLE_ORDER))
    for role in order:
        info = described[role]
        where = info.get("path") or info.get("url") or "—"
        table.add_row(role, str(info.get("backend", "—")), str(info.get("model") or "—"), where)
    out.print(table)


@models_app.command("profiles")
def profiles(
    as_json: JsonFlag = False,
    role: Annotated[
        ProfileRole | None, typer.Option(help="Only profiles that can fill this role.")
    ] = None,
) -> None:
    """Every serving profile: role, how it is served, what it can do."""
    chosen = [p for p in PROFILES if role is None or role.value in p.roles]
    if as_json:
        _emit_json(
            [p.model_dump(mode="json") | {"serve": p.serve_command() if p.vllm else None}
             for p in chosen]
        )
        return
    table = Table(title="Model profiles (CHRONORAG_PROFILES=name,name,…)", show_lines=True)
    for column in ("name", "model", "roles", "served by", "capabilities", "GPU GB", "vLLM args"):
        table.add_column(column, overflow="fold")
    for p in chosen:
        served = p.server + (" (CPU)" if p.cpu else "")
        caps = ", ".join(p.capabilities)
        if p.timestamps != "none":
            caps += f" [{p.timestamps} timestamps]"
        args = " ".join(p.serve_command()[1:]) if p.vllm else "—"
        gb = f"{p.gpu_memory_gb:g}" if p.gpu_memory_gb else "—"
        table.add_row(p.name, p.model, ", ".join(p.roles), served, caps, gb, args)
    out.print(table)


def _mark(ok: bool | None) -> str:
    return {True: "[green]✔[/green]", False: "[red]✘[/red]", None: "[dim]–[/dim]"}[ok]


def _results_table(results: list[ProbeResult]) -> Table:
    table = Table(title="Model compatibility, measured")
    for column in ("role", "model", "capability", "profile", "result", "latency", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        claimed = {True: "claims", False: "—", None: "?"}[r.claimed]
        latency = f"{r.latency_s * 1000:.0f} ms" if r.latency_s is not None else "—"
        cap = r.capability + (" *" if r.required else "")
        table.add_row(r.role, r.model, cap, claimed, _mark(r.ok), latency, r.detail)
    table.caption = "* required: a failure makes the check exit non-zero"
    return table


@models_app.command("check")
def check(
    as_json: JsonFlag = False,
    role: Annotated[
        list[CheckRole] | None, typer.Option(help="Check only these roles (repeatable).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds per chat/vision request.", min=1.0)
    ] = 120.0,
) -> None:
    """Send one real request per capability to every configured model; exit 1 on a
    required failure."""
    roles = [r.value for r in role] if role else list(ROLES)
    container = Container(load_settings())
    try:
        results = check_models(container, roles=roles, timeout_s=timeout)
    finally:
        container.close()
    failed = failed_required(results)
    if as_json:
        _emit_json({"ok": not failed, "results": [r.as_dict() for r in results]})
    else:
        out.print(_results_table(results))
        if failed:
            names = ", ".join(f"{r.role}/{r.capability}" for r in failed)
            err.print(f"[red]required capabilities failed:[/red] {names}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``models`` group to the ``chronorag`` CLI."""
    app.add_typer(models_app, name="models")
