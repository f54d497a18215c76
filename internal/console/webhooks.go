package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// A programme's webhook endpoints: made through the domain's check
// (loyalty.WebhookInput.Validate) and loyalty.CreateWebhook as the API's
// POST /webhooks, with the secret shown once on the answer; deleted after
// a confirmation; each with its deliveries log and a test event.

func (s *Server) webhookRoutes(r chi.Router) {
	r.Get("/webhooks", s.webhooksPage)
	r.Post("/webhooks", s.createWebhook)
	r.Get("/webhooks/{id}", s.webhookPage)
	r.Post("/webhooks/{id}/test", s.testWebhook)
	r.Get("/webhooks/{id}/delete", s.deleteWebhookConfirm)
	r.Post("/webhooks/{id}/delete", s.deleteWebhook)
}

// webhooksView is the webhooks page or one endpoint's page.
type webhooksView struct {
	Endpoints []loyalty.WebhookEndpoint
	Endpoint  loyalty.WebhookEndpoint
	Attempts  []store.WebhookAttempt
	// Types are the event types an endpoint may subscribe to; Checked
	// those the form sent back.
	Types   []loyalty.EventType
	Checked map[loyalty.EventType]bool
	URL     string
	// Every asks for an endpoint of every programme (admins only).
	Every bool
	// Secret is the signing secret of the endpoint just made, shown this
	// once; SecretFor is its URL.
	Secret, SecretFor string
	Failure           string
	// Page is the paging of the endpoints or of the deliveries log.
	Page pager
}

// visibleWebhook reports whether a's page shows e: an endpoint of the
// programme, or one of every programme to an admin (as the API's
// canSeeWebhook).
func visibleWebhook(a *access, e loyalty.WebhookEndpoint) bool {
	return e.Program == a.ref.ID || (e.Program == "" && a.admin())
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "webhooks_title")
	if !ok {
		return
	}
	doneNotice(a.pg, r, "webhook_deleted")
	s.showWebhooks(w, r, a, &webhooksView{}, http.StatusOK)
}

func (s *Server) showWebhooks(w http.ResponseWriter, r *http.Request, a *access, v *webhooksView, status int) {
	// The programme's endpoints and, for an admin, those of every
	// programme: what visibleWebhook shows.
	var ok bool
	if v.Endpoints, v.Page, ok = listPage(s, w, r, a.pg, "list webhooks", "/console/programs/"+a.ref.ID+"/webhooks",
		func(ctx context.Context, cursor string, limit int) ([]loyalty.WebhookEndpoint, string, error) {
			return s.Store.WebhooksPage(ctx, a.ref.ID, a.admin(), cursor, limit)
		}); !ok {
		return
	}
	v.Types = loyalty.EventTypes()
	if v.Checked == nil {
		v.Checked = map[loyalty.EventType]bool{}
	}
	a.pg.View = v
	s.render(w, r, "webhooks", status, a.pg)
}

// createWebhook adds an endpoint of the programme (or, for an admin who
// asks, of every programme, as an unscoped admin key may) and shows its
// secret once.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "webhooks_title")
	if !ok {
		return
	}
	in := loyalty.WebhookInput{URL: r.PostForm.Get("url"), Events: r.PostForm["events"], Program: a.ref.ID}
	every := a.admin() && r.PostForm.Get("every") == "on"
	if every {
		in.Program = ""
	}
	v := &webhooksView{URL: in.URL, Every: every, Checked: map[loyalty.EventType]bool{}}
	for _, t := range in.Events {
		v.Checked[loyalty.EventType(t)] = true
	}
	e, err := in.Validate(s.allowHTTP)
	if err == nil {
		e, err = loyalty.CreateWebhook(r.Context(), s.Store, e)
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "create webhook", err)
		s.showWebhooks(w, r, a, v, http.StatusUnprocessableEntity)
		return
	}
	s.Logger.InfoContext(r.Context(), "console webhook created", "user_id", a.si.user.ID, "webhook_id", e.ID, "program", a.ref.ID)
	s.showWebhooks(w, r, a, &webhooksView{Secret: e.Secret, SecretFor: e.URL}, http.StatusCreated)
}

// webhook answers the access that in (merchantGet or merchantPost)
// grants and the endpoint of the URL visible on its page, or writes the
// answer.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request,
	in func(http.ResponseWriter, *http.Request, string) (*access, bool)) (*access, loyalty.WebhookEndpoint, bool) {
	a, ok := in(w, r, "webhooks_title")
	if !ok {
		return nil, loyalty.WebhookEndpoint{}, false
	}
	e, ok := owned(s, w, r, "webhook", s.Store.Webhook, func(e loyalty.WebhookEndpoint) bool { return visibleWebhook(a, e) })
	return a, e, ok
}

// webhookPage shows an endpoint with its last attempts, newest first.
func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request) {
	a, e, ok := s.webhook(w, r, s.merchantGet)
	if !ok {
		return
	}
	doneNotice(a.pg, r, "test_sent")
	s.showWebhook(w, r, a, e, "", http.StatusOK)
}

func (s *Server) showWebhook(w http.ResponseWriter, r *http.Request, a *access, e loyalty.WebhookEndpoint, failure string, status int) {
	attempts, page, ok := listPage(s, w, r, a.pg, "list webhook attempts", webhookPath(a, e.ID),
		func(ctx context.Context, cursor string, limit int) ([]store.WebhookAttempt, string, error) {
			return s.Store.WebhookAttemptsPage(ctx, e.ID, cursor, limit)
		})
	if !ok {
		return
	}
	a.pg.View = &webhooksView{Endpoint: e, Attempts: attempts, Failure: failure, Page: page}
	s.render(w, r, "webhook", status, a.pg)
}

// testWebhook queues a webhook.test event for the endpoint and wakes the
// deliverer, so it goes at once.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	a, e, ok := s.webhook(w, r, s.merchantPost)
	if !ok {
		return
	}
	_, err := s.Store.SendTestWebhook(r.Context(), e.ID)
	if errors.Is(err, loyalty.ErrWebhookDisabled) {
		s.showWebhook(w, r, a, e, a.pg.T.Get("err_webhook_disabled"), http.StatusConflict)
		return
	}
	if err != nil {
		s.internalError(w, r, "send test webhook", err)
		return
	}
	s.OnChange()
	done(w, r, webhookPath(a, e.ID), "test_sent")
}

func (s *Server) deleteWebhookConfirm(w http.ResponseWriter, r *http.Request) {
	a, e, ok := s.webhook(w, r, s.merchantGet)
	if !ok {
		return
	}
	a.pg.View = &confirmView{
		Heading: a.pg.T.Get("webhook_delete_title"), Text: strings.ReplaceAll(a.pg.T.Get("webhook_delete_text"), "%s", e.URL),
		Action: webhookPath(a, e.ID) + "/delete", Back: webhookPath(a, e.ID), Button: a.pg.T.Get("delete_button"),
	}
	s.render(w, r, "confirm", http.StatusOK, a.pg)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	a, e, ok := s.webhook(w, r, s.merchantPost)
	if !ok {
		return
	}
	if err := s.Store.DeleteWebhook(r.Context(), e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, r, "delete webhook", err)
		return
	}
	s.Logger.InfoContext(r.Context(), "console webhook deleted", "user_id", a.si.user.ID, "webhook_id", e.ID)
	done(w, r, "/console/programs/"+a.ref.ID+"/webhooks", "webhook_deleted")
}

func webhookPath(a *access, id string) string {
	return "/console/programs/" + a.ref.ID + "/webhooks/" + id
}

// webhookHealth answers the dashboard's warnings about the programme's
// endpoints: each one turned off by a 410, and deliveries that waited
// longer than StuckAfter. None when all is well.
func (s *Server) webhookHealth(ctx context.Context, pg *page, program string) ([]string, error) {
	all, err := s.Store.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	var warnings []string
	for _, e := range all {
		if e.Program == program && e.DisabledAt != nil {
			warnings = append(warnings, fmt.Sprintf(pg.T.Get("warn_webhook_disabled"), e.URL, e.DisabledAt.Format("2006-01-02 15:04"), e.DisabledReason))
		}
	}
	n, oldest, err := s.Store.ProgramWebhookBacklog(ctx, program)
	if err != nil {
		return nil, err
	}
	if n > 0 && oldest > StuckAfter {
		warnings = append(warnings, fmt.Sprintf(pg.T.Get("warn_webhook_waiting"), n, oldest.Round(time.Second)))
	}
	return warnings, nil
}
