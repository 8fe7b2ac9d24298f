"""The test suite's own plumbing: `make test` runs two pytest-xdist workers and relies on
`xdist_group` to train the session's registry on one worker only."""

import os
import subprocess
import sys
import textwrap


def test_xdist_groups_keep_their_tests_on_one_worker(tmp_path):
    (tmp_path / "test_groups.py").write_text(
        textwrap.dedent(
            """
            import os, time
            from pathlib import Path
            import pytest

            def _note(name):
                time.sleep(0.3)
                Path(__file__).with_name(name).write_text(os.environ["PYTEST_XDIST_WORKER"])

            @pytest.mark.xdist_group("shared")
            @pytest.mark.parametrize("i", range(6))
            def test_grouped(i):
                _note(f"grouped{i}")

            @pytest.mark.parametrize("i", range(4))
            def test_free(i):
                _note(f"free{i}")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # without groups, six tests in a row would be spread over both workers
    assert len({(tmp_path / f"grouped{i}").read_text() for i in range(6)}) == 1
    assert all((tmp_path / f"free{i}").exists() for i in range(4))
