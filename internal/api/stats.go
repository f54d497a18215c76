package api

import (
	"net/http"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// programStats answers a programme's figures (loyalty.ProgramStats) over
// the window the domain checks (loyalty.StatsInput).
func (s *Server) programStats(w http.ResponseWriter, r *http.Request) error {
	p, err := s.merchantProgram(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	win, err := loyalty.StatsInput{From: v.Get("from"), To: v.Get("to")}.Window(p, s.Now())
	if err != nil {
		return err
	}
	f, err := s.Store.ProgramFigures(r.Context(), p.ID, win)
	if err != nil {
		return err
	}
	problem.JSON(w, http.StatusOK, win.Stats(f))
	return nil
}
