package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
	"github.com/passd/passd/internal/store"
)

// This file serves the programmes as data (API.md "Programs are data"):
// reads come from the database's rows through the catalog, so an answer
// and its ETag are the programme as it stands on every instance; every
// change goes through the programmes service (internal/programs), which
// validates it, writes it and brings the cards up to date (its worker
// marks them and wakes the sync engine).

// ProgramEditor is what the API needs of the programmes service to change
// programmes; internal/programs.Service is one.
type ProgramEditor interface {
	Create(ctx context.Context, body []byte) (*loyalty.Program, error)
	Patch(ctx context.Context, id string, ifVersion int64, patch []byte) (*loyalty.Program, error)
	PutImage(ctx context.Context, id string, ifVersion int64, name string, data []byte) (*loyalty.Program, error)
}

// Media types of programme changes.
const (
	mediaMergePatch = "application/merge-patch+json"
	mediaJSON       = "application/json"
	mediaPNG        = "image/png"
)

// listPrograms answers the programmes the key may see, by id.
func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RolePOS, ""); err != nil {
		return err
	}
	who, _ := principalFrom(r.Context())
	recs, err := s.Store.Programs(r.Context())
	if err != nil {
		return err
	}
	items := make([]*loyalty.Program, 0, len(recs))
	for _, rec := range recs {
		if !who.CanSee(rec.ID) {
			continue
		}
		p, err := s.Programs.Fresh(r.Context(), rec.ID, rec.Version)
		if err != nil {
			return err
		}
		items = append(items, p)
	}
	problem.JSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// getProgram answers one programme, with its version as ETag.
func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "program")
	if err := authorize(r.Context(), loyalty.RolePOS, id); err != nil {
		return err
	}
	rec, err := s.Store.Program(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("program %q: %w", id, loyalty.ErrProgramNotFound)
	}
	if err != nil {
		return err
	}
	p, err := s.Programs.Fresh(r.Context(), id, rec.Version)
	if err != nil {
		return err
	}
	writeProgram(w, http.StatusOK, p)
	return nil
}

// createProgram adds a programme. A program-scoped key may create only the
// programme of its scope.
func (s *Server) createProgram(w http.ResponseWriter, r *http.Request) error {
	if err := authorize(r.Context(), loyalty.RoleAdmin, ""); err != nil {
		return err
	}
	if err := checkMediaType(r, mediaJSON); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var named struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &named) == nil {
		if err := authorize(r.Context(), loyalty.RoleAdmin, named.ID); err != nil {
			return err
		}
	}
	editor, err := s.editor()
	if err != nil {
		return err
	}
	p, err := editor.Create(r.Context(), body)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/programs/"+url.PathEscape(p.ID))
	writeProgram(w, http.StatusCreated, p)
	return nil
}

// patchProgram applies a JSON merge patch (RFC 7396) to a programme.
func (s *Server) patchProgram(w http.ResponseWriter, r *http.Request) error {
	c, err := s.readChange(r, mediaMergePatch, mediaJSON)
	if err != nil {
		return err
	}
	p, err := c.editor.Patch(r.Context(), c.id, c.ifVersion, c.body)
	if err != nil {
		return err
	}
	writeProgram(w, http.StatusOK, p)
	return nil
}

// putProgramImage stores one image of a programme.
func (s *Server) putProgramImage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.readChange(r, mediaPNG)
	if err != nil {
		return err
	}
	name, err := pathParam(r, "name")
	if err != nil {
		return fmt.Errorf("%w: the image name is not a valid path segment", loyalty.ErrInvalidImage)
	}
	p, err := c.editor.PutImage(r.Context(), c.id, c.ifVersion, name, c.body)
	if err != nil {
		return err
	}
	writeProgram(w, http.StatusOK, p)
	return nil
}

// pathParam answers a path parameter decoded once: chi routes on the raw
// (escaped) path when the request's escaping is not Go's default (a "%2F"
// in a segment), and on the decoded path otherwise.
func pathParam(r *http.Request, name string) (string, error) {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v, nil
	}
	return url.PathUnescape(v)
}

// programChange is a change request to programme id, as readChange reads
// it.
type programChange struct {
	id        string
	ifVersion int64
	body      []byte
	editor    ProgramEditor
}

// readChange checks and reads a change to the path's programme: the
// merchant role and the key's scope, a Content-Type among types (required:
// it says what the body is), If-Match, and the body.
func (s *Server) readChange(r *http.Request, types ...string) (programChange, error) {
	c := programChange{id: chi.URLParam(r, "program")}
	if err := authorize(r.Context(), loyalty.RoleMerchant, c.id); err != nil {
		return c, err
	}
	if r.Header.Get("Content-Type") == "" {
		return c, unsupported("send the body as " + strings.Join(types, " or "))
	}
	if err := checkMediaType(r, types...); err != nil {
		return c, err
	}
	var err error
	if c.ifVersion, err = ifMatch(r); err != nil {
		return c, err
	}
	if c.body, err = io.ReadAll(r.Body); err != nil {
		return c, err
	}
	c.editor, err = s.editor()
	return c, err
}

// editor answers the programmes service, or an error (logged, 500) when
// the API was made without one.
func (s *Server) editor() (ProgramEditor, error) {
	if s.programEditor == nil {
		return nil, errors.New("api: no program editor configured")
	}
	return s.programEditor, nil
}

// writeProgram answers a programme object with its version as ETag, the
// validator If-Match takes.
func writeProgram(w http.ResponseWriter, status int, p *loyalty.Program) {
	w.Header().Set("ETag", programETag(p.Version))
	problem.JSON(w, status, p)
}

func programETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// checkMediaType refuses a body whose Content-Type is set and is none of
// types (parameters such as charset are allowed).
func checkMediaType(r *http.Request, types ...string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	return unsupported("send the body as " + strings.Join(types, " or "))
}

func unsupported(detail string) error {
	return problem.New(http.StatusUnsupportedMediaType, problem.CodeUnsupportedMediaType, detail)
}

// ifMatch reads the optional If-Match of a programme change: 0 (any
// version) when absent or "*", else the version it names. passd's ETags
// are "<version>"; W/"<version>" and a bare <version> are taken too. A
// value that names no version passd could hold (a list, another tag, 0,
// garbage) cannot match the current version: 412 version_mismatch, and
// nothing is written.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	tag := strings.TrimPrefix(v, "W/")
	if t, ok := strings.CutPrefix(tag, `"`); ok {
		if tag, ok = strings.CutSuffix(t, `"`); !ok {
			tag = v // an unterminated tag is no version
		}
	}
	n, err := strconv.ParseInt(tag, 10, 64)
	if err != nil || n < 1 || strings.HasPrefix(tag, "+") {
		return 0, problem.New(http.StatusPreconditionFailed, problem.CodeVersionMismatch,
			fmt.Sprintf("If-Match %q names no version of the program; send the ETag of its GET, such as \"3\", or leave If-Match out", v))
	}
	return n, nil
}
