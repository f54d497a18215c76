package api

import (
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The campaigns' part of the OpenAPI document (openapi.go).

func campaignPaths() map[string]map[string]op {
	prog := ref("parameters", "Program")
	id := obj{"name": "id", "in": "path", "required": true, "description": "The campaign id.", "schema": obj{"type": "string"}}
	campaign := func(desc string) obj { return okJSON(desc, schemaRef("Campaign")) }
	return map[string]map[string]op{
		"/api/v1/programs/{program}/campaigns": {
			"post": {
				id: "createCampaign", summary: "Start a points campaign", role: loyalty.RoleMerchant, params: []obj{prog},
				description: "A campaign multiplies the points that an `earn` with an `amount` earns while it runs: from `starts_at` (inclusive) to `ends_at` (exclusive), " +
					"on `days_of_week` only (1 = Monday .. 7 = Sunday; absent: every day) and within `local_hours` only (absent: all day), both read in the programme's `timezone` at the sale's `occurred_at`, " +
					"for members holding `min_tier` or a higher tier (absent: everyone; by the tier held before the earn). " +
					"Campaigns do not stack: the highest multiplier running wins (ties: the earliest start, then the smallest id). " +
					"An earn that gives `points` gets them as given, without a campaign. " +
					"Every invalid field is named (422 `validation_failed`): a `multiplier` outside 1.1..10 or with more than one decimal, `ends_at` not after `starts_at`, " +
					"`local_hours` not `HH:MM-HH:MM` with the start before the end (overnight spans are two campaigns), a day outside 1..7, a `min_tier` the programme does not have.",
				body:  schemaRef("CampaignRequest"),
				ok:    map[int]obj{201: campaign("The new campaign.")},
				codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
			},
			"get": {
				id: "listCampaigns", summary: "List a programme's campaigns", role: loyalty.RolePOS, params: []obj{prog},
				description: "Every campaign of the programme, ended ones included (for the history of the earns they multiplied), the latest start first.",
				ok: map[int]obj{200: okJSON("The campaigns.", obj{"type": "object", "required": []string{"items"},
					"properties": obj{"items": obj{"type": "array", "items": schemaRef("Campaign")}}})},
				codes: []string{problem.CodeNotFound},
			},
		},
		"/api/v1/campaigns/{id}": {
			"get": {
				id: "getCampaign", summary: "Read a campaign", role: loyalty.RolePOS, params: []obj{id},
				ok: map[int]obj{200: campaign("The campaign.")}, codes: []string{problem.CodeNotFound},
			},
			"patch": {
				id: "patchCampaign", summary: "Change a campaign", role: loyalty.RoleMerchant, params: []obj{id},
				description: "A JSON merge patch (RFC 7396; `application/merge-patch+json`, `application/json` accepted too) of the fields of `CampaignRequest`: " +
					"an absent field stays as it is, `null` clears `days_of_week`, `local_hours` or `min_tier`. The result is checked whole, as at creation; nothing is written when a field is invalid. " +
					"A change applies to earns posted from then on; earns already posted keep their points.",
				body:      schemaRef("CampaignRequest"),
				bodyTypes: []string{"application/merge-patch+json", "application/json"},
				ok:        map[int]obj{200: campaign("The campaign as changed.")},
				codes:     []string{problem.CodeNotFound, problem.CodeValidationFailed},
			},
			"delete": {
				id: "endCampaign", summary: "End a campaign", role: loyalty.RoleMerchant, params: []obj{id},
				description: "Ends the campaign now: `ends_at` becomes the current time (a campaign that has not started gets `ends_at` = `starts_at`, so it never runs). " +
					"The campaign is kept and still listed. Ending an ended campaign changes nothing.",
				ok: map[int]obj{200: campaign("The ended campaign.")}, codes: []string{problem.CodeNotFound},
			},
		},
	}
}

func campaignSchemas() obj {
	dateTime := obj{"type": "string", "format": "date-time"}
	days := obj{"type": "array", "items": obj{"type": "integer", "minimum": 1, "maximum": 7}, "description": "ISO days, 1 = Monday .. 7 = Sunday, in the programme's time zone."}
	hours := obj{"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$", "description": "`HH:MM-HH:MM` in the programme's time zone, start included, end excluded; `24:00` ends at midnight."}
	multiplier := obj{"type": "number", "minimum": 1.1, "maximum": 10, "multipleOf": 0.1, "description": "At most one decimal, e.g. 2 (double points) or 1.5."}
	return obj{
		"CampaignRequest": obj{
			"type": "object", "required": []string{"name", "multiplier", "starts_at", "ends_at"}, "additionalProperties": false,
			"properties": obj{
				"name":         obj{"type": "string", "minLength": 1, "maxLength": loyalty.MaxCampaignNameRunes},
				"multiplier":   multiplier,
				"starts_at":    dateTime,
				"ends_at":      obj{"type": "string", "format": "date-time", "description": "After `starts_at`."},
				"days_of_week": days,
				"local_hours":  hours,
				"min_tier":     obj{"type": "string", "description": "A tier of the programme."},
			},
		},
		"Campaign": obj{
			"type":     "object",
			"required": []string{"id", "program", "name", "multiplier", "starts_at", "ends_at", "days_of_week", "local_hours", "min_tier", "created_at", "updated_at"},
			"properties": obj{
				"id": obj{"type": "string"}, "program": obj{"type": "string"}, "name": obj{"type": "string"},
				"multiplier": multiplier, "starts_at": dateTime, "ends_at": dateTime,
				"days_of_week": merge(days, obj{"description": "ISO days (1 = Monday .. 7 = Sunday, programme time zone); empty: every day."}),
				"local_hours":  obj{"type": []string{"string", "null"}, "description": "null: all day."},
				"min_tier":     obj{"type": []string{"string", "null"}, "description": "null: every member."},
				"created_at":   dateTime, "updated_at": dateTime,
			},
		},
	}
}
