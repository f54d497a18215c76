package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// A programme's rewards and campaigns, made and changed through the
// domain's checks (loyalty.NewReward, loyalty.CampaignInput.Validate) as
// the API's endpoints do.

func (s *Server) catalogRoutes(r chi.Router) {
	r.Get("/rewards", s.rewardsPage)
	r.Post("/rewards", s.createReward)
	r.Get("/rewards/{id}", s.rewardPage)
	r.Post("/rewards/{id}", s.updateReward)
	r.Get("/campaigns", s.campaignsPage)
	r.Post("/campaigns", s.createCampaign)
	r.Get("/campaigns/{id}", s.campaignPage)
	r.Post("/campaigns/{id}", s.updateCampaign)
	r.Get("/campaigns/{id}/end", s.endCampaignConfirm)
	r.Post("/campaigns/{id}/end", s.endCampaign)
}

// rewardForm is a reward's form as shown or sent.
type rewardForm struct {
	ID, Name, Description, Cost, MinTier, ValidDays string
	Active                                          bool
}

// catalogView is the rewards or the campaigns page, or one's edit page.
type catalogView struct {
	Rewards   []loyalty.Reward
	Campaigns []campaignRow
	Tiers     []string
	Reward    rewardForm
	Campaign  campaignForm
	Editing   bool
	Failure   string
	// Page is the list's paging.
	Page pager
	// Weekdays are the days a campaign may run on, 1 = Monday.
	Weekdays []int
}

func (s *Server) catalogView(a *access) *catalogView {
	v := &catalogView{Reward: rewardForm{Active: true, ValidDays: strconv.Itoa(loyalty.DefaultValidDays)}, Weekdays: []int{1, 2, 3, 4, 5, 6, 7}}
	for _, t := range a.program.Tiers {
		v.Tiers = append(v.Tiers, t.Name)
	}
	return v
}

// number reads a form's whole number into *dst, or names the field.
func number[T int | int64](ve *balances.ValidationError, field, s string, dst **T) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		ve.AddReason(field, loyalty.ReasonInvalid, "must be a whole number")
		return
	}
	v := T(n)
	*dst = &v
}

// rewardInput reads the reward form of r.
func rewardInput(r *http.Request) (rewardForm, loyalty.RewardInput, error) {
	f := r.PostForm
	rf := rewardForm{Name: f.Get("name"), Description: f.Get("description"), Cost: f.Get("cost_points"),
		MinTier: f.Get("min_tier"), ValidDays: f.Get("valid_days"), Active: f.Get("active") == "on"}
	in := loyalty.RewardInput{Name: &rf.Name, Description: &rf.Description, Active: &rf.Active}
	if rf.MinTier != "" {
		in.MinTier = &rf.MinTier
	}
	ve := &balances.ValidationError{}
	number(ve, "cost_points", rf.Cost, &in.CostPoints)
	number(ve, "valid_days", rf.ValidDays, &in.ValidDays)
	return rf, in, ve.Err()
}

func (s *Server) rewardsPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "rewards_title")
	if !ok {
		return
	}
	doneNotice(a.pg, r, "reward_saved")
	s.showRewards(w, r, a, s.catalogView(a), http.StatusOK)
}

func (s *Server) showRewards(w http.ResponseWriter, r *http.Request, a *access, v *catalogView, status int) {
	var ok bool
	if v.Rewards, v.Page, ok = listPage(s, w, r, a.pg, "list rewards", "/console/programs/"+a.ref.ID+"/rewards",
		func(ctx context.Context, cursor string, limit int) ([]loyalty.Reward, string, error) {
			return s.Store.RewardsPage(ctx, a.ref.ID, cursor, limit)
		}); !ok {
		return
	}
	a.pg.View = v
	s.render(w, r, "rewards", status, a.pg)
}

func (s *Server) createReward(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "rewards_title")
	if !ok {
		return
	}
	v := s.catalogView(a)
	rf, in, err := rewardInput(r)
	v.Reward = rf
	var rw loyalty.Reward
	if err == nil {
		rw, err = loyalty.NewReward(a.program, in)
	}
	if err == nil {
		rw.ID = uuid.NewString()
		_, err = s.Store.CreateReward(r.Context(), rw)
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "create reward", err)
		s.showRewards(w, r, a, v, http.StatusUnprocessableEntity)
		return
	}
	done(w, r, "/console/programs/"+a.ref.ID+"/rewards", "reward_saved")
}

// reward answers the reward of the URL in a's programme, or writes the
// answer.
func (s *Server) reward(w http.ResponseWriter, r *http.Request, a *access) (loyalty.Reward, bool) {
	return owned(s, w, r, "reward", s.Store.Reward, func(rw loyalty.Reward) bool { return rw.Program == a.ref.ID })
}

func (s *Server) rewardPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "rewards_title")
	if !ok {
		return
	}
	rw, ok := s.reward(w, r, a)
	if !ok {
		return
	}
	v := s.catalogView(a)
	v.Editing = true
	v.Reward = rewardForm{ID: rw.ID, Name: rw.Name, Description: rw.Description, Cost: strconv.FormatInt(rw.CostPoints, 10),
		MinTier: rw.MinTier, ValidDays: strconv.Itoa(rw.ValidDays), Active: rw.Active}
	a.pg.View = v
	s.render(w, r, "reward", http.StatusOK, a.pg)
}

// updateReward checks the whole form as the API checks a patched reward;
// an inactive reward is the catalogue's way to end it.
func (s *Server) updateReward(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "rewards_title")
	if !ok {
		return
	}
	rw, ok := s.reward(w, r, a)
	if !ok {
		return
	}
	v := s.catalogView(a)
	v.Editing = true
	rf, in, err := rewardInput(r)
	rf.ID, v.Reward = rw.ID, rf
	var next loyalty.Reward
	if err == nil {
		next, err = loyalty.NewReward(a.program, in)
	}
	if err == nil {
		next.ID = rw.ID
		_, err = s.Store.UpdateReward(r.Context(), next)
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "update reward", err)
		a.pg.View = v
		s.render(w, r, "reward", http.StatusUnprocessableEntity, a.pg)
		return
	}
	done(w, r, "/console/programs/"+a.ref.ID+"/rewards", "reward_saved")
}

// campaignForm is a campaign's form: times as the programme's local
// date and time (datetime-local inputs).
type campaignForm struct {
	ID, Name, Multiplier, StartsAt, EndsAt, LocalHours, MinTier string
	Days                                                        map[int]bool
}

// campaignRow is a listed campaign with its times in the programme's
// timezone and whether it has ended.
type campaignRow struct {
	loyalty.Campaign
	Multiplier, Starts, Ends string
	Ended                    bool
}

// multiplier shows a campaign's multiplier with its one decimal.
func multiplier(c loyalty.Campaign) string {
	return strconv.FormatFloat(float64(c.MultiplierTenths)/10, 'f', 1, 64)
}

// localLayout is the value of a datetime-local input.
const localLayout = "2006-01-02T15:04"

// campaignInput reads the campaign form of r in programme p: the local
// times become RFC 3339 instants in p's timezone, and a time that does
// not parse goes to the domain as typed, which names the field.
func campaignInput(r *http.Request, p *loyalty.Program) (campaignForm, loyalty.CampaignInput) {
	f := r.PostForm
	cf := campaignForm{Name: f.Get("name"), Multiplier: strings.TrimSpace(f.Get("multiplier")), StartsAt: f.Get("starts_at"),
		EndsAt: f.Get("ends_at"), LocalHours: strings.TrimSpace(f.Get("local_hours")), MinTier: f.Get("min_tier"), Days: map[int]bool{}}
	in := loyalty.CampaignInput{Name: cf.Name, Multiplier: json.Number(cf.Multiplier), LocalHours: cf.LocalHours, MinTier: cf.MinTier}
	instant := func(s string) string {
		if t, err := time.ParseInLocation(localLayout, s, p.Location()); err == nil {
			return t.Format(time.RFC3339)
		}
		return s
	}
	in.StartsAt, in.EndsAt = instant(cf.StartsAt), instant(cf.EndsAt)
	for _, d := range f["days_of_week"] {
		if n, err := strconv.Atoi(d); err == nil && n >= 1 && n <= 7 {
			cf.Days[n] = true
			in.DaysOfWeek = append(in.DaysOfWeek, n)
		}
	}
	return cf, in
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "campaigns_title")
	if !ok {
		return
	}
	doneNotice(a.pg, r, "campaign_saved", "campaign_ended")
	v := s.catalogView(a)
	v.Campaign.Days = map[int]bool{}
	s.showCampaigns(w, r, a, v, http.StatusOK)
}

func (s *Server) showCampaigns(w http.ResponseWriter, r *http.Request, a *access, v *catalogView, status int) {
	cs, page, ok := listPage(s, w, r, a.pg, "list campaigns", "/console/programs/"+a.ref.ID+"/campaigns",
		func(ctx context.Context, cursor string, limit int) ([]loyalty.Campaign, string, error) {
			return s.Store.CampaignsPage(ctx, a.ref.ID, cursor, limit)
		})
	if !ok {
		return
	}
	v.Page = page
	loc, now := a.program.Location(), s.Now()
	for _, c := range cs {
		v.Campaigns = append(v.Campaigns, campaignRow{Campaign: c, Multiplier: multiplier(c), Starts: c.StartsAt.In(loc).Format("2006-01-02 15:04"),
			Ends: c.EndsAt.In(loc).Format("2006-01-02 15:04"), Ended: !c.EndsAt.After(now) || !c.EndsAt.After(c.StartsAt)})
	}
	a.pg.View = v
	s.render(w, r, "campaigns", status, a.pg)
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "campaigns_title")
	if !ok {
		return
	}
	v := s.catalogView(a)
	cf, in := campaignInput(r, a.program)
	v.Campaign = cf
	c, err := in.Validate(a.program)
	if err == nil {
		var id uuid.UUID
		if id, err = uuid.NewV7(); err == nil {
			c.ID = id.String()
			_, err = s.Store.CreateCampaign(r.Context(), c)
		}
	}
	if err != nil {
		v.Failure = s.failure(w, r, a.pg, "create campaign", err)
		s.showCampaigns(w, r, a, v, http.StatusUnprocessableEntity)
		return
	}
	done(w, r, "/console/programs/"+a.ref.ID+"/campaigns", "campaign_saved")
}

// campaign answers the campaign of the URL in a's programme, or writes
// the answer.
func (s *Server) campaign(w http.ResponseWriter, r *http.Request, a *access) (loyalty.Campaign, bool) {
	return owned(s, w, r, "campaign", s.Store.Campaign, func(c loyalty.Campaign) bool { return c.Program == a.ref.ID })
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "campaigns_title")
	if !ok {
		return
	}
	c, ok := s.campaign(w, r, a)
	if !ok {
		return
	}
	v := s.catalogView(a)
	v.Editing = true
	loc := a.program.Location()
	v.Campaign = campaignForm{ID: c.ID, Name: c.Name, Multiplier: multiplier(c),
		StartsAt: c.StartsAt.In(loc).Format(localLayout), EndsAt: c.EndsAt.In(loc).Format(localLayout),
		LocalHours: c.LocalHours(), MinTier: c.MinTier, Days: map[int]bool{}}
	for _, d := range c.DaysOfWeek {
		v.Campaign.Days[d] = true
	}
	a.pg.View = v
	s.render(w, r, "campaign", http.StatusOK, a.pg)
}

// updateCampaign checks the whole form under the campaign's lock, as the
// API's patch does.
func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "campaigns_title")
	if !ok {
		return
	}
	c, ok := s.campaign(w, r, a)
	if !ok {
		return
	}
	cf, in := campaignInput(r, a.program)
	cf.ID = c.ID
	_, err := s.Store.UpdateCampaign(r.Context(), c.ID, func(loyalty.Campaign, time.Time) (loyalty.Campaign, error) {
		return in.Validate(a.program)
	})
	if err != nil {
		v := s.catalogView(a)
		v.Editing, v.Campaign, v.Failure = true, cf, s.failure(w, r, a.pg, "update campaign", err)
		a.pg.View = v
		s.render(w, r, "campaign", http.StatusUnprocessableEntity, a.pg)
		return
	}
	done(w, r, "/console/programs/"+a.ref.ID+"/campaigns", "campaign_saved")
}

func (s *Server) endCampaignConfirm(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantGet(w, r, "campaigns_title")
	if !ok {
		return
	}
	c, ok := s.campaign(w, r, a)
	if !ok {
		return
	}
	base := "/console/programs/" + a.ref.ID + "/campaigns"
	a.pg.View = &confirmView{
		Heading: a.pg.T.Get("end_campaign_title"), Text: strings.ReplaceAll(a.pg.T.Get("end_campaign_text"), "%s", c.Name),
		Action: base + "/" + url.PathEscape(c.ID) + "/end", Back: base, Button: a.pg.T.Get("end_campaign_button"),
	}
	s.render(w, r, "confirm", http.StatusOK, a.pg)
}

// endCampaign ends a campaign now (the API's DELETE); it stays listed.
func (s *Server) endCampaign(w http.ResponseWriter, r *http.Request) {
	a, ok := s.merchantPost(w, r, "campaigns_title")
	if !ok {
		return
	}
	c, ok := s.campaign(w, r, a)
	if !ok {
		return
	}
	if _, err := s.Store.UpdateCampaign(r.Context(), c.ID, func(cur loyalty.Campaign, now time.Time) (loyalty.Campaign, error) {
		return cur.End(now), nil
	}); err != nil {
		s.internalError(w, r, "end campaign", err)
		return
	}
	done(w, r, "/console/programs/"+a.ref.ID+"/campaigns", "campaign_ended")
}
