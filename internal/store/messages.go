package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// DefaultMessageBatch bounds the members one transaction of
// PostTierMessage writes, so that a message to a large tier never holds
// the tills' locks (SQLite's write lock, PostgreSQL's account rows) for
// long: on SQLite, with 25,000 of 100,000 members addressed, a till's earn
// p99 was 83-131 ms at 1,000 members a transaction and 39 ms at 200
// (BenchmarkPostTierMessage, docs/benchmarks.md).
const DefaultMessageBatch = 200

// messageData is a "message" event's data.
type messageData struct {
	Text string `json:"text"`
	Tier string `json:"tier,omitempty"`
}

// PostMemberMessage stores a merchant message for one member's cards,
// replacing the member's previous own message, and in the same
// transaction bumps the member's pass version, marks the card dirty on
// both channels and records a "message" event. Only that member's card
// changes: it shows the newer of this and the program's message. An
// unknown or erased member is loyalty.ErrMemberNotFound.
func (s *Store) PostMemberMessage(ctx context.Context, memberID, text string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The account first: it is the member's lock, as in Post.
		if err := s.touchAccount(ctx, tx, memberID, now, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET message = $2, message_at = $3 WHERE id = $1`,
			memberID, text, now); err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		return addEvent(ctx, tx, memberID, "message", messageData{Text: text}, now)
	})
	if err != nil {
		return fmt.Errorf("post message to member %s: %w", memberID, err)
	}
	return nil
}

// PostTierMessage stores a merchant message as the own message of every
// live member of a program who holds tier, as PostMemberMessage does for
// one, and answers how many cards it changed. It works through the tier in
// member order, at most the message batch (Options.MessageBatch) per
// transaction. Each batch's members are listed before its transaction and
// their tier checked again under the write, so the tills wait only for
// the writes, and a member who left the tier meanwhile is skipped. Members
// of other tiers are not touched.
func (s *Store) PostTierMessage(ctx context.Context, program, tier, text string) (int64, error) {
	now := s.clock()
	var total int64
	after := ""
	for {
		candidates, err := s.tierMembers(ctx, program, tier, after)
		if err != nil || len(candidates) == 0 {
			return total, err
		}
		var n int64
		err = s.write(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = s.tierMessageBatch(ctx, tx, candidates, tier, text, now)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("post message to tier %s of %s: %w", tier, program, err)
		}
		total += n
		if len(candidates) < s.messageBatch {
			return total, nil
		}
		after = candidates[len(candidates)-1]
	}
}

// tierMembers lists the next message batch of a program's live members of
// tier after the member id after, in member order.
func (s *Store) tierMembers(ctx context.Context, program, tier, after string) ([]string, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT m.id FROM members m JOIN accounts a ON a.member_id = m.id
		WHERE m.program = $1 AND m.erased_at IS NULL AND a.tier = $2 AND NOT a.erased AND m.id > $3
		ORDER BY m.id LIMIT $4`, program, tier, after, s.messageBatch)
	if err != nil {
		return nil, fmt.Errorf("list members of tier %s of %s: %w", tier, program, translate(err))
	}
	ids, err := collectStrings(rows)
	if err != nil {
		return nil, fmt.Errorf("list members of tier %s of %s: %w", tier, program, translate(err))
	}
	return ids, nil
}

// tierMessageBatch writes the message for those of candidates who still
// hold tier, in tx, and answers how many cards it changed.
func (s *Store) tierMessageBatch(ctx context.Context, tx *sql.Tx, candidates []string, tier, text string, now time.Time) (int64, error) {
	if err := s.bumpSeq(ctx, tx); err != nil {
		return 0, err
	}
	cond, list, err := s.inList("member_id", 1, candidates)
	if err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, s.q(`
		UPDATE accounts SET
			pass_version = pass_version + 1,
			pass_modified = CASE WHEN pass_modified + 1 > $2 THEN pass_modified + 1 ELSE $2 END,
			{{set_update_seq}}
		WHERE `+cond+` AND tier = $3 AND NOT erased
		RETURNING member_id`), list, now.Unix(), tier)
	if err != nil {
		return 0, fmt.Errorf("bump pass versions: %w", err)
	}
	ids, err := collectStrings(rows)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	idCond, idList, err := s.inList("id", 1, ids)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE members SET message = $2, message_at = $3 WHERE `+idCond, idList, text, now); err != nil {
		return 0, fmt.Errorf("store messages: %w", err)
	}
	syncCond, syncList, err := s.inList("card_sync.member_id", 1, ids)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, markManyDirtySQL(syncCond), syncList, now.Add(s.debounce), now); err != nil {
		return 0, fmt.Errorf("mark cards dirty: %w", err)
	}
	data, err := json.Marshal(messageData{Text: text, Tier: tier})
	if err != nil {
		return 0, fmt.Errorf("encode message event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO events (member_id, kind, data, created_at)
		SELECT id, 'message', $2, $3 FROM members WHERE `+idCond, idList, string(data), now); err != nil {
		return 0, fmt.Errorf("add message events: %w", err)
	}
	return int64(len(ids)), nil
}

// collectStrings reads a one-column result of text and closes it.
func collectStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
