package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// WebhookJSON is a webhook endpoint as the API lists it: never its
// secret. Program is null for an endpoint of every programme.
type WebhookJSON struct {
	ID             string              `json:"id"`
	Program        *string             `json:"program"`
	URL            string              `json:"url"`
	Events         []loyalty.EventType `json:"events"`
	CreatedAt      time.Time           `json:"created_at"`
	DisabledAt     *time.Time          `json:"disabled_at"`
	DisabledReason string              `json:"disabled_reason,omitempty"`
}

func webhookJSON(e loyalty.WebhookEndpoint) WebhookJSON {
	j := WebhookJSON{ID: e.ID, URL: e.URL, Events: e.Events, CreatedAt: e.CreatedAt.UTC(), DisabledReason: e.DisabledReason}
	if e.Program != "" {
		j.Program = &e.Program
	}
	if e.DisabledAt != nil {
		t := e.DisabledAt.UTC()
		j.DisabledAt = &t
	}
	return j
}

// canSeeWebhook reports whether the caller may see and change an
// endpoint: a merchant of its programme, or an admin for a global one.
func canSeeWebhook(p Principal, e loyalty.WebhookEndpoint) bool {
	if e.Program == "" {
		return p.Allows(loyalty.RoleAdmin) && p.Program == ""
	}
	return p.Allows(loyalty.RoleMerchant) && p.CanSee(e.Program)
}

// createWebhook adds an endpoint: of the body's program, of the key's own
// program when the body names none, or of every programme (an unscoped
// admin key only). The answer is the only time the secret is shown.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleMerchant, ""); err != nil {
		return err
	}
	var in loyalty.WebhookInput
	if err := decode(r, &in); err != nil {
		return err
	}
	p, _ := principalFrom(r.Context())
	if in.Program == "" {
		in.Program = p.Program
	}
	e, err := in.Validate(s.webhookAllowHTTP)
	if err != nil {
		return err
	}
	if e.Program == "" {
		if err := authorize(r.Context(), loyalty.RoleAdmin, ""); err != nil {
			return problem.New(http.StatusForbidden, problem.CodeForbidden, "an endpoint of every programme needs an admin key; name a program")
		}
	} else {
		if err := authorize(r.Context(), loyalty.RoleMerchant, e.Program); err != nil {
			return err
		}
		if _, err := s.Programs.Fresh(r.Context(), e.Program, 0); err != nil {
			return err
		}
	}
	if e, err = loyalty.CreateWebhook(r.Context(), s.Store, e); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+e.ID)
	problem.JSON(w, http.StatusCreated, struct {
		WebhookJSON
		Secret string `json:"secret"`
	}{webhookJSON(e), e.Secret})
	return nil
}

// listWebhooks answers the endpoints the caller may see.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleMerchant, ""); err != nil {
		return err
	}
	p, _ := principalFrom(r.Context())
	all, err := s.Store.Webhooks(r.Context())
	if err != nil {
		return err
	}
	items := make([]WebhookJSON, 0, len(all))
	for _, e := range all {
		if canSeeWebhook(p, e) {
			items = append(items, webhookJSON(e))
		}
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// webhook loads the path's endpoint; one the caller may not see is not
// found.
func (s *Server) webhook(r *http.Request) (loyalty.WebhookEndpoint, error) {
	if err := authorize(r.Context(), loyalty.RoleMerchant, ""); err != nil {
		return loyalty.WebhookEndpoint{}, err
	}
	id := chi.URLParam(r, "id")
	e, err := s.Store.Webhook(r.Context(), id)
	if err != nil {
		return loyalty.WebhookEndpoint{}, err
	}
	if p, _ := principalFrom(r.Context()); !canSeeWebhook(p, e) {
		return loyalty.WebhookEndpoint{}, fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
	}
	return e, nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	e, err := s.webhook(r)
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, webhookJSON(e))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	e, err := s.webhook(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteWebhook(r.Context(), e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// WebhookAttemptJSON is one delivery attempt as the deliveries log lists it.
type WebhookAttemptJSON struct {
	EventID     string            `json:"event_id"`
	Type        loyalty.EventType `json:"type"`
	AttemptedAt time.Time         `json:"attempted_at"`
	// Status is the receiver's HTTP status, null when none came.
	Status     *int   `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"`
}

// listWebhookDeliveries answers the endpoint's last 100 attempts, newest
// first.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	e, err := s.webhook(r)
	if err != nil {
		return err
	}
	as, err := s.Store.WebhookAttempts(r.Context(), e.ID, store.MaxWebhookAttemptsListed)
	if err != nil {
		return err
	}
	items := make([]WebhookAttemptJSON, len(as))
	for i, a := range as {
		items[i] = WebhookAttemptJSON{EventID: a.EventID, Type: a.Type, AttemptedAt: a.AttemptedAt.UTC(),
			DurationMS: a.Duration.Milliseconds(), Error: a.Error}
		if a.Status != 0 {
			items[i].Status = &a.Status
		}
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}
