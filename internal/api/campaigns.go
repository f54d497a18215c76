package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// CampaignJSON is the campaign object of the JSON API.
type CampaignJSON struct {
	ID         string    `json:"id"`
	Program    string    `json:"program"`
	Name       string    `json:"name"`
	Multiplier float64   `json:"multiplier"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	DaysOfWeek []int     `json:"days_of_week"`
	LocalHours *string   `json:"local_hours"`
	MinTier    *string   `json:"min_tier"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func campaignJSON(c loyalty.Campaign) CampaignJSON {
	j := CampaignJSON{ID: c.ID, Program: c.Program, Name: c.Name, Multiplier: float64(c.MultiplierTenths) / 10,
		StartsAt: c.StartsAt.UTC(), EndsAt: c.EndsAt.UTC(), DaysOfWeek: c.DaysOfWeek,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if j.DaysOfWeek == nil {
		j.DaysOfWeek = []int{}
	}
	if h := c.LocalHours(); h != "" {
		j.LocalHours = &h
	}
	if c.MinTier != "" {
		j.MinTier = &c.MinTier
	}
	return j
}

// campaignInput is the writable part of a campaign, the document a PATCH
// merges into.
func campaignInput(c loyalty.Campaign) loyalty.CampaignInput {
	return loyalty.CampaignInput{Name: c.Name, Multiplier: json.Number(fmt.Sprintf("%.1f", float64(c.MultiplierTenths)/10)),
		StartsAt: c.StartsAt.UTC().Format(time.RFC3339Nano), EndsAt: c.EndsAt.UTC().Format(time.RFC3339Nano),
		DaysOfWeek: c.DaysOfWeek, LocalHours: c.LocalHours(), MinTier: c.MinTier}
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	var in loyalty.CampaignInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := in.Validate(p)
	if err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("campaign id: %w", err)
	}
	c.ID = id.String()
	if c, err = s.Store.CreateCampaign(r.Context(), c); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+c.ID)
	problem.JSON(w, http.StatusCreated, campaignJSON(c))
	return nil
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Programs.Fresh(r.Context(), chi.URLParam(r, "program"), 0)
	if err != nil {
		return err
	}
	if err := authorize(r.Context(), loyalty.RolePOS, p.ID); err != nil {
		return err
	}
	cs, err := s.Store.Campaigns(r.Context(), p.ID)
	if err != nil {
		return err
	}
	items := make([]CampaignJSON, len(cs))
	for i, c := range cs {
		items[i] = campaignJSON(c)
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// campaign loads the path's campaign, which the caller must have role on.
func (s *Server) campaign(r *http.Request, role string) (loyalty.Campaign, error) {
	id := chi.URLParam(r, "id")
	if _, err := uuid.Parse(id); err != nil {
		return loyalty.Campaign{}, problem.New(http.StatusNotFound, problem.CodeNotFound, "no such campaign")
	}
	c, err := s.Store.Campaign(r.Context(), id)
	if err != nil {
		return loyalty.Campaign{}, err
	}
	if err := authorize(r.Context(), role, c.Program); err != nil {
		return loyalty.Campaign{}, err
	}
	return c, nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaign(r, loyalty.RolePOS)
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, campaignJSON(c))
	return nil
}

// patchCampaign applies a JSON merge patch to the campaign's writable
// fields and checks the result whole, under the campaign's lock.
func (s *Server) patchCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaign(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	raw, err := decodeObject(r)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("campaign patch: %w", err)
	}
	p, err := s.Programs.Fresh(r.Context(), c.Program, 0)
	if err != nil {
		return err
	}
	c, err = s.Store.UpdateCampaign(r.Context(), c.ID, func(cur loyalty.Campaign, _ time.Time) (loyalty.Campaign, error) {
		doc, err := json.Marshal(campaignInput(cur))
		if err != nil {
			return loyalty.Campaign{}, fmt.Errorf("campaign document: %w", err)
		}
		merged, err := loyalty.MergePatch(doc, patch)
		if err != nil {
			return loyalty.Campaign{}, problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, "the body is not a JSON merge patch")
		}
		var in loyalty.CampaignInput
		dec := json.NewDecoder(bytes.NewReader(merged))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return loyalty.Campaign{}, malformed(err)
		}
		return in.Validate(p)
	})
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, campaignJSON(c))
	return nil
}

// endCampaign ends a campaign now; it is kept, for the history of the
// earns it multiplied.
func (s *Server) endCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaign(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	c, err = s.Store.UpdateCampaign(r.Context(), c.ID, func(cur loyalty.Campaign, now time.Time) (loyalty.Campaign, error) {
		return cur.End(now), nil
	})
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, campaignJSON(c))
	return nil
}
