package api

import (
	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The rewards' and vouchers' part of the OpenAPI document (openapi.go).

func rewardPaths() map[string]map[string]op {
	prog, memberID := ref("parameters", "Program"), ref("parameters", "MemberID")
	idem := ref("parameters", "IdempotencyKey")
	rewardID := obj{"name": "id", "in": "path", "required": true, "description": "The reward id.", "schema": obj{"type": "string", "format": "uuid"}}
	code := obj{"name": "code", "in": "path", "required": true,
		"description": "The voucher code (10 characters of `23456789ABCDEFGHJKMNPQRSTVWXYZ`; case, spaces and dashes do not matter).",
		"schema":      obj{"type": "string"}}
	replayed := obj{"Idempotent-Replayed": obj{"description": "`true` when this answer repeats an earlier one.", "schema": obj{"type": "string", "enum": []string{"true"}}}}
	items := func(name string) obj {
		return obj{"type": "object", "required": []string{"items"}, "properties": obj{"items": obj{"type": "array", "items": schemaRef(name)}}}
	}
	return map[string]map[string]op{
		"/api/v1/programs/{program}/rewards": {
			"post": {
				id: "createReward", summary: "Add a reward to a program's catalogue", role: loyalty.RoleMerchant, params: []obj{prog},
				description: "`name` (1-200 printable characters) and `cost_points` (1..1,000,000,000) are required; `valid_days` (1..3650) defaults to 30, `active` to true; " +
					"`min_tier` must be a tier of the program. Every invalid field is named (422 `validation_failed`); nothing is written then.",
				body:  schemaRef("RewardRequest"),
				ok:    map[int]obj{201: okJSON("The new reward (header `Location`: its URL).", schemaRef("Reward"))},
				codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
			},
			"get": {
				id: "listRewards", summary: "List a program's active rewards", role: loyalty.RolePOS, params: []obj{prog},
				description: "The active rewards, oldest first; inactive ones are left out.",
				ok:          map[int]obj{200: okJSON("The active rewards.", items("Reward"))},
				codes:       []string{problem.CodeNotFound},
			},
		},
		"/api/v1/rewards/{id}": {"patch": {
			id: "patchReward", summary: "Change a reward", role: loyalty.RoleMerchant, params: []obj{rewardID},
			description: "A JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`) of the reward's fields; the result is checked whole as at creation (422 `validation_failed` naming each field, nothing written). " +
				"`null` resets a field to its default (`description` empty, no `min_tier`, `valid_days` 30, `active` true); `name` and `cost_points` cannot be removed. " +
				"`id`, `program`, `created_at` and `updated_at` are ignored, so an answer sent back is a valid patch. Vouchers issued before keep their `expires_at`. " +
				"A reward of a program outside the key's scope is 404.",
			body:      schemaRef("RewardRequest"),
			bodyTypes: []string{"application/merge-patch+json", "application/json"},
			ok:        map[int]obj{200: okJSON("The reward as changed.", schemaRef("Reward"))},
			codes:     []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}},
		"/api/v1/members/{id}/redemptions": {"post": {
			id: "redeemReward", summary: "Buy a reward with points", role: loyalty.RolePOS, params: []obj{memberID, idem},
			description: "Takes the reward's `cost_points` (a `redeem` transaction with reference `reward:<id>`) and issues a voucher expiring `valid_days` later, in one transaction under the member's lock; the card shows the voucher. " +
				"Short of points 409 `insufficient_points`, a tier below `min_tier` 409 `tier_required`, an inactive reward 409 `reward_unavailable`; nothing is written then. " +
				"A `reward_id` that is no reward of the member's program (unknown, or another program's) is 404 `not_found`. " +
				"A replay with the same `Idempotency-Key` and `reward_id` answers the same voucher and transaction (header `Idempotent-Replayed: true`) and writes nothing; the same key with another body, or a key used for a transaction, is 409 `idempotency_conflict`.",
			body: schemaRef("RedemptionRequest"),
			ok: map[int]obj{201: {
				"description": "The voucher, the transaction that paid for it and the member after it (also for a replay).",
				"headers":     replayed,
				"content":     obj{"application/json": obj{"schema": schemaRef("RedemptionResult")}},
			}},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeIdempotencyKeyRequired, problem.CodeIdempotencyConflict,
				problem.CodeRequestInProgress, problem.CodeInsufficientPoints, problem.CodeTierRequired, problem.CodeRewardUnavailable},
		}},
		"/api/v1/members/{id}/vouchers": {"get": {
			id: "listVouchers", summary: "List a member's vouchers", role: loyalty.RolePOS, params: []obj{memberID},
			description: "Every voucher of the member: the unused ones first (those past `expires_at` with status `expired`), then the used ones, each group newest first.",
			ok:          map[int]obj{200: okJSON("The vouchers.", items("Voucher"))},
			codes:       []string{problem.CodeNotFound},
		}},
		"/api/v1/vouchers/{code}/use": {"post": {
			id: "useVoucher", summary: "Use a voucher", role: loyalty.RolePOS, params: []obj{code, idem},
			description: "Marks the voucher used and takes it off the member's card (both wallets). " +
				"Used already: 409 `voucher_used`, except for a replay with the `Idempotency-Key` that used it, which answers 200 again (header `Idempotent-Replayed: true`). " +
				"Past `expires_at`: 409 `voucher_expired`. An unknown code, a voucher of a program outside the key's scope or of an erased member: 404 `not_found`. No body is needed.",
			ok: map[int]obj{200: {
				"description": "The voucher, with status `used`.",
				"headers":     replayed,
				"content":     obj{"application/json": obj{"schema": schemaRef("Voucher")}},
			}},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeIdempotencyKeyRequired, problem.CodeVoucherUsed, problem.CodeVoucherExpired, problem.CodeRequestInProgress},
		}},
	}
}

func rewardSchemas() obj {
	dateTime := obj{"type": "string", "format": "date-time"}
	return obj{
		"RewardRequest": obj{
			"type": "object",
			"properties": obj{
				"name":        obj{"type": "string", "minLength": 1, "maxLength": loyalty.MaxRewardNameRunes},
				"description": obj{"type": "string", "maxLength": loyalty.MaxRewardDescriptionRunes},
				"cost_points": obj{"type": "integer", "minimum": 1, "maximum": balances.MaxPoints},
				"min_tier":    obj{"type": "string", "description": "A tier of the program; members below it get 409 `tier_required`."},
				"valid_days":  obj{"type": "integer", "minimum": 1, "maximum": loyalty.MaxValidDays, "default": loyalty.DefaultValidDays},
				"active":      obj{"type": "boolean", "default": true},
			},
		},
		"Reward": obj{
			"type":     "object",
			"required": []string{"id", "program", "name", "description", "cost_points", "valid_days", "active", "created_at", "updated_at"},
			"properties": obj{
				"id": obj{"type": "string", "format": "uuid"}, "program": obj{"type": "string"},
				"name": obj{"type": "string"}, "description": obj{"type": "string"},
				"cost_points": obj{"type": "integer"}, "min_tier": obj{"type": "string"},
				"valid_days": obj{"type": "integer"}, "active": obj{"type": "boolean"},
				"created_at": dateTime, "updated_at": dateTime,
			},
		},
		"RedemptionRequest": obj{
			"type": "object", "required": []string{"reward_id"},
			"properties": obj{"reward_id": obj{"type": "string", "format": "uuid"}},
		},
		"Voucher": obj{
			"type":     "object",
			"required": []string{"code", "reward_id", "member_id", "status", "created_at", "expires_at"},
			"properties": obj{
				"code":       obj{"type": "string", "pattern": "^[2-9A-HJKMNP-TV-Z]{10}$"},
				"reward_id":  obj{"type": "string", "format": "uuid"},
				"member_id":  obj{"type": "string", "format": "uuid"},
				"status":     obj{"type": "string", "enum": []string{loyalty.VoucherUnused, loyalty.VoucherUsed, loyalty.VoucherExpired}},
				"created_at": dateTime, "expires_at": dateTime, "used_at": dateTime,
			},
		},
		"RedemptionResult": obj{
			"type": "object", "required": []string{"voucher", "transaction", "member"},
			"properties": obj{
				"voucher": schemaRef("Voucher"), "transaction": schemaRef("Transaction"), "member": schemaRef("Member"),
			},
		},
	}
}
