package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
)

// queryer is what reads need from *sql.DB and *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateMember stores a new member with its account and its first consent
// record (m.MarketingOptIn from m.ConsentSource, at m.CreatedAt), and marks
// the new card dirty on both channels so the sync engine creates it
// (Google object). The member's time-driven work (birthday, dormancy) is
// due for a first look at m.CreatedAt. A zero m.CreatedAt is set to now; a.PassVersion below 1
// is taken as 1. A taken member number, member ID or (program, external
// ID) is ErrDuplicate (the external ID: loyalty.ErrExternalIDTaken); the
// caller draws another number.
func (s *Store) CreateMember(ctx context.Context, m loyalty.Member, a Account) error {
	now := s.clock()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if a.PassVersion < 1 {
		a.PassVersion = 1
	}
	var externalID any
	if m.ExternalID != "" {
		externalID = m.ExternalID
	}
	var birthdayDue, dormantCheck any
	if m.ErasedAt == nil {
		dormantCheck = m.CreatedAt.UTC().Truncate(time.Microsecond)
		if m.Birthday != "" {
			birthdayDue = dormantCheck
		}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO members (id, program, number, name, email, birthday, external_id, auth_token, created_at, erased_at,
				marketing_opt_in, name_lc, email_lc, referral_code, referred_by, birthday_due_at, dormant_check_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			m.ID, m.Program, m.Number, m.Name, m.Email, m.Birthday, externalID, m.AuthToken,
			m.CreatedAt.UTC().Truncate(time.Microsecond), nullTime(m.ErasedAt),
			m.MarketingOptIn, strings.ToLower(m.Name), strings.ToLower(m.Email),
			nullString(m.ReferralCode), nullString(m.ReferredBy), birthdayDue, dormantCheck)
		if name, ok := uniqueViolation(err); ok {
			switch {
			case strings.Contains(name, "referral_code"):
				return fmt.Errorf("referral code %s taken: %w", m.ReferralCode, ErrDuplicate)
			case strings.Contains(name, "external_id"):
				return fmt.Errorf("external id %q in program %q: %w", m.ExternalID, m.Program, loyalty.ErrExternalIDTaken)
			case strings.Contains(name, "number"):
				return fmt.Errorf("member number %s taken: %w", m.Number, ErrDuplicate)
			default:
				return fmt.Errorf("member id %s taken: %w", m.ID, ErrDuplicate)
			}
		}
		if err != nil {
			return fmt.Errorf("insert member: %w", err)
		}
		if err := s.bumpSeq(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`
			INSERT INTO accounts (member_id, points, lifetime, qualifying, tier, pass_version, pass_modified, update_seq, erased, last_activity_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, {{next_seq}}, $8, $9)`),
			m.ID, a.Points, a.Lifetime, a.Qualifying, a.Tier, a.PassVersion, now.Unix(), m.ErasedAt != nil,
			m.CreatedAt.UTC().Truncate(time.Microsecond)); err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.newCards, m.ID, a.PassVersion, now); err != nil {
			return fmt.Errorf("insert card sync: %w", err)
		}
		if err := emit(ctx, tx, m.ID, loyalty.EventMemberEnrolled, profileEvent(m), now); err != nil {
			return err
		}
		if m.WelcomeBonus > 0 {
			e, err := insertBonus(ctx, tx, m.ID, m.WelcomeBonus, a.Points, balances.ReasonWelcome, m.CreatedAt.UTC().Truncate(time.Microsecond))
			if err != nil {
				return err
			}
			if err := insertLot(ctx, tx, m.WelcomeExpiry, e); err != nil {
				return err
			}
		}
		return addConsent(ctx, tx, m.ID, m.MarketingOptIn, m.ConsentSource, m.CreatedAt.UTC().Truncate(time.Microsecond))
	})
	if err != nil {
		return fmt.Errorf("create member: %w", err)
	}
	return nil
}

// insertBonus writes a bonus entry of points with its reason, and its
// transaction.posted event, in tx; the caller updates the account to
// balanceAfter in the same transaction.
func insertBonus(ctx context.Context, tx *sql.Tx, memberID string, points, balanceAfter int64, reason string, now time.Time) (Entry, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Entry{}, fmt.Errorf("entry id: %w", err)
	}
	e := Entry{ID: id.String(), MemberID: memberID, Type: balances.Bonus, Points: points, BalanceAfter: balanceAfter,
		CreatedAt: now, OccurredAt: now, BasePoints: points, Reason: reason}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO entries (id, member_id, type, points, balance_after, reference, created_at,
			base_points, bonus_points, campaign_id, occurred_at, reason)
		VALUES ($1, $2, $3, $4, $5, '', $6, $4, 0, '', $6, $7)`,
		e.ID, memberID, string(balances.Bonus), points, balanceAfter, now, reason); err != nil {
		return Entry{}, fmt.Errorf("insert %s bonus: %w", reason, err)
	}
	if err := emit(ctx, tx, memberID, loyalty.EventTransactionPosted, loyalty.NewTransactionJSON(e), now); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// insertLot inserts, in tx, the lot of a credit entry e in a programme
// whose expiry rule is x; without a rule, or for an entry that is no lot,
// it does nothing.
func insertLot(ctx context.Context, tx *sql.Tx, x *balances.Expiry, e Entry) error {
	if x == nil || !balances.CreatesLot(e.Type, e.Points) {
		return nil
	}
	l := x.NewLot(e.ID, e.Points, e.OccurredAt)
	if _, err := tx.ExecContext(ctx, lotInsertSQL("$1", "$2", "$3", "$4", "$5", "$6"),
		l.ID, e.MemberID, l.Points, l.EarnedAt, l.ExpiresAt, nullTime(&l.RemindAt)); err != nil {
		return fmt.Errorf("insert lot: %w", err)
	}
	return nil
}

// memberSelect reads a MemberRow; scanMember reads its columns. The next
// lot to expire is found in the order balances.SortLots spends lots
// (expiry, sale, id), through lots_member.
const memberSelect = `
	SELECT m.id, m.program, m.number, m.name, m.email, m.birthday, COALESCE(m.external_id, ''), m.auth_token,
	       m.created_at, m.erased_at,
	       a.points, a.lifetime, a.qualifying, a.tier, a.pass_version, a.pass_modified, a.update_seq,
	       COALESCE(pm.text, ''),
	       m.marketing_opt_in, a.last_activity_at,
	       m.message, m.message_at, pm.created_at,
	       COALESCE(p.version, 0), a.vouchers, a.stamps, a.cashback,
	       COALESCE(m.referral_code, ''), COALESCE(m.referred_by, ''),
	       COALESCE(nl.remaining, 0), nl.expires_at, COALESCE(nl.reminded, false), a.dormant_at
	FROM members m JOIN accounts a ON a.member_id = m.id
	LEFT JOIN program_messages pm ON pm.program = m.program
	LEFT JOIN programs p ON p.id = m.program
	LEFT JOIN lots nl ON nl.id = (
		SELECT x.id FROM lots x WHERE x.member_id = m.id AND x.remaining > 0
		ORDER BY x.expires_at, x.earned_at, x.id LIMIT 1)`

func scanMember(row interface{ Scan(...any) error }) (MemberRow, error) {
	var r MemberRow
	var modified int64
	var vouchers string
	var exp loyalty.PointsExpiring
	err := row.Scan(&r.ID, &r.Program, &r.Number, &r.Name, &r.Email, &r.Birthday, &r.ExternalID, &r.AuthToken,
		ts{&r.CreatedAt}, nts{&r.ErasedAt},
		&r.Account.Points, &r.Account.Lifetime, &r.Account.Qualifying, &r.Account.Tier, &r.Account.PassVersion,
		&modified, &r.UpdateSeq, &r.ProgramMessage,
		&r.MarketingOptIn, ts{&r.LastActivityAt},
		&r.MemberMessage, ts{&r.MemberMessageAt}, ts{&r.ProgramMessageAt},
		&r.ProgramVersion, &vouchers, &r.Account.Stamps, &r.Account.Cashback,
		&r.ReferralCode, &r.ReferredBy,
		&exp.Points, ts{&exp.At}, &exp.Reminded, ts{&r.DormantAt})
	if errors.Is(err, sql.ErrNoRows) {
		return MemberRow{}, loyalty.ErrMemberNotFound
	}
	if err != nil {
		return MemberRow{}, err
	}
	if r.Vouchers, err = decodeOpenVouchers(vouchers); err != nil {
		return MemberRow{}, err
	}
	if exp.Points > 0 {
		r.Expiring = &exp
	}
	r.PassModified = time.Unix(modified, 0).UTC()
	return r, nil
}

func (s *Store) memberWhere(ctx context.Context, q queryer, where string, args ...any) (MemberRow, error) {
	r, err := scanMember(q.QueryRowContext(ctx, memberSelect+" WHERE "+where, args...))
	if err != nil {
		return MemberRow{}, translate(err)
	}
	return r, nil
}

// Member answers the member with the given ID and its account. Erased
// members are returned too, with ErasedAt set; callers decide. An unknown ID
// is loyalty.ErrMemberNotFound.
func (s *Store) Member(ctx context.Context, id string) (MemberRow, error) {
	var r MemberRow
	var err error
	if s.members != nil {
		r, err = s.members.read(ctx, id)
		err = translate(err)
	} else {
		r, err = s.memberWhere(ctx, s.rd, "m.id = $1", id)
	}
	if err != nil {
		return MemberRow{}, fmt.Errorf("member %s: %w", id, err)
	}
	return r, nil
}

// MemberByNumber answers the member with the given member number, like
// Member.
func (s *Store) MemberByNumber(ctx context.Context, number string) (MemberRow, error) {
	r, err := s.memberWhere(ctx, s.rd, "m.number = $1", number)
	if err != nil {
		return MemberRow{}, fmt.Errorf("member number %s: %w", number, err)
	}
	return r, nil
}

// MemberByExternalID answers the member of a program with the given
// external ID (the merchant's own customer ID), like Member. Erased members
// lose their external ID, so they are not found this way.
func (s *Store) MemberByExternalID(ctx context.Context, program, externalID string) (MemberRow, error) {
	if externalID == "" {
		return MemberRow{}, fmt.Errorf("member by external id: empty id: %w", loyalty.ErrMemberNotFound)
	}
	r, err := s.memberWhere(ctx, s.rd, "m.program = $1 AND m.external_id = $2", program, externalID)
	if err != nil {
		return MemberRow{}, fmt.Errorf("member external id %q: %w", externalID, err)
	}
	return r, nil
}

// touchAccount bumps a live member's pass version, pass modified time and
// update sequence (and transaction id, on PostgreSQL) in tx, and marks the card dirty on both channels. erase
// also flags the account erased. An unknown or erased member is
// loyalty.ErrMemberNotFound.
func (s *Store) touchAccount(ctx context.Context, tx *sql.Tx, memberID string, now time.Time, erase bool) error {
	if err := s.bumpSeq(ctx, tx); err != nil {
		return err
	}
	var version int64
	err := tx.QueryRowContext(ctx, s.q(`
		UPDATE accounts SET
			pass_version = pass_version + 1,
			pass_modified = CASE WHEN pass_modified + 1 > $2 THEN pass_modified + 1 ELSE $2 END,
			{{set_update_seq}},
			erased = $3
		WHERE member_id = $1 AND NOT erased
		RETURNING pass_version`),
		memberID, now.Unix(), erase).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return loyalty.ErrMemberNotFound
	}
	if err != nil {
		return fmt.Errorf("bump pass version: %w", err)
	}
	return s.markDirty(ctx, tx, memberID, version, now)
}

// markDirty raises the wanted version of a member's card on both channels.
// A row that is already waiting keeps its due time, so a burst of changes
// coalesces into one delivery without postponing it forever; a row in error
// goes back to pending.
func (s *Store) markDirty(ctx context.Context, tx *sql.Tx, memberID string, version int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, markDirtySQL("$1", "$2", "$3", "$4"),
		memberID, version, now.Add(s.debounce), now)
	if err != nil {
		return fmt.Errorf("mark card dirty: %w", err)
	}
	return nil
}

// markDirtySQL is the one statement that raises a card's wanted version on
// both channels, written with the caller's placeholders for the member id,
// the new version, when a card that turns dirty is due, and now. A row
// already waiting keeps its due time (bursts coalesce without postponing
// delivery); a row in error goes back to pending.
func markDirtySQL(memberID, version, due, now string) string {
	return markDirtyFromSQL("", memberID, version, due, now)
}

// markDirtyFromSQL is markDirtySQL for the rows of from, a FROM clause of
// the UPDATE ("" for none) whose columns the other arguments may name: a
// batch marks its cards in one statement (PostgreSQL). from's columns must
// not be named like card_sync's.
func markDirtyFromSQL(from, memberID, version, due, now string) string {
	return `
	UPDATE card_sync SET
		wanted_version = ` + version + `,
		state = 'pending',
		attempts = 0,
		next_attempt_at = CASE WHEN wanted_version > synced_version AND state = 'pending' THEN next_attempt_at ELSE ` + due + ` END,
		dirty_since = CASE WHEN wanted_version > synced_version THEN dirty_since ELSE ` + now + ` END,
		updated_at = ` + now + from + `
	WHERE member_id = ` + memberID
}

// addEvent records an event in tx.
func addEvent(ctx context.Context, tx *sql.Tx, memberID, kind string, data any, now time.Time) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", kind, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (member_id, kind, data, created_at) VALUES ($1, $2, $3, $4)`,
		memberID, kind, string(b), now); err != nil {
		return fmt.Errorf("add %s event: %w", kind, err)
	}
	return nil
}

// EraseMember erases a member's personal data (name, email, birthday,
// external ID, the member's own message; a marketing opt-in is withdrawn,
// with a consent record of source "erasure") in one transaction, records
// an "erased" event and bumps the card so the sync engine pushes the
// voided card. The anonymous ledger stays
// and still sums to the balance; the auth token stays so the phone can fetch
// the voided pass. An unknown or already erased member is loyalty.ErrMemberNotFound.
func (s *Store) EraseMember(ctx context.Context, memberID string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error {
		// The account first: it is the member's lock, as in Post.
		if err := s.touchAccount(ctx, tx, memberID, now, true); err != nil {
			return err
		}
		// A member who said yes to marketing is no longer asked: that
		// change is kept like any other.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO consents (member_id, opt_in, source, created_at)
			SELECT id, $2, $3, $4 FROM members WHERE id = $1 AND marketing_opt_in`,
			memberID, false, loyalty.ConsentErasure, now); err != nil {
			return fmt.Errorf("record consent: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE members SET name = '', email = '', birthday = '', external_id = NULL, erased_at = $2,
				name_lc = '', email_lc = '', marketing_opt_in = $3, message = '', message_at = NULL
			WHERE id = $1`, memberID, now, false); err != nil {
			return fmt.Errorf("clear personal data: %w", err)
		}
		if err := addEvent(ctx, tx, memberID, "erased", struct{}{}, now); err != nil {
			return err
		}
		return s.eraseWebhookData(ctx, tx, memberID, now)
	})
	if err != nil {
		return fmt.Errorf("erase member %s: %w", memberID, err)
	}
	return nil
}

// TouchMember bumps a member's pass version and marks the card dirty without
// a ledger entry (a refresh, a profile edit), and answers the member as
// changed. An unknown or erased member is loyalty.ErrMemberNotFound.
func (s *Store) TouchMember(ctx context.Context, memberID string) (MemberRow, error) {
	now := s.clock()
	var r MemberRow
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.touchAccount(ctx, tx, memberID, now, false); err != nil {
			return err
		}
		var err error
		r, err = s.memberWhere(ctx, tx, "m.id = $1", memberID)
		return err
	})
	if err != nil {
		return MemberRow{}, fmt.Errorf("touch member %s: %w", memberID, err)
	}
	return r, nil
}

// TouchProgram bumps the card of every live member of a program, as
// TouchMember does for one, and answers how many cards it touched.
func (s *Store) TouchProgram(ctx context.Context, program string) (int64, error) {
	now := s.clock()
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.touchProgram(ctx, tx, program, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("touch program %s: %w", program, err)
	}
	return n, nil
}

// touchProgram is TouchProgram in tx: one statement per table.
func (s *Store) touchProgram(ctx context.Context, tx *sql.Tx, program string, now time.Time) (int64, error) {
	return s.touchCards(ctx, tx, func(col string) string {
		return col + " IN (SELECT id FROM members WHERE program = $1 AND erased_at IS NULL)"
	}, program, now)
}

// touchCards bumps the cards of many members in tx, as touchAccount does
// for one, in one statement per table, and answers how many it bumped.
// in answers the SQL that tests a member id column against the members to
// bump, with arg bound as $1; erased members are never bumped.
func (s *Store) touchCards(ctx context.Context, tx *sql.Tx, in func(col string) string, arg any, now time.Time) (int64, error) {
	if err := s.bumpSeq(ctx, tx); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.q(`
		UPDATE accounts SET
			pass_version = pass_version + 1,
			pass_modified = CASE WHEN pass_modified + 1 > $2 THEN pass_modified + 1 ELSE $2 END,
			{{set_update_seq}}
		WHERE `+in("member_id")+` AND NOT erased`),
		arg, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("bump pass versions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("bump pass versions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, markManyDirtySQL(in("card_sync.member_id")+" AND NOT a.erased"),
		arg, now.Add(s.debounce), now); err != nil {
		return 0, fmt.Errorf("mark cards dirty: %w", err)
	}
	return n, nil
}

// markManyDirtySQL raises the wanted version of the cards whose member_id
// passes cond to their account's pass version, on both channels, with
// markDirtySQL's rules; $2 is when a card that turns dirty is due and $3
// now, cond may use $1.
func markManyDirtySQL(cond string) string {
	return `
		UPDATE card_sync SET
			wanted_version = a.pass_version,
			state = 'pending',
			attempts = 0,
			next_attempt_at = CASE WHEN wanted_version > synced_version AND state = 'pending' THEN next_attempt_at ELSE $2 END,
			dirty_since = CASE WHEN wanted_version > synced_version THEN dirty_since ELSE $3 END,
			updated_at = $3
		FROM accounts a
		WHERE a.member_id = card_sync.member_id AND ` + cond
}

// SetProgramMessage stores the merchant message shown on every card of a
// program, replacing the previous one, without touching the cards; see
// PostProgramMessage.
func (s *Store) SetProgramMessage(ctx context.Context, program, text string) error {
	now := s.clock()
	err := s.write(ctx, func(tx *sql.Tx) error { return setProgramMessage(ctx, tx, program, text, now) })
	if err != nil {
		return fmt.Errorf("set program %s message: %w", program, err)
	}
	return nil
}

func setProgramMessage(ctx context.Context, tx *sql.Tx, program, text string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO program_messages (program, text, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (program) DO UPDATE SET text = excluded.text, created_at = excluded.created_at`,
		program, text, now)
	if err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	return nil
}

// PostProgramMessage stores a program's merchant message and, in the same
// transaction, touches every live card of the program (which the sync
// engine then pushes) and records a "message" event for each member. It
// answers the number of cards touched.
func (s *Store) PostProgramMessage(ctx context.Context, program, text string) (int64, error) {
	now := s.clock()
	data, err := json.Marshal(struct {
		Text string `json:"text"`
	}{text})
	if err != nil {
		return 0, fmt.Errorf("post program %s message: %w", program, err)
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := setProgramMessage(ctx, tx, program, text, now); err != nil {
			return err
		}
		var err error
		if n, err = s.touchProgram(ctx, tx, program, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO events (member_id, kind, data, created_at)
			SELECT id, 'message', $2, $3 FROM members WHERE program = $1 AND erased_at IS NULL`,
			program, string(data), now); err != nil {
			return fmt.Errorf("add message events: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("post program %s message: %w", program, err)
	}
	return n, nil
}

// ProgramMessage answers a program's current merchant message and when it
// was posted. A program without a message answers "" and the zero time.
func (s *Store) ProgramMessage(ctx context.Context, program string) (text string, at time.Time, err error) {
	err = s.rd.QueryRowContext(ctx, `SELECT text, created_at FROM program_messages WHERE program = $1`, program).
		Scan(&text, ts{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("program %s message: %w", program, translate(err))
	}
	return text, at, nil
}

// nullString is NULL for "" and s otherwise.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MemberByReferralCode answers the member of a program with the given
// referral code, like Member.
func (s *Store) MemberByReferralCode(ctx context.Context, program, code string) (MemberRow, error) {
	r, err := s.memberWhere(ctx, s.rd, "m.program = $1 AND m.referral_code = $2", program, code)
	if err != nil {
		return MemberRow{}, fmt.Errorf("member referral code %q: %w", code, err)
	}
	return r, nil
}
