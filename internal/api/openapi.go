package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The OpenAPI 3.1 description of the JSON API is built from Go rather than
// kept as a hand-edited file: the problem codes come from the same table as
// the answers, and TestOpenAPIDescribesEveryRoute walks the real router so a
// route cannot be added without its description.

// OpenAPIVersion is the OpenAPI version of the document.
const OpenAPIVersion = "3.1.0"

type obj = map[string]any

// codeStatus is the HTTP status that goes with each problem code.
var codeStatus = map[string]int{
	problem.CodeMalformedJSON:          http.StatusBadRequest,
	problem.CodeIdempotencyKeyRequired: http.StatusBadRequest,
	problem.CodeUnauthorized:           http.StatusUnauthorized,
	problem.CodeForbidden:              http.StatusForbidden,
	problem.CodeNotFound:               http.StatusNotFound,
	problem.CodeMethodNotAllowed:       http.StatusMethodNotAllowed,
	problem.CodeIdempotencyConflict:    http.StatusConflict,
	problem.CodeRequestInProgress:      http.StatusConflict,
	problem.CodeInsufficientPoints:     http.StatusConflict,
	problem.CodeInsufficientCashback:   http.StatusConflict,
	problem.CodeExternalIDTaken:        http.StatusConflict,
	problem.CodeBodyTooLarge:           http.StatusRequestEntityTooLarge,
	problem.CodeUnsupportedMediaType:   http.StatusUnsupportedMediaType,
	problem.CodeValidationFailed:       http.StatusUnprocessableEntity,
	problem.CodeInvalidBarcode:         http.StatusUnprocessableEntity,
	problem.CodeRateLimited:            http.StatusTooManyRequests,
	problem.CodeInternal:               http.StatusInternalServerError,
	problem.CodeVersionMismatch:        http.StatusPreconditionFailed,
	problem.CodeInvalidImage:           http.StatusUnprocessableEntity,
	problem.CodeTierRequired:           http.StatusConflict,
	problem.CodeRewardUnavailable:      http.StatusConflict,
	problem.CodeVoucherUsed:            http.StatusConflict,
	problem.CodeVoucherExpired:         http.StatusConflict,
	problem.CodeUnknownReferralCode:    http.StatusUnprocessableEntity,
	problem.CodeUnavailable:            http.StatusServiceUnavailable,
}

var codeWhen = map[string]string{
	problem.CodeMalformedJSON:          "the body is not JSON or not the expected shape",
	problem.CodeIdempotencyKeyRequired: "a transaction without `Idempotency-Key`",
	problem.CodeUnauthorized:           "no key, unknown key, revoked key",
	problem.CodeForbidden:              "the key's role or program does not allow it",
	problem.CodeNotFound:               "unknown or erased member, unknown program, unknown endpoint",
	problem.CodeMethodNotAllowed:       "the path exists, the method does not",
	problem.CodeIdempotencyConflict:    "the `Idempotency-Key` was used with another body",
	problem.CodeRequestInProgress:      "the first request with this key is still running (retry later; `Retry-After`)",
	problem.CodeInsufficientPoints:     "a redeem or adjust would make the balance negative",
	problem.CodeInsufficientCashback:   "a `cashback_spend` is more than the member's cashback balance; nothing is written",
	problem.CodeExternalIDTaken:        "a profile edit gives a member the `external_id` another member of the program has; nothing is written",
	problem.CodeBodyTooLarge:           "the body is over 1 MiB",
	problem.CodeUnsupportedMediaType:   "the body is not `application/json`",
	problem.CodeValidationFailed:       "a field is missing or out of range (`errors` lists the fields)",
	problem.CodeInvalidBarcode:         "the barcode's MAC does not verify, or a typed number where the program wants the barcode",
	problem.CodeRateLimited:            "too many failed scans with the key, or failed API-key attempts from the client address (`Retry-After`)",
	problem.CodeInternal:               "an unexpected error; it is logged with the request id",
	problem.CodeVersionMismatch:        "`If-Match` names a program version that is no longer the current one; nothing was written",
	problem.CodeInvalidImage:           "an uploaded image is not a PNG or is outside the sizes of its slot (the detail says which)",
	problem.CodeTierRequired:           "the member's tier is below the reward's `min_tier`; nothing is written",
	problem.CodeRewardUnavailable:      "the reward is inactive, or a stamp fills a card whose programme's `stamps.reward_id` is unknown or inactive; nothing is written",
	problem.CodeVoucherUsed:            "the voucher was used already (with another `Idempotency-Key`)",
	problem.CodeVoucherExpired:         "the voucher is past its `expires_at`",
	problem.CodeUnknownReferralCode:    "an enrolment's `referral_code` is no live member's code in the program (`errors` names `referral_code`); nothing is written",
	problem.CodeUnavailable:            "the database is out of reach for a moment (a restart or failover) or full; retry after `Retry-After`, a write with the same `Idempotency-Key` (safe: it is applied once)",
}

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

// OpenAPI answers the OpenAPI 3.1 document of the JSON API, as JSON.
func OpenAPI() []byte {
	openAPIOnce.Do(func() {
		b, err := json.MarshalIndent(openAPI(), "", "  ")
		if err != nil {
			panic(fmt.Sprintf("openapi: %v", err)) // static data; cannot happen
		}
		openAPIDoc = append(b, '\n')
	})
	return openAPIDoc
}

// OpenAPIHandler serves OpenAPI() at GET /openapi.json; it needs no key.
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(OpenAPI())
	})
}

func ref(kind, name string) obj { return obj{"$ref": "#/components/" + kind + "/" + name} }

func schemaRef(name string) obj { return ref("schemas", name) }

func jsonBody(schema obj) obj {
	return obj{"content": obj{"application/json": obj{"schema": schema}}}
}

// op describes one operation.
type op struct {
	id, summary, description, role string
	params                         []obj
	body                           obj // request schema; nil: no body
	// bodyTypes are the media types the body may come as; application/json
	// when empty.
	bodyTypes []string
	ok        map[int]obj
	codes     []string // problem codes beyond the common ones
}

func (o op) build() obj {
	desc := o.description
	if desc != "" {
		desc += "\n\n"
	}
	desc += "Role: `" + o.role + "` or above; a program-scoped key acts only on its program."
	res := obj{}
	for status, r := range o.ok {
		res[fmt.Sprint(status)] = r
	}
	// Every operation authenticates, and failed keys are limited per
	// client address: 401, 403 and 429 may answer any of them, and 503
	// while the database is unreachable.
	codes := append([]string{problem.CodeUnauthorized, problem.CodeForbidden, problem.CodeRateLimited, problem.CodeInternal, problem.CodeUnavailable}, o.codes...)
	if o.body != nil {
		codes = append(codes, problem.CodeMalformedJSON, problem.CodeBodyTooLarge, problem.CodeUnsupportedMediaType)
	}
	byStatus := map[int][]string{}
	for _, c := range codes {
		s := codeStatus[c]
		if !slices.Contains(byStatus[s], c) {
			byStatus[s] = append(byStatus[s], c)
		}
	}
	for status, cs := range byStatus {
		slices.Sort(cs)
		var d []string
		for _, c := range cs {
			d = append(d, "`"+c+"`: "+codeWhen[c])
		}
		r := obj{
			"description": strings.Join(d, "; "),
			"content": obj{"application/problem+json": obj{"schema": obj{
				"allOf": []any{schemaRef("Problem"), obj{"properties": obj{"code": obj{"enum": cs}}}},
			}}},
		}
		if slices.Contains(cs, problem.CodeRateLimited) || slices.Contains(cs, problem.CodeRequestInProgress) || slices.Contains(cs, problem.CodeUnavailable) {
			r["headers"] = obj{"Retry-After": ref("headers", "RetryAfter")}
		}
		res[fmt.Sprint(status)] = r
	}
	out := obj{
		"operationId": o.id, "summary": o.summary, "description": desc,
		"security": []any{obj{"bearer": []any{}}}, "x-passd-role": o.role,
		"responses": res,
	}
	if len(o.params) > 0 {
		out["parameters"] = o.params
	}
	if o.body != nil {
		content := obj{}
		for _, t := range cmpOrSlice(o.bodyTypes, []string{"application/json"}) {
			content[t] = obj{"schema": o.body}
		}
		out["requestBody"] = obj{"content": content, "required": true}
	}
	return out
}

func cmpOrSlice(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

func queryParam(name, description string, schema obj) obj {
	return obj{"name": name, "in": "query", "description": description, "schema": schema}
}

func okJSON(description string, schema obj) obj {
	r := jsonBody(schema)
	r["description"] = description
	return r
}

// openAPI builds the document.
func openAPI() obj {
	memberID, prog := ref("parameters", "MemberID"), ref("parameters", "Program")
	member := okJSON("The member.", schemaRef("Member"))
	paths := map[string]map[string]op{
		"/api/v1/programs/{program}/members": {"get": {
			id: "searchMembers", summary: "Find a program's members", role: loyalty.RoleMerchant,
			params: []obj{prog,
				queryParam("q", "A prefix of the name, the email or the member number, in any case.", obj{"type": "string", "maxLength": 200}),
				queryParam("email", "A whole email address, in any case.", obj{"type": "string", "maxLength": 254}),
				queryParam("external_id", "The merchant's own customer id.", obj{"type": "string", "maxLength": 255}),
				queryParam("tier", "A tier of the program.", obj{"type": "string"}),
				queryParam("inactive_days", "Members with no transaction (nor enrolment) for at least this many days.", obj{"type": "integer", "minimum": 1, "maximum": loyalty.MaxInactiveDays}),
				ref("parameters", "Cursor"), ref("parameters", "Limit")},
			description: "Live members of the program, newest enrolment first (ties by id), matching every parameter given; an empty parameter is no filter. Erased members never appear. " +
				"Every parameter is checked: a bad one (an unknown `tier`, an `inactive_days` or `limit` out of range, a `cursor` this API did not answer) is 422 `validation_failed` naming it.",
			ok:    map[int]obj{200: okJSON("One page of members.", schemaRef("MemberList"))},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}, "post": {
			id: "enroll", summary: "Enroll a member", role: loyalty.RoleMerchant, params: []obj{prog},
			description: "Creates a member of the program. An `external_id` the program already knows answers that member with 200 instead of creating another, so a merchant's system can retry safely. " +
				"The programme's `welcome_bonus`, if any, is credited in the enrolment's own transaction: a `bonus` transaction with `reason` `welcome`. " +
				"A `referral_code` no member of the program has is 422 `unknown_referral_code`.",
			body: schemaRef("EnrollRequest"),
			ok: map[int]obj{
				201: okJSON("The new member.", schemaRef("Member")),
				200: okJSON("The member that already had this `external_id`.", schemaRef("Member")),
			},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeUnknownReferralCode},
		}},
		"/api/v1/programs/{program}/messages": {"post": {
			id: "postMessage", summary: "Send a message to every card of a program", role: loyalty.RoleMerchant, params: []obj{prog},
			description: "Shows the text on every card of the program (replacing the previous message) and notifies the phones. " +
				"With `tier`, only the cards of that tier's members show it (as each member's own message) and only they are pushed; " +
				"the members are written in batches of at most 1,000 per transaction, so tills are never blocked long. An unknown `tier` is 422 `validation_failed` naming it. " +
				"A card shows the newer of the program's message and the member's own.",
			body:  schemaRef("ProgramMessageRequest"),
			ok:    map[int]obj{202: okJSON("Accepted; the cards are being updated.", schemaRef("MessageAccepted"))},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}},
		"/api/v1/members/{id}": {
			"get": {
				id: "getMember", summary: "Look a member up", role: loyalty.RolePOS, params: []obj{memberID},
				ok: map[int]obj{200: member}, codes: []string{problem.CodeNotFound},
			},
			"patch": {
				id: "patchMember", summary: "Edit a member's profile", role: loyalty.RoleMerchant, params: []obj{memberID},
				description: "A JSON merge patch (RFC 7396; `application/merge-patch+json`, `application/json` accepted too): an absent field stays as it is; " +
					"`null` clears `email`, `birthday` or `external_id`; `name` can be changed but not cleared. " +
					"The fields are checked as at enrolment, and every invalid field is named (422 `validation_failed`); nothing is written then. " +
					"An `external_id` another member of the program already has is 409 `external_id_taken`, and nothing is written. " +
					"A changed profile updates the member's cards (both wallets); a changed `marketing_opt_in` is recorded with its time and source `api_patch` and listed in the export. " +
					"Erased members are 404 `not_found`.",
				body:      schemaRef("MemberPatch"),
				bodyTypes: []string{"application/merge-patch+json", "application/json"},
				ok:        map[int]obj{200: okJSON("The member as edited.", schemaRef("Member"))},
				codes:     []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeExternalIDTaken},
			},
			"delete": {
				id: "eraseMember", summary: "Erase a member's personal data", role: loyalty.RoleAdmin, params: []obj{memberID},
				description: "Erases name, email, birthday and external id, voids the member's cards (pushed to the phones) and keeps the anonymous ledger. Afterwards the member answers 404 `not_found` everywhere.",
				ok:          map[int]obj{204: {"description": "Erased."}}, codes: []string{problem.CodeNotFound},
			},
		},
		"/api/v1/members/{id}/transactions": {
			"post": {
				id: "postTransaction", summary: "Earn, redeem or adjust points; collect stamps; spend cashback", role: loyalty.RolePOS,
				params: []obj{memberID, ref("parameters", "IdempotencyKey")},
				description: "`earn`, `redeem`, `stamp` and `cashback_spend` need the `pos` role, `adjust` the `merchant` role. " +
					"A `stamp` adds `count` stamps to a stamp programme's card; each time the stamps reach the goal, one voucher of the programme's `stamps.reward_id` is issued in the same transaction (no points taken; listed in `vouchers`) and the count carries over. " +
					"A stamp that fills the card while that reward is unknown or inactive is 409 `reward_unavailable`, nothing written. " +
					"A `cashback_spend` takes `amount` from the cashback balance; past it 409 `insufficient_cashback`, nothing written. " +
					"A replay with the same `Idempotency-Key` and body answers the first answer again (same transaction id, header `Idempotent-Replayed: true`) and writes nothing; " +
					"the same key with another body is 409 `idempotency_conflict`; while the first request still runs, 409 `request_in_progress`.",
				body: schemaRef("TransactionRequest"),
				ok: map[int]obj{201: {
					"description": "The transaction and the member after it (also for a replay).",
					"headers":     obj{"Idempotent-Replayed": obj{"description": "`true` when this answer repeats an earlier one.", "schema": obj{"type": "string", "enum": []string{"true"}}}},
					"content":     obj{"application/json": obj{"schema": schemaRef("TransactionResult")}},
				}},
				codes: []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeIdempotencyKeyRequired, problem.CodeIdempotencyConflict, problem.CodeRequestInProgress, problem.CodeInsufficientPoints,
					problem.CodeInsufficientCashback, problem.CodeRewardUnavailable},
			},
			"get": {
				id: "listTransactions", summary: "List a member's transactions, newest first", role: loyalty.RolePOS,
				params: []obj{memberID, ref("parameters", "Cursor"), ref("parameters", "Limit")},
				ok:     map[int]obj{200: okJSON("One page of transactions.", schemaRef("TransactionList"))},
				codes:  []string{problem.CodeNotFound, problem.CodeValidationFailed},
			},
		},
		"/api/v1/members/{id}/messages": {"post": {
			id: "postMemberMessage", summary: "Send a message to one member's card", role: loyalty.RoleMerchant, params: []obj{memberID},
			description: "Shows the text on this member's cards only (replacing the member's previous own message) and notifies that member's phones; no other card changes. " +
				"A card shows the newer of the program's message and the member's own. Erased members are 404 `not_found`.",
			body:  schemaRef("MessageRequest"),
			ok:    map[int]obj{202: okJSON("Accepted; the card is being updated (`cards` is 1).", schemaRef("MessageAccepted"))},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}},
		"/api/v1/members/{id}/refresh": {"post": {
			id: "refreshMember", summary: "Push the member's cards again", role: loyalty.RoleMerchant, params: []obj{memberID},
			ok:    map[int]obj{202: okJSON("Accepted.", obj{"type": "object", "required": []string{"member_id"}, "properties": obj{"member_id": obj{"type": "string", "format": "uuid"}}})},
			codes: []string{problem.CodeNotFound},
		}},
		"/api/v1/members/{id}/export": {"get": {
			id: "exportMember", summary: "Export everything passd keeps about a member", role: loyalty.RoleAdmin, params: []obj{memberID},
			ok:    map[int]obj{200: okJSON("The export (served as an attachment).", schemaRef("Export"))},
			codes: []string{problem.CodeNotFound},
		}},
		"/api/v1/members/{id}/barcode.png": {"get": {
			id: "memberBarcode", summary: "The member's barcode as a QR code image", role: loyalty.RolePOS,
			params:      []obj{memberID, ref("parameters", "QRSize")},
			description: "A PNG QR code of the member's barcode token (the same message as the card's barcode), for printing or for the merchant's own app.",
			ok: map[int]obj{200: {"description": "A size x size PNG.", "content": obj{"image/png": obj{
				"schema": obj{"type": "string", "contentMediaType": "image/png"},
			}}}},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
		}},
		"/api/v1/pos/scan": {"post": {
			id: "scan", summary: "Resolve a scanned card barcode to its member", role: loyalty.RolePOS,
			description: "Send the text the scanner read from the card's barcode (`<member number>-<MAC>`; case and surrounding whitespace do not matter). " +
				"The MAC is checked in constant time: a forged, damaged or mistyped code is 422 `invalid_barcode`; a valid code of an erased member is 404 `not_found`.\n\n" +
				"Manual entry: when the member's program has `allow_manual_entry` (off by default), a cashier may send the bare 10-digit member number instead (spaces allowed); " +
				"its check digit must match. Where the program does not allow it, a bare number is 422 `invalid_barcode`.\n\n" +
				"Failed scans (`invalid_barcode`, `not_found`, `forbidden`) are rate-limited per API key (by default a burst of 20, then 10 a minute): past the limit every scan of the key is 429 `rate_limited` with `Retry-After`, whatever it sends.",
			body:  schemaRef("ScanRequest"),
			ok:    map[int]obj{200: okJSON("The member the barcode belongs to.", schemaRef("Member"))},
			codes: []string{problem.CodeNotFound, problem.CodeValidationFailed, problem.CodeInvalidBarcode, problem.CodeRateLimited},
		}},
		"/api/v1/apikeys": {"post": {
			id: "createAPIKey", summary: "Create an API key", role: loyalty.RoleAdmin,
			description: "The key is shown once; passd keeps only its hash. A program-scoped key can only create keys for its own program.",
			body:        schemaRef("APIKeyRequest"),
			ok:          map[int]obj{201: okJSON("The new key.", schemaRef("APIKeyCreated"))},
			codes:       []string{problem.CodeValidationFailed},
		}, "get": {
			id: "listAPIKeys", summary: "List API keys", role: loyalty.RoleAdmin,
			description: "Every key, revoked ones included, oldest first; never the key itself. A program-scoped admin key lists its program's keys. `last_used_at` is kept to the minute.",
			ok:          map[int]obj{200: okJSON("The keys.", obj{"type": "object", "required": []string{"items"}, "properties": obj{"items": obj{"type": "array", "items": schemaRef("APIKey")}}})},
		}},
		"/api/v1/apikeys/{id}": {"delete": {
			id: "revokeAPIKey", summary: "Revoke an API key", role: loyalty.RoleAdmin,
			description: "The key answers `401 unauthorized` on every instance from the next request on (keys are checked against the database on every request). Revoking twice keeps the first revocation time.",
			params:      []obj{ref("parameters", "APIKeyID")},
			ok:          map[int]obj{204: {"description": "Revoked."}}, codes: []string{problem.CodeNotFound},
		}},
	}
	maps.Copy(paths, programPaths())
	maps.Copy(paths, rewardPaths())
	maps.Copy(paths, campaignPaths())
	maps.Copy(paths, webhookPaths())
	maps.Copy(paths, statsPaths())
	outPaths := obj{}
	for p, methods := range paths {
		m := obj{}
		for method, o := range methods {
			m[method] = o.build()
		}
		outPaths[p] = m
	}
	return obj{
		"openapi": OpenAPIVersion,
		"info": obj{
			"title":       "passd JSON API",
			"version":     "1",
			"description": apiDescription(),
		},
		"servers":  []any{obj{"url": "/"}},
		"security": []any{obj{"bearer": []any{}}},
		"paths":    outPaths,
		"components": obj{
			"securitySchemes": obj{"bearer": obj{
				"type": "http", "scheme": "bearer",
				"description": "An API key: `Authorization: Bearer <key>`. Roles nest: `admin` may do everything a `merchant` may, and a `merchant` everything a `pos` may. A key may be scoped to one program. Each operation names its role in `x-passd-role`.",
			}},
			"parameters": merge(obj{
				"MemberID": obj{"name": "id", "in": "path", "required": true, "description": "The member id.", "schema": obj{"type": "string", "format": "uuid"}},
				"APIKeyID": obj{"name": "id", "in": "path", "required": true, "description": "The API key's id (not the key).", "schema": obj{"type": "string"}},
				"Program":  obj{"name": "program", "in": "path", "required": true, "description": "The program id, e.g. `demo`.", "schema": obj{"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}},
				"IdempotencyKey": obj{"name": "Idempotency-Key", "in": "header", "required": true,
					"description": "Makes retries safe: 1-255 printable ASCII characters, scoped to the member, kept at least 24 h.",
					"schema":      obj{"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"}},
				"Cursor": obj{"name": "cursor", "in": "query", "description": "The `next_cursor` of the previous page.", "schema": obj{"type": "string"}},
				"Limit":  obj{"name": "limit", "in": "query", "description": "Page size.", "schema": obj{"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
				"QRSize": obj{"name": "size", "in": "query", "description": "Width and height of the image in pixels.", "schema": obj{"type": "integer", "minimum": cards.MinQRSize, "maximum": cards.MaxQRSize, "default": cards.DefaultQRSize}},
			}, programParameters()),
			"headers": merge(obj{"RetryAfter": obj{"description": "Seconds to wait before retrying.", "schema": obj{"type": "integer", "minimum": 1}}}, programHeaders()),
			"schemas": merge(merge(merge(merge(merge(schemas(), programSchemas()), rewardSchemas()), campaignSchemas()), webhookSchemas()), statsSchemas()),
		},
	}
}

func apiDescription() string {
	var b strings.Builder
	b.WriteString("The JSON API of passd, a self-hosted loyalty-card service. Requests and answers are JSON; bodies over 1 MiB are refused. " +
		"Errors are `application/problem+json` (RFC 9457) with `status`, `title`, `detail` and a stable `code`:\n\n| status | code | when |\n| --- | --- | --- |\n")
	codes := problem.Codes()
	slices.SortFunc(codes, func(a, b string) int {
		if d := codeStatus[a] - codeStatus[b]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, c := range codes {
		fmt.Fprintf(&b, "| %d | `%s` | %s |\n", codeStatus[c], c, codeWhen[c])
	}
	return b.String()
}

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func schemas() obj {
	dateTime := obj{"type": "string", "format": "date-time"}
	return obj{
		"Problem": obj{
			"type": "object", "description": "An RFC 9457 problem detail.",
			"required": []string{"type", "title", "status", "code"},
			"properties": obj{
				"type":     obj{"type": "string", "format": "uri"},
				"title":    obj{"type": "string"},
				"status":   obj{"type": "integer"},
				"detail":   obj{"type": "string"},
				"code":     obj{"type": "string", "enum": problem.Codes(), "description": "Stable machine-readable code."},
				"instance": obj{"type": "string"},
				"errors": obj{"type": "array", "description": "For `validation_failed`: the fields at fault.", "items": obj{
					"type": "object", "required": []string{"field", "message"},
					"properties": obj{"field": obj{"type": "string"}, "message": obj{"type": "string"}},
				}},
			},
		},
		"Member": obj{
			"type":     "object",
			"required": []string{"id", "program", "number", "name", "email", "points", "lifetime_points", "tier", "barcode", "apple_pass_url", "created_at", "marketing_opt_in", "last_activity_at", "vouchers_available", "referral_code", "referral_url", "points_expiring"},
			"properties": obj{
				"id":                 obj{"type": "string", "format": "uuid"},
				"program":            obj{"type": "string"},
				"number":             obj{"type": "string", "pattern": "^[0-9]{10}$", "description": "The human-readable member number, with a Luhn check digit."},
				"name":               obj{"type": "string"},
				"email":              obj{"type": "string"},
				"birthday":           obj{"type": "string", "format": "date"},
				"external_id":        obj{"type": "string"},
				"points":             obj{"type": "integer"},
				"lifetime_points":    obj{"type": "integer", "description": "All points ever earned; redemptions never lower it."},
				"tier":               obj{"type": "string"},
				"barcode":            str("The exact message encoded in the card's barcode."),
				"apple_pass_url":     obj{"type": "string", "format": "uri", "description": "Absolute, signed URL of the member's .pkpass; needs no key."},
				"google_save_url":    obj{"type": "string", "format": "uri", "description": "The \"Add to Google Wallet\" link; absent when Google Wallet is off."},
				"created_at":         dateTime,
				"marketing_opt_in":   obj{"type": "boolean", "description": "Whether the member agreed to marketing messages; every change is kept (see the export's `consents`)."},
				"last_activity_at":   obj{"type": "string", "format": "date-time", "description": "The latest transaction, or the enrolment before any."},
				"vouchers_available": obj{"type": "integer", "minimum": 0, "description": "The member's unused vouchers not yet past `expires_at`."},
				"stamps": obj{"type": "object", "required": []string{"count", "goal"},
					"description": "Stamp programmes only: the card's stamps. `count` is always below `goal`: a full card became a voucher.",
					"properties":  obj{"count": obj{"type": "integer", "minimum": 0}, "goal": obj{"type": "integer", "minimum": 1}}},
				"cashback": obj{"type": "object", "required": []string{"balance", "currency"},
					"description": "Cashback programmes only: the cashback balance in minor units of the programme's currency, never negative.",
					"properties":  obj{"balance": obj{"type": "integer", "minimum": 0}, "currency": obj{"type": "string", "pattern": "^[A-Z]{3}$"}}},
				"points_expiring": obj{"type": []string{"object", "null"}, "required": []string{"points", "at"},
					"description": "Programmes with `expiry` only: the next lot of points to expire (what is left of it and when), null when no points expire. Every credit (earn, bonus, positive adjust) is a lot expiring `expiry.after_days` after its `occurred_at`; debits take the oldest lots first.",
					"properties":  obj{"points": obj{"type": "integer", "minimum": 1}, "at": dateTime}},
				"referral_code": obj{"type": "string", "description": "The member's own code (8 characters of 23456789ABCDEFGHJKMNPQRSTVWXYZ), unique in the program; another enrolment gives it as `referral_code`."},
				"referral_url":  obj{"type": "string", "format": "uri", "description": "The program's join page with the member's code (`/join/{program}?ref=CODE`), to share."},
			},
		},
		"MemberList": obj{
			"type": "object", "required": []string{"items", "next_cursor"},
			"properties": obj{
				"items":       obj{"type": "array", "items": schemaRef("Member")},
				"next_cursor": obj{"type": "string", "description": "Empty on the last page; otherwise pass it as `cursor` for the next one."},
			},
		},
		"MemberPatch": obj{
			"type": "object", "additionalProperties": false,
			"description": "A JSON merge patch of the member's profile: absent fields stay as they are.",
			"properties": obj{
				"name":             obj{"type": "string", "minLength": 1, "maxLength": 200, "description": "Cannot be null."},
				"email":            obj{"type": []string{"string", "null"}, "format": "email", "maxLength": 254, "description": "null clears it."},
				"birthday":         obj{"type": []string{"string", "null"}, "format": "date", "description": "A past date as YYYY-MM-DD; null clears it."},
				"external_id":      obj{"type": []string{"string", "null"}, "maxLength": 255, "description": "Unique in the program; null clears it."},
				"marketing_opt_in": obj{"type": "boolean"},
			},
		},
		"EnrollRequest": obj{
			"type": "object", "required": []string{"name"}, "additionalProperties": false,
			"properties": obj{
				"name":        obj{"type": "string", "minLength": 1, "maxLength": 200},
				"email":       obj{"type": "string", "format": "email", "maxLength": 254},
				"birthday":    obj{"type": "string", "format": "date", "description": "A past date as YYYY-MM-DD."},
				"external_id": obj{"type": "string", "maxLength": 255, "description": "The merchant's own customer id; enrolling it again answers the same member."},
				"marketing_opt_in": obj{"type": "boolean", "default": false,
					"description": "The member's answer to the marketing question; recorded with its time and source `api`."},
				"referral_code": obj{"type": "string", "maxLength": 32,
					"description": "The `referral_code` of the member who referred this one (case-insensitive). On the new member's first earn both get the programme's `referral` points " +
						"(`bonus` transactions with `reason` `referral`), once, and never between members with the same email."},
			},
		},
		"ScanRequest": obj{
			"type": "object", "required": []string{"barcode"}, "additionalProperties": false,
			"properties": obj{"barcode": obj{"type": "string", "minLength": 1, "maxLength": maxBarcodeLen,
				"description": "The scanned barcode text, or a typed member number where the program allows manual entry."}},
		},
		"TransactionRequest": obj{
			"type": "object", "required": []string{"type"}, "additionalProperties": false,
			"properties": obj{
				"type":   obj{"type": "string", "enum": []string{"earn", "redeem", "adjust", "stamp", "cashback_spend"}},
				"points": obj{"type": "integer", "description": "earn and redeem: 1 to 1,000,000,000; adjust: non-zero, either sign. Required, except on an earn that gives `amount`; not taken by stamp and cashback_spend."},
				"count": obj{"type": "integer", "minimum": 1, "maximum": 100,
					"description": "stamp only, required: the stamps to add, 1 to the programme's `stamps.goal` (422 naming `count` otherwise). A stamp on a programme without stamps is 422 naming `type`."},
				"amount": obj{"type": "integer", "minimum": 1, "maximum": 1_000_000_000_000,
					"description": "earn, instead of `points` (both, or neither: 422 naming the field): the purchase in minor units. " +
						"Base points are floor(amount x `earn.points_per_unit` / `earn.minor_per_unit`), times the best campaign running at `occurred_at` (see the campaigns). " +
						"On a cashback programme it also credits floor(amount x `cashback.rate_bp` / 10000) minor units of cashback (rounded down: never a fraction of a minor unit). " +
						"cashback_spend, required: the minor units of cashback to spend (a programme without cashback is 422 naming `type`). " +
						"A purchase too small to earn a point is an earn of 0 points, not an error; one that would earn more than 1,000,000,000 points is 422 naming `amount`."},
				"reference": obj{"type": "string", "maxLength": 255, "description": "The till's own reference, e.g. a receipt number."},
				"occurred_at": obj{"type": "string", "format": "date-time",
					"description": "When the sale happened (RFC 3339), for a till that was offline; default now. A `pos` key may go at most 30 days back, a `merchant` key 5 years; never more than 5 minutes ahead (422 naming `occurred_at`). " +
						"Campaigns are chosen by it. It is part of the request an `Idempotency-Key` stands for, as given."},
			},
		},
		"Transaction": obj{
			"type":     "object",
			"required": []string{"id", "member_id", "type", "points", "balance_after", "reference", "created_at", "amount", "count", "cashback", "base_points", "bonus_points", "campaign_id", "occurred_at"},
			"properties": obj{
				"id":            obj{"type": "string"},
				"member_id":     obj{"type": "string", "format": "uuid"},
				"type":          obj{"type": "string", "enum": []string{"earn", "redeem", "adjust", "stamp", "cashback_spend", "bonus", "expire"}, "description": "`bonus` and `expire` are written by passd only (`bonus`: welcome, referral, birthday and dormant bonuses; `expire`: what was left of a lot of points at its expiry, with `reference` `lot:<id of the entry that credited it>` and `occurred_at` the expiry); clients post the others."},
				"count":         obj{"type": []string{"integer", "null"}, "description": "The stamps a `stamp` added; null for other types."},
				"cashback":      obj{"type": []string{"integer", "null"}, "description": "The signed change to the cashback balance in minor units (an earn's credit, a spend's debit); null when none."},
				"points":        obj{"type": "integer", "description": "Signed: redemptions and negative adjustments are negative. Always `base_points` + `bonus_points`."},
				"balance_after": obj{"type": "integer"},
				"reference":     obj{"type": "string"},
				"created_at":    obj{"type": "string", "format": "date-time", "description": "When passd wrote it."},
				"amount":        obj{"type": []string{"integer", "null"}, "description": "The purchase in minor units of an earn that gave one; null otherwise."},
				"base_points":   obj{"type": "integer", "description": "The points before any campaign (for other types: `points`)."},
				"bonus_points":  obj{"type": "integer", "description": "What the campaign added; 0 without one."},
				"campaign_id":   obj{"type": []string{"string", "null"}, "description": "The campaign that applied, null for none."},
				"occurred_at":   obj{"type": "string", "format": "date-time", "description": "When the sale happened: as the till gave it, else `created_at`."},
				"reason":        obj{"type": "string", "enum": []string{"welcome", "referral", "birthday", "dormant"}, "description": "Why passd wrote a `bonus` transaction; absent for other types. Birthday and dormant bonuses are time-driven: see the programme's `birthday_bonus` and `dormant`."},
			},
		},
		"TransactionResult": obj{
			"type": "object", "required": []string{"transaction", "member"},
			"properties": obj{"transaction": schemaRef("Transaction"), "member": schemaRef("Member"),
				"vouchers": obj{"type": "array", "items": schemaRef("Voucher"),
					"description": "`stamp` only: the vouchers the stamp issued by filling the card (empty when it filled none)."}},
		},
		"TransactionList": obj{
			"type": "object", "required": []string{"items", "next_cursor"},
			"properties": obj{
				"items":       obj{"type": "array", "items": schemaRef("Transaction")},
				"next_cursor": obj{"type": "string", "description": "Empty on the last page."},
			},
		},
		"MessageRequest": obj{
			"type": "object", "required": []string{"text"}, "additionalProperties": false,
			"properties": obj{"text": obj{"type": "string", "minLength": 1, "maxLength": MaxMessageRunes}},
		},
		"ProgramMessageRequest": obj{
			"type": "object", "required": []string{"text"}, "additionalProperties": false,
			"properties": obj{
				"text": obj{"type": "string", "minLength": 1, "maxLength": MaxMessageRunes},
				"tier": obj{"type": "string", "description": "Only the members of this tier of the program get the message."},
			},
		},
		"MessageAccepted": obj{
			"type": "object", "required": []string{"cards"},
			"properties": obj{"cards": obj{"type": "integer", "description": "How many cards will show the message."}},
		},
		"Export": obj{
			"type": "object", "required": []string{"member", "account", "entries", "events", "registrations", "sync", "consents", "exported_at"},
			"properties": obj{
				"member":  schemaRef("Member"),
				"account": obj{"type": "object", "description": "The materialized balance row."},
				"entries": obj{"type": "array", "items": schemaRef("Transaction")},
				"events": obj{"type": "array", "items": obj{"type": "object", "required": []string{"kind", "created_at"},
					"properties": obj{"kind": obj{"type": "string"}, "data": obj{}, "created_at": dateTime}}},
				"registrations": obj{"type": "array", "description": "Wallet devices holding the card (push tokens left out).", "items": obj{
					"type": "object", "properties": obj{"device_id": obj{"type": "string"}, "created_at": dateTime, "updated_at": dateTime}}},
				"sync": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"channel": obj{"type": "string", "enum": []string{"apple", "google"}}, "state": obj{"type": "string"},
					"wanted_version": obj{"type": "integer"}, "synced_version": obj{"type": "integer"}, "attempts": obj{"type": "integer"},
					"last_error": obj{"type": "string"}, "updated_at": dateTime,
				}}},
				"consents": obj{"type": "array", "description": "Every marketing answer of the member, oldest first: at enrolment (`api`, `join_page`), in edits (`api_patch`), withdrawn by erasure (`erasure`).", "items": obj{
					"type": "object", "required": []string{"marketing_opt_in", "source", "at"},
					"properties": obj{"marketing_opt_in": obj{"type": "boolean"}, "source": obj{"type": "string"}, "at": dateTime}}},
				"exported_at": dateTime,
			},
		},
		"APIKeyRequest": obj{
			"type": "object", "required": []string{"role"}, "additionalProperties": false,
			"properties": obj{
				"role":    obj{"type": "string", "enum": []string{loyalty.RolePOS, loyalty.RoleMerchant, loyalty.RoleAdmin}},
				"program": obj{"type": "string", "description": "Scope the key to this program."},
			},
		},
		"APIKey": obj{
			"type": "object", "required": []string{"id", "role", "program", "created_at", "last_used_at", "revoked_at"},
			"properties": obj{
				"id":           obj{"type": "string"},
				"role":         obj{"type": "string", "enum": []string{loyalty.RolePOS, loyalty.RoleMerchant, loyalty.RoleAdmin}},
				"program":      obj{"type": "string", "description": "Empty: every program."},
				"created_at":   obj{"type": "string", "format": "date-time"},
				"last_used_at": obj{"type": []string{"string", "null"}, "format": "date-time"},
				"revoked_at":   obj{"type": []string{"string", "null"}, "format": "date-time"},
			},
		},
		"APIKeyCreated": obj{
			"type": "object", "required": []string{"key", "id", "role", "program"},
			"properties": obj{
				"key":     obj{"type": "string", "description": "The key itself; shown only this once."},
				"id":      obj{"type": "string"},
				"role":    obj{"type": "string"},
				"program": obj{"type": "string"},
			},
		},
	}
}
