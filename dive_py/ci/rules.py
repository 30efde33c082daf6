"""Provides the CI rules and their evaluation (no printing: :mod:`dive_py.reports.text` prints them)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from dive_py.analysis.analyze import Analysis
from dive_py.ci.config import CiConfig, is_disabled
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines
from dive_py.errors import ConfigError
from dive_py.units import parse_bytes


class RuleStatus(enum.Enum):
    """The outcome of one rule."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass
class RuleResult:
    """One rule's outcome, its message and the configuration it was checked against."""

    key: str
    status: RuleStatus
    message: str
    configuration: str
    """The threshold as configured (``0.9``, ``20MB``, ``disabled``)."""
    actual: float | int | None = None
    threshold: float | int | None = None


@dataclass
class CiReport:
    """Every rule's outcome for one image (and its baseline)."""

    results: list[RuleResult]
    analysis: Analysis
    baseline: Analysis | None = None
    lines: DockerfileLines = NO_LINES
    """The Dockerfile line of each layer, when known (the reports show it beside every layer and hint)."""

    @property
    def passed(self) -> bool:
        """Whether no rule failed (skipped rules pass)."""
        return all(r.status != RuleStatus.FAIL for r in self.results)

    def count(self, status: RuleStatus) -> int:
        """How many rules ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)


Metric = Callable[[Analysis, "Analysis | None"], "float | int | None"]


@dataclass(frozen=True)
class RuleSpec:
    """How one rule reads its threshold and the figure it compares."""

    key: str
    kind: str
    """``min-ratio`` (fail below), ``max-ratio`` (fail above; 0..1), ``max-bytes``, ``max-growth-ratio``."""
    metric: Metric
    label: str
    needs_baseline: bool = False


def _growth_ratio(new: Analysis, base: Analysis | None) -> float | None:
    if base is None:
        return None
    if base.size_bytes == 0:
        return 0.0 if new.size_bytes == 0 else float("inf")
    return (new.size_bytes - base.size_bytes) / base.size_bytes


RULES: tuple[RuleSpec, ...] = (
    RuleSpec("lowestEfficiency", "min-ratio", lambda a, b: a.efficiency, "image efficiency is too low (efficiency"),
    RuleSpec("highestWastedBytes", "max-bytes", lambda a, b: a.wasted_bytes, "too many bytes wasted (wasted-bytes"),
    RuleSpec(
        "highestUserWastedPercent",
        "max-ratio",
        lambda a, b: a.user_wasted_ratio,
        "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes",
    ),
    RuleSpec(
        "highestReclaimableBytes",
        "max-bytes",
        lambda a, b: a.walk().reclaimable_bytes,
        "too many bytes a squash would reclaim (reclaimable-bytes",
    ),
    RuleSpec(
        "highestDuplicateContentBytes",
        "max-bytes",
        lambda a, b: a.walk().duplicate_content_bytes,
        "too many bytes of duplicated content (duplicate-content-bytes",
    ),
    RuleSpec(
        "highestSizeIncreaseBytes",
        "max-bytes",
        lambda a, b: None if b is None else a.size_bytes - b.size_bytes,
        "image grew too much (size-increase-bytes",
        needs_baseline=True,
    ),
    RuleSpec(
        "highestSizeIncreasePercent",
        "max-growth-ratio",
        _growth_ratio,
        "image grew too much (size-increase-ratio",
        needs_baseline=True,
    ),
    RuleSpec(
        "highestWastedBytesIncrease",
        "max-bytes",
        lambda a, b: None if b is None else a.wasted_bytes - b.wasted_bytes,
        "wasted bytes grew too much (wasted-bytes-increase",
        needs_baseline=True,
    ),
    RuleSpec(
        "highestFixableBytes",
        "max-bytes",
        lambda a, b: a.hints().fixable_bytes,
        "too many bytes a change of the Dockerfile would save (fixable-bytes",
    ),
    RuleSpec(
        "highestFixablePercent",
        "max-ratio",
        lambda a, b: a.hints().fixable_ratio,
        "too much of the image a change of the Dockerfile would save (fixable-ratio",
    ),
)


@dataclass
class Rule:
    """A rule as configured: its spec and threshold."""

    spec: RuleSpec
    configuration: str
    threshold: float | int | None
    """None when the rule is disabled."""

    def evaluate(self, analysis: Analysis, baseline: Analysis | None) -> RuleResult:
        """Checks the image (and the baseline, for the rules that need one) against the threshold."""
        key = self.spec.key
        if self.threshold is None:
            return RuleResult(key, RuleStatus.SKIP, "rule disabled", self.configuration)
        if self.spec.needs_baseline and baseline is None:
            return RuleResult(key, RuleStatus.SKIP, "needs a baseline image (--baseline)", self.configuration)
        actual = self.spec.metric(analysis, baseline)
        if actual is None:  # only the growth rule's without a baseline, which is skipped above
            raise ValueError(f"rule {key}: no figure to compare")
        failed = actual < self.threshold if self.spec.kind == "min-ratio" else actual > self.threshold
        status = RuleStatus.FAIL if failed else RuleStatus.PASS
        return RuleResult(key, status, self._message(actual, failed), self.configuration, actual, self.threshold)

    def _message(self, actual: float | int, failed: bool) -> str:
        shown = f"{actual:.2f}" if isinstance(actual, float) else str(actual)
        sign = ("<" if failed else ">=") if self.spec.kind == "min-ratio" else (">" if failed else "<=")
        if failed:
            return f"{self.spec.label}={shown} {sign} threshold={self.configuration})"
        figure = self.spec.label.rpartition("(")[2]
        return f"{figure}={shown} {sign} threshold={self.configuration}"


def build_rules(config: CiConfig) -> list[Rule]:
    """Parses every rule's threshold.

    Raises:
        ConfigError: a threshold is not a number/size or is out of range (all problems named).
    """
    rules, problems = [], []
    for spec in RULES:
        raw = str(config.rules.get(spec.key, "disabled"))
        try:
            rules.append(Rule(spec, raw.strip(), _threshold(spec, raw)))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    return rules


def _threshold(spec: RuleSpec, raw: str) -> float | int | None:
    if is_disabled(raw):
        return None
    if spec.kind == "max-bytes":
        try:
            return parse_bytes(raw)
        except ConfigError:
            raise ConfigError(f"invalid {spec.key} value {raw!r} (a byte size such as 20MB, or disabled)") from None
    text = raw.strip()
    # "10%" is what people write for highestSizeIncreasePercent; the rules compare ratios (0.1).
    scale = 100.0 if text.endswith("%") else 1.0
    try:
        value = float(text.removesuffix("%")) / scale
    except ValueError:
        raise ConfigError(f"invalid {spec.key} value {raw!r} (a number, or disabled)") from None
    if value != value:  # NaN
        raise ConfigError(f"invalid {spec.key} value {raw!r}")
    if spec.kind in ("min-ratio", "max-ratio") and not 0 <= value <= 1:
        raise ConfigError(f"{spec.key} value is outside the allowed range 0-1, given {raw!r}")
    if spec.kind == "max-growth-ratio" and value < 0:
        raise ConfigError(f"{spec.key} value must not be negative, given {raw!r}")
    return value


def evaluate(
    rules: list[Rule], analysis: Analysis, baseline: Analysis | None = None, lines: DockerfileLines = NO_LINES
) -> CiReport:
    """Evaluates every rule; equality passes, as in dive."""
    return CiReport([rule.evaluate(analysis, baseline) for rule in rules], analysis, baseline, lines)
