package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// UpdateMember writes a profile patch the domain checked
// (loyalty.ProfilePatch.Apply) in one transaction, under the member's lock
// (the account row, as in Post): only the fields the patch sets change. A
// patch that sets a profile field bumps the pass version and marks the
// card dirty on both channels (the cards show the name); a marketing
// answer that differs from the current one is recorded as a consent of
// source. It answers the member as changed. An unknown or erased member
// is loyalty.ErrMemberNotFound; an external ID another member of the
// program has is loyalty.ErrExternalIDTaken, and nothing is written.
func (s *Store) UpdateMember(ctx context.Context, memberID string, p loyalty.ProfilePatch, source string) (MemberRow, error) {
	now := s.clock()
	var r MemberRow
	err := s.write(ctx, func(tx *sql.Tx) error {
		var optIn bool
		err := tx.QueryRowContext(ctx, s.q(`
			SELECT m.marketing_opt_in FROM accounts a JOIN members m ON m.id = a.member_id
			WHERE a.member_id = $1 AND NOT a.erased {{for_update_of_a}}`), memberID).Scan(&optIn)
		if errors.Is(err, sql.ErrNoRows) {
			return loyalty.ErrMemberNotFound
		}
		if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		if p.ChangesCard() {
			if err := s.touchAccount(ctx, tx, memberID, now, false); err != nil {
				return err
			}
		}
		var externalID any
		if !p.ExternalID.Null {
			externalID = p.ExternalID.Value
		}
		wantOptIn := optIn
		if p.MarketingOptIn != nil {
			wantOptIn = *p.MarketingOptIn
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE members SET
				name = CASE WHEN $2 THEN $3 ELSE name END,
				name_lc = CASE WHEN $2 THEN $4 ELSE name_lc END,
				email = CASE WHEN $5 THEN $6 ELSE email END,
				email_lc = CASE WHEN $5 THEN $7 ELSE email_lc END,
				birthday = CASE WHEN $8 THEN $9 ELSE birthday END,
				birthday_due_at = CASE WHEN NOT $8 THEN birthday_due_at WHEN $9 = '' THEN NULL ELSE $13 END,
				external_id = CASE WHEN $10 THEN $11 ELSE external_id END,
				marketing_opt_in = $12
			WHERE id = $1`,
			memberID,
			p.Name.Set, p.Name.Value, strings.ToLower(p.Name.Value),
			p.Email.Set, p.Email.Value, strings.ToLower(p.Email.Value),
			p.Birthday.Set, p.Birthday.Value,
			p.ExternalID.Set, externalID,
			wantOptIn, now)
		if name, ok := uniqueViolation(err); ok && strings.Contains(name, "external_id") {
			return fmt.Errorf("external id %q: %w", p.ExternalID.Value, loyalty.ErrExternalIDTaken)
		}
		if err != nil {
			return fmt.Errorf("update profile: %w", err)
		}
		if wantOptIn != optIn {
			if err := addConsent(ctx, tx, memberID, wantOptIn, source, now); err != nil {
				return err
			}
		}
		if r, err = s.memberWhere(ctx, tx, "m.id = $1", memberID); err != nil {
			return err
		}
		return emit(ctx, tx, memberID, loyalty.EventMemberUpdated, profileEvent(r.Member), now)
	})
	if err != nil {
		return MemberRow{}, fmt.Errorf("update member %s: %w", memberID, err)
	}
	return r, nil
}

// addConsent records a member's marketing answer in tx.
func addConsent(ctx context.Context, tx *sql.Tx, memberID string, optIn bool, source string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO consents (member_id, opt_in, source, created_at) VALUES ($1, $2, $3, $4)`,
		memberID, optIn, source, at); err != nil {
		return fmt.Errorf("record consent: %w", err)
	}
	return nil
}

// consents answers a member's consent records, oldest first.
func consents(ctx context.Context, q queryer, memberID string) ([]loyalty.Consent, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT member_id, opt_in, source, created_at FROM consents WHERE member_id = $1 ORDER BY seq`, memberID)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	out := []loyalty.Consent{}
	for rows.Next() {
		var c loyalty.Consent
		if err := rows.Scan(&c.MemberID, &c.MarketingOptIn, &c.Source, ts{&c.CreatedAt}); err != nil {
			return nil, fmt.Errorf("consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	return out, nil
}
