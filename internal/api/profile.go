package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// patchableFields are the member fields a merge patch may carry.
var patchableFields = []string{"name", "email", "birthday", "external_id", "marketing_opt_in"}

// patchMember edits a member's profile with a JSON merge patch (RFC 7396):
// an absent field stays as it is, null clears an optional one. The domain
// checks the result with the enrolment's own check; the store writes it
// and, when a profile field changes, marks the cards for the sync engine.
func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RoleMerchant)
	if err != nil {
		return err
	}
	raw, err := decodeObject(r)
	if err != nil {
		return err
	}
	patch, err := profilePatch(raw)
	if err != nil {
		return err
	}
	if patch, err = patch.Apply(m.Member, s.Now()); err != nil {
		return err
	}
	if patch.Empty() {
		return s.writeMember(w, http.StatusOK, m)
	}
	row, err := s.Store.UpdateMember(r.Context(), m.ID, patch, loyalty.ConsentAPIPatch)
	if err != nil {
		return err
	}
	if patch.ChangesCard() {
		s.OnChange()
	}
	return s.writeMember(w, http.StatusOK, row)
}

// profilePatch reads a merge patch's fields: strings or null for the
// profile, a boolean for the marketing answer. Other fields and other
// types are malformed_json.
func profilePatch(raw map[string]json.RawMessage) (loyalty.ProfilePatch, error) {
	var p loyalty.ProfilePatch
	for k, v := range raw {
		if !slices.Contains(patchableFields, k) {
			return loyalty.ProfilePatch{}, problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, fmt.Sprintf("unknown field %q is not accepted here", k))
		}
		if k == "marketing_opt_in" {
			var b bool
			if bytes.Equal(v, []byte("null")) || json.Unmarshal(v, &b) != nil {
				return loyalty.ProfilePatch{}, problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, `field "marketing_opt_in" must be a JSON boolean`)
			}
			p.MarketingOptIn = &b
			continue
		}
		f := loyalty.Field{Set: true, Null: bytes.Equal(v, []byte("null"))}
		if !f.Null && json.Unmarshal(v, &f.Value) != nil {
			return loyalty.ProfilePatch{}, problem.New(http.StatusBadRequest, problem.CodeMalformedJSON, fmt.Sprintf("field %q must be a JSON string or null", k))
		}
		switch k {
		case "name":
			p.Name = f
		case "email":
			p.Email = f
		case "birthday":
			p.Birthday = f
		case "external_id":
			p.ExternalID = f
		}
	}
	return p, nil
}
