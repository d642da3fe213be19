"""Applications as data: what the firmware does with the model, one template folder each.

    templates/apps/<id>/app.toml   id, summary, what it needs from the board, its options
    templates/apps/<id>/*.c, *.h   copied into the project's src/
    templates/apps/<id>/*.j2       rendered into src/ (without .j2) with the model, board and options

`mcugen generate --app ID --set KEY=VALUE ...` picks one. Adding an application is
adding a folder; no Python changes. Files shared by several applications live in
templates/apps/common/ and an app lists the ones it uses in `common = [...]`.

app.toml:

    id = "person-led"
    summary = "..."
    requires = ["camera", "leds"]       # board capabilities the app needs
    common = ["mcugen_preprocess.c"]    # files from templates/apps/common/
    [options.threshold]
    type = "float"                      # string | float | int | choice | map
    default = 0.5
    help = "..."
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .boards import Board
from .errors import McugenError
from .resources import templates_dir

DEFAULT_APP = "bench"
COMMON_FOLDER = "common"
CAPABILITIES = ("camera", "leds")
# What an app may need from the model rather than the board (checked by app_config.app_defaults):
# "boxes", a detection head (generate --detect).
MODEL_NEEDS = ("boxes",)
_OPTION_TYPES = ("string", "float", "int", "choice", "map")


class AppError(McugenError):
    """An application does not exist, does not suit the board, or got a bad option."""


@dataclass(frozen=True)
class AppOption:
    name: str
    type: str
    default: Any  # None: derived from the model and board when generating (the help says how)
    help: str
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> Any:
        """A --set value, as the option's type."""
        try:
            if self.type == "float":
                return float(text)
            if self.type == "int":
                return int(text, 0)
        except ValueError:
            raise AppError(f"option {self.name} needs a{'n integer' if self.type == 'int' else ' number'}, "
                           f"not '{text}'", f"--set {self.name}=VALUE; {self.help}") from None
        if self.type == "choice" and text not in self.choices:
            raise AppError(f"option {self.name} must be one of {', '.join(self.choices)}, not '{text}'",
                           self.help)
        if self.type == "map":
            pairs = {}
            for item in filter(None, (p.strip() for p in text.split(","))):
                key, sep, value = item.partition("=")
                if not sep or not key.strip():
                    raise AppError(f"option {self.name} is a list of KEY=VALUE pairs, not '{text}'",
                                   f"for example --set {self.name}=person=green,no_person=red")
                pairs[key.strip()] = value.strip()
            return pairs
        return text


@dataclass(frozen=True)
class App:
    id: str
    summary: str
    requires: tuple[str, ...]
    common: tuple[str, ...]
    options: dict[str, AppOption]
    folder: Path = field(compare=False)

    def unsupported_reason(self, board: Board) -> str | None:
        """Why the board cannot run this app, or None if it can."""
        if not board.firmware:
            return f"board '{board.id}' has no firmware port"
        if "camera" in self.requires and board.camera is None:
            return f"board '{board.id}' has no camera"
        if "leds" in self.requires and not board.leds:
            return f"board '{board.id}' has no LEDs"
        return None

    def files(self) -> dict[str, Path]:
        """Source name -> file: the app's own, then the common ones it names."""
        out = {p.name: p for p in sorted(self.folder.iterdir())
               if p.is_file() and p.name != "app.toml" and not p.name.startswith(".")}
        common = self.folder.parent / COMMON_FOLDER
        for name in self.common:
            path = common / name
            if not path.is_file():
                raise AppError(f"app '{self.id}' names common file {name}, which is not in {common}",
                               "reinstall mcugen")
            out.setdefault(name, path)
        return out


def _load(folder: Path) -> App:
    path = folder / "app.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AppError(f"cannot read {path}: {exc}") from None

    def bad(what: str) -> AppError:
        return AppError(f"{path}: {what}", "see templates/apps/person-led/app.toml for the format")

    unknown = sorted(set(data) - {"id", "summary", "requires", "common", "options"})
    if unknown:
        raise bad(f"unknown field(s) {', '.join(unknown)}")
    if data.get("id") != folder.name:
        raise bad(f"id must be the folder's name '{folder.name}'")
    if not isinstance(data.get("summary"), str):
        raise bad("summary must be a string")
    requires = data.get("requires", [])
    if not isinstance(requires, list) or not set(requires) <= set(CAPABILITIES + MODEL_NEEDS):
        raise bad(f"requires must list some of {', '.join(CAPABILITIES + MODEL_NEEDS)}")
    common = data.get("common", [])
    if not isinstance(common, list) or not all(isinstance(c, str) for c in common):
        raise bad("common must be a list of file names")
    options = {}
    for name, spec in data.get("options", {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not isinstance(spec, dict):
            raise bad(f"option '{name}' must be a lowercase identifier with a table")
        kind = spec.get("type")
        if kind not in _OPTION_TYPES:
            raise bad(f"options.{name}.type must be one of {', '.join(_OPTION_TYPES)}")
        if not isinstance(spec.get("help"), str):
            raise bad(f"options.{name}.help must say what the option does")
        choices = tuple(spec.get("choices", ()))
        if kind == "choice" and not choices:
            raise bad(f"options.{name} is a choice without choices")
        options[name] = AppOption(name, kind, spec.get("default"), spec["help"], choices)
    return App(data["id"], data["summary"], tuple(requires), tuple(common), options, folder)


def apps_dir() -> Path:
    return templates_dir() / "apps"


def list_apps() -> list[App]:
    return [_load(p) for p in sorted(apps_dir().iterdir())
            if p.is_dir() and p.name != COMMON_FOLDER and (p / "app.toml").is_file()]


def get_app(app_id: str) -> App:
    folder = apps_dir() / app_id
    if app_id == COMMON_FOLDER or not (folder / "app.toml").is_file():
        known = ", ".join(a.id for a in list_apps())
        raise AppError(f"unknown app '{app_id}'", f"apps: {known}")
    return _load(folder)


def parse_settings(app: App, settings: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`--set KEY=VALUE` strings -> typed values (defaults are filled in by the app's generator)."""
    out: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise AppError(f"--set needs KEY=VALUE, not '{item}'", _options_hint(app))
        if key not in app.options:
            raise AppError(f"app '{app.id}' has no option '{key}'", _options_hint(app))
        out[key] = app.options[key].parse(value.strip())
    return out


def _options_hint(app: App) -> str:
    if not app.options:
        return f"app '{app.id}' takes no options"
    return f"options of {app.id}: " + ", ".join(sorted(app.options))


def board_apps(board: Board) -> dict[str, str]:
    """The apps the board can build, each with how far it has been verified there
    (boards.VERIFIED_LEVELS; 'described' where the board file claims nothing)."""
    return {app.id: board.verified.get(app.id, "described") for app in list_apps()
            if app.unsupported_reason(board) is None}
