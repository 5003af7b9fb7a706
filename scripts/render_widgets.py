"""Render each task's Ikomia STUDIO panel offscreen to a PNG in its plugin folder (linked from its README).

    python scripts/render_widgets.py            # all plugins present
    python scripts/render_widgets.py train_mnasnet

The panel is made as STUDIO makes it (`IkomiaPlugin().get_widget_factory().create(param)`) on the
parameter class's defaults; `<plugin>/images/widget.png` shows it as it opens. Where a plugin has an
architecture-string field, `widget_arch_error.png` shows it with a malformed string typed and Apply
pressed (the parser's error in red, nothing applied).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ("infer_mnasnet", "train_mnasnet", "search_mini")
PANEL_WIDTH = 540  # about STUDIO's parameter dock
# an A1-like string with two mistakes a user makes: an even kernel, then a broken channel chain
BAD_ARCH = ("r1_k3_s22_e1_i3_o32_conv, r1_k3_s11_e1_i32_o16_noskip, r2_k4_s22_e6_i16_o24, "
            "r3_k5_s22_e3_i24_o40_se0.25")


def render(widget, path: Path) -> Path:
    """Grab the whole panel STUDIO shows (Ikomia's scroll area and Apply button around our form), tall
    enough that nothing scrolls."""
    from PyQt6.QtWidgets import QApplication, QScrollArea

    panel = widget.form.window()  # the C++ CWorkflowTaskWidget, seen through PyQt6
    panel.show()  # on the offscreen platform: lays the panel out for real, shows nothing
    panel.resize(PANEL_WIDTH, 600)
    QApplication.processEvents()
    viewport = panel.findChild(QScrollArea).viewport()
    layout = widget.form.layout()
    needed = (layout.totalHeightForWidth(viewport.width()) if layout.hasHeightForWidth()
              else widget.form.sizeHint().height())
    panel.resize(PANEL_WIDTH, panel.height() - viewport.height() + needed + 16)  # + frame: no scroll bar
    QApplication.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not panel.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    panel.hide()
    return path


def render_plugin(name: str) -> list[Path]:
    plugin = importlib.import_module(f"{name}.{name}").IkomiaPlugin()
    images = REPO_ROOT / name / "images"
    widget = plugin.get_widget_factory().create(plugin.get_param_factory().create())
    written = [render(widget, images / "widget.png")]
    arch_fields = [key for key, control in widget.form.controls.items() if control.field.kind == "arch"]
    if arch_fields:
        widget.form.controls[arch_fields[0]].set_text(BAD_ARCH)
        widget.apply()  # refused: the problem line says why
        written.append(render(widget, images / "widget_arch_error.png"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("plugins", nargs="*", default=[p for p in PLUGINS if (REPO_ROOT / p).is_dir()],
                        help=f"plugin folders to render (default: those of {', '.join(PLUGINS)} present)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")  # do not rewrite ikomia's cache in site-packages
    sys.path.insert(0, str(REPO_ROOT))  # the plugin folders, as the registry imports them

    import ikomia  # noqa: F401  (loads the Qt that PyQt6 must match before PyQt6 is imported)
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    for name in args.plugins:
        for path in render_plugin(name):
            print(f"[render_widgets] {path.relative_to(REPO_ROOT)}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
