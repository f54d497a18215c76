package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// LedgerPage is how many ledger entries a member page shows at once.
const LedgerPage = 25

// ledgerTypes are the entry types the ledger filter offers.
var ledgerTypes = []balances.EntryType{balances.Earn, balances.Redeem, balances.Adjust, balances.Stamp,
	balances.CashbackSpend, balances.Bonus, "expire"}

// membersView is the member search.
type membersView struct {
	Q, Tier, Inactive string
	Tiers             []string
	Rows              []loyalty.MemberRow
	Next              string
	Searched          bool
	Failure           string
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "members_title")
	if !ok {
		return
	}
	q := r.URL.Query()
	v := &membersView{Q: q.Get("q"), Tier: q.Get("tier"), Inactive: q.Get("inactive_days")}
	for _, t := range a.program.Tiers {
		v.Tiers = append(v.Tiers, t.Name)
	}
	a.pg.View = v
	search, err := loyalty.SearchInput{Q: v.Q, Tier: v.Tier, InactiveDays: v.Inactive, Cursor: q.Get("cursor")}.Search(a.program, s.Now())
	if err == nil {
		var next string
		v.Rows, next, err = s.Store.SearchMembers(r.Context(), search)
		if next != "" {
			more := url.Values{"q": {v.Q}, "tier": {v.Tier}, "inactive_days": {v.Inactive}, "cursor": {next}}
			v.Next = "/console/programs/" + a.ref.ID + "/members?" + more.Encode()
		}
	}
	if err != nil {
		v.Rows, v.Failure = nil, s.failure(w, r, a.pg, "search members", err)
		s.render(w, r, "members", http.StatusUnprocessableEntity, a.pg)
		return
	}
	v.Searched = v.Q != "" || v.Tier != "" || v.Inactive != ""
	s.render(w, r, "members", http.StatusOK, a.pg)
}

// memberView is one member's page.
type memberView struct {
	Member   loyalty.MemberRow
	Face     faceView
	Vouchers []voucherRow
	Entries  []loyalty.Entry
	Type     string
	Types    []balances.EntryType
	Next     string
	// LedgerFailure says why the ledger's cursor was refused, and
	// LedgerFirst links its first page then.
	LedgerFailure, LedgerFirst string
	// Key is the idempotency key of the adjust form: a form sent twice
	// adjusts once.
	Key     string
	Admin   bool
	Failure string
	// Points and Reason are the adjust form as sent, after a failure.
	Points, Reason, Text string
}

type voucherRow struct {
	loyalty.Voucher
	Status string
}

// member answers the live member of the URL in a's programme, or writes
// the answer (404 for an erased member or one of another programme).
func (s *Server) member(w http.ResponseWriter, r *http.Request, a *access) (loyalty.MemberRow, bool) {
	return owned(s, w, r, "member", s.Store.Member, func(m loyalty.MemberRow) bool { return m.Program == a.ref.ID && !m.Erased() })
}

func (s *Server) memberPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "member_title")
	if !ok {
		return
	}
	m, ok := s.member(w, r, a)
	if !ok {
		return
	}
	doneNotice(a.pg, r, "adjusted", "messaged", "resent")
	s.showMember(w, r, a, m, &memberView{}, http.StatusOK)
}

// showMember renders member m's page with v's form state.
func (s *Server) showMember(w http.ResponseWriter, r *http.Request, a *access, m loyalty.MemberRow, v *memberView, status int) {
	ctx := r.Context()
	now := s.Now()
	p, err := s.Programs.Fresh(ctx, m.Program, m.ProgramVersion)
	if err != nil {
		s.internalError(w, r, "load member programme", err)
		return
	}
	v.Member, v.Admin, v.Types = m, a.admin(), ledgerTypes
	v.Face = newFaceView(cards.FaceOf(m, p, a.pg.Lang, s.Secret, s.publicURL, now), a.pg.T)
	vs, err := s.Store.Vouchers(ctx, m.ID)
	if err != nil {
		s.internalError(w, r, "read vouchers", err)
		return
	}
	for _, vc := range vs {
		v.Vouchers = append(v.Vouchers, voucherRow{Voucher: vc, Status: vc.StatusAt(now)})
	}
	q := r.URL.Query()
	typ := balances.EntryType(q.Get("type"))
	if !slices.Contains(ledgerTypes, typ) {
		typ = ""
	}
	v.Type = string(typ)
	ledger := "/console/programs/" + a.ref.ID + "/members/" + m.ID + "?" + url.Values{"type": {v.Type}}.Encode()
	var next string
	v.Entries, next, err = s.Store.EntriesOfType(ctx, m.ID, typ, q.Get("cursor"), LedgerPage)
	if errors.Is(err, store.ErrBadCursor) {
		// As every list: the problem's words, no rows, the first page.
		v.LedgerFailure = s.failure(w, r, a.pg, "read ledger", err)
		v.LedgerFirst = ledger + "#ledger"
		a.pg.status = http.StatusUnprocessableEntity
		err = nil
	}
	if err != nil {
		s.internalError(w, r, "read ledger", err)
		return
	}
	if next != "" {
		v.Next = ledger + "&" + url.Values{"cursor": {next}}.Encode() + "#ledger"
	}
	if v.Key == "" {
		v.Key = uuid.NewString()
	}
	a.pg.View = v
	s.render(w, r, "member", status, a.pg)
}

// memberAction reads a member action's POST: the access, the member and
// the path of its page.
func (s *Server) memberAction(w http.ResponseWriter, r *http.Request) (*access, loyalty.MemberRow, string, bool) {
	a, ok := s.merchantPost(w, r, "member_title")
	if !ok {
		return nil, loyalty.MemberRow{}, "", false
	}
	m, ok := s.member(w, r, a)
	if !ok {
		return nil, loyalty.MemberRow{}, "", false
	}
	return a, m, "/console/programs/" + a.ref.ID + "/members/" + m.ID, true
}

// adjust posts an adjust entry with its reason, as the API's transactions
// do (balances validates it, the store posts it under the form's
// idempotency key).
func (s *Server) adjust(w http.ResponseWriter, r *http.Request) {
	a, m, path, ok := s.memberAction(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	v := &memberView{Points: f.Get("points"), Reason: strings.TrimSpace(f.Get("reason")), Key: f.Get("key")}
	fail := func(status int, words string) {
		v.Failure = words
		s.showMember(w, r, a, m, v, status)
	}
	points, err := strconv.ParseInt(strings.TrimSpace(v.Points), 10, 64)
	switch {
	case err != nil:
		fail(http.StatusUnprocessableEntity, a.pg.T.Get("err_points"))
		return
	case v.Reason == "":
		fail(http.StatusUnprocessableEntity, a.pg.T.Get("err_reason"))
		return
	case v.Key == "" || len(v.Key) > 64:
		fail(http.StatusForbidden, a.pg.T.Get("err_form_expired"))
		return
	}
	req := balances.Request{Type: balances.Adjust, Points: points, Reference: v.Reason}
	if err := req.Validate(); err != nil {
		fail(http.StatusUnprocessableEntity, s.failure(w, r, a.pg, "adjust", err))
		return
	}
	p, err := s.Programs.Fresh(r.Context(), m.Program, m.ProgramVersion)
	if err != nil {
		s.internalError(w, r, "load member programme", err)
		return
	}
	sum := sha256.Sum256([]byte("console adjust\x00" + strconv.FormatInt(points, 10) + "\x00" + v.Reason))
	res, err := s.Store.Post(r.Context(), m.ID, "console:"+v.Key, hex.EncodeToString(sum[:]), req, p.Rules())
	if err != nil {
		fail(http.StatusConflict, s.failure(w, r, a.pg, "adjust", err))
		return
	}
	if !res.Replayed {
		s.OnChange()
	}
	s.Logger.InfoContext(r.Context(), "console adjust", "user_id", a.si.user.ID, "member_id", m.ID, "points", points)
	done(w, r, path, "adjusted")
}

// messageMember shows a message on this member's card only.
func (s *Server) messageMember(w http.ResponseWriter, r *http.Request) {
	a, m, path, ok := s.memberAction(w, r)
	if !ok {
		return
	}
	in := loyalty.MessageInput{Text: r.PostForm.Get("text")}
	err := in.Validate(nil)
	if err == nil {
		err = s.Store.PostMemberMessage(r.Context(), m.ID, in.Text)
	}
	if err != nil {
		s.showMember(w, r, a, m, &memberView{Text: in.Text, Failure: s.failure(w, r, a.pg, "message member", err)}, http.StatusUnprocessableEntity)
		return
	}
	s.OnChange()
	done(w, r, path, "messaged")
}

// resendCard makes every copy of the card fetch it again (the API's
// refresh).
func (s *Server) resendCard(w http.ResponseWriter, r *http.Request) {
	a, m, path, ok := s.memberAction(w, r)
	if !ok {
		return
	}
	if _, err := s.Store.TouchMember(r.Context(), m.ID); err != nil {
		s.showMember(w, r, a, m, &memberView{Failure: s.failure(w, r, a.pg, "resend card", err)}, http.StatusConflict)
		return
	}
	s.OnChange()
	done(w, r, path, "resent")
}

// adminMember answers the member of the URL for what only admins may do
// (export, erase, as in the API), or writes the answer.
func (s *Server) adminMember(w http.ResponseWriter, r *http.Request, a *access) (loyalty.MemberRow, bool) {
	if !a.admin() {
		s.errorPage(w, r, http.StatusForbidden, "err_forbidden")
		return loyalty.MemberRow{}, false
	}
	return s.member(w, r, a)
}

// confirmView is the step before a destructive action.
type confirmView struct {
	Heading, Text, Action, Back string
	// Typed is what must be typed to confirm ("" for none), TypedLabel
	// its label.
	Typed, TypedLabel string
	Hidden            map[string]string
	Button            string
	Failure           string
}

// eraseConfirm asks to type the member's number before erasing (admin
// only, as in the API).
func (s *Server) eraseConfirm(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "erase_title")
	if !ok {
		return
	}
	s.eraseStep(w, r, a, "", http.StatusOK)
}

func (s *Server) eraseStep(w http.ResponseWriter, r *http.Request, a *access, failure string, status int) {
	m, ok := s.adminMember(w, r, a)
	if !ok {
		return
	}
	path := "/console/programs/" + a.ref.ID + "/members/" + m.ID
	a.pg.View = &confirmView{
		Heading: a.pg.T.Get("erase_title"), Text: strings.ReplaceAll(a.pg.T.Get("erase_text"), "%s", m.Number),
		Action: path + "/erase", Back: path, Typed: m.Number, TypedLabel: a.pg.T.Get("erase_typed"),
		Button: a.pg.T.Get("erase_button"), Failure: failure,
	}
	s.render(w, r, "confirm", status, a.pg)
}

func (s *Server) erase(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "erase_title")
	if !ok {
		return
	}
	m, ok := s.adminMember(w, r, a)
	if !ok {
		return
	}
	if strings.TrimSpace(r.PostForm.Get("typed")) != m.Number {
		s.eraseStep(w, r, a, a.pg.T.Get("err_typed"), http.StatusUnprocessableEntity)
		return
	}
	if err := s.Store.EraseMember(r.Context(), m.ID); err != nil {
		s.eraseStep(w, r, a, s.failure(w, r, a.pg, "erase member", err), http.StatusConflict)
		return
	}
	s.OnChange()
	s.Logger.InfoContext(r.Context(), "console erase", "user_id", a.si.user.ID, "member_id", m.ID)
	done(w, r, "/console/programs/"+a.ref.ID+"/members", "erased")
}

// exportMember downloads everything passd keeps about a member (admin
// only, as in the API).
func (s *Server) exportMember(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "member_title")
	if !ok {
		return
	}
	m, ok := s.adminMember(w, r, a)
	if !ok {
		return
	}
	if s.exportJSON == nil {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return
	}
	body, err := s.exportJSON(r.Context(), m.ID)
	if err != nil {
		s.internalError(w, r, "export member", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="member-`+m.Number+`-`+s.Now().UTC().Format(time.DateOnly)+`.json"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(body)
}
