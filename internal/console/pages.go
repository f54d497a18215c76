package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// The merchant pages: a programme's figures, its members and their
// actions, its messages. Each shows or changes what the JSON API does,
// through the same domain checks (internal/loyalty, balances) and store
// methods; none decides a rule of its own.

// pageNames are the templates of the merchant pages.
var pageNames = []string{"figures", "members", "member", "messages", "confirm", "keys", "users", "rewards", "reward", "campaigns", "campaign", "editor", "preview", "webhooks", "webhook"}

// merchantRoutes adds the merchant pages under /console/programs.
func (s *Server) merchantRoutes(r chi.Router) {
	s.adminRoutes(r)
	r.Route("/programs/{program}", func(r chi.Router) {
		r.Get("/", s.figuresPage)
		r.Get("/members", s.membersPage)
		r.Get("/members/{id}", s.memberPage)
		r.Post("/members/{id}/adjust", s.adjust)
		r.Post("/members/{id}/message", s.messageMember)
		r.Post("/members/{id}/resend", s.resendCard)
		r.Get("/members/{id}/export", s.exportMember)
		r.Get("/members/{id}/erase", s.eraseConfirm)
		r.Post("/members/{id}/erase", s.erase)
		r.Get("/messages", s.messagesPage)
		r.Post("/messages/preview", s.messagePreview)
		r.Post("/messages", s.sendMessage)
		s.catalogRoutes(r)
		s.editorRoutes(r)
		s.webhookRoutes(r)
	})
}

// programRef names a programme on a page.
type programRef struct {
	ID, Name string
}

// access is a signed-in merchant (or admin) request on one programme.
type access struct {
	si      *signedIn
	program *loyalty.Program
	ref     programRef
	pg      *page
}

// admin reports whether the user may do what the API keeps to admin keys
// (export, erase).
func (a *access) admin() bool { return a.si.user.Role == loyalty.RoleAdmin }

// merchantGet answers the access of a signed-in GET on the programme of
// the URL, or writes the answer: sign-in when signed out, 403 for a pos
// user (the scanner is theirs), 404 for a programme the user may not see
// (the same page as an unknown one, so it tells nothing).
func (s *Server) merchantGet(w http.ResponseWriter, r *http.Request, titleKey string) (*access, bool) {
	si, ok := s.signedInPage(w, r)
	if !ok {
		return nil, false
	}
	return s.programAccess(w, r, si, titleKey)
}

// merchantPost is merchantGet for a form POST, whose origin and CSRF token
// are checked first.
func (s *Server) merchantPost(w http.ResponseWriter, r *http.Request, titleKey string) (*access, bool) {
	si, ok := s.signedInPost(w, r)
	if !ok {
		return nil, false
	}
	return s.programAccess(w, r, si, titleKey)
}

func (s *Server) programAccess(w http.ResponseWriter, r *http.Request, si *signedIn, titleKey string) (*access, bool) {
	if !loyalty.RoleIncludes(si.user.Role, loyalty.RoleMerchant) {
		s.errorPage(w, r, http.StatusForbidden, "err_forbidden")
		return nil, false
	}
	id := chi.URLParam(r, "program")
	if si.user.Role != loyalty.RoleAdmin && si.user.Program != id {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return nil, false
	}
	p, err := s.Programs.Fresh(r.Context(), id, 0)
	if errors.Is(err, loyalty.ErrProgramNotFound) || errors.Is(err, loyalty.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "load console programme", err)
		return nil, false
	}
	pg := s.newPage(r, titleKey)
	pg.User, pg.CSRF = &si.user, s.csrf(si)
	_, texts := p.Text(pg.Lang)
	ref := programRef{ID: p.ID, Name: cmp.Or(texts.ProgramName, p.ID)}
	pg.Program = &ref
	pg.Title = pg.T.Get(titleKey) + " · " + ref.Name
	return &access{si: si, program: p, ref: ref, pg: pg}, true
}

// failure answers the words of a failed action: the problem's detail and
// each field's message, or the generic words of an unexpected error
// (logged with the request id). While the database is out of reach, the
// page is answered 503 with a Retry-After instead of the caller's status.
func (s *Server) failure(w http.ResponseWriter, r *http.Request, pg *page, what string, err error) string {
	p := problem.From(err)
	if p.Status >= 500 {
		s.Logger.ErrorContext(r.Context(), what, "request_id", problem.RequestID(r), "err", err)
		status, key := htmlpage.Failure(w.Header(), err)
		if status == http.StatusServiceUnavailable {
			pg.status = status
		}
		return pg.T.Get(key)
	}
	words := []string{p.Detail}
	for _, f := range p.Errors {
		if !strings.Contains(p.Detail, f.Message) {
			words = append(words, f.Field+": "+f.Message)
		}
	}
	return strings.Join(words, "; ")
}

// done redirects to path with a done notice key (Post/Redirect/Get: a
// reload does not post again).
func done(w http.ResponseWriter, r *http.Request, path, key string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(key), http.StatusSeeOther)
}

// doneNotice sets the page's notice of a done key, known keys only.
func doneNotice(pg *page, r *http.Request, keys ...string) {
	k := r.URL.Query().Get("done")
	for _, known := range keys {
		if k == known {
			pg.Done = pg.T.Get("done_" + k)
		}
	}
}

// parseMerchantPages parses the merchant pages, and the dashboard again,
// with the parts they share (templates/parts.html).
func (s *Server) parseMerchantPages() error {
	for _, name := range append([]string{"dashboard"}, pageNames...) {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("parse %s page: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// owned answers what load finds for the URL's id when visible says it is
// of a's programme, or writes the answer: the 404 page for a bad id, none,
// or one of another programme (so a page tells nothing of the others).
func owned[T any](s *Server, w http.ResponseWriter, r *http.Request, what string,
	load func(context.Context, string) (T, error), visible func(T) bool) (T, bool) {
	var zero T
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return zero, false
	}
	v, err := load(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, loyalty.ErrNotFound) || errors.Is(err, loyalty.ErrMemberNotFound) ||
		(err == nil && !visible(v)) {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return zero, false
	}
	if err != nil {
		s.internalError(w, r, "read "+what, err)
		return zero, false
	}
	return v, true
}
