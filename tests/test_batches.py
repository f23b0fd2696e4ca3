"""Real data in, real batches out (issue 13): one ingest contract for training, monitoring and scoring.

The in-process tests call the exported functions on small real (a sample of the bundled Adult file) or
synthetic files; the `e2e` ones run the commands and `dvc` in a copy of the project the `repro` fixture
(tests/conftest.py, shared with test_e2e.py) built once."""
import gzip, json, shutil
import numpy as np, pandas as pd, polars as pl
import pytest
from conftest import ROOT, adult_sample, set_params, sh
from ml_lifecycle.core import PipelineError
from ml_lifecycle.params import load_params
from ml_lifecycle.ingest import check_csv_lines, ingest, read_batch


def _data(**kw):
    "The project's `data` params (the bundled Adult settings), with `kw` changed"
    return {**load_params(ROOT/'params.yaml')['data'], **kw}


# a user's own small file: none of Adult's column settings apply
OWN = dict(positive_label=None, target_map={}, weight_column=None, drop_columns=[], sensitive_features=[], id_columns=[], pii_columns=[])


@pytest.fixture(scope='module')
def adult(tmp_path_factory):
    "The ingest record and clean rows of a 400-row sample of the bundled Adult file (quirks and all), and the raw file"
    d = tmp_path_factory.mktemp('adult')
    adult_sample(d/'adult.csv.gz', 400)
    rec = ingest(_data(source=str(d/'adult.csv.gz')), d/'adult.csv.gz', d/'clean.parquet')
    return rec, pl.read_parquet(d/'clean.parquet'), d/'adult.csv.gz'


# ---- 1. one contract: a batch is read with the training file's rules ----

def test_the_training_file_read_as_a_batch_is_the_clean_data(adult):
    "The raw training file (original headers `hours-per-week`, leading spaces, `?`, `>50K.`) reads back as ingest wrote it"
    rec, clean, raw = adult
    b = read_batch(raw, rec).collect()
    assert b.columns == clean.columns and b.schema == clean.schema
    assert b.filter(pl.col('income').is_not_null()).equals(clean)   # ingest also dropped unlabelled rows


def test_upper_case_headers_and_a_label_named_Class(adult, tmp_path):
    "Headers in another case normalise to the model's names; a label column `Class` normalises to `class`"
    rec, clean, raw = adult
    with gzip.open(raw, 'rt') as f: text = f.read()
    head, body = text.split('\n', 1)
    (tmp_path/'upper.csv').write_text(head.upper() + '\n' + body)
    b = read_batch(tmp_path/'upper.csv', rec).collect()
    assert 'HOURS-PER-WEEK' in head.upper() and b.columns == clean.columns
    assert b['workclass'].null_count() == clean['workclass'].null_count() + b['income'].null_count()   # '?' is missing
    assert set(b['income'].drop_nulls()) == {'<=50K', '>50K'}                                            # '>50K.' mapped
    own = ingest(_data(source='t.csv', target='Class', **OWN), _write(tmp_path/'t.csv', 'x,Class\n1,a\n2,b\n3,a\n'), tmp_path/'t.parquet')
    assert own['data']['target'] == 'class'
    assert read_batch(_write(tmp_path/'cur.csv', 'X,CLASS\n4,b\n'), own).collect().to_dicts() == [dict(x=4, **{'class': 'b'})]


def _write(p, text):
    p.write_text(text); return p


# ---- 3. parquet categories and integer targets ----

def test_parquet_category_codes_are_categorical_and_a_0_1_target_takes_positive_label_1(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(dict(store=pd.Categorical(rng.integers(1, 40, 300)), amount=rng.normal(100, 20, 300), churned=rng.integers(0, 2, 300)))
    df.to_parquet(tmp_path/'own.parquet')
    rec = ingest(_data(source='own.parquet', target='churned', **{**OWN, 'positive_label': 1}), tmp_path/'own.parquet', tmp_path/'clean.parquet')
    assert rec['kinds']['store'] == 'categorical' and rec['categorical_in_file'] == ['store']   # codes, not quantities
    assert (rec['task'], rec['classes'], rec['positive_label']) == ('binary', ['0', '1'], '1')
    clean = pl.read_parquet(tmp_path/'clean.parquet')
    assert clean['store'].dtype == pl.String and clean['churned'].dtype == pl.String
    df.assign(churned=df['churned'].astype(float)).to_parquet(tmp_path/'batch.parquet')     # the same batch with a float label
    assert read_batch(tmp_path/'batch.parquet', rec).collect().equals(clean)


# ---- 4. errors that point at the fix ----

@pytest.mark.parametrize('text,expected', [
    ('a,b,y\n1,2,0\n3,4,5,1\n5,6,0\n', ['bad.csv: line 3 has 4 fields but the header has 3']),
    ('a,b,y\n1,2,0\n3,"open,1\n5,6,0\n', ['bad.csv: line 3: a quote is never closed']),
    ('a,b,y\n1,2,0\n3,4\n5,6,0\n7\n', ["bad.csv: 2 line(s) have fewer fields than the header's 3 (first: line 3", 'data.short_lines: pad']),
])
def test_bad_csv_lines_are_one_line_errors_naming_the_line(tmp_path, text, expected):
    p = _write(tmp_path/'bad.csv', text)
    with pytest.raises(PipelineError) as e: ingest(_data(source='bad.csv', target='y', **OWN), p, tmp_path/'out.parquet')
    msg = str(e.value)
    assert '\n' not in msg and all(x in msg for x in expected), msg
    assert not (tmp_path/'out.parquet').exists()


def test_short_lines_padded_on_request_are_recorded(tmp_path):
    p = _write(tmp_path/'pad.csv', 'a,b,y\n1,2,0\n3,4\n5,6,1\n7,8,0\n')
    rec = ingest(_data(source='pad.csv', target='y', short_lines='pad', **OWN), p, tmp_path/'out.parquet')
    assert rec['padded_lines'] == dict(count=1, first_line=3) and rec['rows_dropped_no_label'] == 1
    assert check_csv_lines(p, 'pad') == dict(count=1, first_line=3)


def test_a_constant_time_column_says_so(tmp_path):
    p = _write(tmp_path/'t.csv', 'day,a,y\n' + ''.join(f'2024-01-01,{i},{i % 2}\n' for i in range(20)))
    with pytest.raises(PipelineError, match="data.time_column 'day' has the same value on every row"):
        ingest(_data(source='t.csv', target='y', time_column='day', **OWN), p, tmp_path/'out.parquet')


# ---- end to end, in a copy of the project the `repro` fixture built ----

def _copy(repro, tmp_path):
    return shutil.copytree(repro[0], tmp_path/'copy', symlinks=True)


def _adult_upper(root, dst):
    "The project's own training file, headers upper-cased (the export's original names, another case): a production batch"
    with gzip.open(root/'data/raw/adult.csv.gz', 'rt') as f: head, body = f.read().split('\n', 1)
    dst.write_text(head.upper() + '\n' + body)
    return dst


def _up_to_date(root):
    out = sh('dvc status', root).stdout
    return 'Data and pipelines are up to date' in out, out


@pytest.mark.e2e
def test_monitor_command_reads_a_batch_with_the_training_rules_ad_hoc(repro, tmp_path):
    "Original headers: no input missing, labels found (decay measured); the report goes to reports/adhoc/, DVC's outputs untouched"
    root = _copy(repro, tmp_path)
    tracked = {p: (root/p).read_bytes() for p in ('reports/monitor.json', 'metrics/monitor.json', 'reports/44_monitor.ipynb')}
    batch = _adult_upper(root, tmp_path/'Adult Export.csv')
    r = sh(f'ml-lifecycle monitor --current "{batch}" --fail-on-critical', root, check=False)
    lines = r.stdout.strip().splitlines()
    assert r.returncode in (0, 3), r.stderr
    assert lines[0].endswith('report: reports/adhoc/monitor-Adult_Export/monitor.html (ad hoc: the monitor stage\'s outputs are unchanged)'), lines
    rep = json.loads((root/'reports/adhoc/monitor-Adult_Export/monitor.json').read_text())['batches']['Adult Export.csv']
    assert rep['missing'] == [] and not any(c['metric'] == 'missing' for c in rep['checks'])
    assert any(c['group'] == 'performance' for c in rep['checks'])                 # the label `INCOME` was found: decay measured
    assert all(c['status'] == 'ok' for c in rep['checks'] if c['group'] == 'performance'), rep['checks']
    bad = [c for c in rep['checks'] if c['status'] != 'ok']
    assert len(lines) == 1 + min(len(bad), 10) + (len(bad) > 10)                  # the checks behind the status, one line each
    assert {p: (root/p).read_bytes() for p in tracked} == tracked
    assert _up_to_date(root)[0], _up_to_date(root)[1]
    # a batch that lacks model inputs is refused in one line naming them and the file; nothing is written
    pl.read_parquet(root/'data/processed/test.parquet').drop('hours_per_week', 'occupation').write_csv(tmp_path/'lacks.csv')
    r = sh(f'ml-lifecycle monitor --current {tmp_path}/lacks.csv', root, check=False)
    first = r.stderr.strip().splitlines()[0]
    assert r.returncode == 1 and 'lacks.csv: lacks 2 of the model' in first and 'hours_per_week, occupation' in first, r.stderr
    assert not (root/'reports/adhoc/monitor-lacks').exists()
    # a drifted batch: the exit code for schedulers, and the reasons printed under the status
    pl.read_parquet(root/'data/processed/test.parquet').with_columns(pl.col('hours_per_week') + 25).write_parquet(tmp_path/'shifted.parquet')
    r = sh(f'ml-lifecycle monitor --current {tmp_path}/shifted.parquet --fail-on-critical', root, check=False)
    assert r.returncode == 3 and r.stdout.startswith('monitor: critical')
    assert any(l.startswith('  shifted.parquet: critical: hours_per_week (feature): PSI') for l in r.stdout.splitlines()), r.stdout
    assert {p: (root/p).read_bytes() for p in tracked} == tracked and _up_to_date(root)[0]


@pytest.mark.e2e
def test_score_command_reads_a_batch_with_the_training_rules(repro, tmp_path):
    "The test split exported with the raw file's names and '?' markers scores exactly as the stage scored the split"
    root = repro[0]
    test = pl.read_parquet(root/'data/processed/test.parquet')
    raw_names = {c: c.replace('_', '-').upper() for c in test.columns}
    test.rename(raw_names).write_csv(tmp_path/'export.csv', null_value='?')
    r = sh(f'ml-lifecycle score {tmp_path}/export.csv {tmp_path}/scored.parquet', root)
    assert f'scored {test.height:,} rows' in r.stdout
    stage = pl.read_parquet(root/'data/scored/test.parquet')
    np.testing.assert_allclose(pl.read_parquet(tmp_path/'scored.parquet')['score'].to_numpy(), stage['score'].to_numpy(), rtol=1e-9)
    test.drop('age', 'occupation').write_parquet(tmp_path/'lacks.parquet')
    r = sh(f'ml-lifecycle score {tmp_path}/lacks.parquet {tmp_path}/out.parquet', root, check=False)
    first = r.stderr.strip().splitlines()[0]
    assert r.returncode == 1 and 'lacks.parquet: lacks' in first and 'occupation' in first and not (tmp_path/'out.parquet').exists(), r.stderr


@pytest.mark.e2e
def test_dvc_ingest_depends_on_data_source_only_and_batches_on_their_stage(repro, tmp_path):
    "A batch copied to data/raw/ re-runs nothing; pointing score.input at it changes the score stage only"
    root = _copy(repro, tmp_path)
    pl.read_parquet(root/'data/processed/test.parquet').head(200).write_parquet(root/'data/raw/batch.parquet')
    assert _up_to_date(root)[0], _up_to_date(root)[1]
    set_params(root, score=dict(input='data/raw/batch.parquet'))
    out = sh('dvc status', root).stdout
    changed = [l.rstrip(':') for l in out.splitlines() if l and not l.startswith(('\t', ' '))]
    assert changed == ['score'], out
    r = sh('dvc repro', root)
    assert "Running stage 'score'" in r.stdout and "Running stage 'ingest'" not in r.stdout and "Running stage 'tune'" not in r.stdout
    assert json.loads((root/'reports/score.json').read_text())['rows'] == 200
    (root/'data/raw/adult.csv.gz').touch()
    assert _up_to_date(root)[0]   # same content: still nothing to do
