package loyalty

import (
	"regexp"
	"strings"
)

// StringsFile is the path, in a template folder, of a language's
// localizable strings: Apple's pass.strings format, which the Apple card
// ships as it is and the Google card and the pages read too.
func StringsFile(lang string) string { return lang + ".lproj/pass.strings" }

// stringsLine matches one `"key" = "value";` line of a .strings file.
var stringsLine = regexp.MustCompile(`^\s*"((?:[^"\\]|\\.)*)"\s*=\s*"((?:[^"\\]|\\.)*)"\s*;`)

// ParseStrings reads the one-pair-per-line .strings files passd's templates
// use; other lines (comments, blank lines) are ignored. It is passd's one
// reader of that format.
func ParseStrings(text string) map[string]string {
	unescape := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n", `\t`, "\t", `\r`, "\r")
	out := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if m := stringsLine.FindStringSubmatch(line); m != nil {
			out[unescape.Replace(m[1])] = unescape.Replace(m[2])
		}
	}
	return out
}

// Strings answers the program's localizable strings in lang (nil when the
// template has none for it). The map is shared: callers must not change it.
func (p *Program) Strings(lang string) map[string]string { return p.strs[lang] }

// Localize looks key up in the program's strings of lang and answers def
// when they lack it (or hold it empty).
func (p *Program) Localize(lang, key, def string) string {
	if v := p.strs[lang][key]; v != "" {
		return v
	}
	return def
}

// parseStringsFiles reads every language's strings of the template once,
// at load.
func (p *Program) parseStringsFiles() {
	p.strs = map[string]map[string]string{}
	for name, b := range p.Files {
		if lang, ok := strings.CutSuffix(name, ".lproj/pass.strings"); ok && !strings.Contains(lang, "/") {
			p.strs[lang] = ParseStrings(string(b))
		}
	}
}
