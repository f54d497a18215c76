package console

import (
	"testing"

	"github.com/passd/passd/internal/htmlpage"
)

func TestStringsComplete(t *testing.T) {
	t.Parallel()
	for _, set := range []htmlpage.Words{uiStrings, pageStrings} {
		for lang, words := range set {
			for key := range set["en"] {
				if words[key] == "" {
					t.Errorf("%s lacks %q", lang, key)
				}
			}
			for key := range words {
				if _, ok := set["en"][key]; !ok {
					t.Errorf("%s has %q, which English lacks", lang, key)
				}
			}
		}
	}
	for key := range pageStrings["en"] {
		if _, ok := uiStrings["en"][key]; ok {
			t.Errorf("%q is in both sets of words", key)
		}
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"":                        "en",
		"fr-CA,fr;q=0.9,en;q=0.8": "fr",
		"de,en;q=0.5,fr;q=0.7":    "fr",
		"de":                      "en",
		"fr;q=0,en":               "en",
		"en-GB;q=0.4,fr;q=0.3":    "en",
		"fr;q=x":                  "en",
	} {
		if got := language(header); got != want {
			t.Errorf("language(%q) = %q, want %q", header, got, want)
		}
	}
}
