package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// Audiences of a merchant message.
const (
	audienceAll    = "all"
	audienceTier   = "tier"
	audienceMember = "member"
)

// messagesView is the message form and its confirmation.
type messagesView struct {
	Text, Audience, Tier, Number string
	Tiers                        []string
	// Confirm is the confirmation step, Cards how many cards the
	// message will reach.
	Confirm bool
	Cards   int64
	Sent    string
	Failure string
}

// message is a checked message with its audience.
type message struct {
	in     loyalty.MessageInput
	member loyalty.MemberRow // audienceMember only
	cards  int64
}

func (s *Server) messagesForm(a *access, r *http.Request) *messagesView {
	v := &messagesView{Audience: audienceAll}
	if r.Method == http.MethodPost {
		f := r.PostForm
		v.Text, v.Audience, v.Tier, v.Number = f.Get("text"), f.Get("audience"), f.Get("tier"), strings.TrimSpace(f.Get("number"))
	}
	for _, t := range a.program.Tiers {
		v.Tiers = append(v.Tiers, t.Name)
	}
	return v
}

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "messages_title")
	if !ok {
		return
	}
	v := s.messagesForm(a, r)
	if n := r.URL.Query().Get("sent"); n != "" {
		if c, err := strconv.ParseInt(n, 10, 64); err == nil {
			v.Sent = fmt.Sprintf(a.pg.T.Get("done_sent"), c)
		}
	}
	a.pg.View = v
	s.render(w, r, "messages", http.StatusOK, a.pg)
}

// checkMessage checks the form's message with the API's rules
// (loyalty.MessageInput) and counts the cards it reaches.
func (s *Server) checkMessage(r *http.Request, a *access, v *messagesView) (message, error) {
	m := message{in: loyalty.MessageInput{Text: v.Text}}
	ctx := r.Context()
	switch v.Audience {
	case audienceAll:
	case audienceTier:
		m.in.Tier = v.Tier
		if v.Tier == "" {
			ve := &balances.ValidationError{}
			ve.AddReason("tier", loyalty.ReasonRequired, "choose a tier")
			return m, ve
		}
	case audienceMember:
		row, err := s.Store.MemberByNumber(ctx, v.Number)
		if err != nil || row.Program != a.ref.ID || row.Erased() {
			if err != nil && !errors.Is(err, loyalty.ErrMemberNotFound) && !errors.Is(err, store.ErrNotFound) {
				return m, err
			}
			ve := &balances.ValidationError{}
			ve.AddReason("number", loyalty.ReasonInvalid, "is no member of this programme")
			return m, ve
		}
		m.member = row
	default:
		ve := &balances.ValidationError{}
		ve.AddReason("audience", loyalty.ReasonInvalid, "must be all, a tier or one member")
		return m, ve
	}
	program := a.program
	if v.Audience == audienceMember {
		program = nil
	}
	if err := m.in.Validate(program); err != nil {
		return m, err
	}
	var err error
	switch v.Audience {
	case audienceAll:
		m.cards, err = s.Store.CountMembers(ctx, a.ref.ID)
	case audienceTier:
		m.cards, err = s.Store.CountTierMembers(ctx, a.ref.ID, v.Tier)
	default:
		m.cards = 1
	}
	return m, err
}

// messagePost reads a message form's POST and checks its message (err:
// the message's problem); ok is false when the answer is written.
func (s *Server) messagePost(w http.ResponseWriter, r *http.Request) (a *access, v *messagesView, m message, ok bool, err error) {
	if a, ok = s.merchantPost(w, r, "messages_title"); !ok {
		return nil, nil, message{}, false, nil
	}
	v = s.messagesForm(a, r)
	a.pg.View = v
	m, err = s.checkMessage(r, a, v)
	return a, v, m, true, err
}

// messagePreview shows how many cards the message will reach before it
// is sent.
func (s *Server) messagePreview(w http.ResponseWriter, r *http.Request) {
	a, v, m, ok, err := s.messagePost(w, r)
	if !ok {
		return
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "check message", err)
		s.render(w, r, "messages", http.StatusUnprocessableEntity, a.pg)
		return
	}
	v.Confirm, v.Cards = true, m.cards
	s.render(w, r, "messages", http.StatusOK, a.pg)
}

// sendMessage sends a confirmed message, as the API's message endpoints
// do.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	a, v, m, ok, err := s.messagePost(w, r)
	if !ok {
		return
	}
	var cards int64
	if err == nil {
		switch v.Audience {
		case audienceAll:
			cards, err = s.Store.PostProgramMessage(r.Context(), a.ref.ID, m.in.Text)
		case audienceTier:
			cards, err = s.Store.PostTierMessage(r.Context(), a.ref.ID, m.in.Tier, m.in.Text)
		default:
			cards, err = 1, s.Store.PostMemberMessage(r.Context(), m.member.ID, m.in.Text)
		}
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "send message", err)
		s.render(w, r, "messages", http.StatusUnprocessableEntity, a.pg)
		return
	}
	s.OnChange()
	s.Logger.InfoContext(r.Context(), "console message", "user_id", a.si.user.ID, "program", a.ref.ID, "audience", v.Audience, "cards", cards)
	http.Redirect(w, r, "/console/programs/"+a.ref.ID+"/messages?sent="+strconv.FormatInt(cards, 10), http.StatusSeeOther)
}
