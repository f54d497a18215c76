package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/loyalty"
)

// The programme editor: texts per locale, colours, tiers, the earn rate
// and the rule blocks, checked by the domain (loyalty.Program.Patched) and
// shown as the card will look before it is saved through the programmes
// service (internal/programs), as the API's PATCH and image PUT do.

// ProgramEditor changes programmes: internal/programs' Service.
type ProgramEditor interface {
	Patch(ctx context.Context, id string, ifVersion int64, patch []byte) (*loyalty.Program, error)
	PutImage(ctx context.Context, id string, ifVersion int64, name string, data []byte) (*loyalty.Program, error)
	// CheckImage checks an image as PutImage does, storing nothing.
	CheckImage(name string, data []byte) error
}

// Form sizes of the editor: a programme's texts can pass MaxFormBytes;
// an image is at most MaxImageBytes.
const (
	MaxProgramFormBytes = 256 << 10
	MaxImageBytes       = 2 << 20
)

// ruleBlocks are the programme's optional rule blocks, edited as JSON.
var ruleBlocks = []string{"timezone", "tier_window", "expiry", "stamps", "cashback", "welcome_bonus", "birthday_bonus",
	"referral", "dormant", "locations"}

// imageSlots are the images the editor uploads (internal/programs checks
// each against its slot's sizes).
var imageSlots = []string{"icon", "icon@2x", "icon@3x", "logo", "logo@2x", "logo@3x", "strip", "strip@2x", "strip@3x", "google-logo"}

func (s *Server) editorRoutes(r chi.Router) {
	r.Get("/edit", s.editPage)
	r.Post("/edit/preview", s.editPreview)
	r.Post("/edit", s.editSave)
	r.Post("/images", s.uploadImage)
	r.Get("/edit/images/{id}", s.heldImage)
}

// editView is the editor's form, its preview and confirmation.
type editView struct {
	Version                       int64
	Name, Organization            string
	Locales                       []localeForm
	Background, Foreground, Label string
	PointsPerUnit, MinorPerUnit   string
	Tiers                         []tierForm
	Rules                         string
	Slots                         []string
	// Preview: the faces of a sample card per tier, the patch to save and
	// how many cards will update.
	Faces   []faceView
	Patch   string
	Cards   int64
	Failure string
	// Held is the uploaded image an image preview shows, not saved yet.
	Held *heldView
}

// heldView is an uploaded image in its preview: its slot, the id its
// "Save" sends, the short-lived URL that serves it, and whether the card
// faces show it (a logo or a strip) or it shows on its own.
type heldView struct {
	ID, Slot, URL string
	OnCard        bool
}

type localeForm struct {
	Lang                                        string
	ProgramName, Description, HowItWorks, Terms string
}

type tierForm struct {
	Name, Threshold string
	N               int // its place, from 1
}

// numberTiers numbers the tier rows of the form.
func numberTiers(ts []tierForm) {
	for i := range ts {
		ts[i].N = i + 1
	}
}

// editForm fills the editor from programme p.
func editForm(p *loyalty.Program) (*editView, error) {
	v := &editView{Version: p.Version, Name: p.Name, Organization: p.OrganizationName, Background: p.Colors.Background, Foreground: p.Colors.Foreground, Label: p.Colors.Label,
		PointsPerUnit: strconv.FormatInt(p.Earn.PointsPerUnit, 10), MinorPerUnit: strconv.FormatInt(p.Earn.MinorPerUnit, 10), Slots: imageSlots}
	for _, lang := range sortedLocales(p) {
		t := p.Locales[lang]
		v.Locales = append(v.Locales, localeForm{Lang: lang, ProgramName: t.ProgramName, Description: t.Description, HowItWorks: t.HowItWorks, Terms: t.Terms})
	}
	for _, t := range p.Tiers {
		v.Tiers = append(v.Tiers, tierForm{Name: t.Name, Threshold: strconv.FormatInt(t.Threshold, 10)})
	}
	v.Tiers = append(v.Tiers, tierForm{})
	numberTiers(v.Tiers)
	def, err := p.Definition()
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(def, &all); err != nil {
		return nil, fmt.Errorf("program definition: %w", err)
	}
	rules := map[string]json.RawMessage{}
	for _, k := range ruleBlocks {
		if raw, ok := all[k]; ok {
			rules[k] = raw
		}
	}
	b, err := json.MarshalIndent(rules, "", "  ")
	if err != nil {
		return nil, err
	}
	v.Rules = string(b)
	return v, nil
}

func sortedLocales(p *loyalty.Program) []string {
	langs := make([]string, 0, len(p.Locales))
	for l := range p.Locales {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	return langs
}

// readEdit reads the editor's form of programme p into v and answers the
// merge patch it makes: the programme's whole definition with the form's
// fields, and null for each rule block left out.
func readEdit(r *http.Request, p *loyalty.Program, v *editView) ([]byte, error) {
	f := r.PostForm
	ve := &balances.ValidationError{}
	def, err := p.Definition()
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("program definition: %w", err)
	}
	v.Version, _ = strconv.ParseInt(f.Get("version"), 10, 64)
	v.Name, v.Organization = f.Get("name"), f.Get("organization_name")
	doc["name"], doc["organization_name"] = v.Name, v.Organization
	v.Background, v.Foreground, v.Label = f.Get("background"), f.Get("foreground"), f.Get("label")
	doc["colors"] = map[string]string{"background": v.Background, "foreground": v.Foreground, "label": v.Label}
	v.PointsPerUnit, v.MinorPerUnit = f.Get("points_per_unit"), f.Get("minor_per_unit")
	earn := map[string]int64{}
	for field, s := range map[string]string{"points_per_unit": v.PointsPerUnit, "minor_per_unit": v.MinorPerUnit} {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			ve.AddReason("earn."+field, loyalty.ReasonInvalid, "must be a whole number")
		}
		earn[field] = n
	}
	doc["earn"] = earn
	locales := map[string]loyalty.Texts{}
	for _, lang := range sortedLocales(p) {
		lf := localeForm{Lang: lang, ProgramName: f.Get("program_name_" + lang), Description: f.Get("description_" + lang),
			HowItWorks: f.Get("how_it_works_" + lang), Terms: f.Get("terms_" + lang)}
		v.Locales = append(v.Locales, lf)
		locales[lang] = loyalty.Texts{ProgramName: lf.ProgramName, Description: lf.Description, HowItWorks: lf.HowItWorks, Terms: lf.Terms}
	}
	doc["locales"] = locales
	var tiers []loyalty.Tier
	names, thresholds := f["tier_name"], f["tier_threshold"]
	for i, name := range names {
		tf := tierForm{Name: strings.TrimSpace(name)}
		if i < len(thresholds) {
			tf.Threshold = strings.TrimSpace(thresholds[i])
		}
		if tf.Name == "" {
			continue
		}
		v.Tiers = append(v.Tiers, tf)
		n, err := strconv.ParseInt(tf.Threshold, 10, 64)
		if err != nil {
			ve.AddReason("tiers["+strconv.Itoa(len(tiers))+"].threshold", loyalty.ReasonInvalid, "must be a whole number")
		}
		t := loyalty.Tier{Name: tf.Name, Threshold: n}
		if old := slices.IndexFunc(p.Tiers, func(o loyalty.Tier) bool { return o.Name == tf.Name }); old >= 0 {
			t.Benefits, t.Colors = p.Tiers[old].Benefits, p.Tiers[old].Colors // the tier keeps its look
		}
		tiers = append(tiers, t)
	}
	v.Tiers = append(v.Tiers, tierForm{})
	numberTiers(v.Tiers)
	doc["tiers"] = tiers
	v.Rules = f.Get("rules")
	rules := map[string]json.RawMessage{}
	if strings.TrimSpace(v.Rules) != "" {
		dec := json.NewDecoder(strings.NewReader(v.Rules))
		if err := dec.Decode(&rules); err != nil {
			ve.AddReason("rules", loyalty.ReasonInvalid, "must be a JSON object of rule blocks: "+err.Error())
		}
	}
	for k := range rules {
		if !slices.Contains(ruleBlocks, k) {
			ve.AddReason("rules."+k, loyalty.ReasonInvalid, "is not a rule block ("+strings.Join(ruleBlocks, ", ")+")")
		}
	}
	for _, k := range ruleBlocks {
		if raw, ok := rules[k]; ok {
			doc[k] = raw
		} else {
			doc[k] = nil
		}
	}
	if err := ve.Err(); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func (s *Server) editPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "edit_title")
	if !ok {
		return
	}
	v, err := editForm(a.program)
	if err != nil {
		s.internalError(w, r, "program editor", err)
		return
	}
	doneNotice(a.pg, r, "image_saved")
	a.pg.View = v
	s.render(w, r, "editor", http.StatusOK, a.pg)
}

// editorAccess reads an editor form of at most limit bytes (multipart,
// for an image) and answers its access; ok is false when the answer is
// written.
func (s *Server) editorAccess(w http.ResponseWriter, r *http.Request, limit int64, multipart bool) (*access, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if multipart {
		err = r.ParseMultipartForm(limit)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.errorPage(w, r, http.StatusRequestEntityTooLarge, "err_too_large")
		return nil, false
	case err != nil:
		s.errorPage(w, r, http.StatusBadRequest, "err_form_expired")
		return nil, false
	}
	a, ok := s.merchantPost(w, r, "edit_title")
	if !ok {
		return nil, false
	}
	if s.editor == nil {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return nil, false
	}
	return a, true
}

// editPost reads an editor POST (a form larger than the others) and its
// patch; ok is false when the answer is written, err is the form's
// problem.
func (s *Server) editPost(w http.ResponseWriter, r *http.Request) (a *access, v *editView, patch []byte, ok bool, err error) {
	if a, ok = s.editorAccess(w, r, MaxProgramFormBytes, false); !ok {
		return nil, nil, nil, false, nil
	}
	v = &editView{Slots: imageSlots}
	a.pg.View = v
	patch, err = readEdit(r, a.program, v)
	return a, v, patch, true, err
}

// editPreview shows the card as it will look and how many cards will
// update, before anything is saved.
func (s *Server) editPreview(w http.ResponseWriter, r *http.Request) {
	a, v, patch, ok, err := s.editPost(w, r)
	if !ok {
		return
	}
	var next *loyalty.Program
	if err == nil {
		next, err = a.program.Patched(patch)
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "program preview", err)
		s.render(w, r, "editor", http.StatusUnprocessableEntity, a.pg)
		return
	}
	if v.Cards, err = s.Store.CountMembers(r.Context(), a.ref.ID); err != nil {
		s.internalError(w, r, "count cards", err)
		return
	}
	v.Patch = string(patch)
	v.Faces = sampleFaces(next, a.pg, s.Secret, s.publicURL, s.Now())
	a.pg.Title = a.pg.T.Get("preview_title") + " · " + a.ref.Name
	s.render(w, r, "preview", http.StatusOK, a.pg)
}

// sampleFaces draws a sample member's card in each tier of p (at most
// four), or once for a programme without tiers.
func sampleFaces(p *loyalty.Program, pg *page, secret []byte, publicURL string, at time.Time) []faceView {
	tiers := []string{""}
	if len(p.Tiers) > 0 {
		tiers = tiers[:0]
		for _, t := range p.Tiers[:min(len(p.Tiers), 4)] {
			tiers = append(tiers, t.Name)
		}
	}
	var out []faceView
	for i, tier := range tiers {
		m := loyalty.MemberRow{
			Member:  loyalty.Member{ID: "00000000-0000-4000-8000-000000000000", Program: p.ID, Number: "1234567890", Name: pg.T.Get("sample_name"), CreatedAt: at},
			Account: loyalty.Account{Points: 1250, Tier: tier, PassVersion: 1},
		}
		f := newFaceView(cards.FaceOf(m, p, pg.Lang, secret, publicURL, at), pg.T)
		f.Prefix = "tier" + strconv.Itoa(i) + "-"
		out = append(out, f)
	}
	return out
}

// editSave saves the previewed patch, if the programme did not change
// meanwhile (its version, as the API's If-Match).
func (s *Server) editSave(w http.ResponseWriter, r *http.Request) {
	a, ok := s.editorAccess(w, r, MaxProgramFormBytes, false)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	patch := []byte(r.PostForm.Get("patch"))
	if !json.Valid(patch) || version < 1 {
		s.errorPage(w, r, http.StatusBadRequest, "err_form_expired")
		return
	}
	if _, err := s.editor.Patch(r.Context(), a.ref.ID, version, patch); err != nil {
		v, ferr := editForm(a.program)
		if ferr != nil {
			s.internalError(w, r, "program editor", ferr)
			return
		}
		v.Failure = s.failure(w, r, a.pg, "save program", err)
		if errors.Is(err, loyalty.ErrVersionMismatch) {
			v.Failure = a.pg.T.Get("err_version")
		}
		a.pg.View = v
		s.render(w, r, "editor", http.StatusConflict, a.pg)
		return
	}
	cards, err := s.Store.CountMembers(r.Context(), a.ref.ID)
	if err != nil {
		s.internalError(w, r, "count cards", err)
		return
	}
	s.OnChange()
	s.Logger.InfoContext(r.Context(), "console program saved", "user_id", a.si.user.ID, "program", a.ref.ID)
	http.Redirect(w, r, "/console/programs/"+a.ref.ID+"?saved="+strconv.FormatInt(cards, 10), http.StatusSeeOther)
}

// uploadImage checks one image of the programme and stores it through
// the programmes service, which checks it against its slot's sizes. With
// action=preview it stores nothing: the image is held for the preview
// (held.go), whose "Save" sends its id back (held) to store it.
func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.editorAccess(w, r, MaxImageBytes+MaxFormBytes, true)
	if !ok {
		return
	}
	name, data, err := uploaded(r)
	held := r.PostForm.Get("held")
	if held != "" {
		img, found := s.held.get(held, a.si.sess.IDHash, a.ref.ID)
		name, data, err = img.slot, img.data, nil
		if !found {
			err = fmt.Errorf("%w: the previewed image is no longer kept (%d minutes); upload it again", loyalty.ErrInvalidImage, int(HeldImageTTL.Minutes()))
		}
	}
	preview := held == "" && r.PostForm.Get("action") == "preview"
	switch {
	case err != nil:
	case preview:
		err = s.editor.CheckImage(name, data)
	default:
		_, err = s.editor.PutImage(r.Context(), a.ref.ID, 0, name, data)
	}
	if err != nil {
		v, ferr := editForm(a.program)
		if ferr != nil {
			s.internalError(w, r, "program editor", ferr)
			return
		}
		v.Failure = s.failure(w, r, a.pg, "upload image", err)
		a.pg.View = v
		s.render(w, r, "editor", http.StatusUnprocessableEntity, a.pg)
		return
	}
	if preview {
		s.previewImage(w, r, a, name, data)
		return
	}
	if held != "" {
		s.held.remove(held)
	}
	s.OnChange()
	done(w, r, "/console/programs/"+a.ref.ID+"/edit", "image_saved")
}

// uploaded reads the image form's slot and file, checked for what any
// slot wants: a PNG of at most MaxImageBytes.
func uploaded(r *http.Request) (name string, data []byte, err error) {
	name = r.PostForm.Get("slot")
	file, _, err := r.FormFile("image")
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(file, MaxImageBytes+1))
		file.Close()
	}
	switch {
	case err != nil || len(data) == 0:
		err = fmt.Errorf("%w: choose a PNG file", loyalty.ErrInvalidImage)
	case len(data) > MaxImageBytes:
		err = fmt.Errorf("%w: the image is larger than %d MiB", loyalty.ErrInvalidImage, MaxImageBytes>>20)
	case !slices.Contains(imageSlots, name):
		err = fmt.Errorf("%w: choose one of the image slots", loyalty.ErrInvalidImage)
	case !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		err = fmt.Errorf("%w: the file is not a PNG", loyalty.ErrInvalidImage)
	}
	return name, data, err
}

// previewImage holds an uploaded image that passed its checks and shows
// the programme's sample cards with it (a logo or a strip on each face,
// any other image on its own), with a "Save" that stores it.
func (s *Server) previewImage(w http.ResponseWriter, r *http.Request, a *access, name string, data []byte) {
	id, ok := s.held.put(a.si.sess.IDHash, a.ref.ID, name, data)
	if !ok {
		s.errorPage(w, r, http.StatusRequestEntityTooLarge, "err_too_large")
		return
	}
	cards, err := s.Store.CountMembers(r.Context(), a.ref.ID)
	if err != nil {
		s.internalError(w, r, "count cards", err)
		return
	}
	h := &heldView{ID: id, Slot: name, URL: "/console/programs/" + a.ref.ID + "/edit/images/" + id}
	v := &editView{Version: a.program.Version, Cards: cards, Held: h, Faces: sampleFaces(a.program, a.pg, s.Secret, s.publicURL, s.Now())}
	for i := range v.Faces {
		switch {
		case strings.HasPrefix(name, "logo"):
			v.Faces[i].withImages(h.URL, "")
			h.OnCard = true
		case strings.HasPrefix(name, "strip"):
			v.Faces[i].withImages("", h.URL)
			h.OnCard = true
		}
	}
	a.pg.View, a.pg.images = v, true
	a.pg.Title = a.pg.T.Get("preview_title") + " · " + a.ref.Name
	s.render(w, r, "preview", http.StatusOK, a.pg)
}

// heldImage serves an image held for a preview, to the session and
// programme that uploaded it only, until it expires; else the 404 page.
func (s *Server) heldImage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "edit_title")
	if !ok {
		return
	}
	img, ok := s.held.get(chi.URLParam(r, "id"), a.si.sess.IDHash, a.ref.ID)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "err_not_found")
		return
	}
	h := w.Header()
	htmlpage.Headers(h, "default-src 'none'; sandbox")
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(img.data)))
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write(img.data)
}
