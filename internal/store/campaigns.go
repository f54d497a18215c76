package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passd/passd/internal/loyalty"
)

// Campaigns are stored as loyalty.Campaign says; the store checks nothing
// (loyalty.CampaignInput.Validate does). Days of the week are kept as
// "1,6,7".

func formatDays(days []int) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

func parseDays(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		if d, err := strconv.Atoi(p); err == nil {
			out = append(out, d)
		}
	}
	return out
}

const campaignCols = `id, program, name, multiplier, starts_at, ends_at, days_of_week, local_from, local_to, min_tier, created_at, updated_at`

func scanCampaign(row interface{ Scan(...any) error }) (loyalty.Campaign, error) {
	var c loyalty.Campaign
	var days string
	err := row.Scan(&c.ID, &c.Program, &c.Name, &c.MultiplierTenths, ts{&c.StartsAt}, ts{&c.EndsAt}, &days,
		&c.FromMinute, &c.ToMinute, &c.MinTier, ts{&c.CreatedAt}, ts{&c.UpdatedAt})
	c.DaysOfWeek = parseDays(days)
	return c, err
}

func utcMicro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CreateCampaign stores a new campaign and answers it as stored. c.ID and
// c.Program are required; CreatedAt and UpdatedAt are set to now. An
// unknown programme is loyalty.ErrProgramNotFound; a taken id ErrDuplicate.
func (s *Store) CreateCampaign(ctx context.Context, c loyalty.Campaign) (loyalty.Campaign, error) {
	now := s.clock()
	c.CreatedAt, c.UpdatedAt = now, now
	c.StartsAt, c.EndsAt = utcMicro(c.StartsAt), utcMicro(c.EndsAt)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM programs WHERE id = $1`, c.Program).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return loyalty.ErrProgramNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO campaigns (`+campaignCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.Program, c.Name, c.MultiplierTenths, c.StartsAt, c.EndsAt, formatDays(c.DaysOfWeek),
			c.FromMinute, c.ToMinute, c.MinTier, c.CreatedAt, c.UpdatedAt)
		if _, ok := uniqueViolation(err); ok {
			return ErrDuplicate
		}
		return err
	})
	if err != nil {
		return loyalty.Campaign{}, fmt.Errorf("create campaign %s: %w", c.ID, translate(err))
	}
	return c, nil
}

// Campaign answers a campaign; an unknown id is ErrNotFound.
func (s *Store) Campaign(ctx context.Context, id string) (loyalty.Campaign, error) {
	c, err := scanCampaign(s.rd.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return loyalty.Campaign{}, fmt.Errorf("campaign %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return loyalty.Campaign{}, fmt.Errorf("campaign %s: %w", id, translate(err))
	}
	return c, nil
}

// Campaigns answers every campaign of a programme, ended ones included,
// the latest start first (ties by id).
func (s *Store) Campaigns(ctx context.Context, program string) ([]loyalty.Campaign, error) {
	rows, err := s.rd.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE program = $1
		ORDER BY starts_at DESC, id`, program)
	if err != nil {
		return nil, fmt.Errorf("campaigns of %s: %w", program, translate(err))
	}
	defer rows.Close()
	out := []loyalty.Campaign{}
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, fmt.Errorf("campaigns of %s: %w", program, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaigns of %s: %w", program, translate(err))
	}
	return out, nil
}

// CampaignsPage answers a page of a programme's campaigns, ended ones
// included, the latest start first (ties by id, the greatest first), and
// the cursor of the next page; limit and cursor as RewardsPage's.
func (s *Store) CampaignsPage(ctx context.Context, program, cursor string, limit int) ([]loyalty.Campaign, string, error) {
	return keysetPage(ctx, s.rd, "campaigns of "+program, `SELECT `+campaignCols+` FROM campaigns WHERE program = $1`, []any{program},
		"starts_at", "id", true, cursor, limit, scanCampaign, func(c loyalty.Campaign) (time.Time, string) { return c.StartsAt, c.ID })
}

// UpdateCampaign changes a campaign under its row lock: change receives the
// campaign as stored and answers it as it should be (or an error, which
// writes nothing). The id, programme and creation time cannot change;
// UpdatedAt is set to now. An unknown id is ErrNotFound.
func (s *Store) UpdateCampaign(ctx context.Context, id string, change func(loyalty.Campaign, time.Time) (loyalty.Campaign, error)) (loyalty.Campaign, error) {
	now := s.clock()
	var out loyalty.Campaign
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanCampaign(tx.QueryRowContext(ctx, s.q(`SELECT `+campaignCols+` FROM campaigns WHERE id = $1 {{for_update}}`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		next, err := change(cur, now)
		if err != nil {
			return err
		}
		next.ID, next.Program, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Program, cur.CreatedAt, now
		next.StartsAt, next.EndsAt = utcMicro(next.StartsAt), utcMicro(next.EndsAt)
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET name = $2, multiplier = $3, starts_at = $4, ends_at = $5,
			days_of_week = $6, local_from = $7, local_to = $8, min_tier = $9, updated_at = $10 WHERE id = $1`,
			id, next.Name, next.MultiplierTenths, next.StartsAt, next.EndsAt, formatDays(next.DaysOfWeek),
			next.FromMinute, next.ToMinute, next.MinTier, next.UpdatedAt)
		out = next
		return err
	})
	if err != nil {
		return loyalty.Campaign{}, fmt.Errorf("update campaign %s: %w", id, translate(err))
	}
	return out, nil
}
