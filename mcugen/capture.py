"""`mcugen capture`: frames from the board's camera saved as PNG files in the --data layout
(OUT/LABEL/0000.png, ...), so a dataset can be made with the board that will run the model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .camera_link import capture_frame
from .errors import McugenError
from .preprocess import frame_to_rgb
from .protocol import AgentErrorReply, ErrorCode


def capture_to_folder(client: Any, out_dir: Path, label: str, count: int) -> list[Path]:
    from PIL import Image

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", label):
        raise McugenError(f"label '{label}' is not a folder name", "use letters, digits, '_', '-' and '.'")
    hello = client.hello()
    folder = out_dir / label
    folder.mkdir(parents=True, exist_ok=True)
    start = len(list(folder.glob("*.png")))  # add to what is there
    saved = []
    for i in range(count):
        try:
            shot = capture_frame(client)
        except AgentErrorReply as exc:
            if exc.code == ErrorCode.UNKNOWN_COMMAND:
                raise McugenError(f"the firmware on the board ({hello.build_id}) does not capture",
                                  "generate and flash it with --app capture") from None
            raise
        rgb = frame_to_rgb(shot.data, shot.width, shot.height, shot.format)
        path = folder / f"{start + i:04d}.png"
        tmp = path.with_suffix(".png.part")
        Image.fromarray(rgb).save(tmp, format="PNG")
        tmp.replace(path)  # never a half-written image
        saved.append(path)
    return saved

