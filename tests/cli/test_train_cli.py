"""``cliffkit train`` / ``cliffkit predict``: outputs, return codes and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, data_dir):
    """A 200-molecule Lipophilicity file, a random split, and an mlp run on it."""
    root = tmp_path_factory.mktemp("train_cli")
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:200]
    data = root / "lipo200.csv"
    src[["smiles", "exp"]].to_csv(data, index=False)
    split = root / "split.json"
    assert main(["split", str(data), "--method", "random", "--seed", "0", "-o", str(split),
                 "--quiet"]) == 0
    run = root / "run"
    rc = main(["train", str(data), "--split", str(split), "--backbone", "mlp", "--epochs", "2",
               "--param", "hidden_channels=32", "--param", "n_bits=256", "--device", "cpu",
               "-o", str(run), "--quiet"])
    assert rc == 0
    return root, data, split, run


def test_train_writes_run(small_run):
    root, data, split, run = small_run
    preds = pd.read_csv(run / "predictions.csv")
    assert list(preds.columns) == ["smiles", "index", "split", "y_true", "prediction",
                                   "split_checksum"]
    assert len(preds) == 200 and set(preds["split"]) == {"train", "val", "test"}
    sp = json.loads(split.read_text())
    # the split's identity, recomputed here from the file's indices
    import hashlib

    h = hashlib.sha256(sp["dataset"]["checksum"].encode())
    for name in ("train", "val", "test"):
        idx = np.asarray(sp[name], dtype="<i8")
        h.update(f"\0{name}:{idx.size}\0".encode())
        h.update(idx.tobytes())
    assert set(preds["split_checksum"].astype(str)) == {h.hexdigest()[:16]}
    config = json.loads((run / "config.json").read_text())
    assert config["backbone"]["name"] == "mlp"
    assert config["backbone"]["params"]["hidden_channels"] == 32
    assert config["target"] == "exp" and config["loss"]["name"] == "plain"
    test = preds[preds["split"] == "test"]
    mae = float(np.mean(np.abs(test["prediction"] - test["y_true"])))
    assert config["metrics"]["test"]["mae"] == pytest.approx(mae)
    log = [json.loads(s) for s in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert (run / "model" / "model.pt").is_file()


def test_predict_round_trip(small_run, capsys):
    root, data, split, run = small_run
    new = root / "new.csv"
    pd.DataFrame({"name": ["a", "b"], "SMILES": ["CCO", "c1ccccc1O"]}).to_csv(new, index=False)
    out = root / "preds.csv"
    assert main(["predict", str(run), str(new), "-o", str(out), "--quiet"]) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["name", "SMILES", "prediction", "nearest_train_similarity",
                                 "nearest_train_smiles", "in_domain", "reason", "roughness"]
    assert got["reason"].isna().all()  # every row was read
    # same numbers as the run's own predictions for a molecule of the dataset
    preds = pd.read_csv(run / "predictions.csv")
    first = preds.iloc[0]
    one = root / "one.csv"
    pd.DataFrame({"smiles": [first["smiles"]]}).to_csv(one, index=False)
    assert main(["predict", str(run), str(one), "-o", str(out), "--quiet"]) == 0
    assert pd.read_csv(out)["prediction"][0] == pytest.approx(first["prediction"], rel=1e-5)


def test_predict_domain_matches_rdkit(small_run, capsys):
    """Issue 15, item 5: the nearest training molecule and the domain flag, checked against
    RDKit's own Morgan fingerprints and BulkTanimotoSimilarity."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    root, data, split, run = small_run
    preds = pd.read_csv(run / "predictions.csv")
    train = preds.loc[preds["split"] == "train", "smiles"].tolist()
    queries = ["CCO", "c1ccccc1O", preds.loc[preds["split"] == "test", "smiles"].iloc[0],
               train[3]]
    new = root / "domain.csv"
    pd.DataFrame({"smiles": queries}).to_csv(new, index=False)
    out = root / "domain_pred.csv"
    assert main(["predict", str(run), str(new), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    got = pd.read_csv(out)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    ref = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in train]
    tau = json.loads(split.read_text())["params"]["min_similarity"]
    n_in = 0
    for i, q in enumerate(queries):
        sims = DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(Chem.MolFromSmiles(q)), ref)
        best = max(sims)
        assert got["nearest_train_similarity"][i] == pytest.approx(best, abs=1e-9)
        assert sims[train.index(got["nearest_train_smiles"][i])] == pytest.approx(best)
        assert got["in_domain"][i] == ("yes" if best >= tau else "no")
        n_in += best >= tau
    assert got["nearest_train_similarity"][3] == 1.0  # a training molecule finds itself
    assert f"{n_in} of 4 have a training neighbour" in said


def test_predict_reports_train_only_roughness(small_run, capsys):
    """The roughness of a new molecule: weighted SD of its training neighbours' labels."""
    from cliffkit.evaluate._roughness import roughness_scores
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    root, data, split, run = small_run
    preds = pd.read_csv(run / "predictions.csv")
    train = preds[preds["split"] == "train"]
    test = preds[preds["split"] == "test"].head(20)
    new = root / "new20.csv"
    test[["smiles"]].to_csv(new, index=False)
    out = root / "preds20.csv"
    assert main(["predict", str(run), str(new), "-o", str(out)]) == 0
    assert "roughness (similarity-weighted SD" in capsys.readouterr().out
    got = pd.read_csv(out)["roughness"].to_numpy()
    cfg = json.loads((run / "config.json").read_text())["split"]
    g = find_neighbors(compute_fingerprints(test["smiles"].tolist()),
                       compute_fingerprints(train["smiles"].tolist()), k=cfg["k"],
                       min_similarity=cfg["min_similarity"])
    want = roughness_scores(g, train["y_true"].to_numpy())
    np.testing.assert_allclose(got, want, equal_nan=True)


def test_predict_bad_smiles(small_run, capsys):
    """Issue 14, item 8: one bad SMILES no longer aborts the file; it is reported and
    written with an empty prediction and the reason."""
    root, data, split, run = small_run
    bad = root / "bad.csv"
    pd.DataFrame({"smiles": ["CCO", "C1CC"]}).to_csv(bad, index=False)
    out = root / "x.csv"
    assert main(["predict", str(run), str(bad), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: warning:") and "1 of 2 rows could not be read" in err
    assert "1 invalid_smiles (line 3)" in err
    got = pd.read_csv(out)
    assert np.isfinite(got["prediction"][0]) and np.isnan(got["prediction"][1])
    assert got["reason"][1].startswith("invalid_smiles")


def test_predict_announces_salts_and_mixtures(small_run, capsys):
    """Multi-fragment SMILES are announced at prediction as the loader announces them for
    training (they were predicted without a word); found by the fresh-user trial."""
    root, data, split, run = small_run
    f = root / "salts.csv"
    pd.DataFrame({"smiles": ["CCO", "CC(=O)[O-].[Na+]", "CCN"]}).to_csv(f, index=False)
    out = root / "salts_pred.csv"
    assert main(["predict", str(run), str(f), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 SMILES has several fragments (line 3)" in err and "kept as written" in err
    assert np.isfinite(pd.read_csv(out)["prediction"]).all()


def test_predict_empty_na_and_whitespace_smiles(small_run, capsys):
    """Empty and NA cells, and a SMILES cut by whitespace, never give a traceback."""
    root, data, split, run = small_run
    f = root / "holes.csv"
    f.write_text("name,smiles\na,CCO\nb,\nc,NA\nd,C C O\ne,CCO ethanol\n")
    out = root / "holes_pred.csv"
    assert main(["predict", str(run), str(f), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "3 of 5 rows could not be read" in err
    assert "2 missing_smiles (line 3, 4)" in err and "1 smiles_with_whitespace (line 5)" in err
    assert "read as a name and ignored (line 6: 'ethanol' after 'CCO')" in err
    got = pd.read_csv(out, keep_default_na=False)
    pred = pd.to_numeric(got["prediction"], errors="coerce")
    assert pred.notna().tolist() == [True, False, False, False, True]
    assert pred[0] == pytest.approx(pred[4])  # 'CCO ethanol' is ethanol
    assert got["reason"].tolist()[:2] == ["", "missing_smiles"]


def test_predict_names_parquet_records_not_lines(small_run, tmp_path, capsys):
    """A Parquet input has no lines: predict's warnings and its one-line error name
    records (1-based rows), as describe and the loaders do; they said 'line' (session 6)."""
    root, data, split, run = small_run
    f = tmp_path / "in.parquet"
    pd.DataFrame({"smiles": ["CCO", "C1CC", "CC(=O)[O-].[Na+]", "CCO ethanol", None]}).to_parquet(
        f, index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", str(run), str(f), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "line" not in err, err
    assert "1 invalid_smiles (record 2)" in err and "1 missing_smiles (record 5)" in err
    assert "1 SMILES has several fragments (record 3)" in err
    assert "(record 4: 'ethanol' after 'CCO')" in err
    pd.DataFrame({"smiles": ["C1CC", "XX"]}).to_parquet(tmp_path / "none.parquet", index=False)
    assert main(["predict", str(run), str(tmp_path / "none.parquet"), "-o",
                 str(tmp_path / "n.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error:") and "record 1: 'C1CC'" in err and "line " not in err


def test_predict_all_invalid_is_one_line_error(small_run, capsys):
    root, data, split, run = small_run
    f = root / "none.csv"
    f.write_text("smiles\nC1CC\n\nXX\n")
    assert main(["predict", str(run), str(f), "-o", str(root / "n.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error:") and "line 2: 'C1CC'" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_semicolon_file_same_message_as_describe(small_run, capsys):
    root, data, split, run = small_run
    f = root / "semi.csv"
    f.write_text("smiles;name\nCCO;a\nCCN;b\n")
    assert main(["predict", str(run), str(f), "-o", str(root / "s.csv")]) == 2
    err_predict = capsys.readouterr().err
    assert main(["describe", str(f)]) == 2
    err_describe = capsys.readouterr().err
    assert "semicolon-separated" in err_predict and err_predict == err_describe
    assert len(err_predict.strip().splitlines()) == 1


def test_unknown_backbone(small_run, capsys):
    root, data, split, run = small_run
    rc = main(["train", str(data), "--split", str(split), "--backbone", "gim",
               "-o", str(root / "r2")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "Unknown backbone 'gim'" in err and "Did you mean 'gin'" in err


def test_unknown_target(small_run, capsys):
    root, data, split, run = small_run
    rc = main(["train", str(data), "--split", str(split), "--target", "homo",
               "-o", str(root / "r3")])
    assert rc == 2
    assert "homo" in capsys.readouterr().err


def test_split_of_other_data(small_run, capsys):
    root, data, split, run = small_run
    other = root / "other.csv"
    pd.read_csv(data).iloc[:150].to_csv(other, index=False)
    rc = main(["train", str(other), "--split", str(split), "--backbone", "mlp",
               "-o", str(root / "r4")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error:") and "checksum" in err.lower()


def test_target_col_other_than_the_splits_says_so(small_run, capsys):
    """Review h34 F8: --target-col naming another column of the unchanged file blamed a
    data checksum ('use the same data or recreate the split'), not the column."""
    root, data, split, run = small_run
    two = root / "two_targets.csv"
    frame = pd.read_csv(data)
    frame.assign(shifted=frame["exp"] + 1.0).to_csv(two, index=False)
    split2 = root / "split_exp.json"
    assert main(["split", str(two), "--target-col", "exp", "--method", "random", "-o",
                 str(split2), "--quiet"]) == 0
    capsys.readouterr()
    rc = main(["train", "--split", str(split2), "--target-col", "shifted", "--backbone", "lgbm",
               "-o", str(root / "r_shifted")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error: Split file") and "checksum" not in err
    assert "made for the target(s) 'exp' of" in err and "--target-col gives 'shifted'" in err
    assert "Drop --target-col to use the split's target(s)" in err


def test_bad_param(small_run, capsys):
    root, data, split, run = small_run
    rc = main(["train", str(data), "--split", str(split), "--backbone", "mlp",
               "--param", "hiden=3", "-o", str(root / "r5")])
    assert rc == 2
    assert "no parameter 'hiden'" in capsys.readouterr().err


def test_train_with_cliff_loss_records_lambda(small_run):
    root, data, split, run = small_run
    out = root / "r_cliff"
    rc = main(["train", str(data), "--split", str(split), "--backbone", "lgbm", "--loss", "cliff",
               "--lam", "1.0", "--param", "n_estimators=30", "--param", "n_bits=256",
               "-o", str(out), "--quiet"])
    assert rc == 0
    config = json.loads((out / "config.json").read_text())
    assert config["loss"]["name"] == "cliff" and config["loss"]["lam"] == 1.0
    out_plain = root / "r_plain"
    assert main(["train", str(data), "--split", str(split), "--backbone", "lgbm",
                 "--param", "n_estimators=30", "--param", "n_bits=256", "-o", str(out_plain),
                 "--quiet"]) == 0
    weighted = pd.read_csv(out / "predictions.csv")["prediction"].to_numpy()
    plain = pd.read_csv(out_plain / "predictions.csv")["prediction"].to_numpy()
    assert weighted.shape == plain.shape and not np.allclose(weighted, plain)


def test_epochs_rejected_for_lgbm(small_run, capsys):
    root, data, split, run = small_run
    rc = main(["train", str(data), "--split", str(split), "--backbone", "lgbm", "--epochs", "3",
               "-o", str(root / "r6")])
    assert rc == 2
    assert "n_estimators" in capsys.readouterr().err


def test_evaluate_refuses_predictions_of_another_split(small_run, capsys):
    """Issue 14, item 1: a run trained on split A scored with random.json (another split).

    The run's predictions cover every molecule, so without the check 'evaluate' would
    score molecules that the run trained on as test molecules. The right answer is a
    refusal naming how many of random.json's test molecules were in the run's training
    and validation sets (counted here from the two split files).
    """
    root, data, split, run = small_run
    other = root / "random.json"
    assert main(["split", str(data), "--method", "random", "--seed", "1", "-o", str(other),
                 "--quiet"]) == 0
    capsys.readouterr()
    a, b = json.loads(split.read_text()), json.loads(other.read_text())
    test_b = set(b["test"])
    n_train = len(test_b & set(a["train"]))
    n_val = len(test_b & set(a["val"]))
    assert n_train + n_val > 0
    assert main(["evaluate", str(other), str(run / "predictions.csv"), "--n-bootstrap", "0",
                 "--no-reference", "--dataset", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cliffkit: error: ")
    assert (f"{n_train + n_val} of this split's {len(test_b)} test molecules were in that "
            f"run's training ({n_train}) or validation ({n_val}) set") in err[0]

    # without the checksum column, the 'split' column alone still catches it
    preds = pd.read_csv(run / "predictions.csv").drop(columns="split_checksum")
    preds.to_csv(root / "no_checksum.csv", index=False)
    assert main(["evaluate", str(other), str(root / "no_checksum.csv"), "--n-bootstrap", "0",
                 "--no-reference", "--dataset", str(data)]) == 2
    # (whose split that column is, the run's or a copy of its input's, is not known: said)
    err = capsys.readouterr().err
    assert f"as 'train' ({n_train}) or 'val' ({n_val})" in err and "not known" in err

    # the run's own split is accepted, and its MAE is the run's test MAE
    assert main(["evaluate", str(split), str(run / "predictions.csv"), "--n-bootstrap", "0",
                 "--no-reference", "--json", "--dataset", str(data)]) == 0
    doc = json.loads(capsys.readouterr().out)
    full = pd.read_csv(run / "predictions.csv")
    test = full[full["split"] == "test"]
    want = float(np.mean(np.abs(test["prediction"] - test["y_true"])))
    assert doc["groups"]["overall"]["mae"]["value"] == pytest.approx(want, rel=1e-12)
    assert doc["n_test"] == len(a["test"])


def test_python_evaluate_refuses_another_split(small_run):
    """The same check in the library: a path, or ``trained_on=``."""
    from cliffkit.data import load_dataset
    from cliffkit.errors import PredictionsError
    from cliffkit.evaluate import evaluate
    from cliffkit.split import load_split

    root, data, split, run = small_run
    other = root / "random_py.json"
    assert main(["split", str(data), "--method", "random", "--seed", "2", "-o", str(other),
                 "--quiet"]) == 0
    ds = load_dataset(str(data))
    sa, sb = load_split(split, dataset=ds), load_split(other, dataset=ds)
    n_train = int(np.isin(sb.test, sa.train).sum())
    n_val = int(np.isin(sb.test, sa.val).sum())
    with pytest.raises(PredictionsError, match=rf"training \({n_train}\) or validation \({n_val}\)"):
        evaluate(sb, str(run / "predictions.csv"), dataset=ds, n_bootstrap=0, reference=False)
    full = pd.read_csv(run / "predictions.csv")["prediction"].to_numpy()
    with pytest.raises(PredictionsError, match=rf"training \({n_train}\) or validation \({n_val}\)"):
        evaluate(sb, full, dataset=ds, n_bootstrap=0, reference=False, trained_on=sa)
    with pytest.raises(PredictionsError, match="another split"):
        evaluate(sb, full, dataset=ds, n_bootstrap=0, reference=False,
                 trained_on=sa.checksum[:16])
    ev = evaluate(sa, str(run / "predictions.csv"), dataset=ds, n_bootstrap=0,
                  reference=False, trained_on=sa)
    assert ev.n_test == sa.test.size


def test_report_counts_a_repeated_run_once(small_run, tmp_path, capsys):
    """Issue trial: one run copied, and scored again by 'evaluate -o', in a folder of runs.

    Before the fix the report counted the three as three seeds of one cell (std 0.000
    and a zero-width interval, 'Warnings: None'); now the repeats are named and counted
    once, and a differing run of the same cell and seed is refused.
    """
    import shutil

    from cliffkit.bench._runs import load_runs

    root, data, split, run = small_run
    runs = tmp_path / "runs"
    shutil.copytree(run, runs / "a")
    shutil.copytree(run, runs / "b")
    assert main(["evaluate", str(split), str(run / "predictions.csv"), "--n-bootstrap", "50",
                 "-o", str(runs / "a_eval.json"), "--quiet"]) == 0
    capsys.readouterr()
    table = load_runs(runs, tmp_path / "work", n_bootstrap=50)
    assert len(table) == 1 and table["key"].tolist() == ["a"]
    assert [t.split(" (")[0] for t in table.attrs["repeats"]] == ["b repeats a",
                                                                   "a_eval.json repeats a"]
    assert main(["report", str(runs), "-o", str(tmp_path / "rep"), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "cliffkit: warning: b repeats a (same cell" in err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "counted once" in md.split("## Warnings")[1]
    # the same cell and seed, trained differently: which is "seed 0" is unknowable
    assert main(["train", str(data), "--split", str(split), "--backbone", "mlp", "--epochs", "2",
                 "--param", "hidden_channels=16", "--param", "n_bits=256", "--device", "cpu",
                 "-o", str(runs / "c"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", str(runs), "-o", str(tmp_path / "rep2"), "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cliffkit: error: a and c are the same cell")
    assert "their predictions differ" in err[0] and "backbone.params" in err[0]


def test_training_again_into_a_run_folder_leaves_nothing_of_the_old_run(small_run, tmp_path,
                                                                         capsys):
    """Issue trial: 'cliffkit evaluate -o RUN/evaluation.json', then 'cliffkit train -o RUN'
    with another model. Before the fix the report scored the OLD model from the kept
    evaluation.json (a silent wrong MAE), and model/ kept the old backbone's files."""
    import shutil

    root, data, split, run = small_run
    r = tmp_path / "runs" / "r"
    shutil.copytree(run, r)
    (r / "model" / "stale.txt").write_text("from the old run")
    assert main(["evaluate", str(split), str(r / "predictions.csv"), "--n-bootstrap", "50",
                 "-o", str(r / "evaluation.json"), "--quiet"]) == 0
    old_eval = (r / "evaluation.json").read_text()
    capsys.readouterr()
    assert main(["train", str(data), "--split", str(split), "--backbone", "lgbm",
                 "--param", "n_estimators=20", "-o", str(r), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"cliffkit: warning: removed {r / 'evaluation.json'}: it scored the model" in err
    assert not (r / "evaluation.json").exists()
    assert sorted(p.name for p in (r / "model").iterdir()) == ["config.json", "model.txt"]
    assert not [p for p in r.iterdir() if p.name.startswith(".model-")]
    new_mae = json.loads((r / "config.json").read_text())["metrics"]["test"]["mae"]
    # an evaluation file of another model put back (copied) is ignored, with a warning
    (r / "evaluation.json").write_text(old_eval)
    assert main(["report", str(r.parent), "-o", str(tmp_path / "rep"), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "cliffkit: warning: r/evaluation.json was ignored: it does not score this run's" in err
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert f"| lgbm | plain | 1 | {new_mae:.3f} [—]" in md


def test_predict_does_not_write_over_its_input_or_the_run(small_run, tmp_path, capsys):
    root, data, split, run = small_run
    new = tmp_path / "new.csv"
    new.write_text("smiles\nCCO\nc1ccccc1O\n")
    before = (run / "predictions.csv").read_bytes()
    for out in (new, run / "predictions.csv"):
        assert main(["predict", str(run), str(new), "-o", str(out)]) == 2
        assert "writing there would replace it" in capsys.readouterr().err
    assert new.read_text() == "smiles\nCCO\nc1ccccc1O\n"
    assert (run / "predictions.csv").read_bytes() == before


def test_evaluate_a_predict_output_of_a_file_with_its_own_split_column(small_run, tmp_path,
                                                                        capsys):
    """Issue trial: MoleculeACE files carry their own 'split' column; 'cliffkit predict'
    copies it, and 'cliffkit evaluate' read it as the run's training split and refused a
    legitimate evaluation. Now a predict output is checked by nearest_train_smiles."""
    root, data, split, run = small_run
    frame = pd.read_csv(data)
    frame["split"] = "train"  # the input's own assignment, unrelated to the run's
    inp = tmp_path / "with_split.csv"
    frame.to_csv(inp, index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(inp), "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(split), str(out), "--n-bootstrap", "50", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    test_mae = json.loads((run / "config.json").read_text())["metrics"]["test"]["mae"]
    assert doc["groups"]["overall"]["mae"]["value"] == pytest.approx(test_mae, rel=1e-6)
    # the same predictions against a split whose test molecules the model trained on
    other = tmp_path / "other.json"
    assert main(["split", str(data), "--method", "random", "--seed", "7", "-o", str(other),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(other), str(out)]) == 2
    err = capsys.readouterr().err
    assert "are their own nearest training molecule (nearest_train_smiles)" in err


def test_predict_refuses_a_run_whose_model_is_not_the_configured_backbone(small_run, tmp_path,
                                                                          capsys):
    """A run folder whose model/ came from another run (files copied by hand) must not
    predict silently with the other backbone."""
    import shutil

    root, data, split, run = small_run
    mixed = tmp_path / "mixed"
    shutil.copytree(run, mixed)
    cfg = json.loads((mixed / "config.json").read_text())
    cfg["backbone"]["name"] = "lgbm"
    (mixed / "config.json").write_text(json.dumps(cfg))
    new = tmp_path / "new.csv"
    new.write_text("smiles\nCCO\n")
    assert main(["predict", str(mixed), str(new), "-o", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "holds a 'mlp' model" in err and "'lgbm'" in err and "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        # found by the fresh-user trial: a traceback (CPU-only torch) and two silently
        # ignored options
        (["--backbone", "mlp", "--device", "cuda:99"], "device 'cuda:99' is not available"),
        (["--backbone", "mlp", "--device", "gpu"], "device 'gpu' is not a torch device"),
        (["--backbone", "lgbm", "--device", "cuda"], "--device applies to torch backbones"),
        (["--backbone", "lgbm", "--loss", "plain", "--lam", "0.5"],
         "Loss 'plain' has no cliff weights"),
        # h28: inf gave "weights must be finite with a positive sum." without --lam
        (["--backbone", "lgbm", "--loss", "cliff", "--lam", "inf"],
         r"'--lam' option of 'cliffkit train' must be a finite number from 0 to 1e\+12"),
        # the message told a user of --loss cliff to use loss 'cliff'
        (["--backbone", "lgbm", "--loss", "cliff", "--beta", "2"],
         r"pairwise term \(beta=2.0\).*drop beta \(--beta\)"),
        (["--backbone", "lgbm", "--loss", "cliff-pair"],
         r"use loss 'cliff' or 'cliff-adaptive' \(weights only\)"),
        # --seed silently replaced it
        (["--backbone", "lgbm", "--param", "random_state=5"],
         r"--param random_state=... duplicates the --seed option"),
        (["--backbone", "mlp", "--param", "epochs=3", "--epochs", "2"],
         r"--param epochs=... duplicates the --epochs option"),
    ],
)
def test_device_and_lam_mistakes_are_one_line_errors(small_run, capsys, extra, match):
    import re

    root, data, split, run = small_run
    rc = main(["train", str(data), "--split", str(split), *extra, "--param", "n_bits=256",
               "-o", str(root / "r_bad")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("cliffkit: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(match, err), err


def test_report_of_a_file_named_like_lipophilicity_is_the_users_data(small_run, tmp_path):
    """Fresh-user trial: runs on the user's 'lipo200.csv' got the paper-claims section and
    were judged under the 'Lipophilicity: CliffLoss reduces the gap' claim (load_runs
    dropped the file suffix, and the report took any 'lipo…' name for Lipophilicity)."""
    import shutil

    from cliffkit.bench._runs import load_runs

    root, data, split, run = small_run
    runs = tmp_path / "runs"
    shutil.copytree(run, runs / "a")
    table = load_runs(runs, tmp_path / "work", n_bootstrap=20)
    assert table["dataset"].tolist() == ["lipo200.csv"]
    assert main(["report", str(runs), "-o", str(tmp_path / "rep"), "--no-figures",
                 "--quiet"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "## Paper claims" not in md
    assert "### lipo200/exp" in md


def test_predict_names_no_nearest_molecule_at_similarity_zero(small_run):
    """Fresh-user trial: '[He]' (no fingerprint bit in common with any training molecule)
    got the first training molecule as its 'nearest_train_smiles' at similarity 0."""
    root, data, split, run = small_run
    new = root / "helium.csv"
    pd.DataFrame({"smiles": ["[He]", "CCO"]}).to_csv(new, index=False)
    out = root / "helium_pred.csv"
    assert main(["predict", str(run), str(new), "-o", str(out), "--quiet"]) == 0
    got = pd.read_csv(out, keep_default_na=False)
    assert got["nearest_train_similarity"].tolist()[0] == 0.0
    assert got["nearest_train_smiles"].tolist()[0] == ""
    assert got["in_domain"].tolist()[0] == "no"
    assert got["nearest_train_similarity"][1] > 0 and got["nearest_train_smiles"][1] != ""


def test_predict_warns_about_elements_a_graph_model_cannot_encode(small_run, tmp_path, capsys):
    """Fresh-user trial: a GIN run predicted [Fe], a Pt complex and [He] without a word,
    though its atom featuriser encodes every such element as one 'other' code."""
    root, data, split, _ = small_run
    run = tmp_path / "gin"
    assert main(["train", str(data), "--split", str(split), "--backbone", "gin", "--epochs", "1",
                 "--param", "hidden_channels=8", "--param", "num_layers=1", "--device", "cpu",
                 "-o", str(run), "--quiet"]) == 0
    new = tmp_path / "odd.csv"
    pd.DataFrame({"smiles": ["CCO", "[Fe]", "CC(=O)O[Pt](N)(N)Cl", "[He]"]}).to_csv(new, index=False)
    capsys.readouterr()
    assert main(["predict", str(run), str(new), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cliffkit: warning: ")
    assert "3 of 4 molecules hold elements that the gin atom featuriser has no code for" in err[0]
    assert "(Fe, Pt, He; line 3, 4, 5)" in err[0]
    assert pd.read_csv(tmp_path / "p.csv")["prediction"].notna().all()  # still predicted
    # a Parquet file has records, not lines (record 2 = its second row)
    pd.read_csv(new).to_parquet(tmp_path / "odd.parquet", index=False)
    assert main(["predict", str(run), str(tmp_path / "odd.parquet"), "-o",
                 str(tmp_path / "q.csv"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "(Fe, Pt, He; record 2, 3, 4)" in err and "line" not in err


def test_predict_writes_parquet_for_a_parquet_name(small_run, tmp_path, capsys):
    """Fresh-user trial: 'cliffkit predict RUN FILE -o out.parquet' wrote CSV text into
    out.parquet (pandas.read_parquet then failed); another suffix was taken silently."""
    root, data, split, run = small_run
    new = tmp_path / "two.csv"
    pd.DataFrame({"smiles": ["CCO", "c1ccccc1O"]}).to_csv(new, index=False)
    assert main(["predict", str(run), str(new), "-o", str(tmp_path / "p.parquet"), "--quiet"]) == 0
    assert main(["predict", str(run), str(new), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 0
    got = pd.read_parquet(tmp_path / "p.parquet")
    want = pd.read_csv(tmp_path / "p.csv")
    assert list(got.columns) == list(want.columns)
    np.testing.assert_allclose(got["prediction"], want["prediction"], rtol=1e-9)
    capsys.readouterr()
    assert main(["predict", str(run), str(new), "-o", str(tmp_path / "p.xlsx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cliffkit: error: The '--output' option of 'cliffkit predict' must end in "
                   f".csv or .parquet; got '{tmp_path / 'p.xlsx'}'."]
    assert not (tmp_path / "p.xlsx").exists()


@pytest.mark.parametrize("argv, option, suffix", [
    (["split", "{data}", "--method", "random", "-o", "{tmp}/s.csv"], "-o", ".json"),
    (["split", "{data}", "--method", "random", "-o", "{tmp}/s.json", "--chemprop-splits",
      "{tmp}/c.csv", "--chemprop-data", "{tmp}/d.csv"], "--chemprop-splits", ".json"),
    (["evaluate", "{split}", "{run}/predictions.csv", "-o", "{tmp}/ev.csv"], "-o", ".json"),
    (["weights", "--split", "{split}", "--loss", "cliff", "-o", "{tmp}/w.parquet"], "-o", ".csv"),
])
def test_output_suffix_names_the_format_written(small_run, tmp_path, capsys, argv, option, suffix):
    """Fresh-user trial: 'weights -o w.parquet' wrote CSV text into w.parquet, 'evaluate -o
    ev.csv' and 'split -o s.csv' wrote JSON; now a one-line error before anything is written."""
    root, data, split, run = small_run
    args = [a.format(data=data, split=split, run=run, tmp=tmp_path) for a in argv]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"cliffkit: error: The '{option}' option of 'cliffkit {argv[0]}' must end in {suffix}")
    assert list(tmp_path.iterdir()) == []


def test_evaluate_takes_a_run_folder(small_run, tmp_path, capsys):
    """Fresh-user trial: 'cliffkit evaluate split.json RUN' (the folder train wrote) was
    click's "File 'RUN' is a directory"; it now scores RUN/predictions.csv."""
    root, data, split, run = small_run
    capsys.readouterr()
    assert main(["evaluate", str(split), str(run), "--n-bootstrap", "0", "--json"]) == 0
    by_folder = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(split), str(run / "predictions.csv"), "--n-bootstrap", "0",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == by_folder
    assert main(["evaluate", str(split), str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a folder without predictions.csv" in err[0]


def test_interrupted_retrain_keeps_the_old_runs_log(small_run, tmp_path, monkeypatch):
    """Fresh-user trial: Ctrl-C during 'cliffkit train -o RUN' into a finished run left
    RUN's old model, config and predictions beside the NEW run's partial train_log.jsonl."""
    import shutil

    import cliffkit.experiment

    root, data, split, run = small_run
    mine = tmp_path / "run"
    shutil.copytree(run, mine)
    before = {p.name: p.read_bytes() for p in mine.iterdir() if p.is_file()}

    def interrupted_fit(*args, log_path=None, **kwargs):
        with open(log_path, "w", encoding="utf-8") as fh:
            fh.write('{"epoch": 1, "train_loss": 9.9}\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(cliffkit.experiment, "fit", interrupted_fit)
    assert main(["train", str(data), "--split", str(split), "--backbone", "mlp", "--epochs", "2",
                 "--seed", "5", "--device", "cpu", "-o", str(mine), "--quiet"]) == 130
    after = {p.name: p.read_bytes() for p in mine.iterdir() if p.is_file()}
    assert after == before  # no partial log, nothing replaced
    assert not [p for p in mine.iterdir() if p.name.startswith(".")]


def test_interrupted_first_train_leaves_no_empty_run_folder(small_run, tmp_path, monkeypatch):
    """Fresh-user trial: Ctrl-C during the first 'cliffkit train -o RUN' left an empty RUN
    that 'cliffkit report' then skipped; a folder the run made is removed, one that existed
    before is kept."""
    import cliffkit.experiment

    root, data, split, run = small_run

    def interrupted_fit(*args, log_path=None, **kwargs):
        with open(log_path, "w", encoding="utf-8") as fh:
            fh.write('{"epoch": 1, "train_loss": 9.9}\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(cliffkit.experiment, "fit", interrupted_fit)
    argv = ["train", str(data), "--split", str(split), "--backbone", "mlp", "--epochs", "2",
            "--device", "cpu", "--quiet", "-o"]
    assert main([*argv, str(tmp_path / "new" / "run")]) == 130
    assert not (tmp_path / "new" / "run").exists()
    (tmp_path / "mine").mkdir()
    assert main([*argv, str(tmp_path / "mine")]) == 130
    assert (tmp_path / "mine").is_dir() and list((tmp_path / "mine").iterdir()) == []


def test_train_refuses_a_target_the_split_does_not_label_and_report_names_the_run(
        tmp_path, data_dir, capsys):
    """Review h34 f3: 'train --target t1' on a split made with '--target t2' was accepted;
    'report' of the folder then failed for every run with an error that named no run."""
    import shutil

    src = pd.read_csv(data_dir / "esol.csv").head(150)
    data = tmp_path / "mt.csv"
    pd.DataFrame({"smiles": src["smiles"],
                  "t1": src["measured log solubility in mols per litre"],
                  "t2": src["ESOL predicted log solubility in mols per litre"]}).to_csv(
        data, index=False)
    split = tmp_path / "s.json"
    assert main(["split", str(data), "--target-col", "t1", "--target-col", "t2", "--target", "t2",
                 "-o", str(split), "-q"]) == 0
    runs = tmp_path / "runs"
    base = ["train", "--split", str(split), "--backbone", "lgbm", "--param", "n_estimators=20",
            "-q"]
    capsys.readouterr()
    assert main([*base, "--target", "t1", "-o", str(runs / "t1")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cliffkit: error: Split file")
    assert "target(s) t2, not for --target 't1'" in err[0]
    assert not (runs / "t1").exists()
    assert main([*base, "--target", "t2", "-o", str(runs / "ok")]) == 0
    # a run folder whose config names another target (e.g. from an older cliffkit)
    shutil.copytree(runs / "ok", runs / "bad")
    cfg = json.loads((runs / "bad" / "config.json").read_text())
    cfg.update(target="t1", seed=1)
    (runs / "bad" / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert main(["report", str(runs), "-o", str(tmp_path / "rep"), "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cliffkit: error: Run {runs / 'bad'}: ")
