"""CI rules: thresholds, the rules file, and how verdicts are reached."""

from __future__ import annotations

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.ci.config import CiConfig, load_ci_config
from dive_py.ci.rules import RuleStatus, build_rules, evaluate
from dive_py.errors import ConfigError
from tests.fixtures.stand_ins import built


@pytest.fixture(scope="module")
def dive_test_analysis():
    """The analysis of dive's own test image (test-docker-image.tar, built in code)."""
    return load_analysis(str(built("test-docker-image.tar")))


def _verdicts(analysis, **rules):
    config = CiConfig()
    config.rules.update(rules)
    return {r.key: r.status for r in evaluate(build_rules(config), analysis).results}


@pytest.mark.parametrize(
    ("rules", "key", "status"),
    [
        ({}, "lowestEfficiency", RuleStatus.PASS),
        ({}, "highestUserWastedPercent", RuleStatus.FAIL),
        ({}, "highestWastedBytes", RuleStatus.SKIP),
        ({"lowestEfficiency": "0.9844212134184309"}, "lowestEfficiency", RuleStatus.PASS),  # equality passes
        ({"lowestEfficiency": "0.99"}, "lowestEfficiency", RuleStatus.FAIL),
        ({"highestWastedBytes": "32025"}, "highestWastedBytes", RuleStatus.PASS),  # equality passes
        ({"highestWastedBytes": "32kB"}, "highestWastedBytes", RuleStatus.FAIL),
        ({"highestWastedBytes": "20MB"}, "highestWastedBytes", RuleStatus.PASS),
        ({"highestUserWastedPercent": "0.5"}, "highestUserWastedPercent", RuleStatus.PASS),
        ({"highestUserWastedPercent": "off"}, "highestUserWastedPercent", RuleStatus.SKIP),
        ({"highestUserWastedPercent": "false"}, "highestUserWastedPercent", RuleStatus.SKIP),
        ({"highestReclaimableBytes": "32024"}, "highestReclaimableBytes", RuleStatus.FAIL),
        ({"highestDuplicateContentBytes": "1MB"}, "highestDuplicateContentBytes", RuleStatus.PASS),
        ({"highestSizeIncreaseBytes": "1"}, "highestSizeIncreaseBytes", RuleStatus.SKIP),  # no baseline
    ],
)
def test_rule_verdicts_on_dives_test_image(dive_test_analysis, rules, key, status):
    assert _verdicts(dive_test_analysis, **rules)[key] is status


@pytest.mark.parametrize(
    "rules",
    [
        {"lowestEfficiency": "1.5"},
        {"lowestEfficiency": "-0.1"},
        {"lowestEfficiency": "high"},
        {"highestUserWastedPercent": "2"},
        {"highestWastedBytes": "lots"},
        {"lowestEfficiency": "nan"},
    ],
)
def test_invalid_thresholds_are_configuration_errors(rules):
    config = CiConfig()
    config.rules.update(rules)
    with pytest.raises(ConfigError):
        build_rules(config)


def test_rules_file_keys_values_and_unknown_keys(tmp_path):
    path = tmp_path / ".dive-ci"
    path.write_text(
        "rules:\n  lowestEfficiency: 0.95\n  highest-wasted-bytes: 20MB\n"
        "  highestUserWastedPercent: disabled\n  somethingElse: 3\n"
    )
    config = load_ci_config(str(path), {"lowestEfficiency": "0.5"})
    assert config.rules["lowestEfficiency"] == "0.5"  # flags override the file
    assert config.rules["highestWastedBytes"] == "20MB"
    assert config.rules["highestUserWastedPercent"] == "disabled"
    assert config.ignored_keys == ["somethingElse"]


DIVE_SAMPLE_RULES = """\
---
plugins:
  - plugin1

rules:
  # If the efficiency is measured below X%, mark as failed. (expressed as a percentage between 0-1)
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed. (expressed in B, KB, MB, and GB)
  highestWastedBytes: 20Mb

  # If the amount of wasted space makes up for X% of the image, mark as failed. (fail if the threshold is met or \
crossed; expressed as a percentage between 0-1)
  highestUserWastedPercent: 0.5

  plugin1/rule1: error
"""
"""dive's sample ``.dive-ci`` (wagoodman/dive ``.data/.dive-ci``, MIT; ``shared/images/dive/dive-ci.yaml``)."""


def test_dives_sample_rules_file_is_read(monkeypatch, tmp_path):
    sample = tmp_path / ".dive-ci"
    sample.write_text(DIVE_SAMPLE_RULES)
    config = load_ci_config(str(sample), {})
    assert config.source == str(sample)
    build_rules(config)


@pytest.mark.parametrize("text", ["rules: [1, 2", "- a\n- b\n", "rules: 5\n", "rules:\n  lowestEfficiency: [1]\n"])
def test_broken_rules_files_are_refused(tmp_path, text):
    path = tmp_path / "ci.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        build_rules(load_ci_config(str(path), {}))


def test_missing_named_rules_file_is_an_error_but_missing_default_is_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_ci_config(None, {}).source == "defaults"
    with pytest.raises(ConfigError, match="not found"):
        load_ci_config("nope.yaml", {})


def test_fixable_rules_are_disabled_by_default_and_fail_above_their_threshold():
    from dive_py.analysis.from_reference import load_analysis
    from dive_py.ci.config import CiConfig
    from dive_py.ci.rules import RuleStatus, build_rules, evaluate
    from dive_py.load.options import LoadOptions
    from tests.fixtures.paths import EXAMPLE

    analysis = load_analysis(str(EXAMPLE), LoadOptions(use_cache=False))
    results = {r.key: r for r in evaluate(build_rules(CiConfig()), analysis).results}
    assert results["highestFixableBytes"].status == RuleStatus.SKIP
    assert results["highestFixablePercent"].status == RuleStatus.SKIP
    config = CiConfig(rules={**CiConfig().rules, "highestFixableBytes": "1MB", "highestFixablePercent": "0.5"})
    results = {r.key: r for r in evaluate(build_rules(config), analysis).results}
    assert results["highestFixableBytes"].status == RuleStatus.FAIL
    assert results["highestFixableBytes"].actual == 3_369_944
    assert results["highestFixablePercent"].status == RuleStatus.PASS
