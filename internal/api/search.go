package api

import (
	"net/http"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// searchMembers lists a program's live members, newest enrolment first,
// filtered by the query parameters the domain checks (loyalty.SearchInput).
func (s *Server) searchMembers(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q, err := loyalty.SearchInput{
		Q: v.Get("q"), Email: v.Get("email"), ExternalID: v.Get("external_id"), Tier: v.Get("tier"),
		InactiveDays: v.Get("inactive_days"), Limit: v.Get("limit"), Cursor: v.Get("cursor"),
	}.Search(p, s.Now())
	if err != nil {
		return err
	}
	rows, next, err := s.Store.SearchMembers(r.Context(), q)
	if err != nil {
		return err
	}
	items := make([]MemberJSON, len(rows))
	for i, m := range rows {
		if items[i], err = s.memberJSON(m); err != nil {
			return err
		}
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	return nil
}
