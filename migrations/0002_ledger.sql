-- The ledger of lake objects: which stored file was loaded (or rejected), with the hash of its
-- bytes as stored in the lake, so an unchanged object is skipped without being decompressed.

CREATE TABLE load_ledger (
    path           text        PRIMARY KEY,   -- relative to the lake root: date=2025-11-05/R1C1/participants.json.zst
    day            date        NOT NULL,      -- race day (Paris calendar)
    stage          text        NOT NULL CHECK (stage IN ('programme', 'participants', 'performances', 'rapports')),
    reunion        smallint,                  -- R of R1C1; NULL for the programme
    course         smallint,                  -- C of R1C1; NULL for the programme
    content_sha256 text        NOT NULL,      -- SHA-256 (hex) of the stored, compressed file bytes
    stored_bytes   bigint      NOT NULL,      -- size of the stored file, in bytes
    status         text        NOT NULL CHECK (status IN ('loaded', 'rejected')),
    reason         text,                      -- why it was rejected; NULL when loaded
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (reason IS NOT NULL))
);

CREATE INDEX load_ledger_day ON load_ledger (day);

COMMENT ON TABLE load_ledger IS 'One row per lake object seen by pmu-lake load: last outcome wins.';
