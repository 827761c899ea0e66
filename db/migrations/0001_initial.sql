-- hilt schema version 1: the initial schema.
--
-- Conventions (every later migration keeps them):
--   * Typed tables, no entity-attribute-value: a new kind of result gets a table or a column.
--   * `t` columns are seconds (REAL) on the harness clock since the run started (virtual or real
--     time, see runs.clock_mode); `*_at` and `wall` columns are wall-clock ISO-8601 UTC text,
--     e.g. '2024-05-01T12:34:56.789Z'.
--   * Enumerated TEXT columns carry CHECK constraints; the C++ enums in hilt/db/types.hpp mirror
--     them one to one.
--   * Optional text is NULL, never ''.
--   * ids of runs, run_devices, duts, steps, measurements, events and metrics are assigned by the
--     recorder (so producers never wait for the writer); nothing relies on AUTOINCREMENT.
--   * Rows are never deleted by hilt, so foreign keys have no ON DELETE actions.
-- The migration runs inside one transaction together with `PRAGMA user_version = 1`.

-- One row per `hilt run`. Written at start (status 'running', closed_cleanly 0) and updated at
-- the end; a run that still says 'running' / closed_cleanly 0 was killed.
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY,
  uuid            TEXT    NOT NULL UNIQUE,
  sequence_name   TEXT    NOT NULL,
  sequence_path   TEXT,
  sequence_text   TEXT,            -- the sequence exactly as run, so a run can be reproduced
  sequence_sha256 TEXT,            -- lower-case hex SHA-256 of sequence_text
  fixture_path    TEXT,
  fixture_text    TEXT,
  fixture_sha256  TEXT,
  parameters_json TEXT,            -- external parameters (JSON object) as resolved for this run
  hilt_version    TEXT,
  seed            INTEGER,
  clock_mode      TEXT CHECK (clock_mode IN ('real', 'virtual')),
  host            TEXT,
  operator        TEXT,
  started_at      TEXT    NOT NULL,
  ended_at        TEXT,
  status          TEXT    NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'passed', 'failed', 'error', 'aborted', 'interrupted')),
  closed_cleanly  INTEGER NOT NULL DEFAULT 0 CHECK (closed_cleanly IN (0, 1)),
  exit_code       INTEGER,
  duration_s      REAL             -- harness-clock duration (virtual seconds in virtual time)
);

-- Every device or instrument the run opened, with the identity it reported.
CREATE TABLE run_devices (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER NOT NULL REFERENCES runs (id),
  name            TEXT    NOT NULL,  -- the fixture's name for it, e.g. 'psu1', 'slot3'
  address         TEXT,              -- the address string that named the driver
  driver          TEXT,
  device_class    TEXT,              -- 'managed_module', 'power_supply', 'thermal_chamber', ...
  vendor          TEXT,
  model           TEXT,
  serial          TEXT,
  firmware        TEXT,
  calibration_due TEXT,              -- ISO-8601 date, for instruments under calibration control
  identity_json   TEXT,              -- anything else the driver reported (JSON object)
  UNIQUE (run_id, name)
);

-- Devices under test. status is 'running' until the runner decides; 'ok' means the DUT passed.
CREATE TABLE duts (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs (id),
  slot          INTEGER NOT NULL,
  name          TEXT    NOT NULL,
  device        TEXT,                -- run_devices.name of the device that is this DUT
  vendor        TEXT,
  part_number   TEXT,
  serial        TEXT,
  revision      TEXT,
  firmware      TEXT,
  identity_json TEXT,                -- full identity read from the module (JSON object)
  status        TEXT    NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'ok', 'failed', 'error', 'skipped')),
  UNIQUE (run_id, slot)
);

-- Executed steps. dut_id NULL = a station step (shared instruments, all DUTs). A retried step
-- gets a new row with attempt + 1. verdict 'running' means the step had not ended when the
-- database was last written (e.g. the run was killed inside it).
CREATE TABLE steps (
  id               INTEGER PRIMARY KEY,
  run_id           INTEGER NOT NULL REFERENCES runs (id),
  dut_id           INTEGER REFERENCES duts (id),
  parent_id        INTEGER REFERENCES steps (id),
  ordinal          INTEGER NOT NULL,   -- position among its siblings, from 0
  path             TEXT    NOT NULL,   -- e.g. 'main/2/measure'
  name             TEXT    NOT NULL,
  type             TEXT    NOT NULL,   -- step type: 'ber', 'power', 'soak', ...
  sweep_point_json TEXT,               -- the sweep point this step ran at (JSON object)
  started_t        REAL    NOT NULL,
  ended_t          REAL,
  started_at       TEXT    NOT NULL,
  ended_at         TEXT,
  verdict          TEXT    NOT NULL DEFAULT 'running'
                   CHECK (verdict IN ('running', 'pass', 'marginal', 'fail', 'error', 'skipped',
                                      'done')),
  error_code       INTEGER,            -- hilt error code (never renumbered)
  error_message    TEXT,
  attempt          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX steps_by_run ON steps (run_id, dut_id);

-- Judged measurements: every verdict stores what it was judged against.
--   comparator     how the value was judged; by convention one of 'none', 'eq', 'ne', 'lt',
--                  'le', 'gt', 'ge', 'range', 'tol_abs', 'tol_pct' (no CHECK: the sequence
--                  language owns the list).
--   limit_low/high the effective absolute bounds applied (already computed for tol_abs /
--                  tol_pct), NULL where unbounded.
--   nominal        the target value for 'eq' and tolerances.
--   marginal_*     the marginal band bounds, NULL when there is no marginal band.
--   limit_source   where the limit came from, e.g. 'limits/qsfp-dd-800g.yaml:42' or 'CMIS'.
-- value NULL means not a number (SQLite stores NaN as NULL).
CREATE TABLE measurements (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs (id),
  step_id       INTEGER REFERENCES steps (id),
  dut_id        INTEGER REFERENCES duts (id),
  name          TEXT    NOT NULL,
  lane          INTEGER,              -- NULL = module-level
  side          TEXT CHECK (side IN ('host', 'media')),
  t             REAL    NOT NULL,
  value         REAL,
  unit          TEXT    NOT NULL,
  comparator    TEXT,
  limit_low     REAL,
  limit_high    REAL,
  nominal       REAL,
  marginal_low  REAL,
  marginal_high REAL,
  limit_source  TEXT,
  verdict       TEXT    NOT NULL CHECK (verdict IN ('pass', 'marginal', 'fail', 'info', 'error'))
);
CREATE INDEX measurements_by_run ON measurements (run_id, step_id);

-- Raw BER counts, so any statistic (BER, confidence level, pre/post-FEC) can be recomputed.
-- bits / errors were accumulated over the gate_s seconds of harness time ending at t: a checker
-- read cumulatively since it was started has a growing gate_s. fec_histogram_json, where the
-- device has one, is a JSON array: element k = codewords seen with k symbol errors.
CREATE TABLE ber_counts (
  id                 INTEGER PRIMARY KEY,
  run_id             INTEGER NOT NULL REFERENCES runs (id),
  step_id            INTEGER REFERENCES steps (id),
  dut_id             INTEGER REFERENCES duts (id),
  lane               INTEGER NOT NULL,
  side               TEXT CHECK (side IN ('host', 'media')),
  t                  REAL    NOT NULL,
  gate_s             REAL,
  bits               INTEGER NOT NULL CHECK (bits >= 0),
  errors             INTEGER NOT NULL CHECK (errors >= 0),
  pattern            TEXT,            -- e.g. 'PRBS31Q', 'PRBS13Q'
  fec_histogram_json TEXT
);
CREATE INDEX ber_counts_by_run ON ber_counts (run_id, dut_id, lane);

-- Monitored quantities (time series). A metric name has one unit for the life of the database.
CREATE TABLE metrics (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  unit TEXT NOT NULL
);

-- Time-series samples: the bulk of the database (a 1000-hour soak writes tens of millions).
--   dut_id 0  = a station-level sample (chamber, supply, ...): no DUT; the metric name says which
--               device. (0, not NULL, because key columns must be NOT NULL to be unique.)
--   lane -1   = module-level (not per lane).
--   value NULL = not a number.
-- No foreign keys: the recorder only writes ids it issued, and the checks would cost on the
-- hottest insert path.
--
-- Storage choice, measured on the 2-core reference machine (SQLite 3.40, WAL, synchronous=FULL,
-- 2 M rows interleaved over 640 series the way a soak produces them; ranges span 20 k to 200 k
-- rows per transaction and a 2 MiB to 64 MiB page cache; bench/recorder_bench.cpp for the last):
--   rowid table, no index                          1.6-1.7 M rows/s    23.0 bytes/row
--   rowid table + UNIQUE index on the key          0.22-0.48 M rows/s  42.9 bytes/row
--   WITHOUT ROWID, PRIMARY KEY = the key           0.25-0.64 M rows/s  22.6 bytes/row
--   WITHOUT ROWID, each batch sorted by key        0.51-0.75 M rows/s  22.6 bytes/row
--   the recorder (sorted batches, 32 MiB cache)    0.6-0.8 M samples/s sustained, 1 M samples
-- Chosen: WITHOUT ROWID with PRIMARY KEY (run_id, dut_id, metric_id, lane, t).
--   * Resume needs (run, dut, metric, lane, t) unique: the key enforces it at no extra space.
--   * Reading one series, or the latest value of every series of a run, is a key range scan
--     instead of a full-table scan: unindexed, every report query would read the whole soak.
--   * It is the smallest on disk; the rowid-and-index variant is ~2x larger and no faster.
--   * The cost, 2-3x slower inserts than an unindexed heap, is mostly recovered by the
--     recorder sorting each batch by key (one leaf page per series per batch) and giving its
--     connection a larger page cache; 0.6 M samples/s is far beyond a real-time bench and keeps
--     a virtual-time soak of 1000 series x 1000 h at one sample a minute to under two minutes
--     of writing.
CREATE TABLE samples (
  run_id    INTEGER NOT NULL,
  dut_id    INTEGER NOT NULL,
  metric_id INTEGER NOT NULL,
  lane      INTEGER NOT NULL,
  t         REAL    NOT NULL,
  value     REAL,
  PRIMARY KEY (run_id, dut_id, metric_id, lane, t)
) WITHOUT ROWID;

-- Alarms, warnings, faults, state changes and log lines that belong with the results.
CREATE TABLE events (
  id       INTEGER PRIMARY KEY,
  run_id   INTEGER NOT NULL REFERENCES runs (id),
  dut_id   INTEGER REFERENCES duts (id),
  device   TEXT,                      -- run_devices.name, NULL when not about a device
  t        REAL    NOT NULL,
  wall     TEXT    NOT NULL,
  severity TEXT    NOT NULL
           CHECK (severity IN ('debug', 'info', 'warning', 'alarm', 'fault', 'error')),
  kind     TEXT    NOT NULL,          -- machine-readable, e.g. 'temp_high_alarm', 'safe_state'
  code     INTEGER,
  message  TEXT    NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, t);

-- Views: the common questions as one-liners, e.g.
--   SELECT * FROM v_step_verdicts WHERE run_id = 3 AND verdict <> 'pass';

-- Every step with its DUT, verdict, harness-clock duration and error.
CREATE VIEW v_step_verdicts AS
SELECT s.run_id,
       s.id                    AS step_id,
       d.slot,
       d.name                  AS dut,
       s.path,
       s.name,
       s.type,
       s.attempt,
       s.verdict,
       s.ended_t - s.started_t AS duration_s,
       s.error_code,
       s.error_message         AS error
  FROM steps s
  LEFT JOIN duts d ON d.id = s.dut_id;

-- The latest sample of every (run, DUT, metric, lane) series. `value` is the value at the
-- latest t (SQLite takes bare columns from the row that produced MAX()). slot and dut are NULL
-- for station-level samples (dut_id 0).
CREATE VIEW v_latest_samples AS
SELECT l.run_id,
       l.dut_id,
       d.slot,
       d.name  AS dut,
       m.name  AS metric,
       m.unit,
       l.lane,
       l.t,
       l.value
  FROM (SELECT run_id, dut_id, metric_id, lane, MAX(t) AS t, value
          FROM samples
         GROUP BY run_id, dut_id, metric_id, lane) l
  JOIN metrics m ON m.id = l.metric_id
  LEFT JOIN duts d ON d.id = l.dut_id;

-- Every judged measurement with the limits it was judged against.
CREATE VIEW v_measurement_verdicts AS
SELECT me.run_id,
       me.id     AS measurement_id,
       d.slot,
       d.name    AS dut,
       st.path   AS step_path,
       me.name   AS measurement,
       me.lane,
       me.side,
       me.t,
       me.value,
       me.unit,
       me.comparator,
       me.limit_low,
       me.limit_high,
       me.nominal,
       me.marginal_low,
       me.marginal_high,
       me.limit_source,
       me.verdict
  FROM measurements me
  LEFT JOIN steps st ON st.id = me.step_id
  LEFT JOIN duts d ON d.id = me.dut_id;

-- One row per run with its counts. Counting samples reads the run's key range: fine for a
-- summary of one run, slow over a long history (hilt's `runs` listing does not use this view).
CREATE VIEW v_run_summary AS
SELECT r.id AS run_id,
       r.uuid,
       r.sequence_name,
       r.status,
       r.closed_cleanly,
       r.started_at,
       r.ended_at,
       r.duration_s,
       (SELECT COUNT(*) FROM duts WHERE run_id = r.id)                         AS duts,
       (SELECT COUNT(*) FROM duts WHERE run_id = r.id AND status = 'ok')       AS duts_passed,
       (SELECT COUNT(*) FROM duts WHERE run_id = r.id AND status = 'failed')   AS duts_failed,
       (SELECT COUNT(*) FROM duts WHERE run_id = r.id AND status = 'error')    AS duts_error,
       (SELECT COUNT(*) FROM steps WHERE run_id = r.id)                        AS steps,
       (SELECT COUNT(*) FROM measurements WHERE run_id = r.id)                 AS measurements,
       (SELECT COUNT(*) FROM measurements WHERE run_id = r.id AND verdict = 'fail')
                                                                               AS measurements_failed,
       (SELECT COUNT(*) FROM samples WHERE run_id = r.id)                      AS samples,
       (SELECT COUNT(*) FROM events WHERE run_id = r.id)                       AS events
  FROM runs r;
