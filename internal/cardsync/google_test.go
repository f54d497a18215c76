package cardsync_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/cardsync"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
	"github.com/passd/passd/internal/testkit"
	"github.com/passd/passd/templates"
)

const testPublicURL = "https://passd.example"

var testSecret = []byte("google-channel-test-secret-0123456789")

// googleEnv is the google channel on a SQLite store, the embedded demo
// program and a real googlewallet client talking to a fake Wallet API.
type googleEnv struct {
	fake     *wallettest.Server
	store    *store.Store
	programs *loyalty.Catalog
	demo     *loyalty.Program
	clock    *testkit.Clock
	client   *googlewallet.Client
	g        *cardsync.Google
	retries  *atomic.Int64
}

func newGoogleEnv(t *testing.T) *googleEnv {
	t.Helper()
	ctx := context.Background()
	e := &googleEnv{
		fake:    wallettest.New(t),
		clock:   testkit.NewClock(time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)),
		retries: &atomic.Int64{},
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.store = testkit.OpenSQLite(t, store.Options{Now: e.clock.Now, Logger: log})
	var err error
	if e.programs, err = loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."}); err != nil {
		t.Fatal(err)
	}
	if e.demo, err = e.programs.Get("demo"); err != nil {
		t.Fatal(err)
	}
	e.client, err = googlewallet.New(ctx, googlewallet.Config{
		IssuerID:        wallettest.IssuerID,
		CredentialsJSON: e.fake.Credentials(),
		BaseURL:         e.fake.URL,
		HTTPClient:      e.fake.HTTPClient(),
		Logger:          log,
		Now:             e.clock.Now,
		MaxAttempts:     3,
		// Retries are counted, not waited for.
		Sleep: func(ctx context.Context, _ time.Duration) error {
			e.retries.Add(1)
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.g, err = cardsync.NewGoogle(cardsync.GoogleConfig{
		Client: e.client, Store: e.store, Programs: e.programs, Secret: testSecret,
		PublicURL: testPublicURL, Logger: log, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *googleEnv) enroll(t *testing.T, name string) loyalty.Member {
	t.Helper()
	n, err := loyalty.NewNumber()
	if err != nil {
		t.Fatal(err)
	}
	m := loyalty.Member{ID: uuid.NewString(), Program: "demo", Number: n, Name: name, AuthToken: "tok-0123456789abcdef"}
	if err := e.store.CreateMember(context.Background(), m, balances.NewAccount(e.demo.Rules())); err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *googleEnv) post(t *testing.T, m loyalty.Member, typ balances.EntryType, points int64) {
	t.Helper()
	key := uuid.NewString()
	if _, err := e.store.Post(context.Background(), m.ID, key, key, balances.Request{Type: typ, Points: points}, e.demo.Rules()); err != nil {
		t.Fatalf("Post(%s %d) = %v", typ, points, err)
	}
}

// deliver runs the channel once for m and answers the API requests it made.
func (e *googleEnv) deliver(t *testing.T, m loyalty.Member) ([]wallettest.Request, error) {
	t.Helper()
	before := len(e.fake.Requests())
	err := e.g.Deliver(context.Background(), loyalty.SyncJob{MemberID: m.ID, Channel: loyalty.ChannelGoogle})
	return e.fake.Requests()[before:], err
}

func (e *googleEnv) mustDeliver(t *testing.T, m loyalty.Member) []wallettest.Request {
	t.Helper()
	reqs, err := e.deliver(t, m)
	if err != nil {
		t.Fatalf("Deliver(%s) = %v, want nil", m.ID, err)
	}
	return reqs
}

func objectID(m loyalty.Member) string { return wallettest.IssuerID + "." + m.ID }

const classID = wallettest.IssuerID + ".demo"

// dig walks decoded JSON by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func find(reqs []wallettest.Request, method, path string) (wallettest.Request, bool) {
	for _, r := range reqs {
		if r.Method == method && r.Path == path && r.Status == http.StatusOK {
			return r, true
		}
	}
	return wallettest.Request{}, false
}

func lines(reqs []wallettest.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.String()
	}
	return out
}

func TestGoogleInsertThenPatch(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada Lovelace")

	reqs := e.mustDeliver(t, m)
	ins, ok := find(reqs, "POST", "loyaltyObject")
	if !ok {
		t.Fatalf("first delivery requests = %q, want an object insert", lines(reqs))
	}
	if e.fake.Class(classID) == nil {
		t.Fatalf("class %s missing after the first delivery", classID)
	}
	obj := ins.JSON()
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"id"}, objectID(m)},
		{[]any{"classId"}, classID},
		{[]any{"state"}, "ACTIVE"},
		{[]any{"accountName"}, "Ada Lovelace"},
		{[]any{"accountId"}, m.Number},
		{[]any{"barcode", "type"}, "QR_CODE"},
		{[]any{"barcode", "value"}, loyalty.BarcodeToken(testSecret, m.Number)},
		{[]any{"barcode", "alternateText"}, m.Number},
		// Labels come from the template's strings, in every language.
		{[]any{"loyaltyPoints", "label"}, "POINTS"},
		{[]any{"loyaltyPoints", "localizedLabel", "defaultValue", "value"}, "POINTS"},
		{[]any{"loyaltyPoints", "localizedLabel", "translatedValues", 0, "language"}, "fr"},
		{[]any{"secondaryLoyaltyPoints", "label"}, "TIER"},
		{[]any{"secondaryLoyaltyPoints", "localizedLabel", "translatedValues", 0, "value"}, "NIVEAU"},
		{[]any{"secondaryLoyaltyPoints", "balance", "string"}, "Bronze"},
	} {
		if got := dig(obj, c.path...); got != c.want {
			t.Errorf("inserted object %v = %v, want %v", c.path, got, c.want)
		}
	}
	// A zero balance must be on the wire, or Google keeps an old one.
	if got, ok := dig(obj, "loyaltyPoints", "balance").(map[string]any)["int"]; !ok || got != "0" && got != float64(0) {
		t.Errorf("inserted loyaltyPoints.balance = %v, want int 0 sent", dig(obj, "loyaltyPoints", "balance"))
	}

	e.post(t, m, balances.Earn, 250)
	reqs = e.mustDeliver(t, m)
	if got, want := lines(reqs), []string{"PATCH loyaltyObject/" + objectID(m)}; !slices.Equal(got, want) {
		t.Fatalf("delivery after an earn = %q, want %q", got, want)
	}
	if got := reqs[0].Query.Get("fields"); got != "id" {
		t.Errorf("patch asked for fields %q, want id (a partial response)", got)
	}
	if got := dig(reqs[0].JSON(), "loyaltyPoints", "balance", "int"); got != "250" && got != float64(250) {
		t.Errorf("patched balance = %v, want 250", got)
	}
	if got := dig(e.fake.Object(objectID(m)), "loyaltyPoints", "balance", "int"); got != "250" && got != float64(250) {
		t.Errorf("Google's balance = %v, want 250", got)
	}
	if _, ok := reqs[0].JSON()["notifyPreference"]; ok {
		t.Errorf("a plain earn asked for a notification: %s", reqs[0].Body)
	}

	// Back to zero: still sent.
	e.post(t, m, balances.Redeem, 250)
	reqs = e.mustDeliver(t, m)
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"balance":{"int":`) {
		t.Fatalf("delivery after redeeming everything = %q, want a PATCH carrying the zero balance", lines(reqs))
	}
	if got := dig(e.fake.Object(objectID(m)), "loyaltyPoints", "balance", "int"); got != "0" && got != float64(0) {
		t.Errorf("Google's balance after redeeming everything = %v, want 0", got)
	}
	if n := e.fake.Notifications(objectID(m)); n != 0 {
		t.Errorf("notifications = %d, want 0 for balance changes", n)
	}
}

func TestGoogleInsertWhenObjectExists(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	if err := e.g.UpsertClasses(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A delivery that reached Google but was not recorded (crash).
	e.fake.SetObject(map[string]any{"id": objectID(m), "classId": classID, "state": "ACTIVE", "accountName": "stale"})
	reqs := e.mustDeliver(t, m)
	if got, want := lines(reqs), []string{"POST loyaltyObject", "PATCH loyaltyObject/" + objectID(m)}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if got := e.fake.Object(objectID(m))["accountName"]; got != "Ada" {
		t.Errorf("accountName = %v, want Ada", got)
	}
}

func TestGoogleMerchantMessage(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	e.mustDeliver(t, m)

	e.clock.Add(time.Minute)
	if _, err := e.store.PostProgramMessage(context.Background(), "demo", "Double points this weekend!"); err != nil {
		t.Fatal(err)
	}
	reqs := e.mustDeliver(t, m)
	patch, ok := find(reqs, "PATCH", "loyaltyObject/"+objectID(m))
	if !ok {
		t.Fatalf("requests = %q, want a PATCH", lines(reqs))
	}
	if got := dig(patch.JSON(), "textModulesData", 0, "body"); got != "Double points this weekend!" {
		t.Errorf("text module body = %v, want the message", got)
	}
	add, ok := find(reqs, "POST", "loyaltyObject/"+objectID(m)+"/addMessage")
	if !ok {
		t.Fatalf("requests = %q, want an addMessage", lines(reqs))
	}
	msg := dig(add.JSON(), "message").(map[string]any)
	if msg["body"] != "Double points this weekend!" || msg["header"] != "Demo Coffee Rewards" || msg["messageType"] != "TEXT_AND_NOTIFY" {
		t.Errorf("added message = %v, want the merchant message, notifying", msg)
	}

	// Delivered again (a refresh): nothing new to add.
	reqs = e.mustDeliver(t, m)
	if got, want := lines(reqs), []string{"PATCH loyaltyObject/" + objectID(m)}; !slices.Equal(got, want) {
		t.Errorf("second delivery = %q, want %q", got, want)
	}
	if msgs, _ := e.fake.Object(objectID(m))["messages"].([]any); len(msgs) != 1 {
		t.Errorf("object messages = %v, want one", msgs)
	}

	// A member who enrols after the message sees it on the card, without a
	// notification for an old message.
	late := e.enroll(t, "Grace")
	reqs = e.mustDeliver(t, late)
	ins, _ := find(reqs, "POST", "loyaltyObject")
	if got := dig(ins.JSON(), "textModulesData", 0, "body"); got != "Double points this weekend!" {
		t.Errorf("new card's text module = %v, want the current message", got)
	}
	e.mustDeliver(t, late)
	if n := e.fake.Notifications(objectID(late)); n != 0 {
		t.Errorf("notifications of a card created after the message = %d, want 0", n)
	}
}

func TestGoogleTierUpgradeMessage(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	e.mustDeliver(t, m)

	e.post(t, m, balances.Earn, 1200) // Bronze -> Silver
	reqs := e.mustDeliver(t, m)
	patch, _ := find(reqs, "PATCH", "loyaltyObject/"+objectID(m))
	if got := dig(patch.JSON(), "secondaryLoyaltyPoints", "balance", "string"); got != "Silver" {
		t.Errorf("patched tier = %v, want Silver", got)
	}
	add, ok := find(reqs, "POST", "loyaltyObject/"+objectID(m)+"/addMessage")
	if !ok {
		t.Fatalf("requests = %q, want an addMessage for the upgrade", lines(reqs))
	}
	if got := dig(add.JSON(), "message", "body"); got != "You are now Silver" {
		t.Errorf("upgrade message = %v, want You are now Silver", got)
	}
	if got := dig(add.JSON(), "message", "messageType"); got != "TEXT_AND_NOTIFY" {
		t.Errorf("upgrade message type = %v, want TEXT_AND_NOTIFY", got)
	}

	// A downgrade (a correction) changes the tier silently.
	e.post(t, m, balances.Adjust, -500)
	reqs = e.mustDeliver(t, m)
	if got, want := lines(reqs), []string{"PATCH loyaltyObject/" + objectID(m)}; !slices.Equal(got, want) {
		t.Errorf("delivery after a downgrade = %q, want %q", got, want)
	}
	if got := dig(e.fake.Object(objectID(m)), "secondaryLoyaltyPoints", "balance", "string"); got != "Bronze" {
		t.Errorf("tier after the downgrade = %v, want Bronze", got)
	}
	if n := e.fake.Notifications(objectID(m)); n != 1 {
		t.Errorf("notifications = %d, want 1", n)
	}
}

func TestGoogleNotificationBudget(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	e.mustDeliver(t, m)

	types := func() []string {
		var out []string
		for _, r := range e.fake.Requests() {
			if r.Path == "loyaltyObject/"+objectID(m)+"/addMessage" {
				out = append(out, dig(r.JSON(), "message", "messageType").(string))
			}
		}
		return out
	}
	for i, text := range []string{"one", "two", "three", "four"} {
		e.clock.Add(time.Hour)
		if _, err := e.store.PostProgramMessage(context.Background(), "demo", text); err != nil {
			t.Fatal(err)
		}
		e.mustDeliver(t, m)
		if got := len(types()); got != i+1 {
			t.Fatalf("after message %d: %d messages added, want %d", i+1, got, i+1)
		}
	}
	want := []string{"TEXT_AND_NOTIFY", "TEXT_AND_NOTIFY", "TEXT_AND_NOTIFY", "TEXT"}
	if got := types(); !slices.Equal(got, want) {
		t.Errorf("message types = %q, want %q", got, want)
	}

	// 24 hours after the first notification the budget has room again.
	e.clock.Add(21*time.Hour + time.Second)
	if _, err := e.store.PostProgramMessage(context.Background(), "demo", "five"); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(t, m)
	if got := types(); len(got) != 5 || got[4] != "TEXT_AND_NOTIFY" {
		t.Errorf("message types = %q, want the fifth notifying again", got)
	}
	st, err := e.store.GoogleCard(context.Background(), m.ID, e.clock.Now().Add(-24*time.Hour))
	if err != nil || len(st.Notified) != 3 {
		t.Errorf("GoogleCard().Notified = %v, %v, want the 3 notifications of the last 24 h", st.Notified, err)
	}
}

func TestGoogleRetries(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	e.mustDeliver(t, m)
	e.post(t, m, balances.Earn, 40)

	// The client retries 429 and 503 itself.
	e.fake.FailNext(http.StatusTooManyRequests, http.StatusServiceUnavailable)
	reqs := e.mustDeliver(t, m)
	var statuses []int
	for _, r := range reqs {
		statuses = append(statuses, r.Status)
	}
	if want := []int{429, 503, 200}; !slices.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v", statuses, want)
	}
	if got := dig(e.fake.Object(objectID(m)), "loyaltyPoints", "balance", "int"); got != float64(40) && got != "40" {
		t.Errorf("balance after retries = %v, want 40", got)
	}

	// When Google stays down, the engine is asked to retry later, and
	// delivers once Google is back.
	e.post(t, m, balances.Earn, 2)
	e.fake.SetUnavailable(true)
	_, err := e.deliver(t, m)
	var re *cardsync.RetryError
	if !errors.As(err, &re) || errors.Is(err, cardsync.ErrPermanent) {
		t.Fatalf("Deliver(Google down) = %v, want a *RetryError", err)
	}
	eng, err := cardsync.New(cardsync.Config{Store: e.store, Now: e.clock.Now,
		Channels: map[string]cardsync.Deliverer{loyalty.ChannelGoogle: e.g}, BackoffBase: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := eng.RunOnce(ctx, loyalty.ChannelGoogle, e.g); n != 1 || err != nil {
		t.Fatalf("RunOnce() = %d, %v, want 1 card", n, err)
	}
	st := syncState(t, e.store, m.ID)
	if st.State != loyalty.SyncPending || st.Attempts != 1 || !strings.Contains(st.LastError, "503") {
		t.Errorf("sync state while Google is down = %+v, want pending after 1 attempt with the 503", st)
	}
	e.fake.SetUnavailable(false)
	e.clock.Add(time.Minute)
	if n, err := eng.RunOnce(ctx, loyalty.ChannelGoogle, e.g); n != 1 || err != nil {
		t.Fatalf("RunOnce() = %d, %v, want 1 card", n, err)
	}
	if st := syncState(t, e.store, m.ID); st.State != loyalty.SyncOK || st.SyncedVersion != st.WantedVersion {
		t.Errorf("sync state once Google is back = %+v, want ok", st)
	}
	if got := dig(e.fake.Object(objectID(m)), "loyaltyPoints", "balance", "int"); got != float64(42) && got != "42" {
		t.Errorf("balance once Google is back = %v, want 42", got)
	}
	if e.retries.Load() == 0 {
		t.Error("the client never backed off")
	}
}

func syncState(t *testing.T, st *store.Store, memberID string) loyalty.SyncState {
	t.Helper()
	states, err := st.SyncStates(context.Background(), memberID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Channel == loyalty.ChannelGoogle {
			return s
		}
	}
	t.Fatalf("no google sync state for %s", memberID)
	return loyalty.SyncState{}
}

func TestGoogleClassRetriedAfterFailedStart(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada")
	e.fake.SetUnavailable(true)
	if err := e.g.UpsertClasses(context.Background()); err == nil {
		t.Fatal("UpsertClasses(Google down) = nil, want an error")
	}
	e.fake.SetUnavailable(false)
	// Within the class retry pause, deliveries wait without calling Google.
	reqs, err := e.deliver(t, m)
	var re *cardsync.RetryError
	if !errors.As(err, &re) || len(reqs) != 0 {
		t.Fatalf("Deliver() right after a failed class upsert = %v with %q, want a *RetryError and no call", err, lines(reqs))
	}
	e.clock.Add(time.Minute)
	e.mustDeliver(t, m)
	if e.fake.Class(classID) == nil || e.fake.Object(objectID(m)) == nil {
		t.Error("class or object missing once Google answered again")
	}
}

func TestGoogleErase(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	m := e.enroll(t, "Ada Lovelace")
	e.post(t, m, balances.Earn, 1500)
	e.mustDeliver(t, m)
	if _, err := e.store.PostProgramMessage(context.Background(), "demo", "hello"); err != nil {
		t.Fatal(err)
	}
	e.mustDeliver(t, m)

	if err := e.store.EraseMember(context.Background(), m.ID); err != nil {
		t.Fatal(err)
	}
	reqs := e.mustDeliver(t, m)
	if _, ok := find(reqs, "PUT", "loyaltyObject/"+objectID(m)); !ok {
		t.Fatalf("requests = %q, want a PUT replacing the object", lines(reqs))
	}
	obj := e.fake.Object(objectID(m))
	if obj["state"] != "INACTIVE" {
		t.Errorf("state = %v, want INACTIVE", obj["state"])
	}
	for k := range obj {
		if k != "id" && k != "classId" && k != "state" {
			t.Errorf("retired object keeps %q = %v", k, obj[k])
		}
	}
}

func TestGoogleProgram(t *testing.T) {
	t.Parallel()
	cat, err := loyalty.LoadCatalog(loyalty.TemplateSource{Name: "templates", FS: templates.FS, Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cat.Get("demo")
	gp := cards.GoogleProgram(p, testPublicURL+"/")
	if gp.ID != "demo" || gp.Name != "Demo Coffee Rewards" || gp.IssuerName != "Demo Coffee Co." ||
		gp.BackgroundColor != "#3b2f2f" || gp.Language != "en" {
		t.Errorf("GoogleProgram(demo) = %+v", gp)
	}
	if want := testPublicURL + "/programs/demo/logo.png?v=" + p.Hash; gp.LogoURL != want {
		t.Errorf("LogoURL = %q, want %q", gp.LogoURL, want)
	}
	if want := testPublicURL + "/programs/demo/hero.png?v=" + p.Hash; gp.HeroURL != want {
		t.Errorf("HeroURL = %q, want %q", gp.HeroURL, want)
	}
	if gp.Names["fr"] != "Demo Coffee Fidélité" || !strings.HasPrefix(gp.Terms["fr"], "Les points") || !strings.HasPrefix(gp.Terms["en"], "Points have") {
		t.Errorf("GoogleProgram(demo) names %v, terms %v", gp.Names, gp.Terms)
	}
	logo, ok := cards.GoogleImage(p, cards.GoogleLogo)
	if !ok || string(logo) != string(p.Files["logo@3x.png"]) {
		t.Errorf("GoogleImage(logo) = %d bytes, %v, want logo@3x.png", len(logo), ok)
	}
	if _, ok := cards.GoogleImage(p, "other.png"); ok {
		t.Error("GoogleImage(other.png) found an image")
	}
}

func TestNewGoogleWantsHTTPS(t *testing.T) {
	t.Parallel()
	e := newGoogleEnv(t)
	_, err := cardsync.NewGoogle(cardsync.GoogleConfig{Client: e.client, Store: e.store, Programs: e.programs,
		Secret: testSecret, PublicURL: "http://localhost:8080"})
	if err == nil {
		t.Error("NewGoogle(http public URL) = nil error, want one")
	}
}
