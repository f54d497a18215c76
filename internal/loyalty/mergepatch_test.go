package loyalty

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// sameJSON reports whether a and b are the same JSON value, whatever the
// member order and spacing (numbers compare by their text).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	parse := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("Decode(%s) = %v", b, err)
		}
		return v
	}
	return reflect.DeepEqual(parse(a), parse(b))
}

// TestMergePatchRFC7396 runs the examples RFC 7396 publishes: those of
// sections 1 and 3 and every row of Appendix A.
func TestMergePatchRFC7396(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, patch, want string }{
		{"section 1", `{"a":"b","c":{"d":"e","f":"g"}}`, `{"a":"z","c":{"f":null}}`, `{"a":"z","c":{"d":"e"}}`},
		{"section 3",
			`{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}`,
			`{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}`,
			`{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}`},
		{"A.1", `{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{"A.2", `{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{"A.3", `{"a":"b"}`, `{"a":null}`, `{}`},
		{"A.4", `{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{"A.5", `{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{"A.6", `{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{"A.7", `{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{"A.8", `{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{"A.9", `["a","b"]`, `["c","d"]`, `["c","d"]`},
		{"A.10", `{"a":"b"}`, `["c"]`, `["c"]`},
		{"A.11", `{"a":"foo"}`, `null`, `null`},
		{"A.12", `{"a":"foo"}`, `"bar"`, `"bar"`},
		{"A.13", `{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{"A.14", `[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{"A.15", `{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		got, err := MergePatch([]byte(tc.doc), []byte(tc.patch))
		if err != nil {
			t.Errorf("%s: MergePatch(%s, %s) = %v", tc.name, tc.doc, tc.patch, err)
			continue
		}
		if !sameJSON(t, got, []byte(tc.want)) {
			t.Errorf("%s: MergePatch(%s, %s) = %s, want %s", tc.name, tc.doc, tc.patch, got, tc.want)
		}
	}
}

func TestMergePatchKeepsNumbersAndText(t *testing.T) {
	t.Parallel()
	got, err := MergePatch([]byte(`{"big":12345678901234567890,"f":0.1000,"t":"a<b&c"}`), []byte(`{"n":1e400}`))
	want := `{"big":12345678901234567890,"f":0.1000,"n":1e400,"t":"a<b&c"}`
	if err != nil || string(got) != want {
		t.Errorf("MergePatch() = %s, %v, want %s", got, err, want)
	}
}

func TestMergePatchRefusesMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, patch string }{
		{`{}`, `{"a":`},
		{`{}`, ``},
		{`{}`, `{} {}`},
		{`{"a":`, `{}`},
		{`{}`, `{"a":1}x`},
	} {
		if _, err := MergePatch([]byte(tc.doc), []byte(tc.patch)); !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("MergePatch(%q, %q) = %v, want ErrMalformedJSON", tc.doc, tc.patch, err)
		}
	}
}

func FuzzMergePatch(f *testing.F) {
	f.Add([]byte(`{"a":"b","c":{"d":"e","f":"g"}}`), []byte(`{"a":"z","c":{"f":null}}`))
	f.Add([]byte(`[1,2]`), []byte(`{"a":"b","c":null}`))
	f.Add([]byte(`{}`), []byte(`{"a":{"bb":{"ccc":null}}}`))
	f.Add([]byte(`{"a":"foo"}`), []byte(`null`))
	f.Add([]byte(`{"a":1}`), []byte(`{"a":{"b":[null,{"c":null}]}}`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		got, err := MergePatch(doc, patch)
		if err != nil {
			if !errors.Is(err, ErrMalformedJSON) {
				t.Fatalf("MergePatch(%q, %q) = %v, want nil or ErrMalformedJSON", doc, patch, err)
			}
			if json.Valid(doc) && json.Valid(patch) {
				t.Fatalf("MergePatch(%q, %q) = %v for valid JSON", doc, patch, err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("MergePatch(%q, %q) = %q, not JSON", doc, patch, got)
		}
		// A merge patch is idempotent: applying it twice changes nothing more.
		again, err := MergePatch(got, patch)
		if err != nil || !sameJSON(t, again, got) {
			t.Fatalf("MergePatch(MergePatch(%q, %q), patch) = %q, %v, want %q", doc, patch, again, err, got)
		}
	})
}
