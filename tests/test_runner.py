"The stage runner on a tiny project of its own: success, and failure that leaves nothing valid-looking behind."
import json, re
from conftest import sh


def _nb(code):
    cells = [dict(cell_type='code', metadata=dict(tags=['parameters']), source='fail = True', outputs=[], execution_count=None),
             dict(cell_type='code', metadata={}, source='#| stage\n' + code, outputs=[], execution_count=None),
             dict(cell_type='code', metadata={}, source="raise RuntimeError('an inline test: runs under nbdev-test, never in a stage')", outputs=[], execution_count=None)]
    return json.dumps(dict(cells=cells, metadata=dict(kernelspec=dict(name='python3', display_name='python3', language='python')),
                           nbformat=4, nbformat_minor=5))


def _project(tmp_path):
    (tmp_path/'params.yaml').write_text('seed: 1\n')
    (tmp_path/'dvc.yaml').write_text('stages:\n  s:\n    cmd: ml-lifecycle run nbs/s.ipynb\n    outs: [out/a.txt]\n')
    (tmp_path/'nbs').mkdir()
    (tmp_path/'nbs/s.ipynb').write_text(_nb("import pathlib\npathlib.Path('out').mkdir(exist_ok=True)\n"
                                            "pathlib.Path('out/a.txt').write_text('half')\nif fail: 1/0\nprint('done')"))
    return tmp_path


def test_failure_prints_one_line_and_removes_outputs(tmp_path):
    root = _project(tmp_path)
    r = sh('ml-lifecycle run nbs/s.ipynb', root/'nbs', check=False)  # from a subfolder: the root is found
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[0] == 'error: ZeroDivisionError: division by zero' and len(lines) == 2, r.stderr
    assert not (root/'out/a.txt').exists() and not (root/'reports/s.ipynb').exists()
    assert 'ZeroDivisionError' in (root/'reports/failed/s.ipynb').read_text()


def test_success_writes_the_executed_notebook_and_clears_old_failures(tmp_path):
    root = _project(tmp_path)
    sh('ml-lifecycle run nbs/s.ipynb', root, check=False)
    r = sh('ml-lifecycle run nbs/s.ipynb -p fail false', root)
    assert re.fullmatch(r's: done in \d+ s\n', r.stderr), r.stderr   # nothing but the stage's time
    assert (root/'out/a.txt').read_text() == 'half'
    assert 'done' in (root/'reports/s.ipynb').read_text()
    assert not list((root/'reports/failed').iterdir())
