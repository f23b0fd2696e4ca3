"Bad input stops the ingest stage with one clear line, a non-zero exit, and no output that looks valid."
import pytest
from conftest import make_project, set_params, sh

OUTS = ['data/interim/clean.parquet', 'data/interim/ingest.json', 'reports/10_ingest.ipynb']


# a user's own small file: none of Adult's column settings apply
OWN = dict(positive_label=None, target_map={}, weight_column=None, drop_columns=[], sensitive_features=[])


def _write(root, name, text):
    p = root/'data/raw'/name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return f'data/raw/{name}'


CASES = {
    'missing file':       (lambda r: dict(data=dict(source='data/raw/nope.csv')), ['data/raw/nope.csv', 'not found']),
    'unreadable file':    (lambda r: dict(data=dict(source=_write(r, 'bad.parquet', b'PAR1 this is not parquet'))), ['bad.parquet', 'could not read']),
    'empty file':         (lambda r: dict(data=dict(source=_write(r, 'empty.csv', ''))), ['empty.csv', 'file is empty']),
    'header only':        (lambda r: dict(data=dict(source=_write(r, 'hdr.csv', 'a,b,income\n'))), ['hdr.csv', 'no data rows']),
    'missing target':     (lambda r: dict(data=dict(target='salary')), ["'salary'", 'data.target', 'not found']),
    'single class':       (lambda r: dict(data=dict(OWN, source=_write(r, 'one.csv', 'a,income\n1,x\n2,x\n3,x\n'))),
                           ["'income'", 'single value']),
    'wrong column type':  (lambda r: dict(data=dict(OWN, dtypes={'age': 'numeric'}, source=_write(r, 'typed.csv', 'age,income\n31,a\nold,b\n40,a\n'))), ["'age'", 'not numeric', 'data.dtypes.age']),
    'all-null column':    (lambda r: dict(data=dict(OWN, source=_write(r, 'nulls.csv', 'a,b,income\n1,?,x\n2,?,y\n3,,x\n'))),
                           ["'b'", 'no values']),
    'unknown task':       (lambda r: dict(data=dict(task='clustering')), ['data.task', "'clustering'", 'binary, multiclass, regression']),
    'bad split fractions': (lambda r: dict(split=dict(train=0.9)), ['split.train + valid + test', 'expected 1']),
    'unknown sensitive column': (lambda r: dict(data=dict(sensitive_features=['gender'])), ["'gender'", 'data.sensitive_features']),
}


@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_one_line_no_outputs(tmp_path, case):
    root = make_project(tmp_path/'p', sample_rows=300, git=False)
    edit, expected = CASES[case]
    for out in OUTS:  # outputs of an earlier good run must not survive as if they were this run's
        (root/out).parent.mkdir(parents=True, exist_ok=True); (root/out).write_text('stale')
    set_params(root, **edit(root))
    r = sh('ml-lifecycle run nbs/10_ingest.ipynb', root, check=False)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert lines[0].startswith('error: '), r.stderr
    for text in expected: assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert len(lines) <= 2 and 'Traceback' not in r.stderr, r.stderr
    for out in OUTS: assert not (root/out).exists(), f"{out} left behind"
    assert (root/'reports/failed/10_ingest.ipynb').exists()


def test_bad_input_through_dvc_repro(tmp_path):
    "The same line reaches a user who runs `dvc repro`, and the pipeline stops there"
    root = make_project(tmp_path/'p', sample_rows=300)
    set_params(root, data=dict(target='salary'))
    r = sh('dvc repro', root, check=False)
    assert r.returncode != 0
    assert "error: data/raw/adult.csv.gz: column 'salary' from data.target not found" in r.stderr + r.stdout, r.stderr
    assert not (root/'data/processed/train.parquet').exists()
