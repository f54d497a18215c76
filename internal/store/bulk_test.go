package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// CreateMembers writes bulkMembers members a transaction, bulkRows a
// statement: SQLite's driver binds each of a statement's parameters by
// name, which costs time in the square of their number (1,000 members, 10
// parameters each, a statement took 1 m 18 s for 100,000 members; 100
// members a statement take seconds).
const (
	bulkMembers = 2000
	bulkRows    = 100
)

// CreateMembers stores new members, each with a copy of account a, as
// CreateMember would one by one (the member, its account, a pending sync
// row on both channels), but with multi-row statements of bulkRows
// members and a transaction per bulkMembers: benchmarks set up 100,000
// cards this way in seconds rather than minutes. A taken ID or number fails its
// whole transaction. Test only: passd enrolls members one at a time.
func (s *Store) CreateMembers(ctx context.Context, ms []loyalty.Member, a Account) error {
	if a.PassVersion < 1 {
		a.PassVersion = 1
	}
	for len(ms) > 0 {
		chunk := ms[:min(len(ms), bulkMembers)]
		ms = ms[len(chunk):]
		err := s.write(ctx, func(tx *sql.Tx) error {
			for rows := range slices.Chunk(chunk, bulkRows) {
				if err := s.insertMembers(ctx, tx, rows, a); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("create %d members: %w", len(chunk), err)
		}
	}
	return nil
}

// insertMembers writes ms with their accounts and sync rows in tx.
func (s *Store) insertMembers(ctx context.Context, tx *sql.Tx, ms []loyalty.Member, a Account) error {
	now := s.clock()
	var members, accounts, syncs []string
	margs := make([]any, 0, 10*len(ms))
	// Shared by every row: the account's figures, the sync rows' version
	// and time.
	aargs := []any{a.Points, a.Lifetime, a.Qualifying, a.Tier, a.PassVersion, now.Unix()}
	sargs := []any{a.PassVersion, now}
	for _, m := range ms {
		created := m.CreatedAt
		if created.IsZero() {
			created = now
		}
		var externalID any
		if m.ExternalID != "" {
			externalID = m.ExternalID
		}
		members = append(members, "("+params(len(margs)+1, 13)+")")
		margs = append(margs, m.ID, m.Program, m.Number, m.Name, m.Email, m.Birthday, externalID, m.AuthToken,
			created.UTC().Truncate(time.Microsecond), nullTime(m.ErasedAt),
			m.MarketingOptIn, strings.ToLower(m.Name), strings.ToLower(m.Email))
		accounts = append(accounts, "("+params(len(aargs)+1, 1)+", $1, $2, $3, $4, $5, $6, {{next_seq}}, "+params(len(aargs)+2, 2)+")")
		aargs = append(aargs, m.ID, m.ErasedAt != nil, created.UTC().Truncate(time.Microsecond))
		for _, ch := range loyalty.Channels() {
			syncs = append(syncs, "("+params(len(sargs)+1, 2)+", $1, 0, 0, $2, '', 'pending', $2, $2)")
			sargs = append(sargs, m.ID, ch)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO members (id, program, number, name, email, birthday, external_id, auth_token, created_at, erased_at,
			marketing_opt_in, name_lc, email_lc)
		VALUES `+strings.Join(members, ", "), margs...); err != nil {
		return fmt.Errorf("insert members: %w", err)
	}
	if err := s.bumpSeq(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`
		INSERT INTO accounts (member_id, points, lifetime, qualifying, tier, pass_version, pass_modified, update_seq, erased, last_activity_at)
		VALUES `+strings.Join(accounts, ", ")), aargs...); err != nil {
		return fmt.Errorf("insert accounts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO card_sync (member_id, channel, wanted_version, synced_version, attempts, next_attempt_at, last_error, state, dirty_since, updated_at)
		VALUES `+strings.Join(syncs, ", "), sargs...); err != nil {
		return fmt.Errorf("insert card sync: %w", err)
	}
	return nil
}

// params answers n placeholders from $first, comma-separated.
func params(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}
