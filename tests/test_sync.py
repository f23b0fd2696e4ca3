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
    import json, re
    stage_nbs = [nb for nb in sorted((ROOT/'nbs').glob('*.ipynb'))
                 if any(c['cell_type'] == 'code' and re.search(r'^#\|\s*stage\b', ''.join(c['source']), re.M) for c in json.loads(nb.read_text())['cells'])]
    assert len(stage_nbs) >= 10
    for nb in stage_nbs:
        cells = json.loads(nb.read_text())['cells']
        tagged = [c for c in cells if 'parameters' in c.get('metadata', {}).get('tags', [])]
        assert len(tagged) == 1, f"{nb.name}: expected one cell tagged 'parameters', found {len(tagged)}"
        assert all(not c.get('outputs') and c.get('execution_count') is None for c in cells if c['cell_type'] == 'code'), f"{nb.name} has outputs"


def test_readme_is_the_index_notebook():
    "README.md is nbs/index.ipynb written out by `make readme` (edit the notebook, then run it)"
    import importlib.util, json
    spec = importlib.util.spec_from_file_location('docs_tool', ROOT/'tools/docs.py')
    docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(docs)
    want = docs.readme_text(json.loads((ROOT/'nbs/index.ipynb').read_text()))
    assert (ROOT/'README.md').read_text() == want, 'README.md differs from nbs/index.ipynb: run `make readme` and commit'
    # the writer keeps what matters: markdown as it is, hidden and raw cells out, code fenced with its output
    nb = {'cells': [{'cell_type': 'markdown', 'source': '# T\n\n> d'}, {'cell_type': 'raw', 'source': 'x'},
                    {'cell_type': 'code', 'source': '#| hide\nsecret = 1', 'outputs': []},
                    {'cell_type': 'code', 'source': '1 + 1', 'outputs': [{'output_type': 'execute_result', 'data': {'text/plain': '2'}}]}]}
    assert docs.readme_text(nb) == docs.README_HEAD + '\n\n# T\n\n> d\n\n```python\n1 + 1\n```\n\n```\n2\n```\n'


def test_pre_commit_hook_refuses_unclean_notebooks(tmp_path):
    "`make hooks`'s pre-commit hook stops a notebook with outputs (and cleans it), then lets the clean one through"
    import json
    for p in ('nbs', 'ml_lifecycle', 'tools', 'pyproject.toml', 'README.md', 'Makefile', 'constraints.txt'):
        (shutil.copytree if (ROOT/p).is_dir() else shutil.copy2)(ROOT/p, tmp_path/p)
    git = 'git -c user.name=t -c user.email=t@example.com'
    sh(f'git init -q && {git} add -A && {git} commit -qm init', tmp_path)
    (tmp_path/'.venv').mkdir(); (tmp_path/'.venv/.installed').touch()   # make's install step is done (the hook uses PATH)
    sh('make -s hooks', tmp_path)
    nb_path = tmp_path/'nbs/00_core.ipynb'
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb['cells'] if c['cell_type'] == 'code')
    code['execution_count'] = 7
    code['outputs'] = [{'output_type': 'stream', 'name': 'stdout', 'text': ['hello\n']}]
    nb_path.write_text(json.dumps(nb, indent=1))
    r = sh(f'{git} commit -qam "with outputs"', tmp_path, check=False)
    assert r.returncode != 0 and 'nbs/00_core.ipynb' in r.stderr, r.stderr
    assert '"execution_count": 7' not in nb_path.read_text()   # the hook cleaned it
    # a clean change goes through
    nb = json.loads(nb_path.read_text())
    md = next(c for c in nb['cells'] if c['cell_type'] == 'markdown')
    md['source'] = md['source'] + ['\n', 'One more sentence.']
    nb_path.write_text(json.dumps(nb, indent=1) + '\n')
    sh('nbdev-clean --fname nbs/00_core.ipynb', tmp_path)
    r = sh(f'{git} commit -qam "clean change"', tmp_path, check=False)
    assert r.returncode == 0, r.stderr


def _imports(src: str) -> set[str]:
    "The ml_lifecycle modules a piece of code imports (anywhere: a function's lazy import is a read too)"
    import ast
    out = set()
    for n in ast.walk(ast.parse(src)):
        if isinstance(n, ast.ImportFrom) and n.level == 1:   # the generated library's `from .x import` / `from . import x`
            out |= {n.module.split('.')[0]} if n.module else {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and (n.module or '').split('.')[0] == 'ml_lifecycle':
            out |= {n.module.split('.')[1]} if '.' in n.module else {a.name for a in n.names}
        elif isinstance(n, ast.Import):
            out |= {a.name.split('.')[1] for a in n.names if a.name.startswith('ml_lifecycle.')}
    return {m for m in out if (ROOT/'ml_lifecycle'/f'{m}.py').exists()}


def _closure(mods: set[str]) -> set[str]:
    seen, todo = set(), list(mods)
    while todo:
        m = todo.pop()
        if m not in seen: seen.add(m); todo += _imports((ROOT/'ml_lifecycle'/f'{m}.py').read_text())
    return seen


def test_stage_deps_are_the_modules_it_imports():
    "Each DVC stage lists exactly the library modules its run can import (its chapter's module, its stage cells', and theirs)"
    import json, re, yaml
    stages = yaml.safe_load((ROOT/'dvc.yaml').read_text())['stages']
    wrong = {}
    for name, st in stages.items():
        cells = json.loads((ROOT/st['cmd'].split()[-1]).read_text())['cells']
        text = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
        mod = next(m.group(1) for t in text if (m := re.search(r'^#\|\s*default_exp\s+(\S+)', t, re.M)))
        run = '\n'.join(re.sub(r'^#\|.*$', '', t, flags=re.M) for t in text if re.search(r'^#\|\s*(stage|export)\b', t, re.M))
        need = _closure({mod} | _imports(run))
        have = {Path(d).stem for d in st.get('deps', []) if str(d).startswith('ml_lifecycle/')}
        if need != have: wrong[name] = dict(missing=sorted(need - have), not_imported=sorted(have - need))
    assert not wrong, f"dvc.yaml module deps differ from the import graph: {wrong}"
    assert len(stages) >= 15


def test_params_schema_is_generated():
    "params.schema.json is the params model's JSON Schema (nbs/03_params.ipynb), and params.yaml points editors to it"
    import json
    from ml_lifecycle.params import params_schema
    committed = json.loads((ROOT/'params.schema.json').read_text())
    assert committed == params_schema(), "params.schema.json is out of date; regenerate it with `make params-schema` and commit"
    assert (ROOT/'params.yaml').read_text().splitlines()[0] == '# yaml-language-server: $schema=params.schema.json'


def test_shipped_params_validate_as_written():
    "The shipped params.yaml passes the params model and reads back as exactly its own values (no default differs)"
    import yaml
    from ml_lifecycle.params import load_params
    raw = yaml.safe_load((ROOT/'params.yaml').read_text())
    assert load_params(ROOT/'params.yaml') == raw
