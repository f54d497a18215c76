package api

import (
	"maps"

	"github.com/passd/passd/balances"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The programmes' part of the OpenAPI document (openapi.go).

// ifMatchRule is how the programme changes read If-Match.
const ifMatchRule = "Optional `If-Match: \"<version>\"` (the `ETag` of the program's answers; `W/\"<version>\"` and a bare `<version>` are taken too, `*` means any version): " +
	"when the program is at another version the change is 412 `version_mismatch` and nothing is written. " +
	"A value that names no version (a list, another tag, `0`, garbage) cannot match either: 412 as well."

func programPaths() map[string]map[string]op {
	prog := ref("parameters", "Program")
	program := func(desc string) obj {
		r := okJSON(desc, schemaRef("Program"))
		r["headers"] = obj{"ETag": ref("headers", "ETag")}
		return r
	}
	created := program("The new program.")
	created["headers"].(obj)["Location"] = obj{"description": "The program's URL.", "schema": obj{"type": "string"}}
	return map[string]map[string]op{
		"/api/v1/programs": {
			"get": {
				id: "listPrograms", summary: "List programs", role: loyalty.RolePOS,
				description: "Every program the key may see (a program-scoped key: its program only), by id, as the database holds them.",
				ok:          map[int]obj{200: okJSON("The programs.", schemaRef("ProgramList"))},
			},
			"post": {
				id: "createProgram", summary: "Create a program", role: loyalty.RoleAdmin,
				description: "The body is a program object (a template's `program.json` with the optional rule blocks); `version`, `created_at` and `updated_at` are ignored. " +
					"Unset fields take their defaults (`earn.minor_per_unit` 100, `barcode_format` qr, `timezone` UTC, `tier_window` lifetime). " +
					"Every invalid field is named (422 `validation_failed`, `errors`), an id already taken too; nothing is written then. " +
					"The program starts at version 1 with a placeholder icon until its own images are uploaded. " +
					"A program-scoped admin key may create only the program of its scope.",
				body:  schemaRef("Program"),
				ok:    map[int]obj{201: created},
				codes: []string{problem.CodeValidationFailed},
			},
		},
		"/api/v1/programs/{program}": {
			"get": {
				id: "getProgram", summary: "Read a program", role: loyalty.RolePOS, params: []obj{prog},
				description: "The program as the database holds it now, on every instance; its `ETag` is its version, for `If-Match`.",
				ok:          map[int]obj{200: program("The program.")},
				codes:       []string{problem.CodeNotFound},
			},
			"patch": {
				id: "patchProgram", summary: "Change a program", role: loyalty.RoleMerchant, params: []obj{prog, ref("parameters", "IfMatch")},
				description: "A JSON merge patch (RFC 7396) of the program object, sent as `application/merge-patch+json` (`application/json` is taken too; no or another `Content-Type` is 415): " +
					"objects merge member by member, `null` removes a member (a rule block, which turns it off), anything else replaces. " +
					"`id` cannot change; `version`, `created_at` and `updated_at` are ignored, so a GET answer sent back is a valid patch. " +
					"The patched program is checked whole: every invalid field is named (422 `validation_failed`) and nothing is written. " +
					ifMatchRule + " A change raises `version` by one and reaches every card of the program (Apple cards pushed, the Google class updated); " +
					"a patch that changes nothing writes nothing and keeps the version.",
				body:      schemaRef("ProgramPatch"),
				bodyTypes: []string{"application/merge-patch+json", "application/json"},
				ok:        map[int]obj{200: program("The program as changed.")},
				codes:     []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeVersionMismatch},
			},
		},
		"/api/v1/programs/{program}/images/{name}": {"put": {
			id: "putProgramImage", summary: "Upload a program image", role: loyalty.RoleMerchant,
			params: []obj{prog, ref("parameters", "ImageName"), ref("parameters", "IfMatch")},
			description: "The body is the PNG itself (`Content-Type: image/png`, else 415), at most 1 MiB. " +
				"Apple's store card images, checked against Apple's sizes (points x 1, 2 or 3 for the plain, `@2x` and `@3x` names): " +
				"`icon` a square of 29 to 38 pt; `logo` at most 160x50 pt; `strip` 375 pt wide and 123 to 144 pt high; " +
				"`strip-{tier}` a tier's own strip (same sizes; the tier must be one of the program's). " +
				"`google-logo` (passd's name) is the square logo of the program's Google Wallet class, at least 660x660 px. " +
				"Not a PNG, a damaged PNG, outside its sizes, an unknown name or tier: 422 `invalid_image`, nothing written. " +
				ifMatchRule + " An upload raises `version` by one and reaches every card of the program.",
			body:      obj{"type": "string", "contentMediaType": "image/png"},
			bodyTypes: []string{"image/png"},
			ok:        map[int]obj{200: program("The program with its new image (and version).")},
			codes:     []string{problem.CodeNotFound, problem.CodeVersionMismatch, problem.CodeInvalidImage},
		}},
	}
}

func programSchemas() obj {
	integer := func(lo, hi int64, desc string) obj {
		return obj{"type": "integer", "minimum": lo, "maximum": hi, "description": desc}
	}
	text := func(max int) obj { return obj{"type": "string", "maxLength": max} }
	color := obj{"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}
	object := func(required []string, props obj) obj {
		o := obj{"type": "object", "additionalProperties": false, "properties": props}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	readOnly := func(o obj) obj { o["readOnly"] = true; return o }
	colors := object(nil, obj{"background": color, "foreground": color, "label": color})
	return obj{
		"Program": object([]string{"id", "name", "organization_name", "colors", "currency", "earn", "tiers", "default_locale", "locales"}, obj{
			"id":                obj{"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,62}$", "description": "Cannot change once created."},
			"name":              text(loyalty.MaxNameLen),
			"organization_name": text(loyalty.MaxNameLen),
			"description":       text(loyalty.MaxShortTextLen),
			"colors":            merge(colors, obj{"required": []string{"background", "foreground", "label"}}),
			"currency":          obj{"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217, e.g. EUR."},
			"earn": object([]string{"points_per_unit"}, obj{
				"points_per_unit": integer(0, balances.MaxPoints, "Points one whole currency unit earns."),
				"minor_per_unit":  merge(integer(1, loyalty.MaxMinorPerUnit, "Minor units in one currency unit."), obj{"default": 100}),
			}),
			"tiers": obj{"type": "array", "minItems": 1, "maxItems": loyalty.MaxTiers, "description": "The first tier starts at 0; thresholds rise strictly.", "items": object([]string{"name", "threshold"}, obj{
				"name":      merge(text(loyalty.MaxTierNameLen), obj{"minLength": 1}),
				"threshold": integer(0, loyalty.MaxTierThreshold, "Qualifying points that reach the tier."),
				"benefits":  text(loyalty.MaxShortTextLen),
				"colors":    merge(colors, obj{"description": "The tier's own card colours; an unset one keeps the program's."}),
			})},
			"barcode_format":     obj{"type": "string", "enum": []string{loyalty.BarcodeQR, loyalty.BarcodePDF417, loyalty.BarcodeAztec, loyalty.BarcodeCode128}, "default": loyalty.BarcodeQR},
			"allow_manual_entry": obj{"type": "boolean"},
			"default_locale":     obj{"type": "string", "description": "One of `locales`."},
			"locales": obj{"type": "object", "minProperties": 1, "maxProperties": loyalty.MaxLocales, "description": "The program's texts by language code (en, fr, pt-BR...).",
				"additionalProperties": object([]string{"program_name"}, obj{
					"program_name": text(loyalty.MaxNameLen), "description": text(loyalty.MaxShortTextLen),
					"how_it_works": text(loyalty.MaxHowItWorksLen), "terms": text(loyalty.MaxTermsLen),
					"privacy": text(loyalty.MaxTermsLen),
				})},
			"timezone":    obj{"type": "string", "default": "UTC", "description": "IANA zone in which the program's days are counted."},
			"tier_window": obj{"type": "string", "enum": []string{loyalty.TierWindowLifetime, loyalty.TierWindowRolling365}, "default": loyalty.TierWindowLifetime},
			"expiry": object([]string{"after_days"}, obj{
				"after_days":  integer(1, loyalty.MaxDays, "How long a lot of earned points lives."),
				"remind_days": integer(0, loyalty.MaxDays-1, "Days before a lot expires that the card says so (below after_days)."),
			}),
			"stamps": object([]string{"goal", "reward_id"}, obj{
				"goal":      integer(1, loyalty.MaxStampGoal, "Stamps that earn the reward."),
				"reward_id": obj{"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
			}),
			"cashback":       object([]string{"rate_bp"}, obj{"rate_bp": integer(1, loyalty.MaxRateBP, "Basis points of the purchase amount given back.")}),
			"welcome_bonus":  integer(0, balances.MaxPoints, "Points at enrolment."),
			"birthday_bonus": integer(0, balances.MaxPoints, "Points on each birthday, from its start in the programme's timezone (29 February counts on 28 February in other years), once per member and year."),
			"referral": object(nil, obj{
				"referrer_points": integer(0, balances.MaxPoints, ""), "referee_points": integer(0, balances.MaxPoints, "Not both 0."),
			}),
			"dormant": object([]string{"after_days", "message"}, obj{
				"after_days": integer(1, loyalty.MaxDays, "Days without a transaction: the card then shows message until the next one."), "message": merge(text(loyalty.MaxShortTextLen), obj{"minLength": 1}),
				"bonus_points": integer(0, balances.MaxPoints, "Credited once per dormant spell."),
			}),
			"locations": obj{"type": "array", "maxItems": loyalty.MaxPlaces, "items": object([]string{"latitude", "longitude", "relevant_text"}, obj{
				"latitude": obj{"type": "number", "minimum": -90, "maximum": 90}, "longitude": obj{"type": "number", "minimum": -180, "maximum": 180},
				"relevant_text": merge(text(loyalty.MaxRelevantTextLen), obj{"minLength": 1}),
			})},
			"version":    readOnly(obj{"type": "integer", "minimum": 1, "description": "+1 per change (fields, rules, images); the ETag."}),
			"created_at": readOnly(obj{"type": "string", "format": "date-time"}),
			"updated_at": readOnly(obj{"type": "string", "format": "date-time"}),
		}),
		"ProgramPatch": obj{
			"type": "object", "examples": []any{obj{"colors": obj{"background": "#000080"}, "expiry": nil}},
			"description": "A JSON merge patch (RFC 7396) of a `Program`: any of its members; an object merges into the program's, `null` removes a member (a rule block turns off), anything else replaces. " +
				"The result must be a valid `Program`.",
		},
		"ProgramList": obj{
			"type": "object", "required": []string{"items"},
			"properties": obj{"items": obj{"type": "array", "items": schemaRef("Program")}},
		},
	}
}

// merge answers a copy of a with b's members set.
func merge(a, b obj) obj {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// programParameters and programHeaders join the document's components.
func programParameters() obj {
	return obj{
		"IfMatch": obj{"name": "If-Match", "in": "header", "description": ifMatchRule, "schema": obj{"type": "string", "examples": []string{`"3"`}}},
		"ImageName": obj{"name": "name", "in": "path", "required": true,
			"description": "`icon`, `logo`, `strip` or `strip-{tier}`, each alone or with `@2x` / `@3x`; or `google-logo`.",
			"schema":      obj{"type": "string", "examples": []string{"logo@2x", "strip-Gold@3x", "google-logo"}}},
	}
}

func programHeaders() obj {
	return obj{"ETag": obj{"description": "The program's version, quoted: send it back in `If-Match`.", "schema": obj{"type": "string", "examples": []string{`"3"`}}}}
}
