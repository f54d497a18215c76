package cards

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/memo"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/passkit/webservice"
)

// Backend serves Apple's PassKit web service from passd's store: pass
// serial numbers are member ids, and the "updated since" tag is the
// store's (see store.Store.UpdatedSerials).
type Backend struct {
	s *Service
	// tokens keeps passes' authentication tokens: a member's token never
	// changes (erasure keeps it too), so a device's fetch after a push
	// reads the member once, not twice.
	tokens *memo.Strings
}

// Backend answers the PassKit web service's backend.
func (s *Service) Backend() *Backend {
	return &Backend{s: s, tokens: memo.NewStrings(maxCachedTokenBytes)}
}

// maxCachedTokenBytes bounds the authentication tokens kept in memory:
// about 20,000 of them (a serial and a token, with memo's overhead).
const maxCachedTokenBytes = 4 << 20

var _ webservice.Backend = (*Backend)(nil)

// PassAuth answers the authentication token of a pass. Erased members keep
// theirs, so phones can fetch the voided card once.
func (b *Backend) PassAuth(ctx context.Context, serial string) (string, bool, error) {
	if _, err := uuid.Parse(serial); err != nil {
		return "", false, nil
	}
	if t, ok := b.tokens.Get(serial); ok {
		return t, true, nil
	}
	m, err := b.s.store.Member(ctx, serial)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	b.tokens.Put(serial, m.AuthToken)
	return m.AuthToken, true, nil
}

// Register records a device's registration for a pass. An erased
// member's voided card takes no new registrations.
func (b *Backend) Register(ctx context.Context, deviceID, pushToken, serial string) (bool, error) {
	created, err := b.s.store.Register(ctx, loyalty.Registration{
		DeviceID: deviceID, PushToken: pushToken, PassTypeID: b.s.signer.PassTypeID(), MemberID: serial,
	})
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return false, webservice.ErrNotFound
	}
	return created, err
}

// Unregister removes a device's registration for a pass.
func (b *Backend) Unregister(ctx context.Context, deviceID, serial string) error {
	err := b.s.store.Unregister(ctx, deviceID, b.s.signer.PassTypeID(), serial)
	if errors.Is(err, store.ErrNotFound) {
		return webservice.ErrNotFound
	}
	return err
}

// UpdatedSerials answers the device's passes changed after the tag. The
// store makes and reads the tags; one it cannot read answers every pass.
func (b *Backend) UpdatedSerials(ctx context.Context, deviceID, since string) ([]string, string, error) {
	serials, last, err := b.s.store.UpdatedSerials(ctx, deviceID, b.s.signer.PassTypeID(), since)
	if err != nil {
		return nil, "", fmt.Errorf("updated serials: %w", err)
	}
	return serials, last, nil
}

// LatestPass answers the current pass of a serial (voided for an erased
// member) from one member read; the pass is signed only when the handler
// asks for it, after the token and If-Modified-Since were checked.
func (b *Backend) LatestPass(ctx context.Context, serial string) (webservice.Pass, error) {
	if _, err := uuid.Parse(serial); err != nil {
		return webservice.Pass{}, webservice.ErrNotFound
	}
	m, err := b.s.store.Member(ctx, serial)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return webservice.Pass{}, webservice.ErrNotFound
	}
	if err != nil {
		return webservice.Pass{}, err
	}
	b.tokens.Put(serial, m.AuthToken)
	return webservice.Pass{
		AuthToken: m.AuthToken,
		Modified:  m.PassModified,
		Bundle: func(ctx context.Context) ([]byte, error) {
			data, _, err := b.s.Bundle(ctx, m)
			return data, err
		},
	}, nil
}
