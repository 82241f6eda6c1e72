#!/usr/bin/env python3
"""The issue's reference model on xeducation_test.go's split of X Education.

XGBoost, 300 trees of depth 4, with scikit-learn's one-hot encoding and median
imputation, and scikit-learn's logistic regression, trained on the 70% of
shared/data/leads/leads_train.csv whose Prospect ID's FNV-1a hash is 3..9 mod
10 and scored on the other 30%, with all fields and without the post-contact
ones. Not part of the build or of CI; on Debian:

    apt-get install python3-sklearn python3-xgboost python3-pandas
    /usr/bin/python3 internal/learn/testdata/xgboost_reference.py ../shared/data/leads/leads_train.csv
"""
import sys

import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

POST_CONTACT = ["Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index",
                "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main(path):
    df = pd.read_csv(path)
    test = df["Prospect ID"].map(lambda s: fnv1a64(s) % 10 < 3)
    y = df["Converted"]
    for label, excl in [("all fields", []), ("without post-contact fields", POST_CONTACT)]:
        X = df.drop(columns=["Prospect ID", "Converted"] + excl)
        num = X.select_dtypes("number").columns.tolist()
        cat = [c for c in X.columns if c not in num]

        def pre(scale):
            steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
            return ColumnTransformer([
                ("num", make_pipeline(*steps), num),
                ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                      OneHotEncoder(handle_unknown="ignore")), cat)])

        models = {
            "xgboost": make_pipeline(pre(False), xgb.XGBClassifier(n_estimators=300, max_depth=4, n_jobs=2)),
            "logistic": make_pipeline(pre(True), LogisticRegression(max_iter=2000)),
        }
        for name, m in models.items():
            m.fit(X[~test], y[~test])
            p = m.predict_proba(X[test])[:, 1]
            print(f"{label}: {name} AUC {roc_auc_score(y[test], p):.4f} Brier {brier_score_loss(y[test], p):.4f} "
                  f"({(~test).sum()} train, {test.sum()} test)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/leads/leads_train.csv")
