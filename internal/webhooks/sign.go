// Package webhooks delivers passd's webhook events: workers claim due
// deliveries from the store's outbox, sign them per the Standard Webhooks
// convention, post them to the endpoint over a connection whose address was
// checked, and record every attempt with what becomes of the delivery
// (delivered, retried with backoff for 24 hours, failed, or the endpoint
// disabled by a 410). Delivery is off the request path: a slow or dead
// receiver holds a bounded number of this package's connections and never
// a till's request.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Headers of a delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Sign answers the webhook-signature value of a delivery: "v1," and the
// base64 HMAC-SHA256, keyed with the secret's decoded bytes
// (loyalty.WebhookSecretKey), of the id, the timestamp (Unix seconds) and
// the body joined by dots.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
