"The notebooks are the source: the generated library and the cleaned notebooks must already match them."
import shutil
from pathlib import Path
from conftest import ROOT, sh


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for d in ('nbs', 'ml_lifecycle') for p in sorted((root/d).rglob('*'))
            if p.is_file() and '__pycache__' not in p.parts and '.ipynb_checkpoints' not in p.parts}


def test_export_and_clean_change_nothing(tmp_path):
    "nbdev-export and nbdev-clean on a copy leave nbs/ and ml_lifecycle/ byte-identical (run them and commit if this fails)"
    for p in ('nbs', 'ml_lifecycle', 'pyproject.toml'):
        (shutil.copytree if (ROOT/p).is_dir() else shutil.copy2)(ROOT/p, tmp_path/p)
    before = _snapshot(tmp_path)
    sh('nbdev-export && nbdev-clean', tmp_path)
    after = _snapshot(tmp_path)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"out of sync with the notebooks: {changed}; run `make sync-check` and commit"


def test_parameters_tag_survives_clean():
    "Every stage notebook keeps papermill's `parameters` tag through nbdev-clean"
    import json
    stage_nbs = [nb for nb in sorted((ROOT/'nbs').glob('*.ipynb')) if '#| stage' in nb.read_text()]
    assert len(stage_nbs) >= 10
    for nb in stage_nbs:
        cells = json.loads(nb.read_text())['cells']
        tagged = [c for c in cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
        assert len(tagged) == 1, f"{nb.name}: expected one cell tagged 'parameters', found {len(tagged)}"
        assert all(not c.get('outputs') and c.get('execution_count') is None for c in cells if c['cell_type'] == 'code'), f"{nb.name} has outputs"
