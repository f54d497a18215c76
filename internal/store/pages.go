package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Keyset paging: a list walks a stable order, and the cursor of its next
// page names the last row shown, so a page costs one index range whatever
// its depth and rows added meanwhile neither repeat nor go missing. Two
// cursor shapes serve every list: a (time, id) pair for rows ordered by a
// time with their id as a tiebreak, and a sequence number for logs
// ordered by one. Both are opaque to callers (unpadded base64url), and a
// cursor not made here is ErrBadCursor.

// encodeKeyCursor makes the cursor of a page that ends with the row of
// the given time and id.
func encodeKeyCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

// decodeKeyCursor reads an encodeKeyCursor cursor.
func decodeKeyCursor(c string) (time.Time, string, error) {
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

// encodeSeqCursor makes the cursor of a page that ends before the row
// with sequence number seq.
func encodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

// seqBefore reads an encodeSeqCursor cursor: the rows of its page have a
// lower sequence number. No cursor is before every row.
func seqBefore(c string) (int64, error) {
	if c == "" {
		return math.MaxInt64, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrBadCursor
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrBadCursor
	}
	return n, nil
}

// pageSize clamps a page's limit to 1..MaxPageSize, DefaultPageSize when
// 0 or less.
func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, MaxPageSize)
}

// keysetPage answers a page of the rows that sel (a SELECT of the columns
// scan reads, ending with its WHERE conditions, whose values are args)
// selects in the order (timeCol, idCol), newest first when desc, oldest
// first otherwise, and the cursor of the next page ("" after the last).
// key answers a row's time and id. limit is clamped by pageSize; what
// names the list in errors.
func keysetPage[T any](ctx context.Context, q queryer, what, sel string, args []any, timeCol, idCol string, desc bool,
	cursor string, limit int, scan func(row interface{ Scan(...any) error }) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
	op, dir := ">", " ASC"
	if desc {
		op, dir = "<", " DESC"
	}
	if cursor != "" {
		at, id, err := decodeKeyCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		args = append(args, at, id)
		sel += " AND (" + timeCol + ", " + idCol + ") " + op + " ($" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ")"
	}
	limit = pageSize(limit)
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, sel+" ORDER BY "+timeCol+dir+", "+idCol+dir+" LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, translate(err))
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, translate(err))
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, encodeKeyCursor(key(out[limit-1])), nil
}
