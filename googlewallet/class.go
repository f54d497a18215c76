package googlewallet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	walletobjects "google.golang.org/api/walletobjects/v1"
)

// UpsertClass makes Google's LoyaltyClass for p match p: it reads the class,
// inserts it when Google answers 404, replaces it (PUT) when a managed field
// differs, and does nothing otherwise. A class changed here changes every
// member's card. It is safe to call at every start-up.
func (c *Client) UpsertClass(ctx context.Context, p Program) error {
	want, err := c.buildClass(p)
	if err != nil {
		return err
	}
	id := want.Id
	// Two passes: if another instance inserts the class between our GET and
	// our insert, the insert gets 409 and the second pass updates instead.
	for range 2 {
		var got *walletobjects.LoyaltyClass
		err := c.call(ctx, "get class", id, func(ctx context.Context) error {
			var err error
			got, err = c.svc.Loyaltyclass.Get(id).Context(ctx).Do()
			return err
		})
		switch {
		case errors.Is(err, ErrNotFound):
			err = c.call(ctx, "insert class", id, func(ctx context.Context) error {
				_, err := c.svc.Loyaltyclass.Insert(want).Context(ctx).Do()
				return err
			})
			if errors.Is(err, ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			c.log.LogAttrs(ctx, slog.LevelInfo, "google wallet class inserted", slog.String("class_id", id))
			return nil
		case err != nil:
			return err
		}
		same, err := sameClass(got, want)
		if err != nil {
			return err
		}
		if same {
			c.log.LogAttrs(ctx, slog.LevelDebug, "google wallet class unchanged", slog.String("class_id", id))
			return nil
		}
		err = c.call(ctx, "update class", id, func(ctx context.Context) error {
			_, err := c.svc.Loyaltyclass.Update(id, want).Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
		c.log.LogAttrs(ctx, slog.LevelInfo, "google wallet class updated", slog.String("class_id", id))
		return nil
	}
	return fmt.Errorf("googlewallet: upsert class %s: inserted concurrently and still missing: %w", id, ErrConflict)
}

// sameClass compares the fields this package manages.
func sameClass(got, want *walletobjects.LoyaltyClass) (bool, error) {
	a, err := json.Marshal(classView(got))
	if err != nil {
		return false, fmt.Errorf("googlewallet: compare class: %w", err)
	}
	b, err := json.Marshal(classView(want))
	if err != nil {
		return false, fmt.Errorf("googlewallet: compare class: %w", err)
	}
	return bytes.Equal(a, b), nil
}
