package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// The admin pages: API keys and staff users, as the API's admin key
// endpoints and passctl user do. A secret (a new key, a set-password link)
// is shown once, on the answer to the form that made it, and never again.

func (s *Server) adminRoutes(r chi.Router) {
	r.Route("/admin", func(r chi.Router) {
		r.Get("/keys", s.keysPage)
		r.Post("/keys", s.createKey)
		r.Get("/keys/{id}/revoke", s.revokeKeyConfirm)
		r.Post("/keys/{id}/revoke", s.revokeKey)
		r.Get("/users", s.usersPage)
		r.Post("/users", s.createUser)
		r.Get("/users/{id}/disable", s.disableUserConfirm)
		r.Post("/users/{id}/disable", s.disableUser)
		r.Post("/users/{id}/reset", s.resetUser)
	})
}

// adminGet answers the page of a signed-in admin's GET, or writes the
// answer (403 for anyone else).
func (s *Server) adminGet(w http.ResponseWriter, r *http.Request, titleKey string) (*signedIn, *page, bool) {
	si, ok := s.signedInPage(w, r)
	if !ok {
		return nil, nil, false
	}
	return s.adminPage(w, r, si, titleKey)
}

// adminPost is adminGet for a form POST, whose origin and CSRF token are
// checked first.
func (s *Server) adminPost(w http.ResponseWriter, r *http.Request, titleKey string) (*signedIn, *page, bool) {
	si, ok := s.signedInPost(w, r)
	if !ok {
		return nil, nil, false
	}
	return s.adminPage(w, r, si, titleKey)
}

func (s *Server) adminPage(w http.ResponseWriter, r *http.Request, si *signedIn, titleKey string) (*signedIn, *page, bool) {
	if si.user.Role != loyalty.RoleAdmin {
		s.errorPage(w, r, http.StatusForbidden, "err_forbidden")
		return nil, nil, false
	}
	pg := s.newPage(r, titleKey)
	pg.User, pg.CSRF = &si.user, s.csrf(si)
	return si, pg, true
}

// adminView is the keys page or the users page.
type adminView struct {
	Keys     []loyalty.APIKey
	Users    []loyalty.StaffUser
	Programs []string
	Roles    []string
	// Secret is the key or link just made, shown this once; SecretFor
	// says whose.
	Secret, SecretFor string
	Role, Program     string
	Email             string
	Failure           string
	// Page is the list's paging.
	Page pager
}

var roles = []string{loyalty.RolePOS, loyalty.RoleMerchant, loyalty.RoleAdmin}

// showAdmin renders the keys page or the users page (keys false) with a
// page of its list; fill, when set, adds the form's state.
func (s *Server) showAdmin(w http.ResponseWriter, r *http.Request, pg *page, name string, keys bool, status int, fill func(*adminView)) {
	v := &adminView{Roles: roles}
	var err error
	if v.Programs, err = s.visiblePrograms(r.Context(), loyalty.StaffUser{Role: loyalty.RoleAdmin}); err != nil {
		s.internalError(w, r, "read admin lists", err)
		return
	}
	ok := false
	if keys {
		v.Keys, v.Page, ok = listPage(s, w, r, pg, "list api keys", "/console/admin/keys", s.Store.APIKeysPage)
	} else {
		v.Users, v.Page, ok = listPage(s, w, r, pg, "list staff users", "/console/admin/users", s.Store.StaffUsersPage)
	}
	if !ok {
		return
	}
	if fill != nil {
		fill(v)
	}
	pg.View = v
	s.render(w, r, name, status, pg)
}

func (s *Server) keysPage(w http.ResponseWriter, r *http.Request) {
	_, pg, ok := s.adminGet(w, r, "keys_title")
	if !ok {
		return
	}
	doneNotice(pg, r, "revoked")
	s.showAdmin(w, r, pg, "keys", true, http.StatusOK, nil)
}

// createKey makes an API key (the API's POST /apikeys) and shows it once.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	si, pg, ok := s.adminPost(w, r, "keys_title")
	if !ok {
		return
	}
	role, program := r.PostForm.Get("role"), r.PostForm.Get("program")
	known := func(id string) bool {
		_, err := s.Programs.Fresh(r.Context(), id, 0)
		return err == nil
	}
	if err := loyalty.ValidateKeyRequest(role, program, known); err != nil {
		failure := s.failure(w, r, pg, "create api key", err)
		s.showAdmin(w, r, pg, "keys", true, http.StatusUnprocessableEntity, func(v *adminView) { v.Failure, v.Role, v.Program = failure, role, program })
		return
	}
	key, k, err := loyalty.CreateKey(r.Context(), s.Store, role, program, s.Now())
	if err != nil {
		s.internalError(w, r, "create api key", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console api key created", "user_id", si.user.ID, "key_id", k.ID, "role", k.Role)
	s.showAdmin(w, r, pg, "keys", true, http.StatusCreated, func(v *adminView) { v.Secret, v.SecretFor = key, k.ID })
}

func (s *Server) revokeKeyConfirm(w http.ResponseWriter, r *http.Request) {
	_, pg, ok := s.adminGet(w, r, "keys_title")
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	pg.View = &confirmView{
		Heading: pg.T.Get("revoke_title"), Text: strings.ReplaceAll(pg.T.Get("revoke_text"), "%s", id),
		Action: "/console/admin/keys/" + id + "/revoke", Back: "/console/admin/keys", Button: pg.T.Get("revoke_button"),
	}
	s.render(w, r, "confirm", http.StatusOK, pg)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	si, _, ok := s.adminPost(w, r, "keys_title")
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	err := s.Store.RevokeAPIKey(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return
	}
	if err != nil {
		s.internalError(w, r, "revoke api key", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console api key revoked", "user_id", si.user.ID, "key_id", id)
	done(w, r, "/console/admin/keys", "revoked")
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	_, pg, ok := s.adminGet(w, r, "users_title")
	if !ok {
		return
	}
	doneNotice(pg, r, "disabled")
	s.showAdmin(w, r, pg, "users", false, http.StatusOK, nil)
}

// createUser adds a staff user, as passctl user create does without a
// password, and shows the one-time set-password link once.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	si, pg, ok := s.adminPost(w, r, "users_title")
	if !ok {
		return
	}
	f := r.PostForm
	u := loyalty.StaffUser{ID: loyalty.NewStaffUserID(), Email: f.Get("email"), Role: f.Get("role"), Program: f.Get("program")}
	if u.Role == loyalty.RoleAdmin {
		u.Program = ""
	}
	fail := func(status int, words string) {
		s.showAdmin(w, r, pg, "users", false, status, func(v *adminView) { v.Failure, v.Email, v.Role, v.Program = words, u.Email, u.Role, u.Program })
	}
	if err := loyalty.ValidateStaffUser(u); err != nil {
		fail(http.StatusUnprocessableEntity, err.Error())
		return
	}
	u.Email, _ = loyalty.NormalizeStaffEmail(u.Email)
	if u.Program != "" {
		if _, err := s.Programs.Fresh(r.Context(), u.Program, 0); err != nil {
			fail(http.StatusUnprocessableEntity, pg.T.Get("err_no_program"))
			return
		}
	}
	u.CreatedAt = s.Now()
	if err := s.Store.CreateStaffUser(r.Context(), u); errors.Is(err, store.ErrDuplicate) {
		fail(http.StatusConflict, pg.T.Get("err_user_exists"))
		return
	} else if err != nil {
		s.internalError(w, r, "create staff user", err)
		return
	}
	link, err := SetPasswordLink(r.Context(), s.Store, s.publicURL, u.ID, s.Now())
	if err != nil {
		s.internalError(w, r, "make set-password link", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console staff user created", "user_id", si.user.ID, "new_user_id", u.ID, "role", u.Role)
	s.showAdmin(w, r, pg, "users", false, http.StatusCreated, func(v *adminView) { v.Secret, v.SecretFor = link, u.Email })
}

// staffUser answers the user of the URL, or writes the answer.
func (s *Server) staffUser(w http.ResponseWriter, r *http.Request) (loyalty.StaffUser, bool) {
	u, err := s.Store.StaffUser(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return u, false
	}
	if err != nil {
		s.internalError(w, r, "read staff user", err)
		return u, false
	}
	return u, true
}

func (s *Server) disableUserConfirm(w http.ResponseWriter, r *http.Request) {
	_, pg, ok := s.adminGet(w, r, "users_title")
	if !ok {
		return
	}
	u, ok := s.staffUser(w, r)
	if !ok {
		return
	}
	pg.View = &confirmView{
		Heading: pg.T.Get("disable_title"), Text: strings.ReplaceAll(pg.T.Get("disable_text"), "%s", u.Email),
		Action: "/console/admin/users/" + u.ID + "/disable", Back: "/console/admin/users", Button: pg.T.Get("disable_button"),
	}
	s.render(w, r, "confirm", http.StatusOK, pg)
}

// disableUser locks a user out and ends their sessions (passctl user
// disable).
func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) {
	si, _, ok := s.adminPost(w, r, "users_title")
	if !ok {
		return
	}
	u, ok := s.staffUser(w, r)
	if !ok {
		return
	}
	if err := s.Store.DisableStaffUser(r.Context(), u.ID); err != nil {
		s.internalError(w, r, "disable staff user", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console staff user disabled", "user_id", si.user.ID, "disabled_user_id", u.ID)
	done(w, r, "/console/admin/users", "disabled")
}

// resetUser shows a new one-time set-password link once (passctl user
// reset); the current password works until the link is used.
func (s *Server) resetUser(w http.ResponseWriter, r *http.Request) {
	si, pg, ok := s.adminPost(w, r, "users_title")
	if !ok {
		return
	}
	u, ok := s.staffUser(w, r)
	if !ok {
		return
	}
	if u.DisabledAt != nil {
		s.showAdmin(w, r, pg, "users", false, http.StatusConflict, func(v *adminView) { v.Failure = pg.T.Get("err_user_disabled") })
		return
	}
	link, err := SetPasswordLink(r.Context(), s.Store, s.publicURL, u.ID, s.Now())
	if err != nil {
		s.internalError(w, r, "make set-password link", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console staff password reset", "user_id", si.user.ID, "reset_user_id", u.ID)
	s.showAdmin(w, r, pg, "users", false, http.StatusOK, func(v *adminView) { v.Secret, v.SecretFor = link, u.Email })
}
