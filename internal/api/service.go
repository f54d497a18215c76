package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/member"
	"github.com/passd/passd/internal/program"
	"github.com/passd/passd/internal/store"
)

// EnrollInput is a validated enrolment.
type EnrollInput struct {
	Name, Email, Birthday, ExternalID string
}

// numberTries bounds how often enrolment draws a new member number after a
// collision (one in a billion per existing member; five misses in a row
// means something else is wrong).
const numberTries = 5

// Enroll creates a member of program p, or answers the existing member when
// the program already knows in.ExternalID (created is then false). The web
// enrolment page and the JSON API share it.
func Enroll(ctx context.Context, st *store.Store, p *program.Program, in EnrollInput, now time.Time) (m store.MemberRow, created bool, err error) {
	if in.ExternalID != "" {
		m, err := st.MemberByExternalID(ctx, p.ID, in.ExternalID)
		if err == nil && !m.Erased() {
			return m, false, nil
		}
		if err != nil && !errors.Is(err, member.ErrNotFound) {
			return store.MemberRow{}, false, err
		}
	}
	token, err := member.NewAuthToken()
	if err != nil {
		return store.MemberRow{}, false, err
	}
	for range numberTries {
		number, err := member.NewNumber()
		if err != nil {
			return store.MemberRow{}, false, err
		}
		mem := member.Member{
			ID: uuid.NewString(), Program: p.ID, Number: number,
			Name: in.Name, Email: in.Email, Birthday: in.Birthday, ExternalID: in.ExternalID,
			AuthToken: token, CreatedAt: now.UTC(),
		}
		err = st.CreateMember(ctx, mem, balances.NewAccount(p.Rules()))
		if errors.Is(err, store.ErrDuplicate) && in.ExternalID != "" {
			// A concurrent enrolment with the same external id won.
			if m, err2 := st.MemberByExternalID(ctx, p.ID, in.ExternalID); err2 == nil && !m.Erased() {
				return m, false, nil
			}
		}
		if errors.Is(err, store.ErrDuplicate) {
			continue
		}
		if err != nil {
			return store.MemberRow{}, false, fmt.Errorf("create member: %w", err)
		}
		m, err := st.Member(ctx, mem.ID)
		return m, true, err
	}
	return store.MemberRow{}, false, fmt.Errorf("create member: no free member number after %d tries", numberTries)
}

// CreateKey stores a new API key and returns it; the key itself is shown
// once and only its hash is kept.
func CreateKey(ctx context.Context, st *store.Store, role, program string, now time.Time) (string, store.APIKey, error) {
	if !ValidRole(role) {
		return "", store.APIKey{}, fmt.Errorf("role %q: must be pos, merchant or admin", role)
	}
	key, err := NewKey()
	if err != nil {
		return "", store.APIKey{}, err
	}
	k := store.APIKey{ID: "key_" + uuid.NewString()[:8] + uuid.NewString()[:4], Hash: HashKey(key), Role: role, Program: program, CreatedAt: now.UTC()}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", store.APIKey{}, fmt.Errorf("store api key: %w", err)
	}
	return key, k, nil
}
