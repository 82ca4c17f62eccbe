-- Epoch keys (issue 13: shredding that holds against old copies). A grant's
-- wrapped key is stored sealed once more under the key of the epoch it was
-- made in; that key lives in the epoch file outside the database and is
-- erased once the epoch's grants are dead, so a copy of this table taken at
-- any time (WAL, replica, backup) opens nothing once the epoch is gone.
-- NULL: a grant stored before this migration, sealed at the next start.

ALTER TABLE grants ADD COLUMN epoch BIGINT;

-- One row: an epoch and the check value of its key (a one-way derivation,
-- useless to a thief). Each instance compares its epoch file with it at
-- start, so a second instance started with another file is refused instead
-- of sealing links that the first instance cannot open.
CREATE TABLE epoch_check (
    singleton   BIGINT PRIMARY KEY,
    epoch       BIGINT NOT NULL,
    check_value BLOB NOT NULL,
    CONSTRAINT epoch_check_one_row CHECK (singleton = 1),
    CONSTRAINT epoch_check_epoch CHECK (epoch >= 0),
    CONSTRAINT epoch_check_value_len CHECK (length(check_value) = 32)
);
