"""What the panel tells a user: errors where the answer or the report was, in the panel's own
words (real bpy)."""

from types import SimpleNamespace

import numpy as np
import pytest


def test_a_render_folder_mistake_replaces_the_last_report_in_the_panels_words(addon, tmp_path):
    import bpy

    props = bpy.context.scene.milling
    props.job_status, props.job_error = "3 meta-images rendered, 0 up to date, 0 failed", False
    props.input_dir, props.output_dir = str(tmp_path), str(tmp_path / "out")
    props.labels_csv, props.rotations = "", True
    with pytest.raises(RuntimeError, match="Rotations need a labels CSV"):
        bpy.ops.milling.render_folder()
    assert props.job_status.startswith("Rotations need a labels CSV") and props.job_error
    assert "--" not in props.job_status  # not the command line's words
    assert not (tmp_path / "out").exists()
    props.rotations, props.input_dir = False, ""
    with pytest.raises(RuntimeError, match="choose an STL folder"):
        bpy.ops.milling.render_folder()
    assert props.job_status.startswith("choose an STL folder") and props.job_error


SIDEBAR = 291
"""The 3D viewport sidebar's default width in pixels at UI scale 1 (Blender 4.3's, measured by
bench/gui_check.py)."""


class Recorder:
    """A stand-in for bpy's UILayout that records what the panel lays out: (kind, text, icon,
    boxes deep, items sharing its row)."""

    def __init__(self, log: list, depth: int = 0, items: list | None = None):
        self.log, self.depth, self.items = log, depth, items
        self.scale_y, self.enabled, self.alert = 1.0, True, False

    def _add(self, kind, text, icon):
        entry = [kind, text or "", icon or "NONE", self.depth, 1]
        if self.items is not None:  # a row: its items share the width
            self.items.append(entry)
            for e in self.items:
                e[4] = len(self.items)
        self.log.append(entry)

    def box(self):
        return Recorder(self.log, self.depth + 1)

    def row(self, align=False):
        return Recorder(self.log, self.depth, [])

    def column(self, align=False):
        return Recorder(self.log, self.depth)

    def label(self, text="", icon="NONE"):
        self._add("label", text, icon)

    def prop(self, data, name, text=None, icon="NONE", **kw):
        shown = data.bl_rna.properties[name].name if text is None else text
        self._add("prop", shown, icon)

    def grid_flow(self, columns=0, **kw):
        """A grid of `columns`: each item shares its row with the others."""
        return Grid(self.log, self.depth, columns)

    def operator(self, idname, text=None, icon="NONE", **kw):
        import bpy

        group, name = idname.split(".")
        shown = getattr(bpy.ops, group).__getattr__(name).get_rna_type().name
        self._add("operator", shown if text is None else text, icon)
        return SimpleNamespace()  # its properties may be set

    def operator_menu_enum(self, idname, property, text=None, icon="NONE"):
        self.operator(idname, text=text, icon=icon)

    def progress(self, factor=0.0, type="BAR", text=""):
        self._add("progress", text, "NONE")


class Grid(Recorder):
    def __init__(self, log: list, depth: int, columns: int):
        super().__init__(log, depth)
        self.columns = columns

    def _add(self, kind, text, icon):
        self.log.append([kind, text or "", icon or "NONE", self.depth, self.columns])


def _laid_out(width: int, closed: tuple[str, ...] = ()) -> list:
    """The main panel and each sub-panel that shows (its poll), unless named in `closed`, in
    the order the sidebar shows them; a ("panel", title) entry before each."""
    import bpy

    import blender_addon

    log = []
    context = SimpleNamespace(
        region=SimpleNamespace(width=width),
        preferences=bpy.context.preferences,
        scene=bpy.context.scene,
        active_object=bpy.context.active_object,
        window_manager=bpy.context.window_manager,
    )
    for cls in blender_addon._classes():
        if not cls.__name__.startswith("VIEW3D_PT_milling"):
            continue
        if cls.__name__ in closed or (hasattr(cls, "poll") and not cls.poll(context)):
            continue
        log.append(["panel", cls.bl_label, "NONE", 0, 1])
        cls.draw(SimpleNamespace(layout=Recorder(log)), context)
    return log


def test_every_line_of_the_panel_fits_the_default_sidebar(addon, tmp_path):
    """After Predict (a long part name, a plan with its tools, findings), after Render Folder
    (its report, a long path) and after an error: every text fits its share of the width."""
    import bpy

    from blender_addon.ui.panel import MARGIN, text_width
    from shared.geometry.stl import write_stl
    from trainer.synth import multiside

    addon.backend = "BUILTIN"  # other modules' tests may have left another choice
    triangles = multiside.build(np.random.default_rng(7), "+Z", 3)[0]
    path = tmp_path / "BlockWithHoleAndSidePocket_from_the_customer.stl"
    write_stl(path, triangles)
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    props = bpy.context.scene.milling
    assert bpy.ops.milling.predict() == {"FINISHED"}
    props.job_status = (
        f"70 meta-images rendered, 10 up to date, 0 failed -> {tmp_path / 'a' / 'long' / 'path'}"
    )
    texts = []
    for state in ("answer", "error"):
        if state == "error":
            props.status, props.status_error = "no model server at http://127.0.0.1:5001 " * 3, True
        log = _laid_out(SIDEBAR)
        for kind, text, _, _, shared in log:
            if kind == "panel":
                continue
            room = (SIDEBAR - MARGIN) / shared if kind == "label" else SIDEBAR / shared - 40
            assert text_width(text) <= room, (state, kind, text, shared)
        texts += [e[1] for e in log]
    joined = " ".join(texts)
    for word in ("BlockWithHoleAndSidePocket_from_the_customer", "3 setups", "rendered", "flat"):
        assert word in joined.replace(" ", "") or word in joined, word  # nothing lost, only wrapped
    assert "Output folder:" in texts and "STL folder:" in texts
    assert "Correct the Plan" in texts and "Add as Objects" in texts
    assert any(t.startswith("Model: built-in model") for t in texts), texts
    for jargon in ("builtin:", "--data", "YOUR_DATA", "Meta-images", "CSV"):
        assert jargon not in joined, jargon
    bpy.data.objects.remove(bpy.context.view_layer.objects.active)


def test_the_panel_leads_with_the_plan_and_fits_1080p_with_four_setups(addon, tmp_path):
    """Import and Predict first; then the plan, a row per setup with its colour, share and
    confidence; the five-class bars only in the folded Details. At 1080p (a sidebar about
    1,000 px high) the panels open by default fit with a four-setup plan."""
    import bpy

    from blender_addon.scene import marks, stored
    from blender_addon.ui import answer_panels
    from shared.geometry.stl import write_stl
    from trainer.synth import multiside

    addon.backend = "BUILTIN"
    for seed in range(40):  # a block the analysis plans in four setups
        triangles = multiside.build(np.random.default_rng(seed), "+Z", 4)[0]
        write_stl(tmp_path / "four.stl", triangles)
        assert bpy.ops.milling.import_stl(filepath=str(tmp_path / "four.stl")) == {"FINISHED"}
        part = bpy.context.view_layer.objects.active
        assert bpy.ops.milling.predict() == {"FINISHED"}
        answer = stored.load(part)
        if len(answer.plan) == 4:
            break
        bpy.data.objects.remove(part)
    assert len(answer.plan) == 4
    closed = tuple(c.__name__ for c in _default_closed())
    log = _laid_out(SIDEBAR, closed)
    assert [e[1] for e in log[1:3]] == ["Import", "Predict"]  # the top of the sidebar
    rows = [e for e in log if e[2].startswith(("STRIP_COLOR", "SEQUENCE_COLOR"))]
    swatches = [answer_panels.swatch(marks.SETUP_TAGS[k]) for k in range(4)]
    assert [e[2] for e in rows[:4]] == swatches
    assert [e[1] for e in rows[:4]] == [f"{k + 1}. {d}" for k, d in enumerate(answer.plan)]
    assert not any(e[0] == "progress" for e in log)  # no five-class bars in the open panels
    assert "Details" not in [e[1] for e in log if e[0] == "panel"]
    lines_shown = sum(1 / e[4] if e[4] > 1 else 1 for e in log if e[0] != "panel")
    panels = sum(e[0] == "panel" for e in log)
    height = 22 * lines_shown + 30 * panels + 10 * sum(e[3] > 0 for e in log)
    assert height <= 1000, (height, [e[1] for e in log])
    details = _laid_out(SIDEBAR)
    bars = [e for e in details if e[0] == "progress"]
    assert len(bars) == 5 and bars[0][1].startswith("+X")
    bpy.data.objects.remove(part)
    after = _laid_out(SIDEBAR)  # the part deleted: no answer of it anywhere
    texts = [e[1] for e in after]
    assert "Select a part to see its answer" in texts and "Findings" not in texts
    assert not any("setups:" in t for t in texts)


def _default_closed():
    import blender_addon

    return [c for c in blender_addon._classes() if "DEFAULT_CLOSED" in getattr(c, "bl_options", ())]


def test_the_preferences_speak_plainly_and_show_only_what_the_choice_needs(addon):
    from blender_addon.inference import builtin

    summary = builtin.load().summary
    assert summary.startswith("builtin:face-normals v") and "new test parts" in summary
    assert "held out" not in summary and "_" not in summary.split(":", 1)[1]
    props = addon.bl_rna.properties
    items = list(props["backend"].enum_items)
    words = " ".join(f"{p.name} {p.description}" for p in [*props, *items])
    for jargon in ("champion", "make demo", "Tracking URI", "python -m"):
        assert jargon not in words, jargon
    assert props["timeout"].description
    log = []
    for backend in ("BUILTIN", "SERVER", "PYTHON"):
        addon.backend = backend
        log = []
        type(addon).draw(SimpleNamespace(**_fields(addon), layout=Recorder(log)), None)
        shown = [e[1] for e in log if e[0] == "prop"]
        assert ("Server URL" in shown) == (backend == "SERVER"), (backend, shown)
        assert ("Python" in shown) == (backend != "BUILTIN"), (backend, shown)
    addon.backend = "BUILTIN"


def _fields(prefs) -> dict:
    keys = ("backend", "server_url", "python", "tracking_uri", "timeout", "bl_rna")
    return {k: getattr(prefs, k) for k in keys}


def test_the_import_is_told_from_blenders_own_and_remembers_its_folder(addon):
    import bpy

    ours = bpy.ops.milling.import_stl.get_rna_type()
    assert ours.name != bpy.ops.wm.stl_import.get_rna_type().name  # a drop offers both
    assert ours.name == "Import STL (Checked)"
    assert not ours.properties["directory"].is_skip_save  # the browser opens where it was
    assert ours.properties["filepath"].is_skip_save  # never re-imports the last file unasked


def test_added_objects_hide_and_show_with_their_part(addon, tmp_path):
    import bpy

    from blender_addon.scene.answer import follow_parts, remove_arrows
    from shared.geometry.stl import write_stl
    from trainer.synth import multiside

    addon.backend = "BUILTIN"
    write_stl(tmp_path / "two.stl", multiside.build(np.random.default_rng(3), "+Z", 2)[0])
    assert bpy.ops.milling.import_stl(filepath=str(tmp_path / "two.stl")) == {"FINISHED"}
    part = bpy.context.view_layer.objects.active
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert bpy.ops.milling.add_objects() == {"FINISHED"}
    marked = [o for o in bpy.data.objects if o.get("milling_arrow")]
    assert marked and all(o.get("milling_part") == part.name for o in marked)
    assert follow_parts in bpy.app.handlers.depsgraph_update_post
    part.hide_set(True)
    follow_parts(bpy.context.scene)
    assert all(o.hide_get() for o in marked)
    part.hide_set(False)
    follow_parts(bpy.context.scene)
    assert not any(o.hide_get() for o in marked)
    bpy.data.objects.remove(part)
    remove_arrows()


def test_render_selected_and_render_folder_name_a_part_alike(addon, tmp_path):
    import bpy

    from shared import manifest
    from shared.geometry.stl import write_stl
    from trainer.synth import multiside

    parts = tmp_path / "parts"
    parts.mkdir()
    write_stl(
        parts / "Part Studio 1 - Part 1(4).stl",
        multiside.build(np.random.default_rng(5), "+Z", 1)[0],
    )
    for old in [o for o in bpy.data.objects if o.name.startswith("Part Studio")]:
        bpy.data.objects.remove(old)  # an earlier test's: the import would be named .001
    props = bpy.context.scene.milling
    props.output_dir, props.size, props.label = str(tmp_path / "out"), 100, "+Z"
    assert bpy.ops.milling.import_stl(filepath=str(parts / "Part Studio 1 - Part 1(4).stl")) == {
        "FINISHED"
    }
    assert bpy.ops.milling.render_selected() == {"FINISHED"}
    props.input_dir, props.labels_csv, props.rotations = str(parts), "", False
    assert bpy.ops.milling.render_folder() == {"FINISHED"}
    rows = manifest.read(tmp_path / "out" / manifest.FILENAME)
    assert {(r.image, r.part_id) for r in rows} == {
        ("Part Studio 1 - Part 1(4).png", "Part Studio 1 - Part 1(4)")
    }
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [
        "Part Studio 1 - Part 1(4).png"
    ]
    bpy.data.objects.remove(bpy.context.view_layer.objects.active)


def test_the_buttons_tooltips_speak_plainly(addon):
    import bpy

    for name in ("predict", "start_server", "stop_server", "correct", "import_stl", "add_objects"):
        tip = getattr(bpy.ops.milling, name).get_rna_type().description
        assert tip and "champion" not in tip and "python -m" not in tip, (name, tip)


def test_the_gui_check_says_so_and_passes_where_there_is_no_blender_application(tmp_path):
    import subprocess
    import sys

    from tests.blender.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "bench/gui_check.py", "--blender", str(tmp_path / "no-blender")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gui check: skipped: needs a Blender 4.2 or newer application")
