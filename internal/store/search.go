package store

import (
	"context"
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
// after the last). Erased members never appear. The filters use indexes on
// both stores: the prefix is a range on the lower-cased name and email
// (name_lc, email_lc) and on the number, the email an equality on
// email_lc, the external ID its unique index; the page walks
// (program, created_at, id). A prefix that fewer than DefaultDenseMatches
// members match is looked up in the three ranges and its matches sorted; a
// denser one (counted on the indexes, no further than that) is tested on
// the newest members instead, which finds a page within a few hundred.
// Tier and inactivity are tested on the newest members too: a rare
// combination of them reads the whole program. A cursor SearchMembers did
// not answer is an error wrapping ErrBadCursor.
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
		dense, err := s.densePrefix(ctx, q.Program, q.Prefix)
		if err != nil {
			return nil, "", fmt.Errorf("search members of %s: %w", q.Program, translate(err))
		}
		lo, hi := arg(q.Prefix), arg(q.Prefix+prefixEnd)
		ranges := s.prefixRanges("", lo, hi)
		if dense {
			// Many match: walking the newest members and testing each
			// finds a page within a few hundred rows. SQLite is told not
			// to use the column indexes ({{no_index}}), which would fetch
			// and sort every match; PostgreSQL's costs choose the walk.
			ranges = s.prefixRanges("{{no_index}}m.", lo, hi)
			where = append(where, s.q("("+strings.Join(ranges, " OR ")+")"))
		} else {
			// Few match: one indexed range per column, united (an OR of
			// the three makes either planner read every member of the
			// program), then those members sorted.
			var union []string
			for _, r := range ranges {
				union = append(union, "SELECT id FROM members WHERE program = $1 AND erased_at IS NULL AND "+r)
			}
			where = append(where, "m.id IN ("+strings.Join(union, " UNION ALL ")+")")
		}
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
		at, id, err := decodeKeyCursor(q.Cursor)
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
		next = encodeKeyCursor(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// DefaultDenseMatches is how many members must match a search prefix for
// SearchMembers to walk the newest members rather than sort every match.
const DefaultDenseMatches = 2000

// prefixRanges answers the conditions "col starts with the text bound as
// lo" (hi is lo followed by prefixEnd) on name_lc, email_lc and number,
// each column written after pre (a table alias), in the store's dialect.
func (s *Store) prefixRanges(pre, lo, hi string) []string {
	var out []string
	for _, col := range []string{"name_lc", "email_lc", "number{{collate_c}}"} {
		out = append(out, s.q(pre+col+" >= "+lo+" AND "+pre+col+" < "+hi))
	}
	return out
}

// densePrefix reports whether at least s.denseMatches live members of a
// program match prefix, counting no further: three index-only ranges of
// at most that many entries.
func (s *Store) densePrefix(ctx context.Context, program, prefix string) (bool, error) {
	var counts []string
	for _, r := range s.prefixRanges("", "$2", "$3") {
		counts = append(counts, "(SELECT count(*) FROM (SELECT 1 FROM members WHERE program = $1 AND erased_at IS NULL AND "+r+" LIMIT $4) AS c)")
	}
	var n int
	err := s.rd.QueryRowContext(ctx, "SELECT "+strings.Join(counts, " + "), program, prefix, prefix+prefixEnd, s.denseMatches).Scan(&n)
	return n >= s.denseMatches, err
}
