package loyalty

import "time"

// ProgramStats are a programme's figures (GET .../stats, the console's
// dashboard). Points are whole points; From and To bound the days of
// EnrolmentsByDay and the points moved in the window, in the programme's
// timezone.
type ProgramStats struct {
	Members          int64          `json:"members"`
	MembersActive30d int64          `json:"members_active_30d"`
	CardsInstalled   CardsInstalled `json:"cards_installed"`
	Points           PointFigures   `json:"points"`
	RedemptionRate   float64        `json:"redemption_rate"`
	Vouchers         VoucherFigures `json:"vouchers"`
	EnrolmentsByDay  []DayCount     `json:"enrolments_by_day"`
	From             time.Time      `json:"-"`
	To               time.Time      `json:"-"`
}

// CardsInstalled counts the cards on phones per wallet.
type CardsInstalled struct {
	Apple  int64 `json:"apple"`
	Google int64 `json:"google"`
}

// PointFigures are points issued, redeemed and expired, and the points
// outstanding (the sum of balances: the programme's liability).
type PointFigures struct {
	Issued      int64 `json:"issued"`
	Redeemed    int64 `json:"redeemed"`
	Expired     int64 `json:"expired"`
	Outstanding int64 `json:"outstanding"`
}

// VoucherFigures count vouchers issued and used.
type VoucherFigures struct {
	Issued int64 `json:"issued"`
	Used   int64 `json:"used"`
}

// DayCount is one day's count; Date is YYYY-MM-DD in the programme's
// timezone.
type DayCount struct {
	Date  string `json:"date"`
	Count int64  `json:"count"`
}
