"""Reading a result store (results/NAME) into pandas, as the subbench binary reads it.

A store is a folder with `trials.parquet` (one row per trial), `curves.parquet` (trial_id,
curve, step, value), `checksums.json` (the blake3 of each file as written) and, while a run is
in progress or after it was stopped, part files `parts/<stem>.trials.parquet` with their
`.curves.parquet` and `.checksums.json`. The files are plain Parquet: pandas or pyarrow read them
without this package (`pandas.read_parquet("results/NAME/trials.parquet")`). `load` adds what
the binary's reader does: every file verified against its checksums, unconsolidated parts
included (one row per trial: its last `ok` row, else its last row, as in
crates/harness/src/store.rs), and the text columns that hold lists parsed back into lists.
"""

import fcntl
import json
import numbers
import os
import re

import numpy as np

from ._core import blake3_hex

TRIALS, CURVES, CSV, CHECKSUMS = "trials.parquet", "curves.parquet", "trials.csv", "checksums.json"
PARTS, LOCK = "parts", ".lock"
PART_TRIALS, PART_CURVES, PART_CHECKSUMS = ".trials.parquet", ".curves.parquet", ".checksums.json"
PARAM_PREFIX, METRIC_PREFIX = "p_", "m_"
CHECKSUMS_FORMAT = 1
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class StoreError(ValueError):
    """A store that cannot be read as it was written: missing, damaged or not a store."""


def _checksums(path):
    """The checksums file at `path` as {name: [hex or None, ...]}; None when there is none."""
    try:
        with open(path, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    try:
        sums = json.loads(text)
        versions = sums["blake3"]
        ok = sums["format"] == CHECKSUMS_FORMAT and all(
            h is None or (isinstance(h, str) and _HEX64.match(h))
            for hashes in versions.values()
            for h in hashes
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise StoreError(f"{path}: damaged: not a checksums file of format {CHECKSUMS_FORMAT}")
    return versions


def _verified(folder, name, sums):
    """The bytes of folder/name (None when absent), checked against the recorded versions."""
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = None
    versions = None if sums is None else sums.get(name)
    if versions is not None:
        if data is None and None not in versions:
            raise StoreError(f"{path}: is missing, while the store's checksums record it")
        if data is not None and blake3_hex(data) not in versions:
            raise StoreError(
                f"{path}: damaged: its blake3 checksum is not the one recorded when it was "
                "written (bit rot, or a truncated or edited copy)"
            )
    return data


def _table(data, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(pa.BufferReader(data))
    except Exception as e:  # noqa: BLE001 - any parse failure means the same: damaged
        raise StoreError(f"{path}: damaged: it cannot be read ({e})") from None


def _sources(store):
    """[(trials table, curves table or None)] of the main files, then each part, oldest first."""
    sums = _checksums(os.path.join(store, CHECKSUMS))
    sources = []
    trials = _verified(store, TRIALS, sums)
    curves = _verified(store, CURVES, sums)
    _verified(store, CSV, sums)
    if trials is not None:
        if curves is None:
            raise StoreError(
                f"{os.path.join(store, CURVES)}: is missing: the curves of the trials in "
                "trials.parquet are lost (it is always written beside it)"
            )
        sources.append((_table(trials, os.path.join(store, TRIALS)),
                        _table(curves, os.path.join(store, CURVES))))
    folder = os.path.join(store, PARTS)
    names = sorted(n for n in os.listdir(folder) if n.endswith(PART_TRIALS)) if os.path.isdir(folder) else []
    for name in names:
        stem = name[: -len(PART_TRIALS)]
        part_sums = _checksums(os.path.join(folder, stem + PART_CHECKSUMS))
        trials = _verified(folder, name, part_sums)
        if trials is None:
            raise FileNotFoundError(os.path.join(folder, name))  # folded meanwhile: read again
        curves = _verified(folder, stem + PART_CURVES, part_sums)
        if curves is None:
            raise StoreError(
                f"{os.path.join(folder, stem + PART_CURVES)}: is missing: the curves of the "
                f"trials in {os.path.join(folder, name)} are lost (it is always written before them)"
            )
        sources.append((_table(trials, os.path.join(folder, name)),
                        _table(curves, os.path.join(folder, stem + PART_CURVES))))
    return sources


def _read(store):
    """_sources under the store's shared consolidation lock, again if a part vanished mid-read."""
    lock = None
    try:
        lock = open(os.path.join(store, LOCK), "rb")
        fcntl.flock(lock, fcntl.LOCK_SH)
    except FileNotFoundError:
        pass
    try:
        for attempt in range(21):
            try:
                return _sources(store)
            except FileNotFoundError:
                if attempt == 20:
                    raise
    finally:
        if lock is not None:
            lock.close()


def _kept(rows):
    """Indices of the rows kept, one per trial id, as the binary deduplicates parts: a row of
    another code identity replaces the old one, an `ok` row is never replaced by a failure."""
    best = {}
    for i, (trial_id, code, status) in enumerate(rows):
        old = best.get(trial_id)
        if old is None or old[1] != code or status == "ok" or old[2] != "ok":
            best[trial_id] = (i, code, status)
    return [i for i, _, _ in best.values()]


def _parse_list(text):
    """The canonical text of a list parameter ("[1.0,2.5]") back as a list of floats, else None."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner = text[1:-1]
    if not inner.strip():
        return []
    try:
        return [float(s) for s in inner.split(",")]
    except ValueError:
        return None


def _kind(value):
    """The storage kind of one parameter value, as the binary's trials table chooses it."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return "text"


def _typed_params(frame, pd):
    """Parameter columns of the narrowest type that holds every value, as the binary types them
    (crates/harness/src/store.rs, trials_frame): int64 (Int64 when some trials lack the
    parameter), float64 (ints and floats mixed), bool (boolean when some lack it), else objects:
    str, and lists of floats where the text is a list's canonical form."""
    for name in [c for c in frame.columns if c.startswith(PARAM_PREFIX)]:
        objects = frame[name].astype(object)
        missing = objects.isna()
        kinds = {_kind(v) for v in objects[~missing]}
        if kinds == {"int"}:
            frame[name] = objects.astype("Int64" if missing.any() else "int64")
        elif kinds in ({"float"}, {"int", "float"}):
            frame[name] = objects.astype("float64")
        elif kinds == {"bool"}:
            frame[name] = objects.astype("boolean" if missing.any() else "bool")
        elif kinds:
            frame[name] = pd.Series(
                [None if gone else _text_value(v) for v, gone in zip(objects, missing)],
                index=frame.index,
                dtype=object,
            )
    return frame


def _text_value(value):
    """A value of a text column: a list where it is a list's canonical text, else as stored."""
    if isinstance(value, str):
        parsed = _parse_list(value)
        return value if parsed is None else parsed
    return value


def load(path):
    """The trials and curves of the result store at `path` (a folder such as results/NAME).

    Returns `(trials, curves)`, two pandas DataFrames:

    - trials: one row per trial, in trial order, with the columns trial_id, order, spec,
      method, method_code, rep, seed, status (ok, error, diverged, timeout), error (None unless
      failed), elapsed_s, then `p_<parameter>` and `m_<metric>`. Parameters keep their types
      (int64, or Int64 when some trials lack one; float64; bool, or boolean; text), and list
      parameters are Python lists of floats. Metrics are float64, NaN where a trial has none.
    - curves: columns trial_id, curve, step, value: the curves of the trials above.

    Every file is verified against the blake3 checksums recorded when it was written, and
    unconsolidated parts of a running or stopped run are included, as the subbench binary reads
    a store; a damaged, missing or unreadable file is a StoreError naming it.
    """
    import pandas as pd
    import pyarrow as pa

    store = os.fspath(path)
    if not os.path.isdir(store):
        raise StoreError(f"{store}: no such folder; a store is a folder such as results/NAME")
    sources = _read(store)
    if not sources:
        raise StoreError(
            f"{store}: no trials stored here (neither {TRIALS} nor {PARTS}/*{PART_TRIALS}); "
            "a store is what `subbench run` writes under --out, e.g. results/NAME"
        )
    frames = []
    for index, (trials, _) in enumerate(sources):
        frame = trials.to_pandas(types_mapper=_nullable(pa, pd))
        frame["__source"] = index
        frames.append(frame)
    trials = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # A file written before code identities existed has no method_code: its trials read as
    # unversioned (""), as in the binary.
    if "method_code" not in trials.columns:
        trials.insert(trials.columns.get_loc("method") + 1, "method_code", "")
    trials["method_code"] = trials["method_code"].astype(object).where(trials["method_code"].notna(), "")
    if len(sources) > 1:
        rows = zip(trials["trial_id"], trials["method_code"], trials["status"])
        trials = trials.iloc[_kept(rows)]
        trials = trials.sort_values(["order", "trial_id"], kind="stable").reset_index(drop=True)
    trials = _typed_params(_plain_columns(trials, pd), pd)
    # The binary's column order (trials_frame): the fixed columns, then parameters and metrics
    # by name, whichever file each came from.
    params = sorted(c for c in trials.columns if c.startswith(PARAM_PREFIX))
    metrics = sorted(c for c in trials.columns if c.startswith(METRIC_PREFIX))
    fixed = [c for c in trials.columns if c not in params and c not in metrics]
    trials = trials[fixed + params + metrics]
    curves = []
    for index, (_, table) in enumerate(sources):
        frame = _plain_columns(table.to_pandas(), pd)
        ids = set(trials.loc[trials["__source"] == index, "trial_id"])
        curves.append(frame[frame["trial_id"].isin(ids)])
    curves = pd.concat(curves, ignore_index=True)
    position = dict(zip(trials["trial_id"], range(len(trials))))
    curves["__order"] = curves["trial_id"].map(position)
    curves = curves.sort_values(["__order", "curve"], kind="stable").drop(columns="__order")
    return trials.drop(columns="__source"), curves.reset_index(drop=True)


def _nullable(pa, pd):
    """Integers and booleans with missing values keep their type (Int64, boolean), not float."""
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return mapping.get


def _plain_columns(frame, pd):
    """Text columns as Python str objects (None when missing), whatever pandas' default."""
    for name in frame.columns:
        if pd.api.types.is_string_dtype(frame[name]) and not pd.api.types.is_object_dtype(frame[name]):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame
