// This file applies JSON merge patches (RFC 7396,
// https://www.rfc-editor.org/rfc/rfc7396), the body of every PATCH of the
// API: objects merge member by member, null deletes a member, anything else
// replaces what it patches.

package loyalty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrMalformedJSON means a body is not one JSON value (the API answers it
// 400 malformed_json); a body that is JSON but not the expected shape is a
// *balances.ValidationError instead.
var ErrMalformedJSON = errors.New("malformed JSON")

// MergePatch applies the merge patch to doc as RFC 7396 defines it and
// answers the resulting document. A patch that is not a JSON object
// replaces the whole document, as the RFC says. Numbers keep their digits
// exactly. Either argument not being one JSON value is ErrMalformedJSON.
func MergePatch(doc, patch []byte) ([]byte, error) {
	d, err := decodeJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("merge patch: document: %w", err)
	}
	p, err := decodeJSON(patch)
	if err != nil {
		return nil, fmt.Errorf("merge patch: patch: %w", err)
	}
	return encodeJSON(mergeValue(d, p))
}

// mergeValue is the RFC's MergePatch(Target, Patch) on decoded values. It
// may reuse (and change) target's maps.
func mergeValue(target, patch any) any {
	po, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	to, ok := target.(map[string]any)
	if !ok {
		to = map[string]any{}
	}
	for k, v := range po {
		if v == nil {
			delete(to, k)
			continue
		}
		to[k] = mergeValue(to[k], v)
	}
	return to
}

// decodeJSON decodes exactly one JSON value, numbers as json.Number so that
// they round-trip unchanged.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrMalformedJSON)
	}
	return v, nil
}

// encodeJSON encodes v compactly, leaving <, > and & as they are.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
