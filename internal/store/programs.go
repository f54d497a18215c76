package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// This file keeps programmes as versioned rows (DESIGN.md "Programmes are
// data"). The store persists and locks: a programme's definition is the
// domain's JSON, stored and returned as it is given, never read here.

// ErrVersionMismatch means a change was asked against a programme version
// that is no longer the current one (If-Match); nothing was written.
var ErrVersionMismatch = loyalty.ErrVersionMismatch

// ProgramRecord is a programme as stored.
type ProgramRecord struct {
	ID string
	// Version starts at 1 and rises by one with every change, images
	// included.
	Version    int64
	Definition json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// CardsMarkedVersion is the version every live card of the programme
	// has been marked for; below Version while MarkProgramCards has cards
	// left to mark.
	CardsMarkedVersion int64
	// GoogleClassVersion is the version last delivered to the programme's
	// Google Wallet class (MarkProgramClassSynced).
	GoogleClassVersion int64
	// Images, given to SeedProgram or CreateProgram, are stored with the
	// programme, by name. Reads leave it nil: see ProgramImages.
	Images map[string][]byte
}

// ProgramUpdate is a change to a programme, as UpdateProgram's apply
// answers it.
type ProgramUpdate struct {
	// Definition replaces the definition; nil keeps it.
	Definition json.RawMessage
	// PutImages stores images by name, replacing those of the same name.
	PutImages map[string][]byte
	// DeleteImages removes images by name; unknown names are ignored.
	DeleteImages []string
	// RelookDormancy makes the dormancy of every member of the programme
	// due for a look now (see loyalty.DormancyLooksEarlier), in the same
	// transaction: one statement over the members' due column, which no
	// till's transaction locks.
	RelookDormancy bool
	// ReviewTiers has every live member's tier reviewed (see
	// loyalty.TierRulesChanged): the card marking for the new version
	// brings each member's tier review to the change's time, in its
	// batches (MarkProgramCards), and the tier review job does the rest.
	ReviewTiers bool
}

// programSelect reads a ProgramRecord; scanProgram reads its columns.
const programSelect = `
	SELECT id, version, definition, created_at, updated_at, cards_marked_version, google_class_version
	FROM programs`

func scanProgram(row interface{ Scan(...any) error }) (ProgramRecord, error) {
	var p ProgramRecord
	var def string
	err := row.Scan(&p.ID, &p.Version, &def, ts{&p.CreatedAt}, ts{&p.UpdatedAt}, &p.CardsMarkedVersion, &p.GoogleClassVersion)
	if err != nil {
		return ProgramRecord{}, err
	}
	p.Definition = json.RawMessage(def)
	return p, nil
}

// SeedProgram stores a programme at version 1, with its images, in one
// transaction, unless a programme with its ID exists: then nothing changes
// and created is false. Templates seed their programme this way at every
// start, so an edit made through the API is never overwritten.
//
// A seeded programme counts its cards as marked: cards of a programme that
// had no row yet were built from the very template that seeds it, and
// marking them would push every card of a large programme at the first
// start for nothing. Its Google class is due (ProgramClassesDue).
func (s *Store) SeedProgram(ctx context.Context, rec ProgramRecord) (created bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		created, err = s.insertProgram(ctx, tx, rec, true)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("seed program %s: %w", rec.ID, err)
	}
	return created, nil
}

// CreateProgram stores a new programme at version 1, with its images. A
// taken ID is ErrDuplicate. Cards of members the programme already has (a
// programme created under the ID of members enrolled before it) are due to
// be marked, like after any change.
func (s *Store) CreateProgram(ctx context.Context, rec ProgramRecord) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		created, err := s.insertProgram(ctx, tx, rec, false)
		if err == nil && !created {
			err = ErrDuplicate
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create program %s: %w", rec.ID, err)
	}
	return nil
}

// insertProgram stores rec at version 1 with its images in tx unless its
// ID is taken, and answers whether it did. seeded counts the cards as
// marked for version 1.
func (s *Store) insertProgram(ctx context.Context, tx *sql.Tx, rec ProgramRecord, seeded bool) (bool, error) {
	now := s.clock()
	var marked int64
	if seeded {
		marked = 1
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO programs (id, version, definition, created_at, updated_at, cards_marked_version)
		VALUES ($1, 1, $2, $3, $3, $4)
		ON CONFLICT (id) DO NOTHING`,
		rec.ID, string(rec.Definition), now, marked)
	if err != nil {
		return false, fmt.Errorf("insert program: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, putProgramImages(ctx, tx, rec.ID, rec.Images, now)
}

// putProgramImages stores images of a programme in tx, by name.
func putProgramImages(ctx context.Context, tx *sql.Tx, program string, images map[string][]byte, now time.Time) error {
	names := make([]string, 0, len(images))
	for name := range images {
		names = append(names, name)
	}
	sort.Strings(names) // one lock order for concurrent writers
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO program_images (program, name, png, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (program, name) DO UPDATE SET png = excluded.png, updated_at = excluded.updated_at`,
			program, name, images[name], now); err != nil {
			return fmt.Errorf("store image %s: %w", name, err)
		}
	}
	return nil
}

// Program answers a programme; an unknown ID is ErrNotFound.
func (s *Store) Program(ctx context.Context, id string) (ProgramRecord, error) {
	p, err := scanProgram(s.rd.QueryRowContext(ctx, programSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ProgramRecord{}, fmt.Errorf("program %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ProgramRecord{}, fmt.Errorf("program %s: %w", id, translate(err))
	}
	return p, nil
}

// Programs answers every programme, by ID.
func (s *Store) Programs(ctx context.Context) ([]ProgramRecord, error) {
	return s.programsWhere(ctx, "true", "programs")
}

// programsWhere answers the programmes that cond selects, by ID; what
// names them in errors.
func (s *Store) programsWhere(ctx context.Context, cond, what string) ([]ProgramRecord, error) {
	rows, err := s.rd.QueryContext(ctx, programSelect+` WHERE `+cond+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, translate(err))
	}
	out, err := collect(rows, scanProgram)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, translate(err))
	}
	return out, nil
}

// collect scans every row of rows with scan, and closes rows.
func collect[T any](rows *sql.Rows, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ProgramImages answers a programme's images by name, in one query; a
// programme without images answers an empty map, an unknown ID
// ErrNotFound.
func (s *Store) ProgramImages(ctx context.Context, id string) (map[string][]byte, error) {
	rows, err := s.rd.QueryContext(ctx, `
		SELECT i.name, i.png FROM programs p LEFT JOIN program_images i ON i.program = p.id
		WHERE p.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("program %s images: %w", id, translate(err))
	}
	defer rows.Close()
	var out map[string][]byte
	for rows.Next() {
		var name sql.NullString
		var png []byte
		if err := rows.Scan(&name, &png); err != nil {
			return nil, fmt.Errorf("program %s images: %w", id, err)
		}
		if out == nil {
			out = map[string][]byte{}
		}
		if name.Valid {
			out[name.String] = png
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("program %s images: %w", id, translate(err))
	}
	if out == nil {
		return nil, fmt.Errorf("program %s images: %w", id, ErrNotFound)
	}
	return out, nil
}

// UpdateProgram changes a programme in one transaction that holds its row
// (PostgreSQL: FOR UPDATE; SQLite: the write lock). A non-zero ifVersion
// other than the current version is ErrVersionMismatch. Otherwise apply,
// the domain's decision, gets the current programme and answers the
// change; its error comes back wrapped and unchanged. apply runs under the
// lock, at most once: it must not do I/O. A change raises the version by
// one and sets updated_at; the cards are then marked in batches
// (MarkProgramCards), from the first member again if a marking was under
// way. A change that changes nothing (no image, and no definition or the
// same bytes) writes nothing. An unknown ID is ErrNotFound; whenever an
// error is answered, nothing is written. UpdateProgram answers the
// programme as it then is.
func (s *Store) UpdateProgram(ctx context.Context, id string, ifVersion int64, apply func(cur ProgramRecord) (ProgramUpdate, error)) (ProgramRecord, error) {
	var out ProgramRecord
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.lockProgram(ctx, tx, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != cur.Version {
			return fmt.Errorf("at version %d, not %d: %w", cur.Version, ifVersion, ErrVersionMismatch)
		}
		up, err := apply(cur)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		def := cur.Definition
		if up.Definition != nil {
			def = up.Definition
		}
		if bytes.Equal(def, cur.Definition) && len(up.PutImages) == 0 && len(up.DeleteImages) == 0 {
			out = cur
			return nil
		}
		now := s.clock()
		if _, err := tx.ExecContext(ctx, `
			UPDATE programs SET version = version + 1, definition = $2, updated_at = $3, cards_cursor = ''
			WHERE id = $1`, id, string(def), now); err != nil {
			return fmt.Errorf("update program: %w", err)
		}
		for _, name := range up.DeleteImages {
			if _, err := tx.ExecContext(ctx, `DELETE FROM program_images WHERE program = $1 AND name = $2`, id, name); err != nil {
				return fmt.Errorf("delete image %s: %w", name, err)
			}
		}
		if err := putProgramImages(ctx, tx, id, up.PutImages, now); err != nil {
			return err
		}
		if up.ReviewTiers {
			if _, err := tx.ExecContext(ctx, `UPDATE programs SET tiers_review_at = $2 WHERE id = $1`, id, now); err != nil {
				return fmt.Errorf("plan tier reviews: %w", err)
			}
		}
		if up.RelookDormancy {
			if _, err := tx.ExecContext(ctx, `UPDATE members SET dormant_check_at = $2 WHERE program = $1 AND dormant_check_at > $2`,
				id, now); err != nil {
				return fmt.Errorf("plan dormancy looks: %w", err)
			}
		}
		out = cur
		out.Version++
		out.Definition = def
		out.UpdatedAt = now
		return nil
	})
	if err != nil {
		return ProgramRecord{}, fmt.Errorf("update program %s: %w", id, err)
	}
	return out, nil
}

// PutProgramImage stores one image of a programme by name, replacing one
// of the same name: a programme change like any other (UpdateProgram),
// with its ifVersion. Checking the image is the caller's business.
func (s *Store) PutProgramImage(ctx context.Context, id string, ifVersion int64, name string, png []byte) (ProgramRecord, error) {
	return s.UpdateProgram(ctx, id, ifVersion, func(ProgramRecord) (ProgramUpdate, error) {
		return ProgramUpdate{PutImages: map[string][]byte{name: png}}, nil
	})
}

// lockProgram reads a programme in tx and holds its row until tx ends.
func (s *Store) lockProgram(ctx context.Context, tx *sql.Tx, id string) (ProgramRecord, error) {
	p, err := scanProgram(tx.QueryRowContext(ctx, s.q(programSelect+` WHERE id = $1 {{for_update}}`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return ProgramRecord{}, ErrNotFound
	}
	if err != nil {
		return ProgramRecord{}, fmt.Errorf("lock program: %w", err)
	}
	return p, nil
}

// MarkProgramCards marks the next batch of up to limit live cards of a
// programme for its current version, in one short transaction: each card's
// pass version rises by one and its sync rows turn pending, as TouchProgram
// does for every card at once. Members are taken in ID order after the
// row's cursor, which the batch advances; the last batch records the
// version as marked, and done is true once it is (at once when there was
// nothing to mark). A change to the programme meanwhile starts the marking
// again from the first member, for the new version. The programme's row is
// locked in the batch, so instances marking at once take turns, and a till
// waits at most one batch for a card's row. While a change of the tier
// rules waits to be reviewed (ProgramUpdate.ReviewTiers), each batch also
// brings the tier reviews of its members enrolled by then (later ones
// started under the new rules) to that change's time, and the last
// batch, which walked every member after the change, clears it. An
// unknown ID is ErrNotFound.
func (s *Store) MarkProgramCards(ctx context.Context, program string, limit int) (marked int, done bool, err error) {
	if limit <= 0 {
		return 0, false, fmt.Errorf("mark program %s cards: limit %d, want > 0", program, limit)
	}
	now := s.clock()
	err = s.write(ctx, func(tx *sql.Tx) error {
		var version, markedVersion int64
		var cursor string
		var tiersReview *time.Time
		err := tx.QueryRowContext(ctx, s.q(`
			SELECT version, cards_marked_version, cards_cursor, tiers_review_at FROM programs WHERE id = $1 {{for_update}}`), program).
			Scan(&version, &markedVersion, &cursor, nts{&tiersReview})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock program: %w", err)
		}
		if markedVersion >= version {
			done = true
			return nil
		}
		// One more than the batch, to know whether this batch is the last.
		rows, err := tx.QueryContext(ctx, `
			SELECT id FROM members WHERE program = $1 AND erased_at IS NULL AND id > $2
			ORDER BY id LIMIT $3`, program, cursor, limit+1)
		if err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		ids := make([]string, 0, limit+1)
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("list members: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		done = len(ids) <= limit
		ids = ids[:min(len(ids), limit)]
		if len(ids) > 0 {
			_, arg, err := s.inList("member_id", 1, ids)
			if err != nil {
				return err
			}
			// inList's SQL does not depend on the values.
			in := func(col string) string { cond, _, _ := s.inList(col, 1, nil); return cond }
			n, err := s.touchCards(ctx, tx, in, arg, now)
			if err != nil {
				return err
			}
			marked = int(n)
			cursor = ids[len(ids)-1]
			if tiersReview != nil {
				if _, err := tx.ExecContext(ctx, `
					UPDATE accounts SET tier_review_at = $2
					WHERE `+in("member_id")+` AND NOT erased AND (tier_review_at IS NULL OR tier_review_at > $2)
					  AND EXISTS (SELECT 1 FROM members m WHERE m.id = accounts.member_id AND m.created_at <= $2)`,
					arg, *tiersReview); err != nil {
					return fmt.Errorf("plan tier reviews: %w", err)
				}
			}
		}
		if done {
			markedVersion, cursor, tiersReview = version, "", nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE programs SET cards_marked_version = $2, cards_cursor = $3, tiers_review_at = $4 WHERE id = $1`,
			program, markedVersion, cursor, nullTime(tiersReview)); err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("mark program %s cards: %w", program, err)
	}
	return marked, done, nil
}

// ProgramsToMark answers the IDs of the programmes whose cards are not all
// marked for their current version, by ID: what a marking worker has to
// finish, after a restart too.
func (s *Store) ProgramsToMark(ctx context.Context) ([]string, error) {
	ps, err := s.programsWhere(ctx, "cards_marked_version < version", "programs to mark")
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids, nil
}

// ProgramClassesDue answers the programmes whose Google Wallet class has
// not been delivered at their current version, by ID.
func (s *Store) ProgramClassesDue(ctx context.Context) ([]ProgramRecord, error) {
	return s.programsWhere(ctx, "google_class_version < version", "program classes due")
}

// MarkProgramClassSynced records that a programme's Google class was
// delivered at version. It never lowers the recorded version (a slow
// delivery of an older version finishing last); a version the programme
// has not reached is an error. An unknown ID is ErrNotFound.
func (s *Store) MarkProgramClassSynced(ctx context.Context, id string, version int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := s.lockProgram(ctx, tx, id)
		if err != nil {
			return err
		}
		if version > cur.Version {
			return fmt.Errorf("version %d is past the programme's %d", version, cur.Version)
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE programs SET google_class_version = $2 WHERE id = $1 AND google_class_version < $2`, id, version)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark program %s class synced: %w", id, err)
	}
	return nil
}
