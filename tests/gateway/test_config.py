"""gateway.toml: defaults, overrides, and every mistake refused rather than ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import GatewayConfigError
from bastion.gateway.config import DEFAULT_GUARDS, load_config, parse_config


def test_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.policy("any").guards == DEFAULT_GUARDS
    assert config.policy("any").of("validation") == {"mode": "reject", "tolerance": 0.0}
    assert config.tls.cert == tmp_path / "tls" / "server.crt"
    assert config.audit_wait is False and config.audit_flush_ms == 10.0


def test_model_overrides_merge_over_defaults(tmp_path: Path) -> None:
    config = parse_config(
        {
            "defaults": {"harden": {"decimals": 2}},
            "models": {"churn": {"harden": {"label_only": True}, "guards": ["auth", "rbac"]}},
        },
        bastion_dir=tmp_path,
    )
    churn = config.policy("churn")
    assert churn.guards == ("auth", "rbac")
    assert churn.of("harden")["decimals"] == 2 and churn.of("harden")["label_only"] is True
    assert config.policy("other").of("harden")["label_only"] is False


@pytest.mark.parametrize(
    "doc",
    [
        {"sever": {}},
        {"server": {"max_body": 10}},
        {"server": {"max_body_bytes": -1}},
        {"server": {"audit_wait": "yes"}},
        {"defaults": {"guards": ["rbac", "auth"]}},
        {"defaults": {"guards": ["auth", "harden"]}},
        {"defaults": {"guards": ["auth", "rbac", "rbac"]}},
        {"defaults": {"rate_limit": {"per_user": ["1/second"]}}},
        {"models": {"churn": {"validation": {"mod": "flag"}}}},
        {"tls": {"cert": "/x.crt"}},
    ],
)
def test_mistakes_are_errors(tmp_path: Path, doc: dict[str, object]) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        parse_config(doc, bastion_dir=tmp_path)
    assert caught.value.code == "gateway.config_invalid"


def test_malformed_toml_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text("[server\n")
    with pytest.raises(GatewayConfigError):
        load_config(tmp_path)
