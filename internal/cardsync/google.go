package cardsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/passd/passd/googlewallet"
	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/store"
)

// GoogleConfig holds the Google channel's dependencies.
type GoogleConfig struct {
	Client   *googlewallet.Client
	Store    *store.Store
	Programs *loyalty.Catalog
	// Secret keys the barcode token, the same as on the Apple card.
	Secret []byte
	// PublicURL is passd's external https base URL; the class images are
	// served under it.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock of the notification budget; time.Now when nil.
	Now func() time.Time
}

// Google delivers a card on the google channel: it inserts or patches the
// member's loyalty object (name, number, barcode, points, tier, state, the
// card's current merchant message), turns new merchant messages and tier upgrades
// into object messages that notify the phone while Google's budget of 3
// notifications per card per 24 h allows (silently after that), and retires
// an erased member's object. Google syncs the object to phones itself.
type Google struct {
	client    *googlewallet.Client
	store     *store.Store
	programs  *loyalty.Catalog
	secret    []byte
	publicURL string
	log       *slog.Logger
	now       func() time.Time

	// classMu serializes class upserts so that a burst of deliveries after
	// a failed start-up upsert costs Google one upsert, not one per card.
	classMu    sync.Mutex
	classes    map[string]string    // program id -> template hash Google holds
	classFails map[string]time.Time // program id -> last failed upsert
}

// classRetry is how long a failed class upsert is not retried; deliveries
// meanwhile ask the engine to retry later.
const classRetry = 10 * time.Second

// permissionRetry is the least wait after Google refused the service
// account: an operator has to fix the console, which takes a while.
const permissionRetry = 5 * time.Minute

// NewGoogle returns the google channel.
func NewGoogle(cfg GoogleConfig) (*Google, error) {
	if cfg.Client == nil || cfg.Store == nil || cfg.Programs == nil || len(cfg.Secret) == 0 {
		return nil, errors.New("cardsync: the google channel needs a client, a store, the programs and the secret")
	}
	if u, err := url.Parse(cfg.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("cardsync: google channel: public URL %q must be https: Google fetches the program logo from it", cfg.PublicURL)
	}
	g := &Google{
		client: cfg.Client, store: cfg.Store, programs: cfg.Programs, secret: cfg.Secret,
		publicURL: cfg.PublicURL, log: cfg.Logger, now: cfg.Now,
		classes: map[string]string{}, classFails: map[string]time.Time{},
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// UpsertClasses makes every program's loyalty class match its template,
// answering the failures joined. A program whose upsert fails is tried
// again by the first delivery of one of its cards.
func (g *Google) UpsertClasses(ctx context.Context) error {
	var errs []error
	for _, id := range g.programs.IDs() {
		p, err := g.programs.Get(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := g.ensureClass(ctx, p, true); err != nil {
			errs = append(errs, fmt.Errorf("program %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ensureClass upserts p's class unless Google already holds this version
// of the template. Unless force is set, a class whose upsert failed less
// than classRetry ago is not tried again.
func (g *Google) ensureClass(ctx context.Context, p *loyalty.Program, force bool) error {
	g.classMu.Lock()
	defer g.classMu.Unlock()
	if g.classes[p.ID] == p.Hash {
		return nil
	}
	if at, failed := g.classFails[p.ID]; failed && !force && g.now().Sub(at) < classRetry {
		return &RetryError{Err: fmt.Errorf("class of program %s not upserted yet", p.ID), After: classRetry}
	}
	if err := g.client.UpsertClass(ctx, cards.GoogleProgram(p, g.publicURL)); err != nil {
		g.classFails[p.ID] = g.now()
		return err
	}
	delete(g.classFails, p.ID)
	g.classes[p.ID] = p.Hash
	return nil
}

// SyncClass brings programme p's class up to date now (after a change to
// the programme), whatever Google was last sent.
func (g *Google) SyncClass(ctx context.Context, p *loyalty.Program) error {
	return g.ensureClass(ctx, p, true)
}

// forgetClass makes the next delivery upsert p's class again (Google said
// it is missing).
func (g *Google) forgetClass(programID string) {
	g.classMu.Lock()
	defer g.classMu.Unlock()
	delete(g.classes, programID)
}

// Deliver brings the member's Google Wallet card up to date.
func (g *Google) Deliver(ctx context.Context, job loyalty.SyncJob) error {
	now := g.now()
	// The Google state and the tier events are read before the member, so
	// a tier change committed meanwhile is seen in a later delivery rather
	// than skipped.
	st, err := g.store.GoogleCard(ctx, job.MemberID, now.Add(-googlewallet.NotificationWindow))
	if err != nil {
		return &RetryError{Err: err}
	}
	tierEvents, err := g.store.EventsAfter(ctx, job.MemberID, "tier_changed", st.TierEventSeq)
	if err != nil {
		return &RetryError{Err: err}
	}
	m, err := g.store.Member(ctx, job.MemberID)
	if errors.Is(err, loyalty.ErrMemberNotFound) {
		return fmt.Errorf("google: member %s: %w", job.MemberID, ErrPermanent)
	}
	if err != nil {
		return &RetryError{Err: err}
	}
	objectID := g.client.ObjectID(m.ID)
	if m.Erased() {
		return googleError(g.log, "retire object", g.client.Retire(ctx, objectID))
	}
	p, err := g.programs.Fresh(ctx, m.Program, m.ProgramVersion)
	if err != nil {
		return fmt.Errorf("google: member %s: %w: %w", m.ID, err, ErrPermanent)
	}
	if err := g.ensureClass(ctx, p, false); err != nil {
		return googleError(g.log, "upsert class", err)
	}
	// The program's message or the member's own, whichever is newer, as
	// the Apple card shows it: read with the member, in one read.
	msg, msgAt := m.CardMessage()

	card := cards.GoogleCard(m, p, msg, g.secret, g.publicURL)
	card.Modules = append(append(append(cards.GoogleBalances(m, p), cards.GoogleVouchers(m, p, now)...),
		cards.GoogleGreeting(m, p, now)...), card.Modules...)
	exists := st.Inserted
	if exists {
		err := g.client.PatchObject(ctx, card)
		switch {
		case errors.Is(err, googlewallet.ErrNotFound):
			exists = false // gone at Google (a new issuer, a lost database): insert it again
		case err != nil:
			return googleError(g.log, "patch object", err)
		}
	}
	if !exists {
		err := g.client.InsertObject(ctx, card)
		if errors.Is(err, googlewallet.ErrNotFound) {
			g.forgetClass(p.ID)
			return &RetryError{Err: fmt.Errorf("google insert object: class missing: %w", err)}
		}
		if err != nil {
			return googleError(g.log, "insert object", err)
		}
	}

	if !st.Inserted {
		// A new card already shows the current message and tier; only what
		// changes from now on becomes an object message.
		st.Inserted = true
		st.MessageAt = msgAt
		if n := len(tierEvents); n > 0 {
			st.TierEventSeq = tierEvents[n-1].Seq
		}
		return storeError(g.store.SaveGoogleCard(ctx, st))
	}

	type pending struct {
		msg   googlewallet.Message
		apply func(*store.GoogleCard)
	}
	var todo []pending
	changed := false // st differs from what the store holds
	if n := len(tierEvents); n > 0 {
		last := tierEvents[n-1]
		apply := func(c *store.GoogleCard) { c.TierEventSeq = last.Seq }
		if to, up := g.upgrade(p, last); up {
			todo = append(todo, pending{cards.GoogleTierMessage(p, last.Seq, to), apply})
		} else {
			apply(&st) // a downgrade or a change of rules: the patched tier says it silently
			changed = true
		}
	}
	if msg != "" && msgAt.After(st.MessageAt) {
		todo = append(todo, pending{cards.GoogleMerchantMessage(p, msgAt, msg), func(c *store.GoogleCard) { c.MessageAt = msgAt }})
	}
	for _, pm := range todo {
		notify := googlewallet.NotifyAllowed(st.Notified, now)
		if err := g.client.AddMessage(ctx, objectID, pm.msg, notify); err != nil {
			if serr := g.store.SaveGoogleCard(ctx, st); serr != nil {
				g.log.Warn("google: save card state", "member_id", m.ID, "err", serr)
			}
			return googleError(g.log, "add message", err)
		}
		if notify {
			st.Notified = append(st.Notified, now)
		} else {
			g.log.Info("google: notification budget used up; message added silently",
				"member_id", m.ID, "message_id", pm.msg.ID)
		}
		pm.apply(&st)
		changed = true
	}
	if !changed {
		// A plain patch (an earn, a redeem): the card's state is as
		// stored, and a write per delivery would cost every earn's
		// transaction a turn of the database's writer.
		return nil
	}
	return storeError(g.store.SaveGoogleCard(ctx, st))
}

// googleError maps a googlewallet failure to the engine's outcomes: 408,
// 429, 5xx and transport failures (already retried by the client, which
// holds every call back after a 429) are retried later with the engine's
// backoff, no sooner than Google's Retry-After; a refused service account is
// retried slowly and logged loudly; input Google rejects is permanent;
// anything else is retried until the engine gives up.
func googleError(log *slog.Logger, op string, err error) error {
	if err == nil {
		return nil
	}
	var re *RetryError
	if errors.As(err, &re) {
		return err
	}
	err = fmt.Errorf("google %s: %w", op, err)
	switch {
	case googlewallet.IsRetryable(err):
		return &RetryError{Err: err, After: googlewallet.RetryAfter(err)}
	case errors.Is(err, googlewallet.ErrPermissionDenied):
		log.Error("GOOGLE WALLET REFUSED THE SERVICE ACCOUNT: cards are not reaching Android phones; invite the service account as Developer in the Pay & Wallet Console and check PASSD_GOOGLE_ISSUER_ID",
			"op", op, "err", err)
		return &RetryError{Err: err, After: permissionRetry}
	case errors.Is(err, googlewallet.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

// storeError asks for a retry when the card's state could not be saved.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	return &RetryError{Err: err}
}

// upgrade reports whether a tier_changed event moved the member up the
// program's tiers, and to which tier.
func (g *Google) upgrade(p *loyalty.Program, ev loyalty.Event) (string, bool) {
	var d struct{ From, To string }
	if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
		g.log.Warn("google: unreadable tier_changed event", "member_id", ev.MemberID, "seq", ev.Seq, "err", err)
		return "", false
	}
	return d.To, p.TierUpgrade(d.From, d.To)
}
