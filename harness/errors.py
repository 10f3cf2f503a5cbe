"""The one exception tree of Crucible.

Every error Crucible raises on purpose derives from :class:`CrucibleError`. Errors a user can fix
(bad configuration, a stopped Docker engine, a missing tool) derive from :class:`UserError` and carry
a ``fix``: the CLI prints them as one line, ``crucible: <message>: <fix>``, and exits 2. Errors of the
harness or its infrastructure derive from :class:`InfraError` and exit 1; a sample that meets one ends
``infra_failure`` and is retried, never counted against the agent.

    CrucibleError
    +-- UserError                 exit 2, the message says the fix
    |   +-- ConfigError           a config file, field or CLI override is invalid
    |   +-- DockerUnavailable     no engine reachable
    |   +-- MissingTool           a host program (debootstrap, pip) is absent
    |   +-- StoreError            the run store cannot be written or read
    +-- InfraError                exit 1, the harness or Docker failed
    |   +-- ImageBuildError       an image could not be built
    |   |   +-- BuildStepFailed   a Dockerfile step exited non-zero (for an app image: the agent's fault)
    |   +-- SandboxError          a pod or container operation failed
    +-- ResolveError              pip could not resolve requirements into wheels; the caller decides
    |                             whose fault it is (the agent's for a workspace, infra for Crucible's)
    +-- SubmissionError           the code under evaluation is at fault: the sample is a model_failure
"""

from __future__ import annotations


class CrucibleError(Exception):
    """Base of every error Crucible raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """The error as a single line for a terminal: message, then the fix."""
        text = self.message if not self.fix else f"{self.message}: {self.fix}"
        return " ".join(text.split())


class UserError(CrucibleError):
    """A problem the user can fix; the message says how."""

    exit_code = 2


class ConfigError(UserError):
    """Invalid configuration: a file, a field or a command-line override."""


class DockerUnavailable(UserError):
    """The Docker engine cannot be reached."""


class MissingTool(UserError):
    """A program Crucible needs on the host is not installed."""


class StoreError(UserError):
    """The run store cannot be written or read."""


class InfraError(CrucibleError):
    """The harness or its infrastructure failed; not the agent's fault."""


class ImageBuildError(InfraError):
    """An image could not be built."""


class BuildStepFailed(ImageBuildError):
    """A step of a Dockerfile exited non-zero; ``log`` holds the build output."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class SandboxError(InfraError):
    """A pod or container operation failed."""


class ResolveError(CrucibleError):
    """pip could not resolve requirements into wheels; the message holds pip's own words."""


class SubmissionError(CrucibleError):
    """The workspace under evaluation is broken (no service.toml, cannot build, never healthy...).
    The sample ends ``model_failure`` with this message as its reason."""
