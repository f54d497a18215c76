package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// MemberJSON is the member object of the JSON API.
type MemberJSON struct {
	ID             string    `json:"id"`
	Program        string    `json:"program"`
	Number         string    `json:"number"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Birthday       string    `json:"birthday,omitempty"`
	ExternalID     string    `json:"external_id,omitempty"`
	Points         int64     `json:"points"`
	LifetimePoints int64     `json:"lifetime_points"`
	Tier           string    `json:"tier"`
	Barcode        string    `json:"barcode"`
	ApplePassURL   string    `json:"apple_pass_url"`
	GoogleSaveURL  string    `json:"google_save_url,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	MarketingOptIn bool      `json:"marketing_opt_in"`
	LastActivityAt time.Time `json:"last_activity_at"`
	// VouchersAvailable counts the member's unused, unexpired vouchers.
	VouchersAvailable int `json:"vouchers_available"`
	// ReferralCode is the member's own code; ReferralURL the join page
	// that enrols with it.
	ReferralCode string `json:"referral_code"`
	ReferralURL  string `json:"referral_url"`
	// Stamps is the stamp card, for stamp programmes only.
	Stamps *StampsJSON `json:"stamps,omitempty"`
	// Cashback is the cashback balance, for cashback programmes only.
	Cashback *CashbackJSON `json:"cashback,omitempty"`
	// PointsExpiring is the member's next lot of points to expire; null
	// when no points expire.
	PointsExpiring *PointsExpiringJSON `json:"points_expiring"`
}

// PointsExpiringJSON is the next lot of a member's points to expire: what
// is left of it and when it expires.
type PointsExpiringJSON struct {
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// StampsJSON is a member's stamp card: count stamps of goal (count is
// always below goal; a full card became a voucher).
type StampsJSON struct {
	Count int64 `json:"count"`
	Goal  int64 `json:"goal"`
}

// CashbackJSON is a member's cashback balance in minor units of currency.
type CashbackJSON struct {
	Balance  int64  `json:"balance"`
	Currency string `json:"currency"`
}

// memberJSON renders a member row.
func (s *Server) memberJSON(m loyalty.MemberRow) (MemberJSON, error) {
	j := MemberJSON{
		ID: m.ID, Program: m.Program, Number: m.Number, Name: m.Name, Email: m.Email,
		Birthday: m.Birthday, ExternalID: m.ExternalID,
		Points: m.Account.Points, LifetimePoints: m.Account.Lifetime, Tier: m.Account.Tier,
		Barcode:        loyalty.BarcodeToken(s.Secret, m.Number),
		ApplePassURL:   s.Links.PassURL(m.ID),
		CreatedAt:      m.CreatedAt.UTC(),
		MarketingOptIn: m.MarketingOptIn,
		LastActivityAt: m.LastActivityAt.UTC(),

		VouchersAvailable: len(loyalty.ShownVouchers(m.Vouchers, s.Now())),
		ReferralCode:      m.ReferralCode,
		ReferralURL:       s.Links.ReferralURL(m.Program, m.ReferralCode),
	}
	if x := m.Expiring; x != nil {
		j.PointsExpiring = &PointsExpiringJSON{Points: x.Points, At: x.At.UTC()}
	}
	if p, err := s.Programs.Get(m.Program); err == nil {
		if p.Stamps != nil {
			j.Stamps = &StampsJSON{Count: m.Account.Stamps, Goal: int64(p.Stamps.Goal)}
		}
		if p.Cashback != nil {
			j.Cashback = &CashbackJSON{Balance: m.Account.Cashback, Currency: p.Currency}
		}
	}
	if s.GoogleSaveURL != nil {
		u, err := s.GoogleSaveURL(m.ID)
		if err != nil {
			return MemberJSON{}, fmt.Errorf("google save url: %w", err)
		}
		j.GoogleSaveURL = u
	}
	return j, nil
}

// merchantProgram answers the program of the route, which the caller must
// be a merchant of.
func (s *Server) merchantProgram(r *http.Request) (*loyalty.Program, error) {
	// Fresh: a programme another instance created a moment ago is loaded.
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		return nil, err
	}
	if err := authorize(r.Context(), loyalty.RoleMerchant, p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// liveMember loads a member the caller may see; erased members and members
// of programs outside the key's scope are refused.
func (s *Server) liveMember(r *http.Request, role string) (loyalty.MemberRow, error) {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		return loyalty.MemberRow{}, fmt.Errorf("member %q: %w", id, loyalty.ErrMemberNotFound)
	}
	m, err := s.Store.Member(r.Context(), id)
	if err != nil {
		return loyalty.MemberRow{}, err
	}
	if m.Erased() {
		return loyalty.MemberRow{}, fmt.Errorf("member erased: %w", loyalty.ErrMemberNotFound)
	}
	if err := authorize(r.Context(), role, m.Program); err != nil {
		return loyalty.MemberRow{}, err
	}
	return m, nil
}

type enrollRequest struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Birthday       string `json:"birthday"`
	ExternalID     string `json:"external_id"`
	MarketingOptIn bool   `json:"marketing_opt_in"`
	ReferralCode   string `json:"referral_code"`
}

// enroll creates a member. An enrolment that repeats an external_id the
// program already knows answers that member with 200 instead of creating a
// second one, so a merchant's system can retry safely.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	var q enrollRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	in := loyalty.EnrollInput{
		Profile:        loyalty.Profile{Name: q.Name, Email: q.Email, Birthday: q.Birthday, ExternalID: q.ExternalID},
		MarketingOptIn: q.MarketingOptIn, Source: loyalty.ConsentAPI,
		ReferralCode: q.ReferralCode,
	}
	if err := in.Validate(s.Now(), false); err != nil {
		return err
	}
	m, created, err := loyalty.Enroll(r.Context(), s.Store, p, in, s.Now())
	if err != nil {
		return err
	}
	s.OnChange()
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return s.writeMember(w, status, m)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RolePOS)
	if err != nil {
		return err
	}
	return s.writeMember(w, http.StatusOK, m)
}

// writeMember answers a member object.
func (s *Server) writeMember(w http.ResponseWriter, status int, m loyalty.MemberRow) error {
	j, err := s.memberJSON(m)
	if err != nil {
		return err
	}
	problem.JSON(w, status, j)
	return nil
}

type transactionRequest struct {
	Type       balances.EntryType `json:"type"`
	Points     *int64             `json:"points"`
	Amount     *int64             `json:"amount"`
	Count      *int64             `json:"count"`
	Reference  string             `json:"reference"`
	OccurredAt *string            `json:"occurred_at"`
}

// How far back a sale's time may be, by the key's role, and how far ahead
// (a till's clock running fast).
const (
	// MaxOccurredBackPOS is how far back a pos key may date a transaction.
	MaxOccurredBackPOS = 30 * 24 * time.Hour
	// MaxOccurredBackYears is how far back a merchant key may date one.
	MaxOccurredBackYears = 5
	// MaxOccurredAhead is how far ahead any key may date one.
	MaxOccurredAhead = 5 * time.Minute
)

// ledgerRequest checks q and answers the ledger request it asks for, at
// now: points or (for an earn) amount, one of them; occurred_at within the
// window of the caller's role. Every invalid field is named.
func ledgerRequest(q transactionRequest, merchant bool, now time.Time) (balances.Request, error) {
	req := balances.Request{Type: q.Type, Reference: q.Reference}
	if q.Points != nil {
		req.Points = *q.Points
	}
	if q.Amount != nil {
		req.Amount = *q.Amount
	}
	if q.Count != nil {
		req.Count = *q.Count
	}
	v := &balances.ValidationError{}
	if err := req.Validate(); err != nil {
		var ve *balances.ValidationError
		if !errors.As(err, &ve) {
			return balances.Request{}, err
		}
		v.Fields = ve.Fields
	}
	named := func(field string) bool {
		return slices.ContainsFunc(v.Fields, func(f balances.FieldError) bool { return f.Field == field })
	}
	switch {
	case q.Points != nil && q.Amount != nil:
		// Validate cannot tell an amount of 0 from none.
		if !named("amount") {
			v.Add("amount", "give either points or amount, not both")
		}
	case q.Amount != nil && *q.Amount == 0:
		v.Fields = slices.DeleteFunc(v.Fields, func(f balances.FieldError) bool { return f.Field == "points" })
		v.Add("amount", "must be an integer from 1 to 1000000000000 (minor units)")
	case q.Points == nil && q.Amount == nil && q.Count == nil:
		for i := range v.Fields {
			if v.Fields[i].Field == "points" || v.Fields[i].Field == "amount" || v.Fields[i].Field == "count" {
				v.Fields[i].Message = "is required"
				if q.Type == balances.Earn {
					v.Fields[i].Message = "is required (or amount, in minor units)"
				}
			}
		}
	}
	if q.OccurredAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *q.OccurredAt)
		earliest, back := now.Add(-MaxOccurredBackPOS), "30 days"
		if merchant {
			earliest, back = now.AddDate(-MaxOccurredBackYears, 0, 0), "5 years"
		}
		switch {
		case err != nil:
			v.Add("occurred_at", "must be an RFC 3339 time")
		case t.After(now.Add(MaxOccurredAhead)):
			v.Add("occurred_at", "must not be more than 5 minutes ahead")
		case t.Before(earliest):
			v.Add("occurred_at", "must be at most "+back+" back for this key's role")
		}
		req.OccurredAt = t.UTC().Truncate(time.Microsecond)
	}
	if err := v.Err(); err != nil {
		return balances.Request{}, err
	}
	return req, nil
}

// TransactionJSON is the transaction object of the JSON API (the same
// object a transaction.posted webhook carries).
type TransactionJSON = loyalty.TransactionJSON

func transactionJSON(e loyalty.Entry) TransactionJSON { return loyalty.NewTransactionJSON(e) }

// idempotencyKey reads and checks the Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", problem.New(http.StatusBadRequest, problem.CodeIdempotencyKeyRequired, "send an Idempotency-Key header (1-255 printable ASCII characters) so that a retry never posts twice")
	}
	k := vals[0]
	ok := len(vals) == 1 && len(k) >= 1 && len(k) <= 255
	for i := 0; ok && i < len(k); i++ {
		ok = k[i] >= 0x20 && k[i] <= 0x7e
	}
	if !ok {
		v := &balances.ValidationError{}
		v.Add("Idempotency-Key", "must be one header of 1-255 printable ASCII characters")
		return "", v
	}
	return k, nil
}

// keyedMemberRequest reads what a pos write on a member needs: the live
// member, the Idempotency-Key and the body decoded into q.
func (s *Server) keyedMemberRequest(r *http.Request, q any) (loyalty.MemberRow, string, error) {
	m, err := s.liveMember(r, loyalty.RolePOS)
	if err != nil {
		return loyalty.MemberRow{}, "", err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return loyalty.MemberRow{}, "", err
	}
	if err := decode(r, q); err != nil {
		return loyalty.MemberRow{}, "", err
	}
	return m, key, nil
}

func (s *Server) postTransaction(w http.ResponseWriter, r *http.Request) error {
	var q transactionRequest
	m, key, err := s.keyedMemberRequest(r, &q)
	if err != nil {
		return err
	}
	merchant := authorize(r.Context(), loyalty.RoleMerchant, m.Program) == nil
	req, err := ledgerRequest(q, merchant, s.Now())
	if err != nil {
		return err
	}
	if req.Type == balances.Adjust && !merchant {
		return authorize(r.Context(), loyalty.RoleMerchant, m.Program)
	}
	// The member was read with its programme's version: the earn rules are
	// those of that version even when another instance made the change.
	p, err := s.Programs.Fresh(r.Context(), m.Program, m.ProgramVersion)
	if err != nil {
		return err
	}
	res, err := s.Store.Post(r.Context(), m.ID, key, requestHash(req), req, p.Rules())
	if err != nil {
		return err
	}
	if !res.Replayed {
		s.OnChange()
	} else {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	m.Account = res.Account
	if !res.Replayed {
		m.LastActivityAt = res.Entry.CreatedAt
	}
	if len(res.Vouchers) > 0 {
		// A full stamp card issued vouchers: the member read lists them.
		if m, err = s.Store.Member(r.Context(), m.ID); err != nil {
			return err
		}
	}
	mj, err := s.memberJSON(m)
	if err != nil {
		return err
	}
	body := map[string]any{"transaction": transactionJSON(res.Entry), "member": mj}
	if req.Type == balances.Stamp {
		vs := make([]VoucherJSON, len(res.Vouchers))
		for i, v := range res.Vouchers {
			vs[i] = voucherJSON(v, s.Now())
		}
		body["vouchers"] = vs
	}
	problem.JSON(w, http.StatusCreated, body)
	return nil
}

// requestHash fingerprints what a transaction asks, to tell a replay from a
// reuse of its idempotency key with another body. The sale's time counts
// as given (a default of now would differ on every retry); fields that
// were not given leave the fingerprint as it was before they existed.
func requestHash(q balances.Request) string {
	h := struct {
		balances.Request
		OccurredAt string `json:"occurred_at,omitempty"`
	}{Request: q}
	if !q.OccurredAt.IsZero() {
		h.OccurredAt = q.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(h)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RolePOS)
	if err != nil {
		return err
	}
	limit := 50
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			v := &balances.ValidationError{}
			v.Add("limit", "must be an integer from 1 to 200")
			return v
		}
		limit = n
	}
	entries, next, err := s.Store.Entries(r.Context(), m.ID, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	items := make([]TransactionJSON, len(entries))
	for i, e := range entries {
		items[i] = transactionJSON(e)
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	return nil
}

func (s *Server) refreshMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	if _, err := s.Store.TouchMember(r.Context(), m.ID); err != nil {
		return err
	}
	s.OnChange()
	problem.JSON(w, http.StatusAccepted, map[string]any{"member_id": m.ID})
	return nil
}

// MaxMessageRunes bounds a merchant message.
const MaxMessageRunes = loyalty.MaxMessageRunes

// postMessage shows a merchant message on every card of a program or, with
// tier, on the cards of that tier's members only.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	var q struct {
		Text string `json:"text"`
		Tier string `json:"tier"`
	}
	if err := decode(r, &q); err != nil {
		return err
	}
	in := loyalty.MessageInput{Text: q.Text, Tier: q.Tier}
	if err := in.Validate(p); err != nil {
		return err
	}
	var cards int64
	if in.Tier != "" {
		cards, err = s.Store.PostTierMessage(r.Context(), p.ID, in.Tier, in.Text)
	} else {
		cards, err = s.Store.PostProgramMessage(r.Context(), p.ID, in.Text)
	}
	if err != nil {
		return err
	}
	s.OnChange()
	problem.JSON(w, http.StatusAccepted, map[string]any{"cards": cards})
	return nil
}

// postMemberMessage shows a merchant message on one member's cards only.
func (s *Server) postMemberMessage(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	var q struct {
		Text string `json:"text"`
	}
	if err := decode(r, &q); err != nil {
		return err
	}
	in := loyalty.MessageInput{Text: q.Text}
	if err := in.Validate(nil); err != nil {
		return err
	}
	if err := s.Store.PostMemberMessage(r.Context(), m.ID, in.Text); err != nil {
		return err
	}
	s.OnChange()
	problem.JSON(w, http.StatusAccepted, map[string]any{"cards": 1})
	return nil
}

// ExportJSON is everything passd keeps about a member (GDPR access).
type ExportJSON struct {
	Member        MemberJSON         `json:"member"`
	Account       loyalty.Account    `json:"account"`
	Entries       []TransactionJSON  `json:"entries"`
	Events        []EventJSON        `json:"events"`
	Registrations []RegistrationJSON `json:"registrations"`
	Sync          []SyncJSON         `json:"sync"`
	Consents      []ConsentJSON      `json:"consents"`
	ExportedAt    time.Time          `json:"exported_at"`
}

// ConsentJSON is one record of a member's marketing answer in an export.
type ConsentJSON struct {
	MarketingOptIn bool      `json:"marketing_opt_in"`
	Source         string    `json:"source"`
	At             time.Time `json:"at"`
}

// EventJSON is a member event in an export.
type EventJSON struct {
	Kind      string          `json:"kind"`
	Data      json.RawMessage `json:"data,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// RegistrationJSON is a device registration in an export; push tokens are
// left out.
type RegistrationJSON struct {
	DeviceID  string    `json:"device_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SyncJSON is a card's delivery state on one channel.
type SyncJSON struct {
	Channel       string    `json:"channel"`
	State         string    `json:"state"`
	WantedVersion int64     `json:"wanted_version"`
	SyncedVersion int64     `json:"synced_version"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func (s *Server) exportMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RoleAdmin)
	if err != nil {
		return err
	}
	out, err := s.Export(r.Context(), m.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="passd-member-`+m.ID+`.json"`)
	problem.JSON(w, http.StatusOK, out)
	return nil
}

// Export answers everything passd keeps about a member (GDPR access): the
// API's export, which the console downloads too.
func (s *Server) Export(ctx context.Context, memberID string) (ExportJSON, error) {
	ex, err := s.Store.Export(ctx, memberID)
	if err != nil {
		return ExportJSON{}, err
	}
	mj, err := s.memberJSON(ex.Member)
	if err != nil {
		return ExportJSON{}, err
	}
	out := ExportJSON{Member: mj, Account: ex.Member.Account, ExportedAt: s.Now().UTC(),
		Entries: []TransactionJSON{}, Events: []EventJSON{}, Registrations: []RegistrationJSON{}, Sync: []SyncJSON{},
		Consents: []ConsentJSON{}}
	for _, e := range ex.Entries {
		out.Entries = append(out.Entries, transactionJSON(e))
	}
	for _, e := range ex.Events {
		ej := EventJSON{Kind: e.Kind, CreatedAt: e.CreatedAt.UTC()}
		if json.Valid([]byte(e.Data)) {
			ej.Data = json.RawMessage(e.Data)
		}
		out.Events = append(out.Events, ej)
	}
	for _, g := range ex.Registrations {
		out.Registrations = append(out.Registrations, RegistrationJSON{DeviceID: g.DeviceID, CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC()})
	}
	for _, st := range ex.Sync {
		out.Sync = append(out.Sync, SyncJSON{Channel: st.Channel, State: st.State, WantedVersion: st.WantedVersion,
			SyncedVersion: st.SyncedVersion, Attempts: st.Attempts, LastError: st.LastError, UpdatedAt: st.UpdatedAt.UTC()})
	}
	for _, c := range ex.Consents {
		out.Consents = append(out.Consents, ConsentJSON{MarketingOptIn: c.MarketingOptIn, Source: c.Source, At: c.CreatedAt.UTC()})
	}
	return out, nil
}

func (s *Server) eraseMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RoleAdmin)
	if err != nil {
		return err
	}
	if err := s.Store.EraseMember(r.Context(), m.ID); err != nil {
		return err
	}
	s.OnChange()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleAdmin, ""); err != nil {
		return err
	}
	var q struct {
		Role    string `json:"role"`
		Program string `json:"program"`
	}
	if err := decode(r, &q); err != nil {
		return err
	}
	if err := loyalty.ValidateKeyRequest(q.Role, q.Program, s.programKnown(r.Context())); err != nil {
		return err
	}
	p, _ := principalFrom(r.Context())
	if p.Program != "" && q.Program != p.Program {
		return problem.New(http.StatusForbidden, problem.CodeForbidden, "a program-scoped key can only create keys for its own program")
	}
	key, k, err := loyalty.CreateKey(r.Context(), s.Store, q.Role, q.Program, s.Now())
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusCreated, map[string]any{"key": key, "id": k.ID, "role": k.Role, "program": k.Program})
	return nil
}

// programKnown answers whether a programme exists, for the domain's checks.
func (s *Server) programKnown(ctx context.Context) func(string) bool {
	return func(id string) bool {
		_, err := s.Programs.Fresh(ctx, id, 0)
		return err == nil
	}
}
