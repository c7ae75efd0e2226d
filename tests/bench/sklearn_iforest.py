"""scikit-learn IsolationForest baseline for tests/bench/forest.bench.ts.

Usage: python3 sklearn_iforest.py DATA.f64 N_ROWS N_FEATURES SCORES_OUT.f64 SEED
Reads a row-major float64 matrix, fits IsolationForest(n_estimators=100, max_samples=256) on
all rows, writes the anomaly scores (higher = more anomalous, i.e. -score_samples) as float64
and prints one JSON line: fit_s, score_s (median of three score_samples calls), model_bytes,
version.
"""
import json
import pickle
import sys
import time

import numpy as np
from sklearn import __version__ as sklearn_version
from sklearn.ensemble import IsolationForest


def main() -> None:
    data_path, n_rows, n_features, out_path, seed = sys.argv[1:6]
    rows = np.fromfile(data_path, dtype=np.float64).reshape(int(n_rows), int(n_features))
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=int(seed), n_jobs=1)
    started = time.perf_counter()
    model.fit(rows)
    fit_s = time.perf_counter() - started
    # Median of three calls, like the TypeScript side, so a noisy moment on a shared machine
    # does not decide the comparison.
    score_times = []
    for _ in range(3):
        started = time.perf_counter()
        scores = -model.score_samples(rows)
        score_times.append(time.perf_counter() - started)
    score_s = sorted(score_times)[1]
    scores.astype(np.float64).tofile(out_path)
    print(json.dumps({
        "fit_s": fit_s,
        "score_s": score_s,
        "model_bytes": len(pickle.dumps(model)),
        "version": sklearn_version,
    }))


if __name__ == "__main__":
    main()
