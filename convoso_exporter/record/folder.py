"""A recording on disk, as `check --record DIR` writes it and `simulate --replay DIR` reads it.

    manifest.json    what was asked and what came back, exchange by exchange (below)
    NNN-<endpoint>-<filters>.json|.html|.txt    each answer's body as the client read it
    expected.prom    what the exporter made of those answers (record/expect.py)
    config.yaml      the config the recording was made with, pointing at the replay

The manifest: `format` (1), `exporter_version`, `revision`, `recorded_at` (UTC),
`redacted` and what redaction replaced (`replaced`: distinct names, phones, lead ids,
e-mails, tokens), `config` (the settings that shape the exporter's view, no base URL
and no token), `expected` (the file and the families left out of it), and `exchanges`:
per request `number`, `at` (Unix seconds), `seconds`, `method`, `endpoint` (below the
base URL), `params` (query and form, `auth_token` left out), and per answer `status`,
`headers` (content-type, content-encoding, content-length, retry-after, location),
`body` (the file; null when no answer came), `body_bytes`, `received_bytes` (on the
wire), `decoded` (false: the body is as received, its Content-Encoding could not be
undone), `complete` (the client read it to the end), `truncated` (past the size bound),
`failure` (the exchange broke: the exception's class).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convoso_exporter import __version__
from convoso_exporter.api.client import PATHS
from convoso_exporter.buildinfo import revision
from convoso_exporter.config.schema import Config, ConfigError, parse_config
from convoso_exporter.record.capture import Exchange

FORMAT = 1
MANIFEST = "manifest.json"
EXPECTED = "expected.prom"
CONFIG = "config.yaml"
# Where `simulate --replay` listens by default, and the token it wants (the simulator's).
REPLAY_URL = "http://127.0.0.1:18080/v1"
REPLAY_TOKEN = "demo"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


class RecordingError(Exception):
    """A folder that is not a readable recording; one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Recording:
    folder: Path
    manifest: Mapping[str, Any]
    exchanges: tuple[Exchange, ...]

    @property
    def redacted(self) -> bool:
        return bool(self.manifest.get("redacted"))

    def config(self, base_url: str = REPLAY_URL, token: str = REPLAY_TOKEN) -> Config:
        """The recorded settings, against `base_url` with `token`."""
        mapping = dict(self.manifest["config"])
        mapping["convoso"] = {**mapping.get("convoso", {}), "base_url": base_url, "auth_token": token}
        try:
            return parse_config(mapping, environ={}, source_name=str(self.folder / MANIFEST))
        except ConfigError as err:
            raise RecordingError(f"{self.folder / MANIFEST}: config: {err}") from None


def config_mapping(config: Config) -> dict[str, Any]:
    """What `parse_config` needs to rebuild `config`'s settings, minus the base URL and the token."""
    convoso, discovery = config.convoso, config.discovery
    mapping: dict[str, Any] = {
        "convoso": {"timeout": convoso.timeout, "concurrency": convoso.concurrency,
                    "max_response_bytes": convoso.max_response_bytes, "max_backoff": convoso.max_backoff},
        "poll_interval": config.poll_interval,
        "timezone": config.timezone,
        "agent_metrics": config.agent_metrics,
        "agent_names": config.agent_names,
        "max_agents_per_target": config.max_agents_per_target,
        "discovery": {
            "enabled": discovery.enabled, "campaigns": discovery.campaigns, "queues": discovery.queues,
            "include": discovery.include.pattern if discovery.include else "",
            "exclude": discovery.exclude.pattern if discovery.exclude else "",
            "interval": discovery.interval, "max_targets": discovery.max_targets,
        },
        "performance": {"enabled": config.performance.enabled, "interval": config.performance.interval},
        "user_activity": {"enabled": config.user_activity.enabled},
    }
    if config.targets:
        mapping["targets"] = [
            {"name": t.name, **{k: v for k, v in t.filters().items() if k != "skills"},
             **({"skills": list(t.skills)} if t.skills else {})}
            for t in config.targets
        ]
    return mapping


def prepare(folder: Path) -> None:
    """Make `folder` for a recording: new or empty, private to this user (it holds the account's data)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RecordingError(f"--record {folder}: exists and is not an empty folder; name a new one")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def write(folder: Path, exchanges: Sequence[Exchange], config: Config, *, redacted: bool,
          replaced: Mapping[str, int]) -> Recording:
    """Write the bodies, the manifest and config.yaml (not expected.prom: record/expect.py)."""
    entries = [_entry(folder, exchange) for exchange in exchanges]
    manifest = {
        "format": FORMAT,
        "exporter_version": __version__,
        "revision": revision(),
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "redacted": redacted,
        "replaced": dict(sorted(replaced.items())),
        "config": config_mapping(config),
        "exchanges": entries,
    }
    _write_manifest(folder, manifest)
    replay_config = {**manifest["config"]}
    replay_config["convoso"] = {"base_url": REPLAY_URL, "auth_token": REPLAY_TOKEN, **replay_config["convoso"]}
    write_file(folder / CONFIG, _config_text(folder, replay_config).encode())
    return Recording(folder, manifest, tuple(exchanges))


def add_to_manifest(recording: Recording, **fields: Any) -> Recording:
    manifest = {**recording.manifest, **fields}
    _write_manifest(recording.folder, manifest)
    return Recording(recording.folder, manifest, recording.exchanges)


def _write_manifest(folder: Path, manifest: Mapping[str, Any]) -> None:
    write_file(folder / MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())


def _entry(folder: Path, exchange: Exchange) -> dict[str, Any]:
    body = None
    if exchange.status is not None:
        body = _body_name(exchange)
        write_file(folder / body, exchange.body)
    return {
        "number": exchange.number, "at": round(exchange.at, 3),
        "seconds": None if exchange.seconds is None else round(exchange.seconds, 4),
        "method": exchange.method, "endpoint": exchange.endpoint, "params": exchange.params,
        "status": exchange.status, "headers": exchange.headers, "body": body,
        "body_bytes": len(exchange.body), "received_bytes": exchange.received, "decoded": exchange.decoded,
        "complete": exchange.complete, "truncated": exchange.truncated, "failure": exchange.failure,
    }


# An endpoint's word in a body's file name: the client's name for it (else the last part of its path).
WORDS = {path: name for name, path in PATHS.items()}


def _body_name(exchange: Exchange) -> str:
    kind = exchange.headers.get("content-type", "").lower()
    ext = ".json" if "json" in kind else ".html" if "html" in kind else ".txt"
    if not exchange.decoded:
        ext = ".bin"
    endpoint = exchange.endpoint.rstrip("/")
    first = WORDS.get(endpoint, endpoint.rsplit("/", 1)[-1])
    words = [first] + [f"{k}={v}" for k, v in exchange.params.items()]
    stem = _UNSAFE.sub("_", "-".join(words))[:80]
    return f"{exchange.number:03d}-{stem}{ext}"


def _config_text(folder: Path, mapping: Mapping[str, Any]) -> str:
    import yaml

    head = (f"# The config {folder.name} was recorded with, pointing at the replay:\n"
            f"#   convoso-exporter simulate --replay {folder}\n"
            f"#   convoso-exporter --config.file {folder / CONFIG}\n")
    return head + yaml.safe_dump(dict(mapping), sort_keys=False, allow_unicode=True)


def write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


# --- reading ------------------------------------------------------------------------


def load(folder: str | os.PathLike[str]) -> Recording:
    """The recording in `folder`; RecordingError names what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except OSError as err:
        raise RecordingError(f"{path}: cannot read ({err.strerror or err}); is {folder} a recording?") from None
    except ValueError as err:
        raise RecordingError(f"{path}: not JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordingError(f"{path}: not a recording of format {FORMAT}")
    if not isinstance(manifest.get("config"), dict) or not isinstance(manifest.get("exchanges"), list):
        raise RecordingError(f"{path}: expected 'config' (an object) and 'exchanges' (a list)")
    exchanges = tuple(_exchange(folder, path, i, entry) for i, entry in enumerate(manifest["exchanges"]))
    return Recording(folder, manifest, exchanges)


_FIELDS = {  # manifest field -> (types, may be null)
    "number": (int, False), "at": ((int, float), False), "method": (str, False), "endpoint": (str, False),
    "params": (dict, False), "status": (int, True), "headers": (dict, False), "body": (str, True),
    "received_bytes": (int, False), "decoded": (bool, False), "complete": (bool, False),
    "truncated": (bool, False), "failure": (str, True),
}


def _exchange(folder: Path, path: Path, index: int, entry: Any) -> Exchange:
    where = f"{path}: exchanges[{index}]"
    if not isinstance(entry, dict):
        raise RecordingError(f"{where}: expected an object")
    for name, (types, nullable) in _FIELDS.items():
        value = entry.get(name)
        if not (isinstance(value, types) or (nullable and value is None)) or (types is int and isinstance(value, bool)):
            raise RecordingError(f"{where}.{name}: expected {'null or ' if nullable else ''}"
                                 f"{getattr(types, '__name__', 'a number')}, got {json.dumps(value)[:40]}")
    for name in ("params", "headers"):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in entry[name].items()):
            raise RecordingError(f"{where}.{name}: expected text names and values")
    body = b""
    if entry["body"] is not None:
        name = entry["body"]
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise RecordingError(f"{where}.body: {name!r} is not a file name in the folder")
        try:
            body = (folder / name).read_bytes()
        except OSError as err:
            raise RecordingError(f"{where}.body: cannot read {folder / name} ({err.strerror or err})") from None
    return Exchange(
        number=entry["number"], at=float(entry["at"]), method=entry["method"], endpoint=entry["endpoint"],
        params=dict(entry["params"]), status=entry["status"], headers=dict(entry["headers"]), body=body,
        received=entry["received_bytes"], decoded=entry["decoded"], complete=entry["complete"],
        truncated=entry["truncated"], failure=entry["failure"], seconds=entry.get("seconds"),
    )
