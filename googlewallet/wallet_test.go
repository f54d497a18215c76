package googlewallet_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/googlewallet/wallettest"
	"google.golang.org/api/googleapi"
)

var classID = wallettest.IssuerID + ".demo"

func TestUpsertClass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	p := testProgram()

	if err := e.c.UpsertClass(ctx, p); err != nil {
		t.Fatalf("UpsertClass(new) = %v", err)
	}
	reqs := e.seen()
	if got, want := methods(reqs), []string{"GET loyaltyClass/" + classID, "POST loyaltyClass"}; !slices.Equal(got, want) {
		t.Fatalf("UpsertClass(new) requests = %q, want %q", got, want)
	}
	golden(t, "class.golden.json", reqs[1].Body)
	cl := e.fake.Class(classID)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"programName"}, "Demo Rewards"},
		{[]any{"issuerName"}, "Demo Coffee"},
		{[]any{"programLogo", "sourceUri", "uri"}, "https://cdn.passd.example/demo/logo.png"},
		{[]any{"heroImage", "sourceUri", "uri"}, "https://cdn.passd.example/demo/hero.png"},
		{[]any{"hexBackgroundColor"}, "#1a73e8"},
		{[]any{"reviewStatus"}, "UNDER_REVIEW"},
		{[]any{"localizedProgramName", "translatedValues", 0, "language"}, "de"},
		{[]any{"localizedProgramName", "translatedValues", 0, "value"}, "Demo Prämien"},
		{[]any{"textModulesData", 0, "body"}, "Points expire after 12 months."},
		{[]any{"textModulesData", 0, "localizedBody", "translatedValues", 0, "value"}, "Punkte verfallen nach 12 Monaten."},
	} {
		if got := dig(cl, c.path...); got != c.want {
			t.Errorf("class %v = %v, want %v", c.path, got, c.want)
		}
	}

	// Google approves the class and decorates what it returns; that is not a
	// change worth a PUT.
	cl["reviewStatus"] = "APPROVED"
	cl["kind"] = "walletobjects#loyaltyClass"
	cl["localizedProgramName"].(map[string]any)["kind"] = "walletobjects#localizedString"
	e.fake.SetClass(cl)
	if err := e.c.UpsertClass(ctx, p); err != nil {
		t.Fatalf("UpsertClass(unchanged) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Errorf("UpsertClass(unchanged) requests = %q, want %q", got, want)
	}

	p.Name = "Demo Rewards+"
	p.BackgroundColor = "#000000"
	if err := e.c.UpsertClass(ctx, p); err != nil {
		t.Fatalf("UpsertClass(changed) = %v", err)
	}
	reqs = e.seen()
	if got, want := methods(reqs), []string{"GET loyaltyClass/" + classID, "PUT loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Fatalf("UpsertClass(changed) requests = %q, want %q", got, want)
	}
	if got := dig(body(t, reqs[1]), "reviewStatus"); got != "UNDER_REVIEW" {
		t.Errorf("update reviewStatus = %v, want UNDER_REVIEW", got)
	}
	cl = e.fake.Class(classID)
	if got := dig(cl, "programName"); got != "Demo Rewards+" {
		t.Errorf("updated programName = %v, want Demo Rewards+", got)
	}
	if got := dig(cl, "hexBackgroundColor"); got != "#000000" {
		t.Errorf("updated hexBackgroundColor = %v, want #000000", got)
	}
}

func TestUpsertClassInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, mod := range map[string]func(*googlewallet.Program){
		"no id":        func(p *googlewallet.Program) { p.ID = "" },
		"no name":      func(p *googlewallet.Program) { p.Name = "" },
		"http logo":    func(p *googlewallet.Program) { p.LogoURL = "http://x/logo.png" },
		"bad colour":   func(p *googlewallet.Program) { p.BackgroundColor = "blue" },
		"no issuer":    func(p *googlewallet.Program) { p.IssuerName = "" },
		"http hero":    func(p *googlewallet.Program) { p.HeroURL = "ftp://x" },
		"short colour": func(p *googlewallet.Program) { p.BackgroundColor = "#12" },
		"no logo":      func(p *googlewallet.Program) { p.LogoURL = "" },
		"http square logo": func(p *googlewallet.Program) {
			p.SquareLogoURL = "http://x/square.png"
		},
	} {
		p := testProgram()
		mod(&p)
		if err := e.c.UpsertClass(t.Context(), p); !errors.Is(err, googlewallet.ErrInvalid) {
			t.Errorf("UpsertClass(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if n := len(e.seen()); n != 0 {
		t.Errorf("invalid programs sent %d requests, want 0", n)
	}
}

// TestUpsertClassSquareLogo gives an existing class a square logo: it
// replaces the wide logo as programLogo, and the class is updated.
func TestUpsertClassSquareLogo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	p := testProgram()
	p.SquareLogoURL = "https://cdn.passd.example/demo/square.png"
	if err := e.c.UpsertClass(t.Context(), p); err != nil {
		t.Fatalf("UpsertClass(square logo) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyClass/" + classID, "PUT loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Fatalf("UpsertClass(square logo) requests = %q, want %q", got, want)
	}
	if got := dig(e.fake.Class(classID), "programLogo", "sourceUri", "uri"); got != p.SquareLogoURL {
		t.Errorf("programLogo uri = %v, want %s", got, p.SquareLogoURL)
	}

	// The wide logo is not needed once there is a square one.
	p.LogoURL = ""
	if err := e.c.UpsertClass(t.Context(), p); err != nil {
		t.Fatalf("UpsertClass(square logo only) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyClass/" + classID}; !slices.Equal(got, want) {
		t.Errorf("UpsertClass(square logo only) requests = %q, want %q", got, want)
	}
}

func TestInsertObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.withClass(t)
	card := testCard("m-0001")
	id := wallettest.IssuerID + ".m-0001"

	if err := e.c.InsertObject(ctx, card); err != nil {
		t.Fatalf("InsertObject(new) = %v", err)
	}
	reqs := e.seen()
	if got, want := methods(reqs), []string{"POST loyaltyObject"}; !slices.Equal(got, want) {
		t.Fatalf("InsertObject(new) requests = %q, want %q", got, want)
	}
	golden(t, "object.golden.json", reqs[0].Body)
	obj := e.fake.Object(id)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"classId"}, classID},
		{[]any{"state"}, "ACTIVE"},
		{[]any{"accountName"}, "Ada Lovelace"},
		{[]any{"accountId"}, "100-200-300"},
		{[]any{"barcode", "type"}, "QR_CODE"},
		{[]any{"barcode", "value"}, "v1.m-0001.mac"},
		{[]any{"barcode", "alternateText"}, "100-200-300"},
		{[]any{"loyaltyPoints", "label"}, "Points"},
		{[]any{"loyaltyPoints", "balance", "int"}, float64(120)},
		{[]any{"secondaryLoyaltyPoints", "label"}, "Tier"},
		{[]any{"secondaryLoyaltyPoints", "balance", "string"}, "Gold"},
	} {
		if got := dig(obj, c.path...); got != c.want {
			t.Errorf("object %v = %v, want %v", c.path, got, c.want)
		}
	}

	// Inserting again (say after a crash) answers 409 and falls back to a
	// patch carrying the new state.
	card.Points = 90
	if err := e.c.InsertObject(ctx, card); err != nil {
		t.Fatalf("InsertObject(existing) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"POST loyaltyObject", "PATCH loyaltyObject/" + id}; !slices.Equal(got, want) {
		t.Errorf("InsertObject(existing) requests = %q, want %q", got, want)
	}
	if got := dig(e.fake.Object(id), "loyaltyPoints", "balance", "int"); got != float64(90) {
		t.Errorf("balance after InsertObject(existing) = %v, want 90", got)
	}
}

func TestInsertObjectWithoutClass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	err := e.c.InsertObject(t.Context(), testCard("m-1"))
	if !errors.Is(err, googlewallet.ErrNotFound) || googlewallet.IsRetryable(err) {
		t.Errorf("InsertObject(no class) = %v, want ErrNotFound, not retryable", err)
	}
}

func TestPatchObject(t *testing.T) {
	t.Parallel()
	id := wallettest.IssuerID + ".m-7"
	tests := []struct {
		name  string
		mod   func(*googlewallet.Card)
		check func(t *testing.T, sent, stored map[string]any)
	}{
		{
			name: "new balance",
			mod:  func(c *googlewallet.Card) { c.Points = 250 },
			check: func(t *testing.T, sent, stored map[string]any) {
				if got := dig(stored, "loyaltyPoints", "balance", "int"); got != float64(250) {
					t.Errorf("stored balance = %v, want 250", got)
				}
				if got := dig(sent, "classId"); got != nil {
					t.Errorf("patch sent classId %v, want none", got)
				}
				if got := dig(sent, "notifyPreference"); got != nil {
					t.Errorf("silent patch sent notifyPreference %v", got)
				}
			},
		},
		{
			name: "zero balance is on the wire",
			mod:  func(c *googlewallet.Card) { c.Points = 0 },
			check: func(t *testing.T, sent, stored map[string]any) {
				bal, _ := dig(sent, "loyaltyPoints", "balance").(map[string]any)
				if v, ok := bal["int"]; !ok || v != float64(0) {
					t.Errorf("patch balance = %v, want {\"int\":0}", bal)
				}
				if got := dig(stored, "loyaltyPoints", "balance", "int"); got != float64(0) {
					t.Errorf("stored balance = %v, want 0", got)
				}
			},
		},
		{
			name: "notify",
			mod:  func(c *googlewallet.Card) { c.Points = 500; c.Notify = true },
			check: func(t *testing.T, sent, _ map[string]any) {
				if got := dig(sent, "notifyPreference"); got != "NOTIFY_ON_UPDATE" {
					t.Errorf("notifyPreference = %v, want NOTIFY_ON_UPDATE", got)
				}
			},
		},
		{
			name: "tier removed",
			mod:  func(c *googlewallet.Card) { c.Tier = "" },
			check: func(t *testing.T, sent, stored map[string]any) {
				if v, ok := sent["secondaryLoyaltyPoints"]; !ok || v != nil {
					t.Errorf("patch secondaryLoyaltyPoints = %v (present %t), want null", v, ok)
				}
				if _, ok := stored["secondaryLoyaltyPoints"]; ok {
					t.Errorf("stored object still has a tier: %v", stored["secondaryLoyaltyPoints"])
				}
			},
		},
		{
			name: "message module sent whole",
			mod: func(c *googlewallet.Card) {
				c.Message = &googlewallet.Message{ID: "promo.1", Header: "Double points", Body: "All week."}
			},
			check: func(t *testing.T, sent, stored map[string]any) {
				mods, _ := sent["textModulesData"].([]any)
				if len(mods) != 1 || dig(mods, 0, "id") != "promo_1" || dig(mods, 0, "header") != "Double points" {
					t.Errorf("patch textModulesData = %v, want one module promo_1", mods)
				}
			},
		},
		{
			name: "state and barcode",
			mod: func(c *googlewallet.Card) {
				c.State = googlewallet.StateExpired
				c.Barcode = "v2.token"
				c.BarcodeFormat = googlewallet.BarcodePDF417
				c.AltText = "ALT"
			},
			check: func(t *testing.T, _, stored map[string]any) {
				want := map[string]any{"type": "PDF_417", "value": "v2.token", "alternateText": "ALT"}
				if diff := cmp.Diff(want, stored["barcode"]); diff != "" || stored["state"] != "EXPIRED" {
					t.Errorf("stored state %v, barcode diff (-want +got):\n%s", stored["state"], diff)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.withClass(t)
			card := testCard("m-7")
			card.Message = &googlewallet.Message{ID: "old", Header: "Old", Body: "Old module"}
			if err := e.c.InsertObject(t.Context(), card); err != nil {
				t.Fatalf("InsertObject() = %v", err)
			}
			e.seen()
			card.Message = nil
			tc.mod(&card)
			if err := e.c.PatchObject(t.Context(), card); err != nil {
				t.Fatalf("PatchObject() = %v", err)
			}
			reqs := e.seen()
			if got, want := methods(reqs), []string{"PATCH loyaltyObject/" + id}; !slices.Equal(got, want) {
				t.Fatalf("PatchObject() requests = %q, want %q", got, want)
			}
			sent := body(t, reqs[0])
			// Whatever changed, the text modules array goes out whole, so
			// the old module is never left behind by a partial array.
			if _, ok := sent["textModulesData"]; !ok {
				t.Errorf("patch omitted textModulesData: %s", reqs[0].Body)
			}
			stored := e.fake.Object(id)
			if mods, _ := stored["textModulesData"].([]any); card.Message == nil && len(mods) != 0 {
				t.Errorf("stored textModulesData = %v, want the old module gone", mods)
			}
			tc.check(t, sent, stored)
		})
	}
}

func TestPatchObjectMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	err := e.c.PatchObject(t.Context(), testCard("ghost"))
	if !errors.Is(err, googlewallet.ErrNotFound) || googlewallet.IsRetryable(err) {
		t.Errorf("PatchObject(missing) = %v, want ErrNotFound, not retryable", err)
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusNotFound {
		t.Errorf("PatchObject(missing) = %v, want a *googleapi.Error 404 inside", err)
	}
}

func TestPatchObjectInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, mod := range map[string]func(*googlewallet.Card){
		"no member":  func(c *googlewallet.Card) { c.MemberID = "" },
		"no barcode": func(c *googlewallet.Card) { c.Barcode = "" },
		"bad state":  func(c *googlewallet.Card) { c.State = "GONE" },
		"bad format": func(c *googlewallet.Card) { c.BarcodeFormat = "TEXT_ONLY" },
	} {
		card := testCard("m-1")
		mod(&card)
		if err := e.c.PatchObject(t.Context(), card); !errors.Is(err, googlewallet.ErrInvalid) {
			t.Errorf("PatchObject(%s) = %v, want ErrInvalid", name, err)
		}
	}
	card := testCard("m-1")
	card.ProgramID = ""
	if err := e.c.InsertObject(t.Context(), card); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("InsertObject(no program) = %v, want ErrInvalid", err)
	}
}

func TestTierPerMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	tiers := map[string]string{"m-gold": "Gold", "m-silver": "Silver", "m-none": ""}
	for member, tier := range tiers {
		card := testCard(member)
		card.Tier = tier
		if err := e.c.InsertObject(t.Context(), card); err != nil {
			t.Fatalf("InsertObject(%s) = %v", member, err)
		}
	}
	for member, tier := range tiers {
		obj := e.fake.Object(googlewallet.ObjectID(wallettest.IssuerID, member))
		var want any
		if tier != "" {
			want = tier
		}
		if got := dig(obj, "secondaryLoyaltyPoints", "balance", "string"); got != want {
			t.Errorf("%s tier = %v, want %v", member, got, want)
		}
	}
	// The class carries no tier at all: it would apply to every member.
	if got := dig(e.fake.Class(classID), "rewardsTier"); got != nil {
		t.Errorf("class rewardsTier = %v, want none", got)
	}
}

// addMessageTypes returns the messageType of each addMessage request.
func addMessageTypes(t *testing.T, reqs []wallettest.Request) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/addMessage") {
			typ, _ := dig(body(t, r), "message", "messageType").(string)
			out = append(out, typ)
		}
	}
	return out
}

func TestAddMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.withClass(t)
	if err := e.c.InsertObject(ctx, testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	e.seen()
	id := e.c.ObjectID("m-1")

	if err := e.c.AddMessage(ctx, id, googlewallet.Message{ID: "n1", Header: "Gold!", Body: "You reached Gold."}, true); err != nil {
		t.Fatalf("AddMessage(notify) = %v", err)
	}
	if err := e.c.AddMessage(ctx, id, googlewallet.Message{ID: "s1", Header: "Hi", Body: "Silent news."}, false); err != nil {
		t.Fatalf("AddMessage(silent) = %v", err)
	}
	reqs := e.seen()
	want := []string{"GET loyaltyObject/" + id, "POST loyaltyObject/" + id + "/addMessage",
		"GET loyaltyObject/" + id, "POST loyaltyObject/" + id + "/addMessage"}
	if got := methods(reqs); !slices.Equal(got, want) {
		t.Fatalf("AddMessage() requests = %q, want %q", got, want)
	}
	// The read asks for the messages alone, the write's answer for its id.
	if got := reqs[0].Query.Get("fields"); got != "messages" {
		t.Errorf("GET before addMessage asked for fields %q, want messages", got)
	}
	if got := reqs[1].Query.Get("fields"); got != "resource/id" {
		t.Errorf("addMessage asked for fields %q, want resource/id", got)
	}
	if got, want := addMessageTypes(t, reqs), []string{"TEXT_AND_NOTIFY", "TEXT"}; !slices.Equal(got, want) {
		t.Errorf("messageTypes = %q, want %q", got, want)
	}
	if got := dig(body(t, reqs[1]), "message", "header"); got != "Gold!" {
		t.Errorf("message header = %v, want Gold!", got)
	}

	// The same message id again is not posted twice.
	if err := e.c.AddMessage(ctx, id, googlewallet.Message{ID: "n1", Header: "Gold!", Body: "You reached Gold."}, true); err != nil {
		t.Fatalf("AddMessage(repeat) = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyObject/" + id}; !slices.Equal(got, want) {
		t.Errorf("AddMessage(repeat) requests = %q, want %q", got, want)
	}

	for name, m := range map[string]googlewallet.Message{
		"no id":   {Header: "h", Body: "b"},
		"no body": {ID: "x", Header: "h"},
	} {
		if err := e.c.AddMessage(ctx, id, m, false); !errors.Is(err, googlewallet.ErrInvalid) {
			t.Errorf("AddMessage(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if err := e.c.AddMessage(ctx, "999.m-1", googlewallet.Message{ID: "x", Header: "h", Body: "b"}, false); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("AddMessage(other issuer) = %v, want ErrInvalid", err)
	}
	if err := e.c.AddMessage(ctx, e.c.ObjectID("ghost"), googlewallet.Message{ID: "x", Header: "h", Body: "b"}, false); !errors.Is(err, googlewallet.ErrNotFound) {
		t.Errorf("AddMessage(missing object) = %v, want ErrNotFound", err)
	}
}

func TestAddMessageKeepsTen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.withClass(t)
	if err := e.c.InsertObject(ctx, testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	id := e.c.ObjectID("m-1")
	for i := range 11 {
		m := googlewallet.Message{ID: fmt.Sprintf("m%02d", i), Header: "h", Body: "b"}
		if err := e.c.AddMessage(ctx, id, m, false); err != nil {
			t.Fatalf("AddMessage(%s) = %v", m.ID, err)
		}
	}
	reqs := e.seen()
	var patch map[string]any
	for _, r := range reqs {
		if r.Method == http.MethodPatch {
			patch = body(t, r)
		}
	}
	// The trimming patch sends the whole remaining array, nothing else.
	if msgs, _ := patch["messages"].([]any); len(msgs) != 9 || len(patch) != 1 || dig(msgs, 0, "id") != "m01" {
		t.Errorf("trimming patch = %v, want only the 9 newest messages", patch)
	}
	msgs, _ := e.fake.Object(id)["messages"].([]any)
	if len(msgs) != 10 || dig(msgs, 0, "id") != "m01" || dig(msgs, 9, "id") != "m10" {
		t.Errorf("stored messages = %v, want m01..m10", msgs)
	}
}

// TestNotificationBudgetFlow follows what a sync engine does: ask the
// budget, notify if allowed, otherwise post silently.
func TestNotificationBudgetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.withClass(t)
	if err := e.c.InsertObject(ctx, testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	e.seen()
	var sent []time.Time
	now := testNow
	for i := range 4 {
		notify := googlewallet.NotifyAllowed(sent, now)
		m := googlewallet.Message{ID: fmt.Sprint("b", i), Header: "Points", Body: "Balance changed."}
		if err := e.c.AddMessage(ctx, e.c.ObjectID("m-1"), m, notify); err != nil {
			t.Fatal(err)
		}
		if notify {
			sent = append(sent, now)
		}
		now = now.Add(time.Hour)
	}
	want := []string{"TEXT_AND_NOTIFY", "TEXT_AND_NOTIFY", "TEXT_AND_NOTIFY", "TEXT"}
	if got := addMessageTypes(t, e.seen()); !slices.Equal(got, want) {
		t.Errorf("messageTypes = %q, want %q", got, want)
	}
}

func TestRetire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.withClass(t)
	card := testCard("m-erase")
	card.Message = &googlewallet.Message{ID: "welcome", Header: "Welcome", Body: "Hi Ada"}
	if err := e.c.InsertObject(ctx, card); err != nil {
		t.Fatal(err)
	}
	id := e.c.ObjectID("m-erase")
	if err := e.c.AddMessage(ctx, id, googlewallet.Message{ID: "x", Header: "Ada", Body: "Personal"}, false); err != nil {
		t.Fatal(err)
	}
	e.seen()

	if err := e.c.Retire(ctx, id); err != nil {
		t.Fatalf("Retire() = %v", err)
	}
	if got, want := methods(e.seen()), []string{"GET loyaltyObject/" + id, "PUT loyaltyObject/" + id}; !slices.Equal(got, want) {
		t.Errorf("Retire() requests = %q, want %q", got, want)
	}
	want := map[string]any{"id": id, "classId": classID, "state": "INACTIVE"}
	if diff := cmp.Diff(want, e.fake.Object(id)); diff != "" {
		t.Errorf("retired object mismatch (-want +got):\n%s", diff)
	}

	if err := e.c.Retire(ctx, e.c.ObjectID("never-existed")); err != nil {
		t.Errorf("Retire(missing) = %v, want nil", err)
	}
	if err := e.c.Retire(ctx, "not an id"); !errors.Is(err, googlewallet.ErrInvalid) {
		t.Errorf("Retire(bad id) = %v, want ErrInvalid", err)
	}
}

func TestTokenFromTokenURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.withClass(t)
	if err := e.c.InsertObject(t.Context(), testCard("m-1")); err != nil {
		t.Fatal(err)
	}
	// One token for all calls: it is cached, not fetched per request.
	if n := e.fake.TokenRequests(); n != 1 {
		t.Errorf("token endpoint hits = %d, want 1", n)
	}
	// The fake answers 401 to exactly the requests without its bearer
	// token (no failure is injected here).
	badBearer := 0
	for _, r := range e.fake.Requests() {
		if r.Status == http.StatusUnauthorized {
			badBearer++
		}
	}
	if badBearer != 0 {
		t.Errorf("API saw %d requests without the fake bearer token", badBearer)
	}
	a := e.fake.TokenAssertions()[0]
	for k, want := range map[string]any{
		"aud":   e.fake.TokenURL(),
		"iss":   wallettest.Email,
		"scope": "https://www.googleapis.com/auth/wallet_object.issuer",
	} {
		if a[k] != want {
			t.Errorf("token assertion %s = %v, want %v", k, a[k], want)
		}
	}
	if strings.Contains(e.logs.String(), wallettest.AccessToken) || strings.Contains(e.logs.String(), "PRIVATE KEY") {
		t.Errorf("logs contain secrets:\n%s", e.logs.String())
	}
}
