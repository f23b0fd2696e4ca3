"""Issue 13: names and values we invent never collide with the data's.

A small synthetic data set whose columns are named like the prediction log's fields and the API's batch
envelope (`time`, `records`, `request_id`, `score`, `arm`) and whose categories hold our own words (`other`,
`Other`, `NA`, `?`, '', `(missing)`, `__missing__`, `<other>`, numbers, unicode) goes through EDA, the
quality report, the feature pipeline, slices and fairness groups in-process, through the A/B log reader and
analysis, and through the serving API (a real server, `e2e`)."""
import json, time
import numpy as np, polars as pl
import pytest
from test_serve import running, serve_code, call
from test_serve_hardening import schemathesis

LEVELS = ['other', 'Other', 'NA', '?', '', '(missing)', '__missing__', '<other>', '<null>', 'missing', 'other (3)', '1', '2.5', 'ünïcødé', '東京']
KINDS = dict(time='numeric', records='numeric', request_id='categorical', score='numeric', arm='categorical', c='categorical', y='categorical')
DATA = dict(target='y', id_columns=[], pii_columns=[], time_column=None, weight_column=None, use_weights=False, drop_columns=[],
            sensitive_features=['c'], sensitive_as_features=True)
ING = dict(data=DATA, kinds=KINDS, columns=list(KINDS), task='binary', classes=['0', '1'], positive_label='1', values_not_parsed={})
ROLES = dict(numeric=['time', 'records', 'score'], onehot=['request_id', 'arm', 'c'], target=[], unused=[])


def odd_frame(n=600, seed=0):
    "Columns named like our fields, categories named like our labels (a few missing), a binary target"
    rng = np.random.default_rng(seed)
    c = [None if i % 17 == 0 else str(v) for i, v in enumerate(rng.choice(LEVELS, n))]
    df = pl.DataFrame(dict(time=rng.normal(10, 3, n), records=rng.integers(0, 50, n), request_id=rng.choice(['a', 'other', 'NA'], n),
                           score=rng.normal(size=n), arm=rng.choice(['champion', 'challenger', 'Other'], n), c=c))
    z = (df['time'].to_numpy() - 10) / 3 + df['score'].to_numpy() + (df['c'] == 'other').fill_null(False).to_numpy() + rng.normal(0, 1, n)
    return df.with_columns(y=pl.Series([str(int(v > 0)) for v in z]))


def test_eda_groups_keep_every_value():
    from ml_lifecycle.eda import eda_columns, column_groups, category_counts, target_spec, target_rate, target_association
    df = odd_frame(); spec = target_spec(ING)
    cols = eda_columns(KINDS, DATA)
    assert cols['numeric'] == ['time', 'records', 'score'] and cols['categorical'] == ['request_id', 'arm', 'c']
    groups = column_groups(df, cols, max_categories=len(LEVELS) + 1)  # every level kept: ours must be new words
    labels = df.select(groups['c'])['c'].dtype.categories.to_list()
    assert set(LEVELS) <= set(labels) and len(labels) == len(set(labels)) == len(LEVELS) + 2
    assert df.select(groups['c'])['c'].cast(pl.String).to_list() == [v if v is not None else '((missing))' for v in df['c']]
    cc = category_counts(df, 'c', 5)
    assert cc['n'].sum() == df.height and cc.height == 7 and len(set(cc['group'])) == 7
    assert all(target_rate(df, g, spec)['n'].sum() == df.height for g in groups.values())
    assert target_association(df, groups, spec).height == 6


def test_quality_report_on_odd_names():
    from ml_lifecycle.quality import quality_report, quality_params, fit_groups, group_expr
    df = odd_frame(900, 1); lf = df.lazy()
    train, valid, test = df[:600].lazy(), df[600:750].lazy(), df[750:].lazy()
    rep = quality_report(lf, train, valid, test, ING, dict(duplicates_removed=0), quality_params(None))
    assert [r['column'] for r in rep['columns']] == list(KINDS)
    assert {r['feature'] for r in rep['single_feature_scores']} == {'time', 'records', 'request_id', 'score', 'arm', 'c'}
    spec = fit_groups(train, ['c'], KINDS, max_values=3)['c']
    g = df.select(group_expr('c', spec))['_g'].to_list()
    assert all(v == -1 for v, x in zip(g, df['c']) if x is None) and all(v >= 0 for v, x in zip(g, df['c']) if x is not None)


def test_features_keep_their_gaps_and_levels_apart():
    from ml_lifecycle.features import fit_features, to_model_frame, feature_sources
    df = odd_frame()
    ct, rec = fit_features(df, ING, dict(rare_min_frequency=0.05), seed=0)
    assert rec['missing_label'] == '(__missing__)' and rec['roles']['numeric'] == ['time', 'records', 'score']
    assert len(set(rec['output_features'])) == len(rec['output_features'])
    X = ct.transform(to_model_frame(df, rec['roles']))
    j = [i for i, s in enumerate(feature_sources(ct)) if s == 'c']
    gap, literal = X[df['c'].is_null().arg_true()[0], j], X[(df['c'] == '__missing__').arg_true()[0], j]
    assert not np.array_equal(gap, literal)  # a real '__missing__' is not encoded as a gap


def test_slices_and_fairness_groups():
    from ml_lifecycle.explain import slice_groups, slice_metrics, prediction_frame
    from ml_lifecycle.fairness import sensitive_spec, sensitive_frame, group_table, missing_labels
    df = odd_frame(); y = (df['y'] == '1').cast(int).to_numpy(); s = np.clip(df['score'].to_numpy() * 0.3 + 0.5, 0, 1)
    t = slice_metrics(prediction_frame(y, s, 'binary'), df, slice_groups(df, ['time'], ['c', 'arm'], max_categories=len(LEVELS) + 1), 'binary')
    cs = t.filter(pl.col('column') == 'c')
    assert cs['n'].sum() == df.height and cs['slice'].n_unique() == cs.height == len(LEVELS) + 1
    spec, _ = sensitive_spec(df, ['c', 'arm'], KINDS)
    miss = missing_labels([df], spec)
    assert miss['c'] == '(missing 2)'  # 'missing' and '(missing)' are levels of c
    S = sensitive_frame(df, spec, [0], miss)
    gt = group_table(S, ['c', 'arm'], y, (s >= 0.5).astype(int), 'binary', min_rows=5)
    assert gt['n'].sum() == df.height and gt['group'].n_unique() == gt.height


def test_ab_log_with_inputs_named_like_its_fields(tmp_path):
    from ml_lifecycle.abreport import log_line, read_prediction_log, join_outcomes, compare, abtest_params, LOG_FIELDS
    from ml_lifecycle.abtest import assign_arms
    n = 400; ids = [f'q{i}' for i in range(n)]; arms = assign_arms(ids, 0.5, 'ab')
    rng = np.random.default_rng(2)
    ins = [dict(time=float(i), arm=str(rng.choice(['left', 'right'])), score=0.5, request_id='x', records=i, row=9, label='L') for i in range(n)]
    (tmp_path/'log').mkdir()
    (tmp_path/'log/2024-05-01.jsonl').write_text('\n'.join(log_line(r, a, inputs=x) for r, a, x in zip(ids, arms, ins)) + '\n')
    pl.DataFrame(dict(request_id=ids, outcome=(rng.random(n) < np.where(arms == 'challenger', 0.6, 0.4)).astype(float))).write_csv(tmp_path/'o.csv')
    lf = read_prediction_log(tmp_path/'log')
    df = lf.collect()
    assert df.columns[:len(LOG_FIELDS)] == list(LOG_FIELDS) and df['arm'].to_list() == arms.tolist() and df['row'].unique().to_list() == [0]
    assert df['inputs.arm'].n_unique() == 2 and df['inputs.time'].to_list() == [float(i) for i in range(n)]
    assert read_prediction_log(tmp_path/'log', inputs_only=True).collect().columns == list(ins[0])
    from ml_lifecycle.abreport import read_outcomes
    j, counts = join_outcomes(lf, read_outcomes(tmp_path/'o.csv'))
    res = compare(j, abtest_params(dict(abtest=dict(mde=0.3))))
    assert counts['with_outcome'] == n and res['counts']['champion']['rows'] + res['counts']['challenger']['rows'] == n


def build_odd_project(d):
    "A model package whose inputs are called records, time, request_id, score, arm and c, with its schema and a baseline"
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from ml_lifecycle.features import build_features, missing_label, save_verified_skops, to_model_frame
    from ml_lifecycle.package import save_package
    from ml_lifecycle.schema import infer_schema
    df = odd_frame(); y = (df['y'] == '1').cast(int).to_numpy()
    miss = missing_label(df, ROLES['onehot'])
    pipe = Pipeline([('features', build_features(ROLES, 'binary', {}, missing=miss)), ('model', LogisticRegression())]).fit(to_model_frame(df, ROLES), y)
    (d/'models').mkdir(parents=True)
    (d/'models/schema.json').write_text(json.dumps(infer_schema(df, KINDS, 'y', 'binary', ['0', '1'])))
    save_package(d/'models/model', pipe, dict(name='odd', candidate='logistic', task='binary', classes=['0', '1'], positive_label='1',
                                              roles=ROLES, version='1'), d/'models/schema.json')
    broles = dict(numeric=['records'], onehot=[], target=[], unused=[])
    save_verified_skops(Pipeline([('features', build_features(broles, 'binary', {})), ('model', LogisticRegression())]).fit(to_model_frame(df, broles), y),
                        d/'models/baseline.skops')
    (d/'models/features.json').write_text(json.dumps(dict(roles=broles)))
    return d


@pytest.mark.e2e
def test_api_with_an_input_called_records(tmp_path):
    "Before the fix every single record of this model was a 422: its `records` field read as the batch envelope"
    from ml_lifecycle.abreport import read_prediction_log
    root = build_odd_project(tmp_path)
    rec = dict(time=9.5, records=3, request_id='other', score=0.1, arm='Other', c='(missing)')
    with running(root, serve_code(root, log_flush_rows=1, threshold=0.5)) as url:
        st, _, b = call(url, 'POST', '/predict', rec, headers={'X-Request-ID': 'one'})
        assert st == 200, b
        assert len(json.loads(b)['predictions']) == 1
        st, _, b = call(url, 'POST', '/predict?explain=true&top=2', dict(records=[rec, rec | dict(records=40, c='other', time=20.0)]))
        assert st == 200, b
        ps = json.loads(b)['predictions']
        assert len(ps) == 2 and all(len(p['explanation']['contributions']) == 2 for p in ps)
        st, _, b = call(url, 'POST', '/predict', {k: v for k, v in rec.items() if k != 'records'})
        assert st == 422 and json.loads(b)['detail'][0]['loc'] == ['body', 'records']  # a single record lacking its field
        st, _, b = call(url, 'POST', '/predict', dict(records=[rec], time=1.0))
        assert st == 422 and json.loads(b)['detail'][0]['loc'] == ['body', 'time']  # the envelope takes nothing beside it
        body = json.loads(call(url, 'GET', '/openapi.json')[2])['paths']['/predict']['post']['requestBody']['content']['application/json']['schema']
        assert body['oneOf'][0]['properties']['records']['type'] == 'number' and body['oneOf'][1]['properties']['records']['type'] == 'array'
        time.sleep(0.3)
        log = read_prediction_log(root/'logs/predictions').collect()
        assert log.height == 3 and log['request_id'][0] == 'one' and log['inputs.request_id'][0] == 'other'
        assert log['inputs.records'].to_list() == [3, 3, 40] and log['time'].dtype == pl.Datetime('us', 'UTC')
        r = schemathesis(url, '--include-path', '/predict')  # the request schema says what the parser does, `records` field and all
        assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
