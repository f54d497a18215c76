package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// prefixEnd is appended to a prefix to bound the range of the strings
// that start with it: U+10FFFF is the greatest code point, and both stores
// compare these columns byte by byte (SQLite's BINARY, PostgreSQL's "C").
const prefixEnd = "\U0010FFFF"

// SearchMembers answers a page of a program's live members matching q,
// newest enrolment first (ties by id), and the cursor of the next page (""
// after the last). Erased members never appear. Each filter is an indexed
// lookup on both stores: the prefix is a range on the lower-cased name and
// email (name_lc, email_lc) and on the number, the email an equality on
// email_lc, the external ID on its unique index; the page walks
// (program, created_at, id). A cursor SearchMembers did not answer is an
// error wrapping ErrBadCursor.
func (s *Store) SearchMembers(ctx context.Context, q loyalty.MemberSearch) ([]MemberRow, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = loyalty.DefaultSearchLimit
	}
	limit = min(limit, loyalty.MaxSearchLimit)
	args := []any{q.Program}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{"m.program = $1", "m.erased_at IS NULL"}
	if q.Prefix != "" {
		lo, hi := arg(q.Prefix), arg(q.Prefix+prefixEnd)
		// One indexed range per column, united: an OR of the three would
		// make either planner scan every member of the program.
		where = append(where, s.q(`m.id IN (
			SELECT id FROM members WHERE program = $1 AND erased_at IS NULL AND name_lc >= `+lo+` AND name_lc < `+hi+`
			UNION ALL SELECT id FROM members WHERE program = $1 AND erased_at IS NULL AND email_lc >= `+lo+` AND email_lc < `+hi+`
			UNION ALL SELECT id FROM members WHERE program = $1 AND erased_at IS NULL
				AND number{{collate_c}} >= `+lo+` AND number{{collate_c}} < `+hi+`)`))
	}
	if q.Email != "" {
		where = append(where, "m.email_lc = "+arg(q.Email))
	}
	if q.ExternalID != "" {
		where = append(where, "m.external_id = "+arg(q.ExternalID))
	}
	if q.Tier != "" {
		// A test on a's own row would look so selective to SQLite that it
		// scans every account and sorts; as a probe per member it walks
		// the newest members first like the other filters.
		where = append(where, "EXISTS (SELECT 1 FROM accounts t WHERE t.member_id = m.id AND t.tier = "+arg(q.Tier)+")")
	}
	if !q.InactiveSince.IsZero() {
		where = append(where, "a.last_activity_at <= "+arg(q.InactiveSince.UTC().Truncate(time.Microsecond)))
	}
	if q.Cursor != "" {
		at, id, err := decodeMemberCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("search members: %w", err)
		}
		where = append(where, "(m.created_at, m.id) < ("+arg(at)+", "+arg(id)+")")
	}
	query := memberSelect + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY m.created_at DESC, m.id DESC LIMIT " + arg(limit+1)
	rows, err := s.rd.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search members of %s: %w", q.Program, translate(err))
	}
	defer rows.Close()
	out := make([]MemberRow, 0, min(limit, 64))
	for rows.Next() {
		r, err := scanMember(rows)
		if err != nil {
			return nil, "", fmt.Errorf("search members of %s: %w", q.Program, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("search members of %s: %w", q.Program, translate(err))
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeMemberCursor(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// encodeMemberCursor makes the opaque cursor of a search page that ends
// with the member enrolled at at with the given id.
func encodeMemberCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

func decodeMemberCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return time.Time{}, "", ErrBadCursor
	}
	return time.UnixMicro(n).UTC(), id, nil
}
