package console

import (
	"testing"

	"github.com/passd/passd/internal/htmlpage"
)

// complete checks that every language of words has every English key,
// and no other.
func complete(t *testing.T, what string, words htmlpage.Words) {
	t.Helper()
	for lang, w := range words {
		for key := range words["en"] {
			if w[key] == "" {
				t.Errorf("%s %s lacks %q", what, lang, key)
			}
		}
		for key := range w {
			if _, ok := words["en"][key]; !ok {
				t.Errorf("%s %s has %q, which English lacks", what, lang, key)
			}
		}
	}
}

func TestStringsComplete(t *testing.T) {
	t.Parallel()
	complete(t, "console", uiStrings)
	complete(t, "pages", pageStrings)
	for key := range pageStrings["en"] {
		if _, ok := uiStrings["en"][key]; ok {
			t.Errorf("%q is in both sets of words", key)
		}
		if _, ok := scanStrings["en"][key]; ok {
			t.Errorf("%q is in the pages' and the scanner's words", key)
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

func TestScanStringsComplete(t *testing.T) {
	t.Parallel()
	complete(t, "scanner", scanStrings)
	for lang, words := range scanStrings {
		if _, ok := uiStrings[lang]; !ok {
			t.Errorf("the scanner speaks %s, which the console does not", lang)
		}
		for key := range words {
			if _, ok := uiStrings["en"][key]; ok {
				t.Errorf("scanner %s has %q, which the console's words have too", lang, key)
			}
		}
	}
	for _, key := range scanWords {
		if scanStrings["en"][key] == "" {
			t.Errorf("scanWords names %q, which the scanner's words lack", key)
		}
	}
}
