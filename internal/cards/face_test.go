package cards

import (
	"slices"
	"testing"
	"time"
)

// TestFaceOf: the face reads the Apple rendering in one language, with the
// tier's name as the phone localizes it; a voided card shows no barcode.
func TestFaceOf(t *testing.T) {
	t.Parallel()
	p, m := demo(t), ada()
	m.MemberMessage, m.MemberMessageAt = "Double points on Friday", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f := FaceOf(m, p, "fr", []byte("face-test-secret-0123456789"), "https://passd.example", now)
	for _, want := range []FaceField{{Key: "tier", Label: "NIVEAU", Value: "Argent"}, {Key: "points", Label: "POINTS", Value: "1250"},
		{Key: "name", Label: "MEMBRE", Value: "Ada Lovelace"}, {Key: "number", Label: "NUMÉRO", Value: "4000000006"}} {
		if !slices.Contains(f.Front, want) {
			t.Errorf("FaceOf(fr).Front = %+v, lacks %+v", f.Front, want)
		}
	}
	if !slices.Contains(f.Back, FaceField{Key: "message", Label: "MESSAGE", Value: "Double points on Friday"}) {
		t.Errorf("FaceOf(fr).Back = %+v, lacks the member's message", f.Back)
	}
	if f.Barcode != m.Number || f.Voided || f.Colors.Background == "" || f.Title == "" {
		t.Errorf("FaceOf(fr) = barcode %q, voided %t, colors %+v, title %q", f.Barcode, f.Voided, f.Colors, f.Title)
	}
	m.ErasedAt = &now
	if v := FaceOf(m, p, "en", []byte("face-test-secret-0123456789"), "https://passd.example", now); !v.Voided || v.Barcode != "" || len(v.Back) != 0 {
		t.Errorf("FaceOf(erased) = %+v, want a voided face without barcode or back", v)
	}
}
