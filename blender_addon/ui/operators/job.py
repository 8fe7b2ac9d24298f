"""Run a job to its end from scripts, or one step per timer tick from the UI (with progress).

A job has `total` and `done` (counted in `unit`, e.g. "images"), `current` (what it works on
next), `step() -> bool` (False when finished) and `close() -> str` (frees resources and
returns a summary); it may collect `errors`. The panel shows the progress, then the summary.
"""

from __future__ import annotations

from . import redraw


class JobOperator:
    """Mixin for operators whose work is a job; subclasses implement `make_job(context)`."""

    def make_job(self, context):
        raise NotImplementedError

    def _start(self, context):
        """The job, or None after the error is shown in the panel (in place of the last
        job's report) and reported."""
        try:
            return self.make_job(context)
        except (ValueError, OSError) as e:
            props = context.scene.milling
            props.job_status, props.job_error = str(e), True
            self.report({"ERROR"}, str(e))
            redraw(context)
            return None

    def execute(self, context):
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        wm = context.window_manager
        wm.progress_begin(0, max(job.total, 1))
        try:
            while job.step():
                wm.progress_update(job.done)
        except Exception as e:
            self.report({"ERROR"}, f"stopped: {e}")
            job.close()
            return {"CANCELLED"}
        finally:
            wm.progress_end()
        return self._finish(context, job)

    def invoke(self, context, event):
        job = self._start(context)
        if job is None:
            return {"CANCELLED"}
        self._job = job
        props = context.scene.milling
        props.running, props.progress, props.job_error = True, 0.0, False
        props.progress = job.done / max(job.total, 1)  # up-to-date images count as done
        props.job_status = f"{job.done} / {job.total} {job.unit} (Esc to cancel)"
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.001, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        props = context.scene.milling
        if event.type == "ESC":
            self.report({"WARNING"}, "cancelled: finished images are kept")
            return self._finish(context, self._job, cancelled=True)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            more = self._job.step()
        except Exception as e:
            self.report({"ERROR"}, f"stopped: {e}")
            return self._finish(context, self._job, cancelled=True)
        job = self._job
        props.progress = job.done / max(job.total, 1)
        props.job_status = f"{job.done} / {job.total} {job.unit}: {job.current} (Esc to cancel)"
        redraw(context)
        return {"RUNNING_MODAL"} if more else self._finish(context, job)

    def _finish(self, context, job, cancelled: bool = False):
        if getattr(self, "_timer", None) is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        summary = job.close()
        errors = getattr(job, "errors", [])
        if cancelled:
            summary = f"Cancelled after {job.done} of {job.total} {job.unit}: {summary}"
        props = context.scene.milling
        props.running, props.job_status = False, summary
        props.job_error = cancelled or bool(errors)
        for message in errors[:5]:
            self.report({"WARNING"}, message)
        if len(errors) > 5:
            self.report({"WARNING"}, f"... and {len(errors) - 5} more problems")
        self.report({"INFO"}, summary)
        redraw(context)
        return {"CANCELLED"} if cancelled else {"FINISHED"}
