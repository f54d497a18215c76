package api

import (
	"github.com/passd/passd/internal/loyalty"
	"github.com/passd/passd/internal/problem"
)

// The webhooks' part of the OpenAPI document (openapi.go).

func webhookPaths() map[string]map[string]op {
	id := obj{"name": "id", "in": "path", "required": true, "description": "The webhook endpoint's id.", "schema": obj{"type": "string"}}
	return map[string]map[string]op{
		"/api/v1/webhooks": {
			"post": {
				id: "createWebhook", summary: "Add a webhook endpoint", role: loyalty.RoleMerchant,
				description: "passd posts the listed `events` to `url`, signed per the Standard Webhooks convention (headers `webhook-id`, `webhook-timestamp`, " +
					"`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body keyed with the secret's base64-decoded bytes>`), body `{id, type, created_at, data}`. " +
					"`program` defaults to the key's program; an endpoint of every programme (no `program`) needs an unscoped admin key. " +
					"`url` is https; plain http reaches loopback and private addresses only, and only when the operator set `PASSD_WEBHOOK_ALLOW_HTTP=1`; " +
					"link-local and cloud metadata addresses are never reached (checked on every connection, after resolving). " +
					"The answer is the only time the `secret` is shown. Events are delivered at least once, in order per member; " +
					"timeouts (10 s), connection errors, 5xx and 429 are retried with backoff (honouring `Retry-After`) for 24 hours; 410 disables the endpoint.",
				body: schemaRef("WebhookRequest"),
				ok: map[int]obj{201: okJSON("The new endpoint, with its secret.", obj{"allOf": []any{schemaRef("Webhook"),
					obj{"type": "object", "required": []string{"secret"}, "properties": obj{"secret": str("`whsec_` and the base64 of the signing key; shown only here.")}}}})},
				codes: []string{problem.CodeNotFound, problem.CodeValidationFailed},
			},
			"get": {
				id: "listWebhooks", summary: "List webhook endpoints", role: loyalty.RoleMerchant,
				description: "The endpoints the key may see (its program's; every programme's endpoints too for an unscoped admin key), oldest first; never their secrets.",
				ok: map[int]obj{200: okJSON("The endpoints.", obj{"type": "object", "required": []string{"items"},
					"properties": obj{"items": obj{"type": "array", "items": schemaRef("Webhook")}}})},
			},
		},
		"/api/v1/webhooks/{id}": {
			"get": {
				id: "getWebhook", summary: "Read a webhook endpoint", role: loyalty.RoleMerchant, params: []obj{id},
				ok: map[int]obj{200: okJSON("The endpoint.", schemaRef("Webhook"))}, codes: []string{problem.CodeNotFound},
			},
			"delete": {
				id: "deleteWebhook", summary: "Delete a webhook endpoint", role: loyalty.RoleMerchant, params: []obj{id},
				description: "Nothing more is sent to it; its pending deliveries and its deliveries log go with it.",
				ok:          map[int]obj{204: {"description": "Deleted."}}, codes: []string{problem.CodeNotFound},
			},
		},
		"/api/v1/webhooks/{id}/deliveries": {
			"get": {
				id: "listWebhookDeliveries", summary: "List an endpoint's delivery attempts", role: loyalty.RoleMerchant, params: []obj{id},
				description: "The last 100 attempts, newest first: the event, when, the receiver's status (null when no answer came), how long it took and the error.",
				ok: map[int]obj{200: okJSON("The attempts.", obj{"type": "object", "required": []string{"items"},
					"properties": obj{"items": obj{"type": "array", "items": schemaRef("WebhookAttempt")}}})},
				codes: []string{problem.CodeNotFound},
			},
		},
	}
}

func webhookSchemas() obj {
	dateTime := obj{"type": "string", "format": "date-time"}
	types := make([]string, 0, len(loyalty.EventTypes()))
	for _, t := range loyalty.EventTypes() {
		types = append(types, string(t))
	}
	events := obj{"type": "array", "minItems": 1, "items": obj{"type": "string", "enum": types}}
	return obj{
		"WebhookRequest": obj{
			"type": "object", "required": []string{"url", "events"}, "additionalProperties": false,
			"properties": obj{
				"url":     obj{"type": "string", "format": "uri", "maxLength": 2048},
				"events":  events,
				"program": obj{"type": "string", "description": "The programme whose events are sent; absent: the key's program, or every programme."},
			},
		},
		"Webhook": obj{
			"type": "object", "required": []string{"id", "program", "url", "events", "created_at", "disabled_at"},
			"properties": obj{
				"id": obj{"type": "string"}, "url": obj{"type": "string"}, "events": events, "created_at": dateTime,
				"program":         obj{"type": []string{"string", "null"}, "description": "null: every programme."},
				"disabled_at":     obj{"type": []string{"string", "null"}, "format": "date-time", "description": "Set when the receiver answered 410 Gone: nothing more is sent."},
				"disabled_reason": obj{"type": "string"},
			},
		},
		"WebhookAttempt": obj{
			"type": "object", "required": []string{"event_id", "type", "attempted_at", "status", "duration_ms", "error"},
			"properties": obj{
				"event_id": str("The `webhook-id` sent."), "type": obj{"type": "string", "enum": types}, "attempted_at": dateTime,
				"status":      obj{"type": []string{"integer", "null"}, "description": "The receiver's HTTP status; null when none came."},
				"duration_ms": obj{"type": "integer"}, "error": obj{"type": "string"},
			},
		},
	}
}
