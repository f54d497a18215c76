package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/passd/passd/internal/loyalty"
)

// Programme figures (migration 0024): the writes that move a figure
// append a delta row by trigger in their own transaction; FoldFigures
// moves deltas into the per-hour and current rows off the request path;
// ProgramFigures sums both in one statement, so one snapshot.

// programFiguresSQL sums a programme's figures: $1 program, $2 the first
// hour read from program_hours, $3..$4 the window's hours [from, to), $5
// the first hour of activity that counts as active. Enrolments of the
// window come back one row per hour (bucket >= 0); the rest sums in the
// row of bucket -1 and in the enrolment rows.
const programFiguresSQL = `
	SELECT CASE WHEN hour >= $3 AND hour < $4 AND enrolled <> 0 THEN hour ELSE -1 END AS bucket,
		COALESCE(sum(members), 0), COALESCE(sum(outstanding), 0), COALESCE(sum(apple), 0), COALESCE(sum(google), 0),
		COALESCE(sum(CASE WHEN hour >= $5 THEN active ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN enrolled ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN issued ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN redeemed ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN expired ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN vouchers_issued ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN hour >= $3 AND hour < $4 THEN vouchers_used ELSE 0 END), 0)
	FROM (
		SELECT -1 AS hour, members, outstanding, apple, google, 0 AS active, 0 AS enrolled, 0 AS issued,
			0 AS redeemed, 0 AS expired, 0 AS vouchers_issued, 0 AS vouchers_used
		FROM program_totals WHERE program = $1
		UNION ALL
		SELECT hour, 0, 0, 0, 0, active, enrolled, issued, redeemed, expired, vouchers_issued, vouchers_used
		FROM program_hours WHERE program = $1 AND hour >= $2
		UNION ALL
		SELECT hour, members, outstanding, apple, google, active, enrolled, issued, redeemed, expired, vouchers_issued, vouchers_used
		FROM figure_deltas WHERE program = $1
	) f
	GROUP BY 1`

// ProgramFigures sums the figures of program now and in window w.
func (s *Store) ProgramFigures(ctx context.Context, program string, w loyalty.StatsWindow) (loyalty.FigureSums, error) {
	rows, err := s.rd.QueryContext(ctx, programFiguresSQL, program, min(w.FromHour, w.ActiveSinceHour), w.FromHour, w.ToHour, w.ActiveSinceHour)
	if err != nil {
		return loyalty.FigureSums{}, fmt.Errorf("figures of %s: %w", program, translate(err))
	}
	defer rows.Close()
	f := loyalty.FigureSums{EnrolledByHour: map[int64]int64{}}
	for rows.Next() {
		var bucket, members, outstanding, apple, google, active, enrolled, issued, redeemed, expired, vi, vu int64
		if err := rows.Scan(&bucket, &members, &outstanding, &apple, &google, &active, &enrolled, &issued, &redeemed, &expired, &vi, &vu); err != nil {
			return loyalty.FigureSums{}, fmt.Errorf("figures of %s: %w", program, translate(err))
		}
		f.Members += members
		f.Outstanding += outstanding
		f.Apple += apple
		f.Google += google
		f.Active += active
		f.Issued += issued
		f.Redeemed += redeemed
		f.Expired += expired
		f.VouchersIssued += vi
		f.VouchersUsed += vu
		if bucket >= 0 {
			f.EnrolledByHour[bucket] += enrolled
		}
	}
	if err := rows.Err(); err != nil {
		return loyalty.FigureSums{}, fmt.Errorf("figures of %s: %w", program, translate(err))
	}
	return f, nil
}

// The columns of the figures tables, windowed (program_hours) and current
// (program_totals).
const (
	hourCols  = `enrolled, active, issued, redeemed, expired, vouchers_issued, vouchers_used`
	hourSums  = `sum(enrolled), sum(active), sum(issued), sum(redeemed), sum(expired), sum(vouchers_issued), sum(vouchers_used)`
	hourAny   = `bool_or(enrolled <> 0 OR active <> 0 OR issued <> 0 OR redeemed <> 0 OR expired <> 0 OR vouchers_issued <> 0 OR vouchers_used <> 0)`
	hourAdd   = `enrolled = p.enrolled + excluded.enrolled, active = p.active + excluded.active, issued = p.issued + excluded.issued, redeemed = p.redeemed + excluded.redeemed, expired = p.expired + excluded.expired, vouchers_issued = p.vouchers_issued + excluded.vouchers_issued, vouchers_used = p.vouchers_used + excluded.vouchers_used`
	totalCols = `members, outstanding, apple, google`
	totalSums = `sum(members), sum(outstanding), sum(apple), sum(google)`
	totalAny  = `bool_or(members <> 0 OR outstanding <> 0 OR apple <> 0 OR google <> 0)`
	totalAdd  = `members = p.members + excluded.members, outstanding = p.outstanding + excluded.outstanding, apple = p.apple + excluded.apple, google = p.google + excluded.google`
)

// foldPostgres folds at most $1 deltas in one statement: the rows it
// deletes are exactly the rows it adds up, whatever commits meanwhile, and
// SKIP LOCKED lets several instances fold at once. Rows are added in key
// order so two folds never wait on each other in a circle.
var foldPostgres = `
	WITH d AS (
		DELETE FROM figure_deltas WHERE id IN (
			SELECT id FROM figure_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING *
	), h AS (
		INSERT INTO program_hours AS p (program, hour, ` + hourCols + `)
		SELECT program, hour, ` + hourSums + ` FROM d GROUP BY program, hour HAVING ` + hourAny + `
		ORDER BY program, hour
		ON CONFLICT (program, hour) DO UPDATE SET ` + hourAdd + `
	), t AS (
		INSERT INTO program_totals AS p (program, ` + totalCols + `)
		SELECT program, ` + totalSums + ` FROM d GROUP BY program HAVING ` + totalAny + `
		ORDER BY program
		ON CONFLICT (program) DO UPDATE SET ` + totalAdd + `
	)
	SELECT count(*) FROM d`

// foldSQLite is foldPostgres for SQLite's one writer: the deltas up to
// $1 are added, then deleted, in one transaction. SQLite's upsert needs
// the WHERE of its SELECT; its bool_or is max.
var foldSQLite = []string{`
	INSERT INTO program_hours AS p (program, hour, ` + hourCols + `)
	SELECT program, hour, ` + hourSums + ` FROM figure_deltas WHERE id <= $1 GROUP BY program, hour
	HAVING max(enrolled <> 0 OR active <> 0 OR issued <> 0 OR redeemed <> 0 OR expired <> 0 OR vouchers_issued <> 0 OR vouchers_used <> 0)
	ON CONFLICT (program, hour) DO UPDATE SET ` + hourAdd, `
	INSERT INTO program_totals AS p (program, ` + totalCols + `)
	SELECT program, ` + totalSums + ` FROM figure_deltas WHERE id <= $1 GROUP BY program
	HAVING max(members <> 0 OR outstanding <> 0 OR apple <> 0 OR google <> 0)
	ON CONFLICT (program) DO UPDATE SET ` + totalAdd, `
	DELETE FROM figure_deltas WHERE id <= $1`,
}

// FoldFigures moves at most limit figure deltas, oldest first, into the
// programmes' per-hour and current figures, and answers how many it moved.
// Reads are exact before and after: it only makes them cheaper.
func (s *Store) FoldFigures(ctx context.Context, limit int) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		if s.dialect == DialectPostgres {
			return tx.QueryRowContext(ctx, foldPostgres, limit).Scan(&n)
		}
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(id), count(*) FROM (SELECT id FROM figure_deltas ORDER BY id LIMIT $1)`, limit).Scan(&last, &n); err != nil {
			return err
		}
		if !last.Valid {
			return nil
		}
		for _, q := range foldSQLite {
			if _, err := tx.ExecContext(ctx, q, last.Int64); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fold figures: %w", err)
	}
	return n, nil
}

// CardsInstalledByProgram answers the cards installed now per programme
// and wallet (the metrics' gauge), programmes without any left out.
func (s *Store) CardsInstalledByProgram(ctx context.Context) (map[string]loyalty.CardsInstalled, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT program, COALESCE(sum(apple), 0), COALESCE(sum(google), 0) FROM (
			SELECT program, apple, google FROM program_totals
			UNION ALL
			SELECT program, apple, google FROM figure_deltas WHERE apple <> 0 OR google <> 0
		) f GROUP BY program ORDER BY program`)
	if err != nil {
		return nil, fmt.Errorf("cards installed: %w", translate(err))
	}
	defer rows.Close()
	out := map[string]loyalty.CardsInstalled{}
	for rows.Next() {
		var p string
		var c loyalty.CardsInstalled
		if err := rows.Scan(&p, &c.Apple, &c.Google); err != nil {
			return nil, fmt.Errorf("cards installed: %w", translate(err))
		}
		if c != (loyalty.CardsInstalled{}) {
			out[p] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cards installed: %w", translate(err))
	}
	return out, nil
}
