package api

import (
	"strconv"

	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The programme figures' part of the OpenAPI document (openapi.go).

func statsPaths() map[string]map[string]op {
	day := func(name, what string) obj {
		return obj{"name": name, "in": "query", "description": what, "schema": obj{"type": "string", "format": "date"}}
	}
	return map[string]map[string]op{
		"/api/v1/programs/{program}/stats": {"get": {
			id: "programStats", summary: "A programme's figures", role: loyalty.RoleMerchant,
			params: []obj{ref("parameters", "Program"),
				day("from", "First day of the window (YYYY-MM-DD, programme timezone); default "+strconv.Itoa(loyalty.DefaultStatsDays-1)+" days before `to`."),
				day("to", "Last day of the window, included; default today in the programme's timezone.")},
			description: "`members`, `members_active_30d` (a ledger entry or the enrolment in the last " + strconv.Itoa(loyalty.ActiveDays) + " days), `cards_installed` (Apple: members with at least one registered device; Google: cards saved) and `points.outstanding` (the sum of live members' balances: the programme's liability) are figures of now. " +
				"`points.issued` (positive entries but expiry), `points.redeemed`, `points.expired`, `vouchers` and `enrolments_by_day` (every day of the window, zeros included) are those of the window, counted at the time of the sale (`occurred_at`); `redemption_rate` is redeemed / issued in the window (0 when nothing was issued). " +
				"The window is at most " + strconv.Itoa(loyalty.MaxStatsDays) + " days; `from` after `to`, or a bad date, is 422 `validation_failed`. Figures are exact at once: they come from counters written with each change, not from scanning the ledger.",
			ok:    map[int]obj{200: okJSON("The figures.", schemaRef("ProgramStats"))},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}},
	}
}

func statsSchemas() obj {
	count := obj{"type": "integer", "minimum": 0}
	counts := func(names ...string) obj {
		props := obj{}
		for _, n := range names {
			props[n] = count
		}
		return obj{"type": "object", "required": names, "properties": props}
	}
	return obj{"ProgramStats": obj{
		"type":     "object",
		"required": []string{"members", "members_active_30d", "cards_installed", "points", "redemption_rate", "vouchers", "enrolments_by_day"},
		"properties": obj{
			"members": count, "members_active_30d": count,
			"cards_installed": counts("apple", "google"),
			"points":          counts("issued", "redeemed", "expired", "outstanding"),
			"redemption_rate": obj{"type": "number", "minimum": 0},
			"vouchers":        counts("issued", "used"),
			"enrolments_by_day": obj{"type": "array", "items": obj{
				"type": "object", "required": []string{"date", "count"},
				"properties": obj{"date": obj{"type": "string", "format": "date"}, "count": count},
			}},
		},
	}}
}
