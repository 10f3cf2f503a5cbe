"""One typed configuration object, read from the project and overridable from the command line.

Sources, later ones winning: built-in defaults, ``[tool.crucible]`` in ``pyproject.toml``, a
``crucible.toml`` beside it, then ``--set section.key=value`` overrides from the CLI.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError

# Python versions Crucible can build a runtime for, and the Debian release that ships each one.
DEBIAN_SUITE_FOR_PYTHON: dict[str, str] = {"3.11": "bookworm", "3.13": "trixie"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineSettings(_Section):
    """One Docker engine of several: its URL (DOCKER_HOST style) and, for tcp, its TLS files."""

    url: str = Field(
        pattern=r"^(unix|tcp|ssh|npipe)://", description="unix://, tcp://host:port or ssh://user@host"
    )
    tls_ca: Path | None = Field(None, description="CA certificate that signed the engine's certificate")
    tls_cert: Path | None = Field(None, description="client certificate")
    tls_key: Path | None = Field(None, description="client key")
    evaluate_slots: int | None = Field(None, ge=1, description="samples evaluated on it at once")
    gateway: Literal["auto", "mount", "relay"] = Field(
        "auto",
        description="how Claude Code in its containers reaches the model gateway: mount (a folder of this "
        "machine; only for an engine on it), relay (a relay container tunnelled over the engine's API), "
        "auto (mount when the engine is on this machine, else relay)",
    )

    @model_validator(mode="after")
    def _tls_complete(self) -> EngineSettings:
        given = [f for f in (self.tls_ca, self.tls_cert, self.tls_key) if f is not None]
        if given and len(given) != 3:
            raise ValueError("tls_ca, tls_cert and tls_key go together")
        return self


class SandboxSettings(_Section):
    backend: Literal["docker", "local"] = "docker"
    memory_mb: int = Field(1024, ge=64, description="memory limit of each container")
    cpus: float = Field(1.0, gt=0, description="CPU limit of each container")
    pids: int = Field(512, ge=16, description="process limit of each container")
    exec_timeout_s: float = Field(120.0, gt=0, description="default wall-clock limit of one exec")
    output_cap_bytes: int = Field(2_000_000, ge=1024, description="stdout/stderr kept per exec")
    pod_ttl_s: int = Field(6 * 3600, ge=60, description="a pod's holder exits after this long")
    docker_host: str | None = Field(None, description="engine URL; unset means DOCKER_HOST or the socket")
    engines: list[EngineSettings] = Field(
        default_factory=list, description="several engines that share the samples; empty: docker_host alone"
    )


class ImageSettings(_Section):
    python_version: str = "3.11"
    base_image: str | None = Field(None, description="unset means python:<version>-slim-<suite>")
    apt_mirror: str | None = Field(None, description="unset means the host's own apt sources")
    cache_dir: Path = Field(Path.home() / ".cache" / "crucible", description="wheelhouses, rootfs scratch")
    build_timeout_s: float = Field(1800.0, gt=0)

    @property
    def debian_suite(self) -> str:
        suite = DEBIAN_SUITE_FOR_PYTHON.get(self.python_version)
        if suite is None:
            known = ", ".join(sorted(DEBIAN_SUITE_FOR_PYTHON))
            raise ConfigError(
                f"images.python_version = {self.python_version!r} has no Debian base",
                f"use one of {known}",
            )
        return suite

    @property
    def base_image_name(self) -> str:
        return self.base_image or f"python:{self.python_version}-slim-{self.debian_suite}"


class Price(_Section):
    """Dollars per million tokens."""

    input: float
    output: float


Runtime = Literal["loop", "claude-code"]
ServerTool = Literal[
    "web_search", "web_fetch", "code_execution", "mcp", "tool_search", "url_sources", "files"
]


class GatewaySettings(_Section):
    """Each sample's model gateway: what its requests may ask of the API, and what one sample may hold."""

    server_tools: list[ServerTool] = Field(
        default_factory=list,
        description="server-side features the API may run for the agent (it reaches the internet for it: "
        "web_search, web_fetch, code_execution, mcp, tool_search, url_sources, files); none by default; "
        "each changes what is measured, and every sample records what it allowed",
    )
    extra_betas: list[str] = Field(
        default_factory=list, description="anthropic-beta families allowed beside the built-in list"
    )
    max_body_mb: float = Field(32.0, gt=0, le=256, description="the largest request body (the API's is 32)")
    max_connections: int = Field(32, ge=2, le=1000, description="connections held at once; beyond: 503")
    idle_timeout_s: float = Field(60.0, gt=0, description="a connection idle longer is closed")
    read_timeout_s: float = Field(60.0, gt=0, description="a request's head and body must arrive within it")


class ClaudeCodeSettings(_Section):
    version: str = Field(
        "2.1.197",
        pattern=r"^\d+\.\d+\.\d+$",
        description="the pinned Claude Code CLI (part of the image key)",
    )
    mode: Literal["delegate", "direct"] = Field(
        "delegate",
        description="delegate: the main thread is told to use the sub-agent; direct: it is the main thread",
    )


class AgentSettings(_Section):
    runtime: Runtime | list[Runtime] = Field(
        "loop",
        description="loop: Crucible's own tool-use loop; claude-code: the real CLI in the sandbox; "
        "several: each variant runs in each",
    )
    claude_code: ClaudeCodeSettings = Field(default_factory=ClaudeCodeSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    provider: Literal["anthropic", "replay"] | None = Field(
        None, description="unset: anthropic when ANTHROPIC_API_KEY is set, else replay"
    )
    models: dict[str, str] = Field(
        default_factory=lambda: {
            "sonnet": "claude-sonnet-4-6",
            "opus": "claude-opus-4-8",
            "haiku": "claude-haiku-4-5",
        },
        description="model aliases of the sub-agent format -> model ids",
    )
    inherit: str = Field("sonnet", description="what `model: inherit` (or no model) means")
    # Published prices per million tokens, taken 2026-11-26; edit when they change.
    prices: dict[str, Price] = Field(
        default_factory=lambda: {
            "claude-sonnet-4-5": Price(input=3.0, output=15.0),
            "claude-sonnet-4-6": Price(input=3.0, output=15.0),
            "claude-opus-4-5": Price(input=5.0, output=25.0),
            "claude-opus-4-6": Price(input=5.0, output=25.0),
            "claude-opus-4-7": Price(input=5.0, output=25.0),
            "claude-opus-4-8": Price(input=5.0, output=25.0),
            "claude-haiku-4-5": Price(input=1.0, output=5.0),
        }
    )
    prices_taken: str = "2026-11-26"
    cache_write_multiplier: float = 1.25
    cache_write_1h_multiplier: float = Field(2.0, description="the price of a cache write kept for an hour")
    cache_read_multiplier: float = 0.1
    server_tool_prices: dict[str, float] = Field(
        default_factory=lambda: {"web_search_requests": 0.01, "web_fetch_requests": 0.0},
        description="dollars per use of a server-side tool, by its key in the answer's usage.server_tool_use",
    )
    max_turns: int = Field(80, ge=1)
    max_tokens: int = Field(3_000_000, ge=1, description="input + output tokens over the whole sample")
    max_dollars: float = Field(10.0, gt=0)
    wall_time_s: float = Field(1800.0, gt=0)
    max_output_tokens: int = Field(16_000, ge=256, description="max_tokens of each request")
    max_retries: int = Field(
        4, ge=0, description="retries of 429/529/5xx, with backoff honouring retry-after"
    )
    request_timeout_s: float = Field(600.0, gt=0)
    base_url: str | None = Field(None, description="unset: the SDK's default or ANTHROPIC_BASE_URL")
    cassettes_dir: Path = Path("agents/cassettes")

    def runtimes(self) -> list[Runtime]:
        """The runtimes asked for, in order, each once."""
        asked = [self.runtime] if isinstance(self.runtime, str) else self.runtime
        return list(dict.fromkeys(asked)) or ["loop"]


class RunSettings(_Section):
    """How many samples are in each stage at once. Generation waits on the model (network), evaluation
    on containers (CPU), so each stage has its own limit."""

    generate_concurrency: int | None = Field(None, ge=1, description="unset: 2 x cores, at most 8")
    evaluate_concurrency: int | None = Field(None, ge=1, description="unset: the number of cores")
    warm_pods: int | None = Field(
        None, ge=0, description="eval pods (holder + PostgreSQL) kept ready; unset: the evaluate limit"
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="local: this machine's engines; ray: a Ray cluster (pip install crucible[ray])"
    )
    ray_address: str | None = Field(
        None, description="the Ray cluster, e.g. 10.0.0.5:6379; unset: RAY_ADDRESS"
    )

    def generate_limit(self) -> int:
        return self.generate_concurrency or min(8, 2 * (os.cpu_count() or 1))

    def evaluate_limit(self) -> int:
        return self.evaluate_concurrency or (os.cpu_count() or 1)

    def warm_limit(self) -> int:
        return self.evaluate_limit() if self.warm_pods is None else self.warm_pods


# how a candidate is gated against the baseline (harness/report/gate.py)
GateMode = Literal["non-inferiority", "no-regression"]


class EvalSettings(_Section):
    """What `pytest evals/` decides on: floors on each variant's metrics, and a baseline to gate the
    other variants against (each overridable on the command line)."""

    baseline: str | None = Field(None, description="variant label the others are gated against")
    margin: float = Field(0.05, gt=0, lt=1, description="the gate's margin")
    mode: GateMode = Field(
        "non-inferiority",
        description="non-inferiority: pass only when shown within the margin (a release); no-regression: "
        "fail only when shown worse (a pull request)",
    )
    allow_partial: bool = Field(
        False, description="let a gate judge a metric on fewer fixtures than the suite runs it on"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="floors per metric, e.g. tests = 0.9 (fixture.toml may add its own)"
    )
    floor_on: Literal["lower", "mean"] = Field(
        "lower", description="a floor is met by the metric's 95% lower bound, or by its mean"
    )


class CrucibleConfig(_Section):
    project_root: Path = Field(default_factory=Path.cwd)
    reports_dir: Path = Path("reports")
    sandbox: SandboxSettings = SandboxSettings()
    images: ImageSettings = ImageSettings()
    agent: AgentSettings = AgentSettings()
    run: RunSettings = RunSettings()
    evals: EvalSettings = EvalSettings()

    @property
    def reports_path(self) -> Path:
        path = self.reports_dir
        return path if path.is_absolute() else self.project_root / path


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding crucible.toml or pyproject.toml."""
    for candidate in [start, *start.parents]:
        if (candidate / "crucible.toml").is_file() or (candidate / "pyproject.toml").is_file():
            return candidate
    return start


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})", "correct the syntax at that line") from exc


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def parse_override(text: str) -> dict[str, Any]:
    """``sandbox.memory_mb=512`` -> ``{"sandbox": {"memory_mb": 512}}`` (values parsed as TOML)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r} is not KEY=VALUE", "write it as --set sandbox.memory_mb=512")
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    result: dict[str, Any] = {}
    node = result
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


def load_config(start: Path | None = None, overrides: list[str] | None = None) -> CrucibleConfig:
    """Build the configuration for the project at or above ``start`` (default: the working directory)."""
    root = find_project_root((start or Path.cwd()).resolve())
    data: dict[str, Any] = {}
    origin = "the defaults"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("crucible")
        if section:
            _merge(data, section)
            origin = f"{pyproject} [tool.crucible]"
    own = root / "crucible.toml"
    if own.is_file():
        _merge(data, _read_toml(own))
        origin = str(own)
    for text in overrides or []:
        _merge(data, parse_override(text))
    data.setdefault("project_root", str(root))
    try:
        config = CrucibleConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        culprit = [text for text in overrides or [] if text.partition("=")[0].strip() == field]
        where = f"--set {culprit[-1]}" if culprit else origin
        raise ConfigError(f"{where}: field {field!r}: {first['msg']}", "fix or remove that setting") from exc
    _ = config.images.debian_suite  # fail early on an unsupported Python version
    return config


def with_runtimes(config: CrucibleConfig, runtimes: list[str]) -> CrucibleConfig:
    """``config`` with `agent.runtime` set to ``runtimes`` (as asked on a command line), or as it was
    when none are asked; ConfigError naming the choices for an unknown one."""
    if not runtimes:
        return config
    try:
        agent = AgentSettings.model_validate({**config.agent.model_dump(), "runtime": runtimes})
    except ValueError:
        raise ConfigError(
            f"runtime {','.join(runtimes)}: unknown", "use loop, claude-code, or loop,claude-code"
        ) from None
    return config.model_copy(update={"agent": agent})
