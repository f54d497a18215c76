package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// RewardJSON is the reward object of the JSON API.
type RewardJSON struct {
	ID          string    `json:"id"`
	Program     string    `json:"program"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CostPoints  int64     `json:"cost_points"`
	MinTier     string    `json:"min_tier,omitempty"`
	ValidDays   int       `json:"valid_days"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func rewardJSON(r loyalty.Reward) RewardJSON {
	return RewardJSON{ID: r.ID, Program: r.Program, Name: r.Name, Description: r.Description, CostPoints: r.CostPoints,
		MinTier: r.MinTier, ValidDays: r.ValidDays, Active: r.Active, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// VoucherJSON is the voucher object of the JSON API. Status is "unused",
// "used", or "expired" for an unused voucher past expires_at.
type VoucherJSON struct {
	Code      string     `json:"code"`
	RewardID  string     `json:"reward_id"`
	MemberID  string     `json:"member_id"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

func voucherJSON(v loyalty.Voucher, now time.Time) VoucherJSON {
	j := VoucherJSON{Code: v.Code, RewardID: v.RewardID, MemberID: v.MemberID, Status: v.StatusAt(now),
		CreatedAt: v.CreatedAt.UTC(), ExpiresAt: v.ExpiresAt.UTC()}
	if v.UsedAt != nil {
		t := v.UsedAt.UTC()
		j.UsedAt = &t
	}
	return j
}

// rewardRequest is the body of a reward's creation, and a reward's
// fields as a merge patch leaves them. The read-only fields of a reward
// answer are taken and ignored, so an answer sent back is a valid patch.
type rewardRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	CostPoints  *int64  `json:"cost_points"`
	MinTier     *string `json:"min_tier"`
	ValidDays   *int    `json:"valid_days"`
	Active      *bool   `json:"active"`

	ID        json.RawMessage `json:"id"`
	Program   json.RawMessage `json:"program"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

func (q rewardRequest) input() loyalty.RewardInput {
	return loyalty.RewardInput{Name: q.Name, Description: q.Description, CostPoints: q.CostPoints,
		MinTier: q.MinTier, ValidDays: q.ValidDays, Active: q.Active}
}

func (s *Server) createReward(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	var q rewardRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	rw, err := loyalty.NewReward(p, q.input())
	if err != nil {
		return err
	}
	rw.ID = uuid.NewString()
	if rw, err = s.Store.CreateReward(r.Context(), rw); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/rewards/"+rw.ID)
	problem.JSON(w, http.StatusCreated, rewardJSON(rw))
	return nil
}

func (s *Server) listRewards(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		return err
	}
	if err := authorize(r.Context(), loyalty.RolePOS, p.ID); err != nil {
		return err
	}
	rs, err := s.Store.Rewards(r.Context(), p.ID, true)
	if err != nil {
		return err
	}
	items := make([]RewardJSON, len(rs))
	for i, rw := range rs {
		items[i] = rewardJSON(rw)
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// visibleReward loads the reward of the route for a caller of role; a
// reward of a programme outside the key's scope is not found.
func (s *Server) visibleReward(r *http.Request, role string) (loyalty.Reward, error) {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		return loyalty.Reward{}, fmt.Errorf("reward %q: %w", id, loyalty.ErrNotFound)
	}
	if err := authorize(r.Context(), role, ""); err != nil {
		return loyalty.Reward{}, err
	}
	rw, err := s.Store.Reward(r.Context(), id)
	if err != nil {
		return loyalty.Reward{}, err
	}
	if p, _ := principalFrom(r.Context()); !p.CanSee(rw.Program) {
		return loyalty.Reward{}, fmt.Errorf("reward of another program: %w", loyalty.ErrNotFound)
	}
	return rw, nil
}

// patchReward changes a reward by a JSON merge patch (RFC 7396) of its
// fields; the result is checked whole. null resets a field to its
// default (description "", min_tier none, valid_days 30, active true);
// name and cost_points cannot be removed.
func (s *Server) patchReward(w http.ResponseWriter, r *http.Request) error {
	rw, err := s.visibleReward(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	var patch json.RawMessage
	if err := decode(r, &patch); err != nil {
		return err
	}
	if len(patch) == 0 || patch[0] != '{' {
		return problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body must be a JSON object")
	}
	cur := rewardRequest{Name: &rw.Name, Description: &rw.Description, CostPoints: &rw.CostPoints,
		ValidDays: &rw.ValidDays, Active: &rw.Active}
	if rw.MinTier != "" {
		cur.MinTier = &rw.MinTier
	}
	doc, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	merged, err := loyalty.MergePatch(doc, patch)
	if err != nil {
		return err
	}
	var q rewardRequest
	dec := json.NewDecoder(bytes.NewReader(merged))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return malformed(err)
	}
	p, err := s.Programs.Fresh(r.Context(), rw.Program, 0)
	if err != nil {
		return err
	}
	next, err := loyalty.NewReward(p, q.input())
	if err != nil {
		return err
	}
	next.ID = rw.ID
	if rw, err = s.Store.UpdateReward(r.Context(), next); err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, rewardJSON(rw))
	return nil
}

type redemptionRequest struct {
	RewardID string `json:"reward_id"`
}

// redemptionHash fingerprints a redemption, to tell a replay from a reuse
// of its idempotency key with another body (or for a transaction).
func redemptionHash(rewardID string) string {
	sum := sha256.Sum256([]byte("redemption\x00" + rewardID))
	return hex.EncodeToString(sum[:])
}

func (s *Server) redeemReward(w http.ResponseWriter, r *http.Request) error {
	var q redemptionRequest
	m, key, err := s.keyedMemberRequest(r, &q)
	if err != nil {
		return err
	}
	if q.RewardID == "" {
		v := &balances.ValidationError{}
		v.AddReason("reward_id", loyalty.ReasonRequired, "is required")
		return v
	}
	// A reward of another programme is no reward of this member's: 404.
	var rw loyalty.Reward
	if _, err := uuid.Parse(q.RewardID); err == nil {
		rw, err = s.Store.Reward(r.Context(), q.RewardID)
		if err != nil && !errors.Is(err, loyalty.ErrNotFound) {
			return err
		}
	}
	if rw.ID == "" || rw.Program != m.Program {
		return problem.New(http.StatusNotFound, problem.CodeNotFound, "no such reward in the member's program")
	}
	p, err := s.Programs.Fresh(r.Context(), m.Program, m.ProgramVersion)
	if err != nil {
		return err
	}
	res, err := s.Store.Redeem(r.Context(), m.ID, key, redemptionHash(rw.ID), rw, p)
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.OnChange()
	}
	after, err := s.Store.Member(r.Context(), m.ID)
	if err != nil {
		return err
	}
	mj, err := s.memberJSON(after)
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusCreated, map[string]any{
		"voucher": voucherJSON(res.Voucher, s.Now()), "transaction": transactionJSON(res.Entry), "member": mj,
	})
	return nil
}

func (s *Server) listVouchers(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RolePOS)
	if err != nil {
		return err
	}
	vs, err := s.Store.Vouchers(r.Context(), m.ID)
	if err != nil {
		return err
	}
	now := s.Now()
	items := make([]VoucherJSON, len(vs))
	for i, v := range vs {
		items[i] = voucherJSON(v, now)
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) useVoucher(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RolePOS, ""); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	notFound := problem.New(http.StatusNotFound, problem.CodeNotFound, "no such voucher")
	code, ok := loyalty.NormalizeVoucherCode(chi.URLParam(r, "code"))
	if !ok {
		return notFound
	}
	v, err := s.Store.Voucher(r.Context(), code)
	if errors.Is(err, loyalty.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if p, _ := principalFrom(r.Context()); !p.CanSee(v.Program) {
		return notFound
	}
	v, replayed, err := s.Store.UseVoucher(r.Context(), code, key)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.OnChange()
	}
	problem.JSON(w, http.StatusOK, voucherJSON(v, s.Now()))
	return nil
}
