"""Config loading: valid files give the expected `Config`; every invalid one gives a
single-line `ConfigError` that names the key path and never the token.

Invalid cases live in tests/fixtures/config/invalid/, one file each; the first line
is `# expect: <message>` where `{path}` stands for the fixture's path and `{fixtures}`
for tests/fixtures/config.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from convoso_exporter.config.schema import (
    Config,
    ConfigError,
    ConvosoSettings,
    DiscoverySettings,
    PerformanceSettings,
    Target,
    UserActivitySettings,
    load_config,
    parse_config,
)
from tests.support import FIXTURES_DIR, ROOT

FIXTURES = FIXTURES_DIR / "config"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))
EXAMPLE = ROOT / "config.example.yaml"
# Every token in the fixtures contains one of these; no message may.
TOKEN_MARKERS = ("7f3a9c", "7731977319")
ENV_TOKEN = "env-token-7f3a9c"


def expected_message(fixture: Path) -> str:
    first_line = fixture.read_text().splitlines()[0]
    assert first_line.startswith("# expect: "), f"{fixture.name} has no '# expect:' line"
    return (
        first_line.removeprefix("# expect: ")
        .replace("{path}", str(fixture))
        .replace("{fixtures}", str(FIXTURES))
    )


def load_error(path: str | Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={} if environ is None else environ)
    return str(info.value)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_clean(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message
    for marker in TOKEN_MARKERS:
        assert marker not in message


# ---------------------------------------------------------------- invalid fixtures


def test_there_are_enough_invalid_fixtures():
    assert len(INVALID) >= 20


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture(fixture: Path):
    message = load_error(fixture)
    assert message == expected_message(fixture)
    assert_clean(message)


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture_error_is_not_chained(fixture: Path):
    # `raise ... from None`: a CLI that prints the error never shows a YAML or OS traceback.
    with pytest.raises(ConfigError) as info:
        load_config(str(fixture), environ={})
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_missing_config_file(tmp_path: Path):
    path = tmp_path / "nope.yaml"
    assert load_error(path) == f"cannot read config file {path}: No such file or directory"


def test_config_path_is_a_directory(tmp_path: Path):
    assert load_error(tmp_path) == f"cannot read config file {tmp_path}: Is a directory"


def test_config_not_utf8(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"targets:\n  - name: caf\xe9\n")
    assert load_error(path) == (
        f"{path}:2: targets[0].name: not UTF-8 text (byte 0xe9 at column 14); save the file as UTF-8"
    )


def test_config_with_a_byte_order_mark(tmp_path: Path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfconvoso: {auth_token: tok}\ntargets: [{name: a}]\n")
    assert load_config(str(path), environ={}).targets == (Target(name="a"),)


def test_unreadable_token_file(tmp_path: Path):
    if os.geteuid() == 0:
        # root reads any file; a directory gives the same "cannot read" path instead.
        token = tmp_path / "token"
        token.mkdir()
        reason = "Is a directory"
    else:
        token = tmp_path / "token"
        token.write_text("file-token-7f3a9c\n")
        token.chmod(0)
        reason = "Permission denied"
    path = write(tmp_path, "convoso:\n  auth_token_file: token\ntargets:\n  - name: a\n")
    message = load_error(path)
    assert message == f"{path}:2: convoso.auth_token_file: cannot read token file {token}: {reason}"
    assert_clean(message)


def test_huge_token_file_is_not_slurped(tmp_path: Path):
    token = tmp_path / "token"
    token.write_bytes(b"x" * (64 * 1024 + 1))
    path = write(tmp_path, "convoso:\n  auth_token_file: token\ntargets:\n  - name: a\n")
    assert load_error(path) == (
        f"{path}:2: convoso.auth_token_file: token file {token} is larger than 65536 bytes; "
        "expected the token alone"
    )


@pytest.mark.parametrize(
    ("text", "where"), [("", "<config>"), ("   \n", "<config>"), ("# only a comment\n", "<config>"), ("~\n", "<config>:1")]
)
def test_empty_yaml_text_through_parse_config(text, where):
    with pytest.raises(ConfigError, match=rf"^{where}: \(top level\): the config is empty"):
        parse_config(text, environ={})


def test_yaml_error_names_the_source_line_and_key():
    with pytest.raises(ConfigError) as info:
        parse_config("targets: [a,\n", environ={}, source_name="demo.yaml")
    assert str(info.value) == (
        "demo.yaml:1: targets: invalid YAML: the '[' opened here is never closed; add ']' after the last item"
    )
    assert_clean(str(info.value))


def test_errors_in_a_mapping_name_the_key_path_only():
    # A mapping handed in by code has no file and no lines.
    with pytest.raises(ConfigError) as info:
        parse_config({"convoso": {"auth_token": "tok"}, "targets": [{"name": "a"}, {"name": 5}]}, environ={})
    assert str(info.value) == (
        "targets[1].name: expected a string, got an integer (5); put it in quotes to make it text"
    )


def test_a_value_from_an_alias_is_reported_where_the_alias_is():
    text = (
        "convoso: {auth_token: tok}\n"
        "targets:\n"
        "  - name: a\n"
        "    skills: &both [english, spanish]\n"
        "  - name: b\n"
        "    queue_id: *both\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ={})
    assert str(info.value) == "<config>:6: targets[1].queue_id: expected an id (string or integer), got a list"


# ---------------------------------------------------------------- valid configs


def test_minimal_config_takes_every_default():
    config = load_config(str(FIXTURES / "valid" / "minimal.yaml"), environ={"CONVOSO_AUTH_TOKEN": ENV_TOKEN})
    assert config == Config(
        convoso=ConvosoSettings(auth_token=ENV_TOKEN),
        # A config that lists its own targets has discovery off unless it says otherwise.
        discovery=DiscoverySettings(enabled=False),
        targets=(Target(name="everyone"),),
    )
    assert config.warnings == ()


def test_without_targets_discovery_is_on_and_takes_every_default():
    config = load_config(str(FIXTURES / "valid" / "discovery-only.yaml"), environ={})
    assert config.targets == () and config.discovery == DiscoverySettings()
    assert config.discovery.enabled and config.discovery.interval == 60.0 and config.discovery.max_targets == 200
    assert config.timezone == "UTC" and config.agent_names


def test_full_config():
    config = load_config(str(FIXTURES / "valid" / "full.yaml"), environ={})
    assert config == Config(
        convoso=ConvosoSettings(
            base_url="http://127.0.0.1:18080/v1",  # trailing slash dropped
            auth_token="inline-token-7f3a9c",
            auth_token_file=None,
            timeout=2.5,
            concurrency=3,
            max_response_bytes=512 * 1024,
            max_backoff=5400.0,
            max_requests_per_minute=1200,
        ),
        poll_interval=60.0,
        timezone="America/New_York",
        discovery=DiscoverySettings(
            enabled=True, campaigns=False, queues=True, include=re.compile("^2"), exclude=re.compile("Overflow"),
            interval=120.0, max_targets=50,
        ),
        performance=PerformanceSettings(enabled=False, interval=90.0),
        user_activity=UserActivitySettings(enabled=False),
        agent_metrics=False,
        agent_names=False,
        max_agents_per_target=0,
        targets=(
            Target(name="sales", campaign_id="111"),
            Target(name="main-queue", queue_id="222", skills=("english", "spanish")),
            Target(name="queue-by-string", queue_id="222", skills=("spanish", "english")),
            # 012345 is octal in YAML 1.1; the id is kept as written.
            Target(name="jane", user_id="012345"),
            Target(name="everyone"),
        ),
    )
    # the same scope as main-queue (skill order aside): allowed, but said
    assert config.warnings == (
        "targets[2]: asks for the same agents as targets[1] ('main-queue'); "
        "each poll makes the same API call twice",
    )


def test_nulls_mean_defaults():
    config = load_config(str(FIXTURES / "valid" / "nulls.yaml"), environ={"CONVOSO_AUTH_TOKEN": ENV_TOKEN})
    assert config == Config(
        convoso=ConvosoSettings(auth_token=ENV_TOKEN), discovery=DiscoverySettings(enabled=False),
        targets=(Target(name="sales"),)
    )


def test_parse_config_accepts_a_mapping_with_int_ids():
    config = parse_config(
        {
            "convoso": {"auth_token": "tok", "timeout": 5},
            "poll_interval": "30s",
            "targets": [{"name": "a", "campaign_id": 111, "skills": ("x", "y")}],
        },
        environ={},
    )
    assert config.convoso.timeout == 5.0
    assert config.poll_interval == 30.0
    assert config.targets == (Target(name="a", campaign_id="111", skills=("x", "y")),)


def test_yaml_merge_keys_may_override():
    text = """
convoso: {auth_token: tok}
targets:
  - &east {name: east, campaign_id: "1", skills: [english]}
  - {<<: *east, name: west, campaign_id: "2"}
"""
    config = parse_config(text, environ={})
    assert config.targets[1] == Target(name="west", campaign_id="2", skills=("english",))


def test_timeout_not_shorter_than_interval_is_a_warning():
    text = "convoso: {auth_token: tok, timeout: 20s}\npoll_interval: 15s\ntargets: [{name: a}]\n"
    config = parse_config(text, environ={})
    assert config.convoso.timeout == 20.0
    assert config.warnings == (
        "convoso.timeout: 20s is not shorter than poll_interval 15s; a slow answer delays the next poll",
    )


def test_example_file_loads_and_shows_the_defaults():
    config = load_config(str(EXAMPLE), environ={"CONVOSO_AUTH_TOKEN": "x"})
    # env wins, so the token file is never read; it is `convoso-token` beside the config
    assert config.convoso == ConvosoSettings(
        auth_token="x", auth_token_file=str(ROOT / "convoso-token")
    )
    defaults = Config()
    assert config.poll_interval == defaults.poll_interval
    assert config.agent_metrics == defaults.agent_metrics
    assert config.max_agents_per_target == defaults.max_agents_per_target
    assert (config.timezone, config.agent_names) == (defaults.timezone, defaults.agent_names)
    # The example lists no slice (they are commented out): the account plus discovery.
    assert config.discovery == DiscoverySettings()
    assert (config.performance, config.user_activity) == (defaults.performance, defaults.user_activity)
    assert config.targets == ()
    assert config.warnings == ()


def test_example_file_documents_every_key():
    text = EXAMPLE.read_text()
    for key in (
        "base_url:", "auth_token_file:", "auth_token:", "timeout:", "concurrency:",
        "max_response_bytes:", "max_backoff:", "max_requests_per_minute:", "poll_interval:", "agent_metrics:",
        "max_agents_per_target:", "targets:", "campaign_id", "queue_id", "user_id", "skills",
        "timezone:", "discovery:", "include:", "exclude:", "interval:", "max_targets:", "agent_names:",
        "CONVOSO_AUTH_TOKEN", "performance:", "user_activity:",
    ):
        assert key in text, key


def test_example_targets_work_when_uncommented():
    text = EXAMPLE.read_text()
    block = text[text.index("# targets:\n"):]
    assert block.count("\n") == 5, "the example's commented targets block changed"
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines()) + "\n"
    config = parse_config(text.replace(block, uncommented), environ={"CONVOSO_AUTH_TOKEN": "x"})
    assert config.targets == (
        Target(name="spanish-speakers", skills=("spanish",)),
        Target(name="supervisor-jane", user_id="12345"),
    )
    # Discovery stays on: the example says so explicitly (its default turns off with targets).
    assert config.discovery.enabled


# ---------------------------------------------------------------- the token


TOKEN_FILE_CONFIG = "convoso:\n  auth_token_file: secrets/token\ntargets:\n  - name: a\n"


def test_env_token_wins_over_inline():
    text = "convoso: {auth_token: inline-7f3a9c}\ntargets: [{name: a}]\n"
    assert parse_config(text, environ={"CONVOSO_AUTH_TOKEN": ENV_TOKEN}).convoso.auth_token == ENV_TOKEN


def test_env_token_wins_and_the_file_is_not_read(tmp_path: Path):
    path = write(tmp_path, TOKEN_FILE_CONFIG)  # secrets/token does not exist
    config = load_config(str(path), environ={"CONVOSO_AUTH_TOKEN": f" {ENV_TOKEN}\n"})
    assert config.convoso.auth_token == ENV_TOKEN
    assert config.convoso.auth_token_file == str(tmp_path / "secrets" / "token")


def test_empty_env_token_is_ignored():
    text = "convoso: {auth_token: inline-token}\ntargets: [{name: a}]\n"
    assert parse_config(text, environ={"CONVOSO_AUTH_TOKEN": ""}).convoso.auth_token == "inline-token"


def test_env_token_with_whitespace_inside_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_config("targets: [{name: a}]\n", environ={"CONVOSO_AUTH_TOKEN": "env 7f3a9c"})
    assert str(info.value) == (
        "CONVOSO_AUTH_TOKEN: the token contains whitespace or control characters; "
        "expected the token alone"
    )


# As Windows editors save it: a UTF-8 byte-order mark, CRLF line ends.
@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbffile-token-7f3a9c\r\n",
    b"\xef\xbb\xbffile-token-7f3a9c",
    b"file-token-7f3a9c\r\n\r\n",
    b"\xef\xbb\xbf  file-token-7f3a9c \t\r\n",
], ids=["bom-crlf", "bom", "crlf", "bom-spaces"])
def test_a_token_file_saved_by_a_windows_editor_is_read(tmp_path: Path, raw: bytes):
    (tmp_path / "secrets").mkdir()
    token = tmp_path / "secrets" / "token"
    token.write_bytes(raw)
    token.chmod(0o600)
    config = load_config(str(write(tmp_path, TOKEN_FILE_CONFIG)), environ={})
    assert config.convoso.auth_token == "file-token-7f3a9c" and config.warnings == ()


# Whatever else is not part of a printable token is still refused, in the same words.
NOT_A_TOKEN = [
    "file-token 7f3a9c", "file-token\r\n7f3a9c", "file-token\t7f3a9c", "\ufeff\ufefffile-token-7f3a9c",
    "file-token\ufeff7f3a9c", "file-token\u200b7f3a9c", "file-token\x007f3a9c", "file-token\x1b7f3a9c",
]


@pytest.mark.parametrize("text", NOT_A_TOKEN)
def test_a_token_file_with_anything_else_is_refused_in_one_line(tmp_path: Path, text: str):
    (tmp_path / "secrets").mkdir()
    token = tmp_path / "secrets" / "token"
    token.write_bytes(text.encode() + b"\r\n")
    token.chmod(0o600)
    path = write(tmp_path, TOKEN_FILE_CONFIG)
    message = load_error(path)
    assert message == (f"{path}:2: convoso.auth_token_file: the token in {token} contains whitespace or "
                       "control characters; expected the token alone")


def test_an_environment_token_with_a_byte_order_mark_is_read():
    environ = {"CONVOSO_AUTH_TOKEN": f"\ufeff{ENV_TOKEN}\r\n"}
    assert parse_config("targets: [{name: a}]\n", environ=environ).convoso.auth_token == ENV_TOKEN


@pytest.mark.parametrize("text", NOT_A_TOKEN)
def test_an_environment_token_with_anything_else_is_refused_in_one_line(text: str):
    with pytest.raises(ConfigError) as info:
        parse_config("targets: [{name: a}]\n", environ={"CONVOSO_AUTH_TOKEN": text})
    assert str(info.value) == ("CONVOSO_AUTH_TOKEN: the token contains whitespace or control characters; "
                               "expected the token alone")


def test_token_file_relative_to_the_config_folder(tmp_path: Path, monkeypatch):
    conf_dir = tmp_path / "etc"
    (conf_dir / "secrets").mkdir(parents=True)
    token = conf_dir / "secrets" / "token"
    token.write_text("file-token-7f3a9c\n")
    token.chmod(0o600)
    path = write(conf_dir, TOKEN_FILE_CONFIG)
    monkeypatch.chdir(tmp_path)  # somewhere else: the path must not depend on the cwd
    config = load_config(str(path), environ={})
    assert config.convoso.auth_token == "file-token-7f3a9c"
    assert config.convoso.auth_token_file == str(token)
    assert config.warnings == ()


def test_token_file_readable_by_others_warns(tmp_path: Path):
    (tmp_path / "secrets").mkdir()
    token = tmp_path / "secrets" / "token"
    token.write_text("  file-token-7f3a9c  \n\n")
    token.chmod(0o644)
    config = load_config(str(write(tmp_path, TOKEN_FILE_CONFIG)), environ={})
    assert config.convoso.auth_token == "file-token-7f3a9c"
    assert config.warnings == (
        f"convoso.auth_token_file: {token} is readable by other users (mode 0644); "
        "restrict it with chmod 600",
    )
    for warning in config.warnings:
        assert_clean(warning)


def test_group_readable_token_file_is_fine(tmp_path: Path):
    # Kubernetes mounts secrets 0440 for the pod's fsGroup: no warning for that.
    (tmp_path / "secrets").mkdir()
    token = tmp_path / "secrets" / "token"
    token.write_text("file-token-7f3a9c\n")
    token.chmod(0o440)
    config = load_config(str(write(tmp_path, TOKEN_FILE_CONFIG)), environ={})
    assert config.warnings == ()


def test_token_never_in_repr():
    text = "convoso: {auth_token: repr-7f3a9c}\ntargets: [{name: a}]\n"
    config = parse_config(text, environ={})
    assert config.convoso.auth_token == "repr-7f3a9c"
    for shown in (repr(config), str(config), repr(config.convoso), str(config.convoso)):
        assert "7f3a9c" not in shown
        assert "auth_token=" not in shown


# ---------------------------------------------------------------- equality for reload


def test_config_is_hashable_and_compares_by_value():
    text = "convoso: {auth_token: old-token}\ntargets: [{name: a, skills: [x]}]\n"
    first, second = parse_config(text, environ={}), parse_config(text, environ={})
    assert first == second and hash(first) == hash(second)
    changed = parse_config(text.replace("[x]", "[y]"), environ={})
    assert changed != first
    new_token = parse_config(text.replace("old-token", "new-token"), environ={})
    assert new_token != first  # a new token must rebuild the client


def test_warnings_do_not_count_as_a_change():
    config = parse_config("convoso: {auth_token: tok}\ntargets: [{name: a}]\n", environ={})
    assert Config(
        convoso=config.convoso, discovery=config.discovery, targets=config.targets, warnings=("something",)
    ) == config


@pytest.mark.parametrize("where", ["targets: TOKEN\n", "poll_interval: TOKEN\n", "timezone: TOKEN\n"])
def test_a_token_pasted_under_another_key_is_never_echoed(where):
    token = "a-long-Convoso-token-" + "x7" * 40  # longer than a message shows of a value
    for environ, inline in (({}, f"  auth_token: {token}\n"), ({"CONVOSO_AUTH_TOKEN": token}, "  timeout: 1s\n")):
        text = "convoso:\n" + inline + where.replace("TOKEN", token)
        with pytest.raises(ConfigError) as caught:
            parse_config(text, environ=environ)
        message = str(caught.value)
        assert token[:20] not in message and "<redacted>" in message, message


def test_every_config_in_the_readme_loads_and_means_what_its_comments_say():
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    for block in blocks:
        config = parse_config(block, environ={"CONVOSO_AUTH_TOKEN": "x"}, base_dir=str(ROOT))
        # Each shows discovery at work beside a custom slice.
        assert config.discovery.enabled and config.targets


def test_the_optional_endpoints_are_on_by_default_and_their_interval_takes_poll_intervals_range():
    assert (Config().performance, Config().user_activity) == (PerformanceSettings(True, 300.0),
                                                              UserActivitySettings(True))
    config = parse_config({"convoso": {"auth_token": "x"}, "performance": {"interval": "2s"}})
    assert config.performance.interval == 2.0 and config.performance.enabled
    with pytest.raises(ConfigError, match=r"^performance\.interval: .*at least 1s"):
        parse_config({"convoso": {"auth_token": "x"}, "performance": {"interval": "500ms"}})
    with pytest.raises(ConfigError, match=r"^user_activity\.interval: unknown key"):
        parse_config({"convoso": {"auth_token": "x"}, "user_activity": {"interval": "1m"}})
