-- Stamp cards and cashback (API.md "Earning and spending"). Keep in step
-- with 0020_stamps_cashback.sqlite.sql.
--
-- accounts.stamps is the stamp card's count (below the programme's goal),
-- accounts.cashback the cashback balance in minor units of the programme's
-- currency (never negative). entries.stamps is a stamp entry's count,
-- entries.cashback the signed change the entry made to the cashback
-- balance; both 0 for the other entries.
--
-- A stamp that fills the card more than once issues several vouchers in
-- one entry, so vouchers.entry_id is no longer unique: a redemption's
-- replay still finds its one voucher by it, through an index.
ALTER TABLE accounts ADD COLUMN stamps bigint NOT NULL DEFAULT 0 CHECK (stamps >= 0);
ALTER TABLE accounts ADD COLUMN cashback bigint NOT NULL DEFAULT 0 CHECK (cashback >= 0);
ALTER TABLE entries ADD COLUMN stamps bigint NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN cashback bigint NOT NULL DEFAULT 0;
ALTER TABLE vouchers DROP CONSTRAINT vouchers_entry_id_key;
CREATE INDEX vouchers_entry ON vouchers (entry_id);
