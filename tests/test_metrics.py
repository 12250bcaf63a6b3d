"""The Prometheus endpoint, scraped over HTTP after real polls of a real IMAP server."""
from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from daemon import metrics
from daemon.config import ConfigError, MetricsConfig, parse_config
from daemon.db import session_scope
from daemon.imap import ImapAuthError
from daemon.models import Address, AddressState, MailboxState, Message, Outcome
from daemon.poller import poll_mailbox
from imapservers import append, free_port

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "daemon" / "samples").glob("*.eml"))


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def by_label(samples: dict, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name}


def with_metrics(config):
    return replace(config, metrics=MetricsConfig(listen=f"127.0.0.1:{free_port()}"))


@pytest.mark.imap
def test_scraped_figures_match_what_the_polls_recorded(pymap, make_account, make_config, engine_of,
                                                        monkeypatch):
    if not SAMPLES:
        pytest.skip("no sample messages shipped")
    account = make_account(pymap)
    config = with_metrics(make_config(account))
    engine = engine_of(config)
    append(pymap, "INBOX", [p.read_bytes() for p in SAMPLES])
    endpoint = metrics.serve(engine, config)
    try:
        result = poll_mailbox(engine, config, account, "INBOX")
        monkeypatch.setenv(account.password_env, "wrong password")
        with pytest.raises(ImapAuthError):
            poll_mailbox(engine, config, account, "INBOX")
        samples = scrape(endpoint.port)
    finally:
        endpoint.close()
    box = f"{account.name}/INBOX"
    with session_scope(engine) as s:
        kinds = dict(s.execute(select(Message.kind, func.count()).group_by(Message.kind)).all())
        outcomes = {(r, "true" if h else "false"): n for r, h, n in s.execute(
            select(Outcome.reason, Outcome.hard, func.count()).group_by(Outcome.reason, Outcome.hard))}
        active = dict(s.execute(select(Address.reason, func.count())
                                .where(Address.state == AddressState.SUPPRESSED)
                                .group_by(Address.reason)).all())
        last_success = s.get(MailboxState, box).last_success_at.timestamp()

    assert result.new == len(SAMPLES) and len(kinds) > 3 and active
    assert by_label(samples, "bouncewatch_messages_processed_total", "kind") == kinds
    assert {(dict(l)["reason"], dict(l)["hard"]): v for (n, l), v in samples.items()
            if n == "bouncewatch_outcomes_total"} == outcomes
    assert by_label(samples, "bouncewatch_suppressions_active", "reason") == active
    assert samples[("bouncewatch_last_successful_poll_timestamp_seconds", (("mailbox", box),))] == pytest.approx(last_success)
    assert samples[("bouncewatch_poll_duration_seconds_count", (("mailbox", box),))] == 2
    assert samples[("bouncewatch_poll_errors_total", (("mailbox", box),))] == 1
    assert samples[("bouncewatch_mailbox_consecutive_failures", (("mailbox", box),))] == 1
    assert samples[("bouncewatch_database_up", ())] == 1
    assert not any(n.startswith("bouncewatch_webhook_") for n, _ in samples)   # no webhook
    assert any(n.startswith("python_gc_") for n, _ in samples)   # the standard collectors


def test_a_second_poll_counts_duplicates_not_messages(pymap, make_account, make_config, engine_of):
    account = make_account(pymap)
    config = with_metrics(make_config(account))
    engine = engine_of(config)
    append(pymap, "INBOX", [SAMPLES[0].read_bytes()] * 2)       # the same content twice
    endpoint = metrics.serve(engine, config)
    try:
        poll_mailbox(engine, config, account, "INBOX")
        samples = scrape(endpoint.port)
    finally:
        endpoint.close()
    assert sum(by_label(samples, "bouncewatch_messages_processed_total", "kind").values()) == 1
    assert samples[("bouncewatch_messages_duplicate_total", ())] == 1


def test_an_unusable_database_reports_down_instead_of_failing(tmp_path):
    from daemon.config import Config, DatabaseConfig
    from daemon.db import make_engine

    config = with_metrics(Config(database=DatabaseConfig(url=f"sqlite:///{tmp_path}/never-migrated.db")))
    engine = make_engine(config.database.url)
    endpoint = metrics.serve(engine, config)
    try:
        samples = scrape(endpoint.port)
    finally:
        endpoint.close()
        engine.dispose()
    assert samples[("bouncewatch_database_up", ())] == 0


def test_counting_stops_with_the_endpoint_and_the_port_is_released(engine_of, make_config):
    config = with_metrics(make_config())
    endpoint = metrics.serve(engine_of(config), config)
    port = endpoint.port
    endpoint.close()
    assert metrics._active is None
    metrics.poll_started("x/INBOX")
    metrics.poll_finished("x/INBOX", ok=False)        # a no-op, not an error
    with pytest.raises(urllib.error.URLError):
        scrape(port)


def test_a_busy_port_is_a_clear_error(engine_of, make_config):
    config = with_metrics(make_config())
    first = metrics.serve(engine_of(config), config)
    try:
        with pytest.raises(metrics.MetricsUnavailable, match="metrics.listen '127.0.0.1:"):
            metrics.serve(engine_of(config), config)
    finally:
        first.close()


def test_the_service_serves_metrics_while_it_runs(make_config, tmp_path):
    from daemon.service import Service

    config = with_metrics(make_config())
    service = Service(config, notify=lambda *a: True)
    service.start()
    try:
        assert scrape(service.metrics.port)[("bouncewatch_database_up", ())] == 1
    finally:
        service.shutdown()
    with pytest.raises(urllib.error.URLError):
        scrape(config.metrics.address[1])


@pytest.mark.parametrize("listen, message", [
    ("9464", "metrics.listen: must be host:port"), ("localhost:", "metrics.listen: must be host:port"),
    ("localhost:70000", "metrics.listen: must be host:port"), (":9464", "metrics.listen: must be host:port"),
])
def test_listen_errors(listen, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"metrics": {"listen": listen}}, Path("/"))


def test_listen_addresses():
    assert MetricsConfig(listen="127.0.0.1:9464").address == ("127.0.0.1", 9464)
    assert MetricsConfig(listen="[::1]:9464").address == ("::1", 9464)


def test_status_json_carries_the_same_figures(capsys, tmp_path, database_url, monkeypatch):
    import json

    from classifiers import Kind
    from daemon.cli import main
    from daemon.config import load_config
    from daemon.db import make_engine, upgrade
    from daemon.store import mailbox_key, record_message
    from storehelp import fixed, hard, raw_message, report, soft

    monkeypatch.setenv("BW_TEST_HOOK_SECRET", "s3cret")
    conf = tmp_path / "bw.toml"
    conf.write_text(f'[database]\nurl = "{database_url}"\n'
                    f'[metrics]\nlisten = "127.0.0.1:{free_port()}"\n'
                    '[webhook]\nurl = "http://127.0.0.1:9/"\nsecret_env = "BW_TEST_HOOK_SECRET"\n'
                    '[[accounts]]\nname = "lists"\nhost = "h"\nusername = "u"\npassword_env = "X"\n')
    config = load_config(conf)
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as s:
        record_message(s, mailbox=mailbox_key("lists", "INBOX"), uidvalidity=1, uid=1,
                       raw=raw_message(1), config=config,
                       classify=fixed(report(Kind.BOUNCE, hard("dead@example.org"), soft("full@example.org"))))
    endpoint = metrics.serve(engine, config)
    try:
        samples = scrape(endpoint.port)
    finally:
        endpoint.close()
        engine.dispose()
    capsys.readouterr()
    assert main(["-c", str(conf), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (box,) = data["mailboxes"]
    assert box["outcomes_by_severity"] == {"hard": 1, "soft": 1}
    assert data["suppressions"]["by_reason"] == by_label(samples, "bouncewatch_suppressions_active", "reason") == {"userunknown": 1}
    assert data["webhook"]["pending"] == samples[("bouncewatch_webhook_pending", ())] == 1
    assert (data["webhook"]["configured"], data["webhook"]["given_up"]) == (True, 0)
    assert main(["-c", str(conf), "status"]) == 0
    assert "webhook: 1 change(s) waiting (0 given up)" in capsys.readouterr().out
